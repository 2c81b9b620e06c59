"""A chart argument that is on this disk: packaged (a directory), uploaded (idempotently) and named for the API.

``release create|upgrade`` and ``chart push`` (and any command that takes a CHART: call :func:`resolve`) accept,
besides the service's references (``repo/chart``, ``oci://...``, ``https://.../x.tgz``, ``uploaded/chart``), a
local chart directory or ``.tgz``, as helm does. A local path wins over a ``repo/chart`` of the same spelling (as
in helm). The archive goes through the service's upload route; the same bytes again are answered "already
stored", so installing the same directory twice uploads nothing new. The release then installs
``uploaded/<name>`` at exactly the uploaded version.

A reference that looks like a path (``./x``, ``../x``, ``/x``, ``~/x``, ``x.tgz``, ``a/b/c``) but is not on the
disk is refused here with what to do, instead of the service's "must be one of ..." answer.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ApiError, UsageError
from .http import ApiClient, path, put_presigned
from .packaging import Package, missing_dependencies, package_dir, read_archive

DIRECT_UPLOAD_MAX_BYTES = 9 * 1024 * 1024
SCHEMES = ("oci://", "http://", "https://")
ARCHIVE_SUFFIXES = (".tgz", ".tar.gz")


@dataclass(frozen=True)
class Resolved:
    chart: str  # what the API is sent
    version: str | None
    package: Package | None = None  # set for a local chart


def looks_like_path(ref: str) -> bool:
    if ref.startswith(SCHEMES):
        return False
    return (
        ref in (".", "..")
        or ref.startswith(("./", "../", "/", "~"))
        or ref.endswith(ARCHIVE_SUFFIXES)
        or ref.count("/") >= 2
        or (os.sep != "/" and os.sep in ref)
    )


def _suggestion(ref: str) -> str:
    """A near name in the parent directory (``./hellp`` -> ``./hello``), or the general forms."""
    target = Path(ref).expanduser()
    parent = target.parent if str(target.parent) else Path(".")
    if parent.is_dir():
        names = [p.name for p in parent.iterdir() if (p / "Chart.yaml").is_file() or p.name.endswith(ARCHIVE_SUFFIXES)]
        close = difflib.get_close_matches(target.name, names, n=1, cutoff=0.6)
        if close:
            shown = ref[: len(ref) - len(target.name)] + close[0] if ref.endswith(target.name) else close[0]
            return f"did you mean {shown}?"
    else:
        return f"the directory {parent} does not exist either"
    return "a local chart is a directory with a Chart.yaml, or a .tgz from `helm package`"


def local_path(ref: str) -> Path | None:
    """The local chart ``ref`` names, None when it names none (then it is for the service).

    Raises :class:`UsageError` for something that looks like a path but is not a chart."""
    if ref.startswith(SCHEMES) or not ref:
        return None
    candidate = Path(ref).expanduser()
    if candidate.is_dir():
        if not (candidate / "Chart.yaml").is_file():
            inner = sorted(p.parent.name for p in candidate.glob("*/Chart.yaml"))
            hint = f"; charts inside it: {', '.join(inner)}" if inner else " (`helm create` makes one)"
            raise UsageError(f"chart {ref}: the directory has no Chart.yaml, so it is not a chart{hint}")
        return candidate
    if candidate.is_file():
        return candidate
    if looks_like_path(ref):
        raise UsageError(f"chart {ref}: no such file or directory on this machine; {_suggestion(ref)}")
    if "/" not in ref:
        raise UsageError(
            f"chart {ref!r}: neither a local chart nor a chart reference; give a path (./{ref}), "
            f"REPOSITORY/{ref} (see `charthouse chart search {ref}`), uploaded/{ref}, or oci://.../{ref}"
        )
    return None


def build(local: Path, dependency_update: bool = False) -> Package:
    """The archive of a local chart: a ``.tgz`` as it is, a directory packaged."""
    if local.is_file():
        return read_archive(local)
    missing = missing_dependencies(local)
    local_only = missing_dependencies(local, only_file=True)
    if local_only:
        raise UsageError(
            f"chart {local}: dependencies {', '.join(local_only)} come from file:// paths, which the service "
            "cannot read: vendor them into charts/ first (`helm dependency build`)"
        )
    if missing and not dependency_update:
        raise UsageError(
            f"chart {local}: dependencies {', '.join(missing)} are declared but not in charts/: pass "
            "--dependency-update (the service fetches them from its registered repositories), or vendor them "
            "into charts/ (`helm dependency build`)"
        )
    return package_dir(local)


def upload(
    client: ApiClient,
    package: Package,
    overwrite: bool = False,
    presigned: bool = False,
    source: str = "",
) -> tuple[dict[str, Any], bool]:
    """Upload an archive through the upload route; returns the stored chart and whether it was new. The same
    bytes again are no change (200); other bytes under the same name and version are refused with the fix."""
    query = {"overwrite": True if overwrite else None}
    try:
        if len(package.data) <= DIRECT_UPLOAD_MAX_BYTES and not presigned:
            reply = client.call(
                "POST", path("v1", "charts"), raw=package.data, content_type="application/gzip", query=query
            )
        else:
            slot = client.call("POST", path("v1", "charts", "uploads"), body={}, retry=True).data
            if len(package.data) > int(slot.get("max_bytes") or len(package.data)):
                raise UsageError(
                    f"{package.filename} is {len(package.data)} bytes; the service takes at most {slot['max_bytes']}"
                )
            put_presigned(str(slot["url"]), package.data, slot.get("headers") or {})
            reply = client.call("POST", path("v1", "charts"), body={"upload_id": slot["upload_id"]}, query=query)
    except ApiError as exc:
        if exc.status == 409:
            raise UsageError(
                f"uploaded/{package.name} {package.version} is already stored with other contents: bump `version` "
                f"in Chart.yaml, or replace the stored one with `charthouse chart push {source or package.filename} "
                "--overwrite`"
            ) from None
        raise
    data = reply.data if isinstance(reply.data, dict) else {}
    return data, reply.status == 201


def resolve(
    client: ApiClient,
    ref: str,
    version: str | None,
    note: Callable[[str], None],
    dependency_update: bool = False,
) -> Resolved:
    """The chart and version to send for the argument ``ref``: a local chart is packaged and uploaded first
    (progress through ``note``); anything else is passed on unchanged."""
    local = local_path(ref)
    if local is None:
        return Resolved(ref, version)
    if version:
        raise UsageError(f"--version does not apply to the local chart {ref}: its version is the one in Chart.yaml")
    note(f"packaging {ref}" if local.is_dir() else f"reading {ref}")
    package = build(local, dependency_update)
    note(f"  {package.filename}: {len(package.files)} files, {len(package.data)} bytes, sha256 {package.digest[:12]}")
    note(f"uploading {package.filename}")
    _, new = upload(client, package, source=ref)
    note(f"  {'stored' if new else 'already stored (same bytes)'} as uploaded/{package.name} {package.version}")
    return Resolved(f"uploaded/{package.name}", package.version, package)
