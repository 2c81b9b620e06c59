"""The ``uploaded`` repository: an archive is checked and stored once per name+version (the same bytes again are a
no-op, other bytes a conflict unless overwritten); a presigned upload is completed once and cleaned up; versions
resolve by constraint; deleting removes the archive too. The store and the bucket are the real adapters on emulated
AWS."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest

from chalicelib.adapters.blobs import S3Blobs
from chalicelib.adapters.store import Store
from chalicelib.core.uploads import UPLOAD_TTL_S, UploadedCharts
from chalicelib.domain import archives
from chalicelib.domain.models import now
from chalicelib.errors import ChartVersionExists, ChartVersionNotFound, InvalidInput
from tests.emulated import emulated_store

BUCKET = "charts"


def tgz(name: str = "demo", version: str = "1.0.0", greeting: str = "hi", **chart: str) -> bytes:
    extra = "".join(f"{k}: {v}\n" for k, v in chart.items())
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path, data in (
            (f"{name}/Chart.yaml", f"apiVersion: v2\nname: {name}\nversion: {version}\n{extra}".encode()),
            (f"{name}/values.yaml", f"greeting: {greeting}\n".encode()),
        ):
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@dataclass
class World:
    store: Store
    blobs: S3Blobs
    uploads: UploadedCharts

    def keys(self) -> list[str]:
        listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])
        return sorted(o["Key"] for o in listed)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with emulated_store(monkeypatch) as store:
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        blobs = S3Blobs(boto3.client("s3"), BUCKET)
        yield World(store, blobs, UploadedCharts(store, blobs, archives.Limits(max_bytes=64 << 10)))


def test_an_archive_is_stored_under_its_name_and_version(world: World) -> None:
    data = tgz(appVersion="2.0", description="A demo")
    chart, created = world.uploads.add(data)
    assert created and chart["ref"] == "uploaded/demo" and chart["repository"] == "uploaded"
    assert (chart["name"], chart["version"], chart["app_version"], chart["description"]) == (
        "demo",
        "1.0.0",
        "2.0",
        "A demo",
    )
    assert world.keys() == ["charts/demo/demo-1.0.0.tgz"]
    assert world.uploads.archive(world.uploads.resolve("demo", None, False)) == data


def test_the_same_bytes_again_are_a_no_op_other_bytes_a_conflict(world: World) -> None:
    data, changed = tgz(), tgz(greeting="changed")
    first, _ = world.uploads.add(data)
    again, created = world.uploads.add(data)
    assert not created and again == first
    with pytest.raises(ChartVersionExists) as err:
        world.uploads.add(changed)
    assert err.value.details["digest"] == first["digest"] and "overwrite=true" in str(err.value)
    replaced, created = world.uploads.add(changed, overwrite=True)
    assert not created and replaced["digest"] != first["digest"]
    assert world.uploads.archive(world.uploads.resolve("demo", "1.0.0", False)) == changed


def test_put_names_the_digest_of_the_archive_it_replaced(world: World) -> None:
    data, changed = tgz(), tgz(greeting="changed")
    first = world.uploads.put(data)
    assert first.created and first.replaced is None
    assert world.uploads.put(data, overwrite=True).replaced is None  # the same bytes: nothing replaced
    replaced = world.uploads.put(changed, overwrite=True)
    assert not replaced.created and replaced.replaced == first.chart["digest"]
    assert replaced.chart["digest"] != first.chart["digest"]


def test_what_is_not_a_chart_is_refused_before_anything_is_stored(world: World) -> None:
    with pytest.raises(InvalidInput):
        world.uploads.add(b"not a gzip archive")
    assert world.keys() == [] and world.uploads.entries() == []


def test_a_presigned_upload_is_completed_once_and_cleaned_up(world: World) -> None:
    slot = world.uploads.presign()
    assert slot["upload_id"].startswith("up-") and slot["method"] == "PUT" and slot["max_bytes"] == 64 << 10
    assert f"incoming/{slot['upload_id']}.tgz" in slot["url"] and slot["headers"] == {
        "Content-Type": "application/gzip"
    }
    world.blobs.put(f"incoming/{slot['upload_id']}.tgz", tgz(version="1.1.0"))  # what the client's PUT does
    chart, created = world.uploads.complete(slot["upload_id"])
    assert created and chart["version"] == "1.1.0"
    assert world.keys() == ["charts/demo/demo-1.1.0.tgz"]  # the incoming object is gone
    with pytest.raises(InvalidInput, match="no archive was uploaded"):
        world.uploads.complete(slot["upload_id"])


@pytest.mark.parametrize("upload_id", [None, 7, "up-123", "../charts/demo/demo-1.0.0", "up-" + "g" * 32])
def test_complete_takes_only_an_upload_id(world: World, upload_id: object) -> None:
    with pytest.raises(InvalidInput) as err:
        world.uploads.complete(upload_id)
    assert err.value.field == "upload_id"


def test_an_upload_over_the_limit_is_refused_and_removed(world: World) -> None:
    slot = world.uploads.presign()
    world.blobs.put(f"incoming/{slot['upload_id']}.tgz", b"x" * ((64 << 10) + 1))
    with pytest.raises(InvalidInput, match="larger than 65536 bytes"):
        world.uploads.complete(slot["upload_id"])
    assert world.keys() == []


def test_a_presigned_upload_expires(world: World) -> None:
    from datetime import datetime

    slot = world.uploads.presign()
    expires = datetime.fromisoformat(slot["expires_at"].replace("Z", "+00:00")).timestamp()
    assert abs(expires - (now() + UPLOAD_TTL_S)) < 60


def test_resolve_picks_the_newest_matching_version(world: World) -> None:
    for version in ("1.0.0", "1.2.0", "2.0.0", "2.1.0-rc.1"):
        world.uploads.add(tgz(version=version))
    assert world.uploads.resolve("demo", None, False)["version"] == "2.0.0"
    assert world.uploads.resolve("demo", "^1", False)["version"] == "1.2.0"
    assert world.uploads.resolve("demo", "1.0.0", False)["version"] == "1.0.0"  # an exact version as given
    assert world.uploads.resolve("demo", None, True)["version"] == "2.1.0-rc.1"
    with pytest.raises(ChartVersionNotFound, match="no version matching"):
        world.uploads.resolve("demo", "^3", False)
    with pytest.raises(ChartVersionNotFound, match="was not uploaded"):
        world.uploads.resolve("other", None, False)


def test_summaries_list_versions_newest_first(world: World) -> None:
    for version in ("1.0.0", "1.10.0", "1.9.0"):
        world.uploads.add(tgz(version=version, keywords="[web]"))
    entries = world.uploads.summaries()["entries"]
    assert [v["version"] for v in entries["demo"]] == ["1.10.0", "1.9.0", "1.0.0"]  # by semver, not by text
    assert entries["demo"][0]["keywords"] == ["web"] and entries["demo"][0]["urls"] == []


def test_delete_removes_the_entry_and_the_archive(world: World) -> None:
    world.uploads.add(tgz())
    world.uploads.delete("demo", "1.0.0")
    assert world.keys() == [] and world.uploads.entries() == []
    with pytest.raises(ChartVersionNotFound):
        world.uploads.delete("demo", "1.0.0")


def test_an_entry_whose_archive_is_gone_says_so(world: World) -> None:
    world.uploads.add(tgz())
    world.blobs.delete("charts/demo/demo-1.0.0.tgz")
    with pytest.raises(ChartVersionNotFound, match="is missing"):
        world.uploads.archive(world.uploads.resolve("demo", None, False))
