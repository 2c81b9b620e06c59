"""A chart repository's index (``index.yaml``): parsed once into a compact form, searched, and resolved.

The compact form is what the index cache stores (JSON: quick to load, unlike a large YAML index):
``{"entries": {name: [entry, ...newest first]}, "generated": str, "digest": sha256 of the index.yaml}`` where an
entry keeps only what search, show and install need.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import yaml

from chalicelib.domain import semver, yamlguard
from chalicelib.errors import ChartVersionNotFound, InvalidInput

ENTRY_FIELDS = (
    "version",
    "app_version",
    "description",
    "urls",
    "digest",
    "created",
    "deprecated",
    "keywords",
    "home",
    "icon",
    "type",
    "kube_version",
)
_RENAMES = {"appVersion": "app_version", "kubeVersion": "kube_version"}


@dataclass(frozen=True)
class Entry:
    """One chart version of an index."""

    name: str
    version: str
    data: dict[str, Any]

    @property
    def urls(self) -> list[str]:
        return [u for u in self.data.get("urls") or [] if isinstance(u, str)]

    @property
    def digest(self) -> str | None:
        d = self.data.get("digest")
        return d if isinstance(d, str) and d else None

    def summary(self, repository: str) -> dict[str, Any]:
        return {
            "repository": repository,
            "name": self.name,
            "ref": f"{repository}/{self.name}",
            "version": self.version,
            "app_version": self.data.get("app_version"),
            "description": self.data.get("description"),
            "deprecated": bool(self.data.get("deprecated")),
            "created": self.data.get("created"),
            "keywords": self.data.get("keywords") or [],
        }


def parse(raw: bytes, base_url: str) -> dict[str, Any]:
    """index.yaml bytes -> the compact form. Relative chart URLs are resolved against the repository URL.

    The text goes through :mod:`~chalicelib.domain.yamlguard` first: an index whose aliases expand beyond
    :data:`~chalicelib.domain.yamlguard.INDEX` is refused (``InvalidInput`` on ``url``) before it is built."""
    try:
        doc = yamlguard.load(raw, "url", yamlguard.INDEX, what="the repository's index.yaml was refused: ")
    except yaml.YAMLError as exc:
        raise InvalidInput("url", "the repository's index.yaml is not valid YAML") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("entries"), dict):
        raise InvalidInput("url", "is not a chart repository: its index.yaml has no entries")
    base = base_url.rstrip("/") + "/"
    entries: dict[str, list[dict[str, Any]]] = {}
    for name, versions in doc["entries"].items():
        if not isinstance(name, str) or not isinstance(versions, list):
            continue
        kept: list[tuple[semver.Version, dict[str, Any]]] = []
        for item in versions:
            if not isinstance(item, dict) or not isinstance(item.get("version"), str):
                continue
            parsed = semver.Version.parse(item["version"])
            if parsed is None:
                continue
            entry: dict[str, Any] = {}
            for key, value in item.items():
                name_ = _RENAMES.get(str(key), str(key))
                if name_ in ENTRY_FIELDS:
                    entry[name_] = value
            entry["urls"] = [urljoin(base, u) for u in item.get("urls") or [] if isinstance(u, str)]
            for key in ("created", "app_version", "description"):
                if key in entry and entry[key] is not None:
                    entry[key] = str(entry[key])
            kept.append((parsed, entry))
        kept.sort(key=lambda pair: pair[0], reverse=True)
        if kept:
            entries[name] = [e for _, e in kept]
    return {"entries": entries, "generated": str(doc.get("generated") or ""), "digest": hashlib.sha256(raw).hexdigest()}


def stats(index: dict[str, Any]) -> dict[str, int]:
    entries = index.get("entries") or {}
    return {"charts": len(entries), "versions": sum(len(v) for v in entries.values())}


def resolve(index: dict[str, Any], repository: str, name: str, constraint: str | None, devel: bool) -> Entry:
    """The entry helm would pick for ``name`` and ``constraint`` (exact version first, then the newest match)."""
    versions = (index.get("entries") or {}).get(name)
    if not versions:
        raise ChartVersionNotFound(f"chart {name} not found in repository {repository}")
    if constraint:
        for item in versions:
            if item["version"] == constraint or item["version"] == constraint.lstrip("v"):
                return Entry(name, item["version"], item)
    chosen = semver.newest((item["version"] for item in versions), constraint, devel)
    if chosen is None:
        wanted = f"version {constraint}" if constraint else "a stable version (pass devel for pre-releases)"
        raise ChartVersionNotFound(f"chart {name} in repository {repository} has no {wanted}")
    item = next(i for i in versions if i["version"] == chosen)
    return Entry(name, chosen, item)


def search(
    index: dict[str, Any],
    repository: str,
    query: str | None,
    all_versions: bool,
    devel: bool,
    constraint: str | None = None,
) -> list[dict[str, Any]]:
    """Charts whose name, description or keywords contain ``query`` (case-insensitive), like helm search repo."""
    needle = (query or "").lower()
    parsed = semver.Constraint.parse(constraint) if constraint else None
    out: list[dict[str, Any]] = []
    for name, versions in sorted((index.get("entries") or {}).items()):
        for item in versions:
            v = semver.Version.parse(item["version"])
            if v is None or (v.prerelease and not devel and not (parsed and parsed.names_prerelease)):
                continue
            if parsed is not None and not parsed.allows(v, devel):
                continue
            text = " ".join([name, str(item.get("description") or ""), *map(str, item.get("keywords") or [])])
            if needle and needle not in text.lower():
                break  # every version shares the name; descriptions rarely change the answer
            out.append(Entry(name, item["version"], item).summary(repository))
            if not all_versions:
                break
    return out
