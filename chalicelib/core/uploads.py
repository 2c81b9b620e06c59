"""Uploaded charts: the built-in ``uploaded`` repository; and, apart from it, the charts runtimes build.

An archive arrives in the request body (small charts) or through a presigned S3 PUT (large ones: API Gateway caps
bodies at 3 MiB: what a Lambda proxy request carries), is checked (``archives.inspect``), and is stored in the charts bucket under
``charts/<name>/<name>-<version>.tgz`` with its metadata in the table. A name+version is immutable: uploading the
same bytes again is a no-op, other bytes are a conflict unless ``overwrite`` is asked for.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, NamedTuple

from chalicelib.adapters.blobs import S3Blobs
from chalicelib.adapters.store import Store
from chalicelib.domain import archives, semver
from chalicelib.domain.models import iso, now
from chalicelib.errors import ChartVersionExists, ChartVersionNotFound, InvalidInput

UPLOAD_TTL_S = 15 * 60  # how long a presigned upload URL stays valid
CONTENT_TYPE = "application/gzip"
_UPLOAD_ID = re.compile(r"^up-[0-9a-f]{32}$")
_EXACT = re.compile(r"[0-9A-Za-z.+-]{1,128}")


class Stored(NamedTuple):
    chart: dict[str, Any]
    created: bool
    replaced: str | None  # the sha256 (hex) of the archive it replaced, if it replaced one


class UploadedCharts:
    def __init__(self, store: Store, blobs: S3Blobs, limits: archives.Limits) -> None:
        self._store = store
        self._blobs = blobs
        self.limits = limits

    # ------------------------------------------------------------ adding

    def add(self, data: bytes, overwrite: bool = False) -> tuple[dict[str, Any], bool]:
        """Check and store an archive. Returns (the chart, created)."""
        stored = self.put(data, overwrite)
        return stored.chart, stored.created

    def put(self, data: bytes, overwrite: bool = False) -> Stored:
        """Check and store an archive: the chart, whether it is new, and the digest of the archive it replaced."""
        chart = archives.inspect(data, self.limits)
        existing = self._store.get_uploaded_chart(chart.name, chart.version)
        if existing and existing["digest"] == chart.digest:
            return Stored(self._json(existing), False, None)
        if existing and not overwrite:
            raise ChartVersionExists(
                f"chart {chart.name} {chart.version} was already uploaded with other content; "
                "bump the version or pass overwrite=true",
                digest=existing["digest"],
            )
        key = f"charts/{chart.name}/{chart.name}-{chart.version}.tgz"
        self._blobs.put(key, data, CONTENT_TYPE)
        entry = {
            "name": chart.name,
            "version": chart.version,
            "app_version": _str(chart.metadata.get("appVersion")),
            "description": _str(chart.metadata.get("description")),
            "digest": chart.digest,
            "size": chart.size,
            "files": chart.file_count,
            "keywords": chart.metadata.get("keywords") or [],
            "key": key,
            "deprecated": bool(chart.metadata.get("deprecated")),
            "uploaded_at": now(),
        }
        self._store.put_uploaded_chart(chart.name, chart.version, entry)
        return Stored(self._json(entry), existing is None, str(existing["digest"]) if existing else None)

    def presign(self) -> dict[str, Any]:
        """A one-object upload slot: PUT the archive to ``url``, then POST /v1/charts {"upload_id": ...}."""
        upload_id = f"up-{uuid.uuid4().hex}"
        url = self._blobs.presign_put(f"incoming/{upload_id}.tgz", UPLOAD_TTL_S, CONTENT_TYPE)
        return {
            "upload_id": upload_id,
            "url": url,
            "method": "PUT",
            "headers": {"Content-Type": CONTENT_TYPE},
            "expires_at": iso(now() + UPLOAD_TTL_S),
            "max_bytes": self.limits.max_bytes,
        }

    def complete(self, upload_id: object, overwrite: bool = False) -> tuple[dict[str, Any], bool]:
        if not isinstance(upload_id, str) or not _UPLOAD_ID.match(upload_id):
            raise InvalidInput("upload_id", "must be the upload_id returned by POST /v1/charts/uploads")
        key = f"incoming/{upload_id}.tgz"
        size = self._blobs.size(key)
        if size is None:
            raise InvalidInput("upload_id", "no archive was uploaded for this id (or it expired)")
        if size > self.limits.max_bytes:
            self._blobs.delete(key)
            raise InvalidInput("upload_id", f"the uploaded archive is larger than {self.limits.max_bytes} bytes")
        data = self._blobs.get(key) or b""
        try:
            return self.add(data, overwrite)
        finally:
            self._blobs.delete(key)

    # ------------------------------------------------------------ reading

    def entries(self, name: str | None = None) -> list[dict[str, Any]]:
        return self._store.list_uploaded_charts(name)

    def resolve(self, name: str, constraint: str | None, devel: bool) -> dict[str, Any]:
        versions = {e["version"]: e for e in self.entries(name) if e["name"] == name}
        if not versions:
            raise ChartVersionNotFound(f"chart {name} was not uploaded")
        chosen = constraint if constraint in versions else semver.newest(versions, constraint, devel)
        if chosen is None:
            raise ChartVersionNotFound(f"uploaded chart {name} has no version matching {constraint or 'a stable one'}")
        return versions[chosen]

    def archive(self, entry: dict[str, Any]) -> bytes:
        data = self._blobs.get(entry["key"])
        if data is None:
            raise ChartVersionNotFound(f"the archive of uploaded chart {entry['name']} {entry['version']} is missing")
        return data

    def delete(self, name: str, version: str) -> None:
        entry = self._store.get_uploaded_chart(name, version)
        if entry is None:
            raise ChartVersionNotFound(f"uploaded chart {name} {version} not found")
        self._store.delete_uploaded_chart(name, version)
        self._blobs.delete(entry["key"])

    def summaries(self) -> dict[str, Any]:
        """The uploads as a compact index (newest version first), so search treats them like a repository."""
        by_name: dict[str, list[dict[str, Any]]] = {}
        for e in self.entries():
            by_name.setdefault(e["name"], []).append(
                {
                    "version": e["version"],
                    "app_version": e.get("app_version"),
                    "description": e.get("description"),
                    "digest": e["digest"],
                    "created": iso(e.get("uploaded_at")),
                    "keywords": e.get("keywords") or [],
                    "deprecated": e.get("deprecated", False),
                    "urls": [],
                }
            )
        for versions in by_name.values():
            versions.sort(key=lambda i: semver.Version.parse(i["version"]) or semver.Version(0, 0, 0), reverse=True)
        return {"entries": by_name}

    @staticmethod
    def _json(entry: dict[str, Any]) -> dict[str, Any]:
        return {
            "repository": "uploaded",
            "name": entry["name"],
            "version": entry["version"],
            "ref": f"uploaded/{entry['name']}",
            "app_version": entry.get("app_version"),
            "description": entry.get("description"),
            "digest": entry["digest"],
            "size": entry["size"],
            "files": entry.get("files"),
            "uploaded_at": iso(entry.get("uploaded_at")),
        }


def _str(value: object) -> str | None:
    return None if value is None else str(value)


RUNTIME_PREFIX = "runtime-charts/"  # apart from ``charts/``: never listed, searched or downloaded as uploads


class RuntimeCharts:
    """Charts a runtime's sync built from its Git source (``gitops.package``): content-addressed archives under
    their own prefix, named ``runtime/<chart>`` at the exact version the runtime planned (``<v>-rt-<digest>``).

    They have no table entry: nothing lists, searches or shows them, and no door may name them (``Catalog.check``
    refuses ``runtime/``); only a runtime's own steps install them, and a runtime's plan and status are read with
    ``read`` on its destination. The same content is the same key, so storing again is a no-op."""

    def __init__(self, blobs: S3Blobs, limits: archives.Limits) -> None:
        self._blobs = blobs
        self.limits = limits

    @staticmethod
    def key(name: str, version: str) -> str:
        return f"{RUNTIME_PREFIX}{name}/{name}-{version}.tgz"

    def add(self, data: bytes) -> tuple[str, str]:
        """Check and store an archive; (name, version)."""
        chart = archives.inspect(data, self.limits)
        key = self.key(chart.name, chart.version)
        if self._blobs.size(key) is None:
            self._blobs.put(key, data, CONTENT_TYPE)
        return chart.name, chart.version

    def archive(self, name: str, version: str | None) -> bytes:
        if not version or not _EXACT.fullmatch(version) or not semver.Version.parse(version):
            raise ChartVersionNotFound(f"runtime chart {name}: an exact version is required")
        data = self._blobs.get(self.key(name, version))
        if data is None:
            raise ChartVersionNotFound(f"runtime chart {name} {version} is not stored (sync the runtime again)")
        return data
