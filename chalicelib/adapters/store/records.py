"""What the store takes and gives that is not a domain model: a stored cluster, a lease, an idempotency key, a
release list query. (Release records, revisions and operations are ``chalicelib.domain.models``.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.domain.models import ReleaseRef, iso, now


@dataclass(frozen=True)
class ClusterInfo:
    """A registered cluster as stored: no credentials (they are in Secrets Manager under ``secret_id``)."""

    name: str
    auth: str  # kubeconfig | token | eks
    server: str
    secret_id: str
    description: str
    created_at: float
    updated_at: float
    eks: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "auth": self.auth,
            "server": self.server,
            "description": self.description,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }
        if self.eks:
            out["eks"] = self.eks
        return out


@dataclass(frozen=True)
class Lease:
    """A release's lock: held by one operation until ``expires_at`` (longer than helm's timeout)."""

    ref: ReleaseRef
    operation_id: str
    expires_at: float

    @property
    def expired(self) -> bool:
        return self.expires_at < now()


@dataclass(frozen=True)
class Idempotency:
    """An Idempotency-Key and the hash of the request it was first used with."""

    key: str
    request_hash: str


class IdempotentReplay(Exception):
    """The Idempotency-Key is already claimed (internal: the pipeline answers with the recorded operation)."""


@dataclass(frozen=True)
class ListQuery:
    """Filters for release lists. ``statuses`` empty means every status except ``uninstalled``."""

    cluster: str | None = None
    namespace: str | None = None
    name: str | None = None
    search: str | None = None
    chart: str | None = None
    statuses: tuple[str, ...] = ()
    limit: int = 100
    next_token: str | None = None
