"""Where bytes live: S3 objects under a prefix (moto), and files in a directory for the local stage. A missing
object is None; an S3 failure is DependencyUnavailable naming the cause; a key never leaves its directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from chalicelib.adapters.blobs import DirBlobs, S3Blobs
from chalicelib.errors import DependencyUnavailable

BUCKET = "charts"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "a",
        "AWS_SECRET_ACCESS_KEY": "b",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_s3_objects_under_the_prefix(s3: object) -> None:
    blobs = S3Blobs(s3, BUCKET, "uploaded/")
    assert blobs.get("demo-1.0.0.tgz") is None and blobs.size("demo-1.0.0.tgz") is None
    blobs.put("demo-1.0.0.tgz", b"\x1f\x8bchart", "application/gzip")
    assert blobs.get("demo-1.0.0.tgz") == b"\x1f\x8bchart" and blobs.size("demo-1.0.0.tgz") == 7
    head = s3.head_object(Bucket=BUCKET, Key="uploaded/demo-1.0.0.tgz")  # type: ignore[attr-defined]
    assert head["ContentType"] == "application/gzip"
    blobs.delete("demo-1.0.0.tgz")
    assert blobs.get("demo-1.0.0.tgz") is None
    blobs.delete("demo-1.0.0.tgz")  # deleting what is gone is fine


def test_a_presigned_put_is_bound_to_its_key_and_expiry(s3: object) -> None:
    sigv4 = boto3.client("s3", config=Config(signature_version="s3v4"))
    url = S3Blobs(sigv4, BUCKET, "incoming/").presign_put("up-1", 300, "application/gzip")
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.path.endswith("/incoming/up-1") and BUCKET in parts.netloc + parts.path
    assert query["X-Amz-Expires"] == ["300"] and "X-Amz-Signature" in query
    assert "content-type" in query["X-Amz-SignedHeaders"][0]  # the PUT must send the type it was signed for


def test_s3_failures_are_dependency_unavailable(s3: object) -> None:
    with pytest.raises(DependencyUnavailable, match="no chart bucket is configured"):
        S3Blobs(s3, "").get("x")
    with pytest.raises(DependencyUnavailable, match="S3 is unavailable"):
        S3Blobs(s3, "no-such-bucket").put("x", b"x")
    with pytest.raises(DependencyUnavailable, match="S3 is unavailable"):
        S3Blobs(s3, "no-such-bucket").get("x")


def test_files_in_a_directory(tmp_path: Path) -> None:
    blobs = DirBlobs(str(tmp_path / "cache"))
    assert blobs.get("indexes/stable.json") is None
    blobs.put("indexes/stable.json", b"{}")
    blobs.put("indexes/stable.json", b'{"entries": {}}')  # replaced whole
    assert blobs.get("indexes/stable.json") == b'{"entries": {}}'
    path = tmp_path / "cache" / "indexes" / "stable.json"
    assert (path.stat().st_mode & 0o777) == 0o600 and (path.parent.stat().st_mode & 0o777) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["stable.json"]  # no temporary file left behind
    blobs.delete("indexes/stable.json")
    blobs.delete("indexes/stable.json")
    assert blobs.get("indexes/stable.json") is None


@pytest.mark.parametrize("key", ["../outside", "a/../../outside", "/etc/passwd"])
def test_a_key_never_leaves_the_directory(tmp_path: Path, key: str) -> None:
    blobs = DirBlobs(str(tmp_path / "cache"))
    with pytest.raises(ValueError, match="leaves the store"):
        blobs.put(key, b"x")
    assert not (tmp_path / "outside").exists()
