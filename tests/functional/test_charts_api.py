"""Repositories and charts through the Chalice app (moto for AWS, the repository's index served by a fake fetch):
field errors, secrets never echoed, uploads stored in S3, chart references checked before anything is queued."""

from __future__ import annotations

import io
import json
import tarfile
from typing import Any

import boto3
import pytest
import yaml

from chalicelib.core import repositories
from chalicelib.errors import RepositoryAuthFailed
from tests.functional.conftest import BUCKET, Api

SECRET = "hunter2-very-secret"
INDEX = yaml.safe_dump(
    {
        "apiVersion": "v1",
        "entries": {
            "web": [{"name": "web", "version": "1.0.0", "description": "web server", "urls": ["web-1.0.0.tgz"]}],
            "db": [{"name": "db", "version": "2.1.0", "urls": ["db-2.1.0.tgz"]}],
        },
    }
).encode()


@pytest.fixture
def index_server(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Every index fetch answers INDEX; a password other than SECRET is refused like a real server would."""
    calls: list[tuple[str, Any]] = []

    def fake_fetch(url: str, access: Any, max_bytes: int, timeout_s: float, *guard: Any) -> bytes:
        calls.append((url, access))
        if access.password not in (None, SECRET):
            raise RepositoryAuthFailed(f"{url} refused the credentials (HTTP 401)")
        return INDEX

    monkeypatch.setattr(repositories, "fetch", fake_fetch)
    return calls


def tgz(name: str = "demo", version: str = "1.0.0") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path, data in (
            (f"{name}/Chart.yaml", f"apiVersion: v2\nname: {name}\nversion: {version}\n".encode()),
            (f"{name}/values.yaml", b"greeting: hi\n"),
        ):
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def upload(api: Api, data: bytes, query: str = "") -> tuple[int, Any]:
    resp = api.c.http.post(f"/v1/charts{query}", headers={"Content-Type": "application/gzip", **api.auth}, body=data)
    return resp.status_code, resp.json_body


def test_repository_lifecycle_keeps_secrets(api: Api, index_server: list[tuple[str, Any]]) -> None:
    body = {"url": "https://charts.example/stable/", "username": "ci", "password": SECRET}
    status, repo = api.call("PUT", "/v1/repositories/stable", body)
    assert status == 201, repo
    assert repo["url"] == "https://charts.example/stable" and repo["auth"]["basic"] is True
    assert repo["index"]["charts"] == 2 and repo["index"]["versions"] == 2
    assert index_server[-1][0] == "https://charts.example/stable/index.yaml"
    assert api.call("PUT", "/v1/repositories/stable", body)[0] == 200
    for path in ("/v1/repositories", "/v1/repositories/stable"):
        status, data = api.call("GET", path)
        assert status == 200 and SECRET not in json.dumps(data)
    secret = boto3.client("secretsmanager").get_secret_value(SecretId="charthouse/repositories/stable")
    assert json.loads(secret["SecretString"])["password"] == SECRET
    table = boto3.resource("dynamodb").Table("charthouse").scan()["Items"]
    assert SECRET not in json.dumps(table, default=str)

    found = api.call("GET", "/v1/charts?q=web")[1]["charts"]
    assert [c["ref"] for c in found] == ["stable/web"]
    status, refreshed = api.call("POST", "/v1/repositories/stable/refresh")
    assert status == 200 and refreshed["index"]["refreshed_at"]
    assert api.call("DELETE", "/v1/repositories/stable")[0] == 204
    assert api.call("GET", "/v1/repositories/stable")[0] == 404
    with pytest.raises(Exception, match="marked deleted"):  # deleted with a recovery window (vault.RECOVERY_DAYS)
        boto3.client("secretsmanager").get_secret_value(SecretId="charthouse/repositories/stable")


def test_wrong_credentials_store_nothing(api: Api, index_server: list[tuple[str, Any]]) -> None:
    status, err = api.call("PUT", "/v1/repositories/bad", {"url": "https://x", "username": "u", "password": "nope"})
    assert status == 502 and err["error"]["code"] == "RepositoryAuthFailed"
    assert "nope" not in json.dumps(err)
    assert api.call("GET", "/v1/repositories/bad")[0] == 404


def test_an_alias_bomb_index_is_refused_and_nothing_is_cached(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under a kilobyte of nested aliases (a million values once expanded): 422 naming the index, no cache."""
    anchors = ["b0: &b0 [x, x, x, x, x, x, x, x, x, x]"]
    anchors += [f"b{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * 10) + "]" for i in range(1, 7)]
    bomb = ("\n".join(anchors) + "\nentries:\n  web:\n  - {name: web, version: 1.0.0, keywords: *b6}\n").encode()
    monkeypatch.setattr(repositories, "fetch", lambda *args, **kwargs: bomb)
    status, err = api.call("PUT", "/v1/repositories/bomb", {"url": "https://charts.example/bomb"})
    assert status == 422 and err["error"]["code"] == "InvalidInput", err
    assert "index.yaml was refused: its aliases expand" in err["error"]["message"]
    assert api.call("GET", "/v1/repositories/bomb")[0] == 404
    assert boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://x"}, "url"),
        ({"url": "https://x", "username": "u"}, "password"),
        ({"url": "https://x", "token": 5}, "token"),
        ({"url": "https://x", "nope": 1}, "nope"),
    ],
)
def test_repository_field_errors(api: Api, body: dict[str, Any], field: str) -> None:
    status, err = api.call("PUT", "/v1/repositories/r1", body)
    assert status == 422 and err["error"]["details"]["field"] == field, err


