"""What the compat surfaces share: the caller they hand the hall (``core/releases.py``), which authorizes, checks,
masks and accepts a verb exactly as for ``/v1`` and waits for its end (the APIs Charthouse replaces answer when helm
is done); how an ended operation reads; and how they address clusters and releases.
Authorization is declared on each route, as for /v1: the guard checks it before the handler runs, on the cluster
and namespace ``cluster_at``/``default_cluster_name`` resolve.

An operation still running when the gateway's limit nears is answered as such, naming the operation to poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib import bootstrap
from chalicelib.api.guard import principal
from chalicelib.core.releases import Caller, Outcome
from chalicelib.domain import diagnosis
from chalicelib.domain import validate as v
from chalicelib.domain.models import ListQuery, Operation, OperationStatus, ReleaseRef
from chalicelib.errors import InvalidInput, ReleaseNotFound

_authorizer = bootstrap.use(lambda d: d.authorizer)
_registry = bootstrap.use(lambda d: d.registry)
hall = bootstrap.use(lambda d: d.releases)  # one use case per release verb (core/releases.py)
_service = bootstrap.use(lambda d: d.service)
_settings = bootstrap.use(lambda d: d.settings)

WAIT_S = 25  # API Gateway answers within 29 s (the same bound as Prefer: wait)


@dataclass(frozen=True)
class Ended:
    """An operation as the caller of a compat surface sees it: ended (succeeded or failed), or still running."""

    operation: Operation

    @property
    def ok(self) -> bool:
        return self.operation.status is OperationStatus.SUCCEEDED

    @property
    def running(self) -> bool:
        return not self.operation.status.terminal

    @property
    def message(self) -> str:
        op = self.operation
        if self.running:
            return (
                f"operation {op.id} ({op.action.value} of {op.release.key}) is still {op.status.value}: "
                f"poll GET /v1/operations/{op.id}"
            )
        if op.error:
            return diagnosis.error_text(op.error) or str(op.error.get("code") or "the operation failed")
        return ""


class Unfinished(Exception):
    """A change whose operation failed or is still running: each surface answers it in its own shape."""

    def __init__(self, ended: Ended) -> None:
        super().__init__(ended.message)
        self.ended = ended


def readable(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only the records the caller may read (as /v1 lists)."""
    seen = _authorizer().reader(principal())
    return [i for i in items if seen.can_read(str(i["cluster"]), str(i["namespace"]))]


def caller() -> Caller:
    """The caller of a compat request: queued, then waited for up to ``WAIT_S``."""
    return Caller(principal(), wait_s=WAIT_S)


def ended(outcome: Outcome) -> Ended:
    return Ended(outcome.op)


def cluster_named(name: object, field: str) -> str:
    """A registered cluster, by its name."""
    cluster = v.dns_label(field, name)
    _registry().get(cluster)
    return cluster


def cluster_by_server(endpoint: str, field: str) -> str:
    """The registered cluster whose API server is ``endpoint`` (compared without a trailing slash)."""
    wanted = endpoint.strip().rstrip("/")
    for info in _registry().all():
        if info.server.rstrip("/") == wanted:
            return info.name
    raise InvalidInput(field, "names no registered cluster: register it with PUT /v1/clusters/{name} first")


def cluster_at(endpoint: str) -> str | None:
    """The registered cluster whose API server is ``endpoint``, or None (the guard then authorizes on the endpoint
    as given: an unknown one is refused as a known one is)."""
    try:
        return cluster_by_server(endpoint, "endpoint")
    except InvalidInput:
        return None


def default_cluster_name() -> str | None:
    """The cluster a request that names none goes to, as the guard authorizes it (None: there is none to choose)."""
    if _settings().default_cluster:
        return _settings().default_cluster
    names = [c.name for c in _registry().all()]
    return names[0] if len(names) == 1 else None


def default_cluster(field: str) -> str:
    """The configured default cluster (``CHARTHOUSE_DEFAULT_CLUSTER``), else the only registered one."""
    if _settings().default_cluster:
        return cluster_named(_settings().default_cluster, field)
    names = [c.name for c in _registry().all()]
    if len(names) == 1:
        return names[0]
    raise InvalidInput(field, "is needed: no default cluster is configured (CHARTHOUSE_DEFAULT_CLUSTER)")


def find_release(name: str, cluster: str | None, namespace: str | None) -> ReleaseRef:
    """A release addressed by name, its cluster and namespace optional: the one release of that name there."""
    found = readable(_service().list(ListQuery(cluster=cluster, namespace=namespace, name=name, limit=1000))[0])
    if cluster and namespace and not found:
        return ReleaseRef.parse(cluster, namespace, name)  # a release being installed, or a clear 404 later
    if not found:
        where = "/".join(p for p in (cluster, namespace) if p)
        raise ReleaseNotFound(f"release {name} not found" + (f" in {where}" if where else ""))
    if len(found) > 1:
        where = ", ".join(f"{i['cluster']}/{i['namespace']}" for i in found[:10])
        raise InvalidInput(
            "namespace", f"{name} names releases in several places ({where}): give cluster and namespace"
        )
    return ReleaseRef.parse(str(found[0]["cluster"]), str(found[0]["namespace"]), name)
