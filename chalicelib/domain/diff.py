"""What an upgrade or rollback would change: two rendered manifests compared object by object.

Each object (kind, namespace, name) is ``added``, ``changed``, ``removed`` or ``unchanged``; a changed object
carries a unified diff of its YAML. Secret ``data``/``stringData`` values never appear: every value is masked,
and a value that differs between the two sides is masked as ``<redacted> (changed)`` so a change still shows.
Pure: the manifests come from helm (a dry run, the stored revision); nothing here touches a cluster.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

import yaml

from chalicelib.domain import redact, yamlguard
from chalicelib.domain.manifests import CLUSTER_SCOPED
from chalicelib.errors import InvalidInput

CHANGES = ("added", "changed", "removed", "unchanged")
DRIFT_STATES = ("in-sync", "changed", "missing", "unknown")  # a live object against its manifest, as answered
CHANGED_MASK = f"{redact.MASK} (changed)"
CONTEXT_LINES = 3
_DOC_SPLIT = re.compile(r"^---[^\n]*\n", re.MULTILINE)
_SOURCE = re.compile(r"^# Source: (.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Obj:
    """One rendered object: where it is, its text for the diff and (for Secrets) its parsed form."""

    api_version: str
    kind: str
    namespace: str | None
    name: str
    text: str
    doc: dict[str, Any]
    source: str = ""
    hook: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace or "", self.name)


def objects(manifest: str, namespace: str, hook: bool = False) -> list[Obj]:
    """The objects of a rendered manifest, in order; documents that are empty or not objects are skipped."""
    out: list[Obj] = []
    for raw in _DOC_SPLIT.split(manifest):
        source = _SOURCE.search(raw)
        text = _SOURCE.sub("", raw).strip("\n")
        if not text.strip():
            continue
        try:
            doc = yamlguard.load(text, "manifest", yamlguard.MANIFEST)
        except (yaml.YAMLError, InvalidInput):
            continue
        if not isinstance(doc, dict) or not doc.get("kind"):
            continue
        meta: dict[str, Any] = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
        kind = str(doc["kind"])
        out.append(
            Obj(
                api_version=str(doc.get("apiVersion") or ""),
                kind=kind,
                namespace=None if kind in CLUSTER_SCOPED else str(meta.get("namespace") or namespace),
                name=str(meta.get("name") or ""),
                text=text + "\n",
                doc=doc,
                source=source.group(1).strip() if source else "",
                hook=hook,
            )
        )
    return out


def _secret_sides(old: Obj | None, new: Obj | None) -> tuple[str, str]:
    """Both sides of a Secret with every data value masked; values that differ are marked as changed."""

    def masked(this: Obj, before: Obj | None) -> str:
        """``this`` with every data value masked; compared with ``before``, a value that differs is marked."""
        doc = dict(this.doc)
        for section in ("data", "stringData"):
            values = doc.get(section)
            if not isinstance(values, dict):
                continue
            theirs = before.doc.get(section) if before is not None else None
            theirs = theirs if isinstance(theirs, dict) else {}
            doc[section] = {
                k: CHANGED_MASK if (k in theirs and theirs[k] != v) else redact.MASK for k, v in values.items()
            }
        return yaml.safe_dump(doc, sort_keys=False)

    return (masked(old, None) if old else "", masked(new, old) if new else "")


def _sides(old: Obj | None, new: Obj | None, reveal: bool) -> tuple[str, str]:
    either = new or old
    assert either is not None
    if either.kind == "Secret" and not reveal:
        return _secret_sides(old, new)
    return (old.text if old else "", new.text if new else "")


def _label(o: Obj) -> str:
    return f"{o.kind}/{o.namespace}/{o.name}" if o.namespace else f"{o.kind}/{o.name}"


def compare(current: list[Obj], target: list[Obj], reveal: bool = False) -> list[dict[str, Any]]:
    """Per object, in the target's order then the removed ones: its change and (if changed) a unified diff."""
    before = {o.key: o for o in current}
    after = {o.key: o for o in target}
    out: list[dict[str, Any]] = []
    for key in [*after, *(k for k in before if k not in after)]:
        old, new = before.get(key), after.get(key)
        a, b = _sides(old, new, reveal)
        change = "added" if old is None else "removed" if new is None else "changed" if a != b else "unchanged"
        shown = new or old
        assert shown is not None
        entry: dict[str, Any] = {
            "api_version": shown.api_version,
            "kind": shown.kind,
            "name": shown.name,
            "change": change,
            "hook": shown.hook,
        }
        if shown.namespace is not None:
            entry["namespace"] = shown.namespace
        if shown.source:
            entry["source"] = shown.source
        if change != "unchanged":
            label = _label(shown)
            lines = difflib.unified_diff(
                a.splitlines(keepends=True),
                b.splitlines(keepends=True),
                fromfile=f"current/{label}" if old else "/dev/null",
                tofile=f"target/{label}" if new else "/dev/null",
                n=CONTEXT_LINES,
            )
            entry["diff"] = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
        out.append(entry)
    return out


def summary(entries: list[dict[str, Any]]) -> dict[str, int]:
    """How many objects per change."""
    return {c: sum(1 for e in entries if e["change"] == c) for c in CHANGES}