def test_uploaded_is_built_in(api: Api) -> None:
    repos = api.call("GET", "/v1/repositories")[1]["repositories"]
    assert repos[0]["name"] == "uploaded" and repos[0]["type"] == "uploaded"
    assert api.call("PUT", "/v1/repositories/uploaded", {"url": "https://x"})[0] == 422
    assert api.call("DELETE", "/v1/repositories/uploaded")[0] == 422


def test_upload_to_s3_and_show(api: Api) -> None:
    archive = tgz()  # once: gzip stamps the time, so two builds a second apart differ
    status, chart = upload(api, archive)
    assert status == 201 and chart["ref"] == "uploaded/demo" and chart["size"] > 0, chart
    stored = boto3.client("s3").get_object(Bucket=BUCKET, Key="charts/demo/demo-1.0.0.tgz")["Body"].read()
    assert stored == archive
    status, shown = api.call("GET", "/v1/charts/uploaded/demo?info=chart,values")
    assert status == 200 and shown["values"] == "greeting: hi\n" and shown["chart"]["name"] == "demo", shown
    assert api.call("GET", "/v1/charts/uploaded/demo?version=9.9.9")[0] == 404
    assert api.call("GET", "/v1/charts/uploaded/demo?info=everything")[0] == 422
    status, err = upload(api, b"")
    assert status == 400 and err["error"]["details"]["field"] == "body"


def test_presigned_upload_slot(api: Api) -> None:
    status, slot = api.call("POST", "/v1/charts/uploads")
    assert status == 201 and slot["upload_id"].startswith("up-") and slot["method"] == "PUT"
    boto3.client("s3").put_object(Bucket=BUCKET, Key=f"incoming/{slot['upload_id']}.tgz", Body=tgz("big", "2.0.0"))
    status, chart = api.call("POST", "/v1/charts", {"upload_id": slot["upload_id"]})
    assert status == 201 and chart["name"] == "big", chart
    listing = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="incoming/")
    assert listing.get("KeyCount", 0) == 0  # the incoming object is removed once stored
    for bad in ("nope", "up-" + "0" * 32):
        status, err = api.call("POST", "/v1/charts", {"upload_id": bad})
        assert status == 422 and err["error"]["details"]["field"] == "upload_id"


def test_chart_references_checked_before_queueing(api: Api) -> None:
    api.register()
    ns = "/v1/clusters/prod/namespaces/apps/releases"
    status, err = api.call("POST", ns, {"name": "a", "chart": "nosuchrepo/web"})
    assert status == 422 and err["error"]["details"]["field"] == "chart" and "not registered" in err["error"]["message"]
    status, err = api.call("POST", ns, {"name": "a", "chart": "uploaded/web", "verify": True})
    assert status == 422 and err["error"]["details"]["field"] == "verify"
    status, err = api.call("POST", ns, {"name": "a", "chart": "not a reference"})
    assert status == 422 and err["error"]["details"]["field"] == "chart"
    status, op = api.call("POST", ns, {"name": "a", "chart": "uploaded/web", "version": "^1"})
    assert status == 202, op


def test_a_repositorys_added_masking_rules_stay_with_its_releases(
    api: Api, index_server: list[tuple[str, Any]]
) -> None:
    """A repository's rules are taken when one of its charts is installed and remembered on the release."""
    body = {"url": "https://charts.example/stable/", "masking": {"keys": ["licenseKey", "dsn"]}}
    status, repo = api.call("PUT", "/v1/repositories/stable", body)
    assert status == 201 and repo["masking"] == {"keys": ["licensekey", "dsn"], "paths": []}, repo
    api.register("prod")
    values = {"license_key": "LIC-42-XYZ", "dsn": "pg://x", "replicas": 2}
    release = {"name": "web", "chart": "stable/web", "values": values}
    assert api.call("POST", "/v1/clusters/prod/namespaces/apps/releases", release)[0] == 202
    api.drain()
    path = "/v1/clusters/prod/namespaces/apps/releases/web?info=values"
    shown = api.call("GET", path)[1]["values"]
    assert shown == {"license_key": "<redacted>", "dsn": "<redacted>", "replicas": 2}, shown
    assert api.call("PUT", "/v1/repositories/stable", {"url": "https://charts.example/stable/"})[0] == 200
    assert api.call("GET", path)[1]["values"]["dsn"] == "<redacted>"  # remembered, like set_sensitive
