"""Where bytes live: chart archives that were uploaded, and cached repository indexes.

``S3Blobs`` in AWS (the charts bucket); ``DirBlobs`` for the index cache of the local stage, a directory. Both
have the same small interface; only S3 can hand out a presigned upload URL.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import DependencyUnavailable

T = TypeVar("T")


class Blobs(Protocol):
    def get(self, key: str) -> bytes | None: ...
    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None: ...
    def delete(self, key: str) -> None: ...


class S3Blobs:
    """Objects under ``prefix`` in ``bucket``."""

    def __init__(self, s3_client: Any, bucket: str, prefix: str = "") -> None:
        self._s3 = s3_client
        self.bucket = bucket
        self.prefix = prefix

    def _key(self, key: str) -> str:
        return self.prefix + key

    def _unavailable(self, exc: Exception) -> DependencyUnavailable:
        if not self.bucket:
            return DependencyUnavailable("no chart bucket is configured (CHARTHOUSE_CHART_BUCKET)")
        return DependencyUnavailable(f"S3 is unavailable ({type(exc).__name__})")

    def _read(self, call: Callable[[], T]) -> T | None:
        """``call``'s answer, or None when the object does not exist."""
        try:
            return call()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise self._unavailable(exc) from exc
        except (BotoCoreError, ValueError) as exc:
            raise self._unavailable(exc) from exc

    def get(self, key: str) -> bytes | None:
        return self._read(lambda: bytes(self._s3.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()))

    def size(self, key: str) -> int | None:
        return self._read(lambda: int(self._s3.head_object(Bucket=self.bucket, Key=self._key(key))["ContentLength"]))

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        try:
            self._s3.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type)
        except (ClientError, BotoCoreError, ValueError) as exc:
            raise self._unavailable(exc) from exc

    def delete(self, key: str) -> None:
        try:
            self._s3.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (ClientError, BotoCoreError, ValueError) as exc:
            raise self._unavailable(exc) from exc

    def presign_put(self, key: str, expires_s: int, content_type: str) -> str:
        """A URL that lets its holder PUT one object here until it expires. Never log it."""
        try:
            return str(
                self._s3.generate_presigned_url(
                    "put_object",
                    Params={"Bucket": self.bucket, "Key": self._key(key), "ContentType": content_type},
                    ExpiresIn=expires_s,
                    HttpMethod="PUT",
                )
            )
        except (ClientError, BotoCoreError, ValueError) as exc:
            raise self._unavailable(exc) from exc


class DirBlobs:
    """Files under ``root`` (0700 directories, 0600 files, atomic replace)."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"blob key {key!r} leaves the store")
        return path

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # mkstemp creates it 0600
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
