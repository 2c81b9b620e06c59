"""What every compat surface does with a release verb: authorize it as /v1 does, check it, accept it as an
operation and wait for its end (the APIs Charthouse replaces answer when helm is done).

The operation is the same one ``/v1`` would make (same checks, queue, lease, audit trail and record); an operation
still running when the gateway's limit nears is answered as such, naming the operation to poll.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib import bootstrap
from chalicelib.api.guard import principal
from chalicelib.domain import diagnosis
from chalicelib.domain import validate as v
from chalicelib.domain.models import Action, ListQuery, Operation, OperationStatus, ReleaseRef, Spec
from chalicelib.errors import InvalidInput, ReleaseNotFound

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


def allow(verb: str, cluster: str | None, namespace: str | None) -> None:
    """The caller may ``verb`` there, by the same policies as /v1 (403 ``Forbidden`` otherwise)."""
    bootstrap.get().authorizer.require(principal(), verb, cluster, namespace)


def readable(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only the records the caller may read (as /v1 lists)."""
    seen = bootstrap.get().authorizer.reader(principal())
    return [i for i in items if seen.can_read(str(i["cluster"]), str(i["namespace"]))]


def submit(action: Action, ref: ReleaseRef, spec: Spec, check: Callable[[], object]) -> Ended:
    """Authorize (the verb of ``action``), ``check`` against the stored state, accept, and wait for the end."""
    allow(action.value, ref.cluster, ref.namespace)
    check()
    d = bootstrap.get()
    op = d.intake.accept(action, ref, spec)
    return Ended(d.intake.wait(op.id, WAIT_S))


def cluster_named(name: object, field: str) -> str:
    """A registered cluster, by its name."""
    cluster = v.dns_label(field, name)
    bootstrap.get().registry.get(cluster)
    return cluster


def cluster_by_server(endpoint: str, field: str) -> str:
    """The registered cluster whose API server is ``endpoint`` (compared without a trailing slash)."""
    wanted = endpoint.strip().rstrip("/")
    for info in bootstrap.get().registry.all():
        if info.server.rstrip("/") == wanted:
            return info.name
    raise InvalidInput(field, "names no registered cluster: register it with PUT /v1/clusters/{name} first")


def default_cluster(field: str) -> str:
    """The configured default cluster (``CHARTHOUSE_DEFAULT_CLUSTER``), else the only registered one."""
    d = bootstrap.get()
    if d.settings.default_cluster:
        return cluster_named(d.settings.default_cluster, field)
    names = [c.name for c in d.registry.all()]
    if len(names) == 1:
        return names[0]
    raise InvalidInput(field, "is needed: no default cluster is configured (CHARTHOUSE_DEFAULT_CLUSTER)")


def find_release(name: str, cluster: str | None, namespace: str | None) -> ReleaseRef:
    """A release addressed by name, its cluster and namespace optional: the one release of that name there."""
    d = bootstrap.get()
    found = readable(d.service.list(ListQuery(cluster=cluster, namespace=namespace, name=name, limit=1000))[0])
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
