"""Packaged charts (.tgz): checked before anything trusts them, read for ``show``, unpacked safely.

A chart archive is accepted when it is a gzipped tar of regular files and directories under one top-level
directory that holds a ``Chart.yaml`` with ``apiVersion`` v1/v2, a ``name`` and a semantic ``version``; within the
size and file-count limits; with no absolute path, no ``..``, no link and no device anywhere inside.
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from chalicelib.domain import semver, yamlguard
from chalicelib.errors import InvalidInput, PayloadTooLarge

CHART_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
SHOWN = ("Chart.yaml", "values.yaml", "values.schema.json")
README = re.compile(r"^readme(\.(md|txt|rst))?$", re.IGNORECASE)
MAX_SHOWN_FILE = 1 << 20  # one file returned by show (README, values, a CRD): at most 1 MiB


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 50 << 20  # the archive itself
    max_files: int = 5000
    max_unpacked_bytes: int = 200 << 20  # sum of the files' sizes: a guard against decompression bombs


@dataclass(frozen=True)
class ChartArchive:
    name: str
    version: str
    metadata: dict[str, Any]
    digest: str  # sha256 of the archive, hex
    size: int
    file_count: int
    top: str  # the archive's top-level directory
    texts: dict[str, str] = field(default_factory=dict)  # Chart.yaml, values, README, crds/*: path -> text

    def show(self, parts: tuple[str, ...]) -> dict[str, Any]:
        """What ``helm show`` prints, as JSON: chart (Chart.yaml), values (text), readme (text), crds; and schema,
        the text of values.schema.json ("" when the chart has none)."""
        out: dict[str, Any] = {}
        if "chart" in parts:
            out["chart"] = self.metadata
        if "values" in parts:
            out["values"] = self.texts.get("values.yaml", "")
        if "readme" in parts:
            out["readme"] = next((t for p, t in sorted(self.texts.items()) if README.match(p)), "")
        if "crds" in parts:
            out["crds"] = [{"path": p, "content": t} for p, t in sorted(self.texts.items()) if p.startswith("crds/")]
        if "schema" in parts:
            out["schema"] = self.texts.get("values.schema.json", "")
        return out


def _bad(field_name: str, message: str) -> InvalidInput:
    return InvalidInput(field_name, message)


def _member_path(member: tarfile.TarInfo, field_name: str) -> PurePosixPath:
    name = member.name
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        raise _bad(field_name, f"archive entry {name[:100]!r} has an absolute or malformed path")
    path = PurePosixPath(name)
    if any(part == ".." for part in path.parts):
        raise _bad(field_name, f"archive entry {name[:100]!r} leaves the chart directory ('..')")
    if not (member.isfile() or member.isdir()):
        raise _bad(field_name, f"archive entry {name[:100]!r} is a link or special file; only files are allowed")
    return path


def inspect(data: bytes, limits: Limits, field_name: str = "chart") -> ChartArchive:
    """Check ``data`` is a chart archive within ``limits``; read its metadata and the files ``show`` needs."""
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(field_name, f"the chart archive must be at most {limits.max_bytes} bytes")
    try:
        tar = tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise _bad(field_name, "is not a packaged chart: expected a gzipped tar archive (helm package)") from exc
    texts: dict[str, str] = {}
    tops: set[str] = set()
    count = unpacked = 0
    with tar:
        try:
            for member in tar:
                path = _member_path(member, field_name)
                count += 1
                unpacked += max(member.size, 0)
                if count > limits.max_files:
                    raise PayloadTooLarge(field_name, f"the chart has more than {limits.max_files} files")
                if unpacked > limits.max_unpacked_bytes:
                    raise PayloadTooLarge(
                        field_name, f"the chart unpacks to more than {limits.max_unpacked_bytes} bytes"
                    )
                tops.add(path.parts[0])
                rel = "/".join(path.parts[1:])
                if member.isfile() and member.size <= MAX_SHOWN_FILE and _shown(rel):
                    extracted = tar.extractfile(member)
                    if extracted is not None:
                        texts[rel] = extracted.read().decode("utf-8", "replace")
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise _bad(field_name, "is a damaged archive") from exc
    if len(tops) != 1:
        raise _bad(field_name, "a chart archive holds exactly one top-level directory")
    metadata = _chart_yaml(texts.get("Chart.yaml"), field_name)
    return ChartArchive(
        name=metadata["name"],
        version=str(metadata["version"]),
        metadata=metadata,
        digest=hashlib.sha256(data).hexdigest(),
        size=len(data),
        file_count=count,
        top=tops.pop(),
        texts=texts,
    )


def _shown(rel: str) -> bool:
    return rel in SHOWN or bool(README.match(rel)) or (rel.startswith("crds/") and "/" not in rel[5:])


def _chart_yaml(text: str | None, field_name: str) -> dict[str, Any]:
    if text is None:
        raise _bad(field_name, "is not a chart: no Chart.yaml in its top-level directory")
    try:
        meta = yamlguard.load(text, field_name, yamlguard.CHART_YAML, what="Chart.yaml was refused: ")
    except yaml.YAMLError as exc:
        raise _bad(field_name, "Chart.yaml is not valid YAML") from exc
    if not isinstance(meta, dict):
        raise _bad(field_name, "Chart.yaml must be a mapping")
    if meta.get("apiVersion") not in ("v1", "v2"):
        raise _bad(field_name, "Chart.yaml: apiVersion must be v1 or v2")
    name = meta.get("name")
    if not isinstance(name, str) or not CHART_NAME.match(name):
        raise _bad(field_name, "Chart.yaml: name must be letters, digits, '.', '_' or '-' (at most 100)")
    version = meta.get("version")
    if not isinstance(version, str) or semver.Version.parse(version) is None or version.count(".") < 2:
        raise _bad(field_name, "Chart.yaml: version must be a semantic version such as 1.2.3")
    # JSON-safe: dates and other YAML types become strings
    return {str(k): _plain(v) for k, v in meta.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def unpack(data: bytes, dest: Path, limits: Limits) -> Path:
    """Unpack a checked archive into ``dest``; returns the chart directory."""
    chart = inspect(data, limits)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(dest, filter="data")  # the data filter refuses links, devices and paths outside dest
    return dest / chart.top
