"""Plans and conditional requests: review, then apply exactly what was reviewed.

A **plan** is what a diff answered, kept for a while (``PLAN_TTL_S``): the request it was made for (the JSON body,
applied again as it was), and the facts it was reviewed against — the release's revision, the chart archive's
digest, the digest of the values the request would apply. An apply of the plan re-reads those facts and is refused
(``stale``) naming each that changed.

A **runtime plan** is what ``POST /v1/runtimes/{name}/plan`` answered: the source commit it read and, per release
the runtime declares, the step (``install``, ``upgrade``, ``uninstall``, ``unchanged``) with the facts a release
plan binds — the release's revision, the chart archive's digest (installs and upgrades), the digest of the request
the step makes (its values and chart reference). It keeps no request and no values: a sync applying it reads the
source again, and runs the steps it finds only when every fact is the same (``runtime_stale`` names those that are
not: ``source commit``, ``releases`` when the set of releases differs, and per release ``action``, ``revision``,
``chart``, ``values``).

An **ETag** names a release's state: it changes with every revision, status and operation, so that
``If-Match`` refuses a write whose author saw another state (``matches``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.models import ReleaseRef, iso

PLAN_TTL_S = 3600  # a plan is kept an hour: a review, an approval, an apply
FACTS = ("revision", "chart", "values")  # what a plan was reviewed against, in the order a refusal names them


@dataclass(frozen=True)
class Facts:
    """What an apply is bound to. ``chart`` is None for a rollback (its chart is a stored revision's)."""

    revision: int  # the release's revision (0: none yet)
    chart: str | None  # sha256 of the chart archive
    values: str  # digest of the merged values the request applies

    def to_json(self) -> dict[str, Any]:
        return {"revision": self.revision, "chart": self.chart, "values": self.values}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Facts:
        chart = data.get("chart")
        return cls(int(data["revision"]), None if chart is None else str(chart), str(data["values"]))


@dataclass(frozen=True)
class Plan:
    id: str
    ref: ReleaseRef
    action: str  # upgrade | rollback: the verb it may be applied with
    request: dict[str, Any]  # the request body, applied again as it is ({} as the table keeps it: see below)
    facts: Facts
    created_at: float
    expires_at: float
    request_digest: str = ""  # sha256 of the request (``request_digest``): the table keeps this, not the request

    def answer(self) -> dict[str, Any]:
        """What the diff answer shows of it."""
        return {"id": self.id, "expires_at": iso(self.expires_at)}

    def to_json(self, with_request: bool = True) -> dict[str, Any]:
        """The plan as JSON; ``with_request=False`` leaves the request out (its digest stays)."""
        out = {
            "id": self.id,
            **self.ref.to_json(),
            "action": self.action,
            "facts": self.facts.to_json(),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "request_digest": self.request_digest,
        }
        return {**out, "request": self.request} if with_request else out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(
            id=str(data["id"]),
            ref=ReleaseRef(str(data["cluster"]), str(data["namespace"]), str(data["name"])),
            action=str(data["action"]),
            request=dict(data.get("request") or {}),
            facts=Facts.from_json(dict(data["facts"])),
            created_at=float(data["created_at"]),
            expires_at=float(data["expires_at"]),
            request_digest=str(data.get("request_digest") or ""),
        )


def request_digest(request: dict[str, Any]) -> str:
    """The digest a plan keeps of its request (canonical JSON), checked when the request is read back."""
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class StepFacts:
    """One release of a runtime plan: its step and what the step was reviewed against."""

    key: str  # namespace/name
    action: str  # install | upgrade | uninstall | unchanged
    revision: int  # the release's revision (0: none, or uninstalled)
    chart: str | None  # sha256 of the chart archive (installs and upgrades), else None
    values: str | None  # digest of the request the step makes (None: an uninstall makes none)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "action": self.action,
            "revision": self.revision,
            "chart": self.chart,
            "values": self.values,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepFacts:
        chart, values = data.get("chart"), data.get("values")
        return cls(
            str(data["key"]),
            str(data["action"]),
            int(data["revision"]),
            None if chart is None else str(chart),
            None if values is None else str(values),
        )


@dataclass(frozen=True)
class RuntimePlan:
    id: str
    runtime: str
    commit: str  # the source commit read (an inline source: the digest of its releases)
    steps: tuple[StepFacts, ...]
    created_at: float
    expires_at: float

    def answer(self) -> dict[str, Any]:
        return {"id": self.id, "expires_at": iso(self.expires_at)}

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "runtime": self.runtime,
            "commit": self.commit,
            "steps": [s.to_json() for s in self.steps],
            "created_at": self.created_at,
            "expires_at": self.expires_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RuntimePlan:
        return cls(
            id=str(data["id"]),
            runtime=str(data["runtime"]),
            commit=str(data["commit"]),
            steps=tuple(StepFacts.from_json(dict(s)) for s in data["steps"]),
            created_at=float(data["created_at"]),
            expires_at=float(data["expires_at"]),
        )


RUNTIME_FACTS = ("source commit", "releases", "action", "revision", "chart", "values")
STEP_FACTS = ("action", "revision", "chart", "values")


def runtime_stale(planned: RuntimePlan, commit: str, steps: tuple[StepFacts, ...]) -> tuple[list[str], dict[str, Any]]:
    """What changed since a runtime plan: the names among ``RUNTIME_FACTS`` (empty: it may be applied), and per
    release the facts of its own that changed."""
    changed: set[str] = {"source commit"} if commit != planned.commit else set()
    before = {s.key: s for s in planned.steps}
    now_ = {s.key: s for s in steps}
    if list(before) != list(now_):
        changed.add("releases")  # a release declared, dropped or reordered
    per_release: dict[str, Any] = {}
    for key in before.keys() & now_.keys():
        names = [n for n in STEP_FACTS if getattr(before[key], n) != getattr(now_[key], n)]
        if names:
            per_release[key] = names
            changed.update(names)
    return [n for n in RUNTIME_FACTS if n in changed], dict(sorted(per_release.items()))


def runtime_etag(declaration: dict[str, Any], status_version: int) -> str:
    """A strong entity tag (quoted) of a runtime: its declaration and its status document's version (which every
    sync's write bumps)."""
    text = json.dumps(declaration, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(f"{text}\x00{status_version}".encode()).hexdigest()
    return f'"{digest[:32]}"'


def stale(planned: Facts, now: Facts) -> list[str]:
    """The names of the facts that changed since the plan (empty: it may be applied)."""
    return [name for name in FACTS if getattr(planned, name) != getattr(now, name)]


def etag(revision: int, status: str, last_operation_id: str) -> str:
    """A strong entity tag (quoted) of a release's state."""
    digest = hashlib.sha256(f"{revision}\x00{status}\x00{last_operation_id}".encode()).hexdigest()
    return f'"{digest[:32]}"'


def etag_of(record: dict[str, Any]) -> str:
    """The ETag of a release record as the API shows it (``revision``, ``status``, ``last_operation_id``)."""
    return etag(int(record.get("revision") or 0), str(record.get("status")), str(record.get("last_operation_id")))


def matches(header: str, current: str | None) -> bool:
    """Whether an ``If-Match`` value holds for ``current`` (None: the release does not exist): ``*`` matches any
    existing release; otherwise one of the comma-separated tags (a weak ``W/`` prefix is compared as strong)."""
    if current is None:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",") if t.strip()]
    return "*" in tags or current in tags
