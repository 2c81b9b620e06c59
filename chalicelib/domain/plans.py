"""Plans and conditional requests: review, then apply exactly what was reviewed.

A **plan** is what a diff answered, kept for a while (``PLAN_TTL_S``): the request it was made for (the JSON body,
applied again as it was), and the facts it was reviewed against — the release's revision, the chart archive's
digest, the digest of the values the request would apply. An apply of the plan re-reads those facts and is refused
(``stale``) naming each that changed.

An **ETag** names a release's state: it changes with every revision, status and operation, so that
``If-Match`` refuses a write whose author saw another state (``matches``).
"""

from __future__ import annotations

import hashlib
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
    request: dict[str, Any]  # the request body, applied again as it is
    facts: Facts
    created_at: float
    expires_at: float

    def answer(self) -> dict[str, Any]:
        """What the diff answer shows of it."""
        return {"id": self.id, "expires_at": iso(self.expires_at)}

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.ref.to_json(),
            "action": self.action,
            "request": self.request,
            "facts": self.facts.to_json(),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(
            id=str(data["id"]),
            ref=ReleaseRef(str(data["cluster"]), str(data["namespace"]), str(data["name"])),
            action=str(data["action"]),
            request=dict(data["request"]),
            facts=Facts.from_json(dict(data["facts"])),
            created_at=float(data["created_at"]),
            expires_at=float(data["expires_at"]),
        )


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
