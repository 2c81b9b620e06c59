"""Who may declare, see and change a runtime, shared by ``/v1/runtimes`` (``api/runtimes.py``) and Nautes'
deployment runtimes (``compat/nautes.py``): a caller needs, on every namespace of a runtime's destination,
``install``, ``upgrade`` and ``uninstall`` to declare, sync or delete it (what a sync may do there), and ``read`` to
see or plan it. No route is declared here."""

from __future__ import annotations

from typing import Any

from chalicelib import bootstrap
from chalicelib.api.guard import principal
from chalicelib.domain import validate as v
from chalicelib.domain.runtimes import RuntimeSpec

_authorizer = bootstrap.use(lambda d: d.authorizer)
_runtimes = bootstrap.use(lambda d: d.runtimes)

WRITE_VERBS = ("install", "upgrade", "uninstall")


def require_on_destination(destination: dict[str, Any], verbs: tuple[str, ...]) -> None:
    """The caller holds every one of ``verbs`` on every namespace of the destination."""
    authorizer = _authorizer()
    for namespace in destination.get("namespaces") or []:
        for verb in verbs:
            authorizer.require(principal(), verb, destination["cluster"], namespace)


def put_runtime(name: str, body: dict[str, Any], origin: dict[str, Any] | None = None) -> tuple[dict[str, Any], bool]:
    """Check the caller on the old and new destination, then put."""
    spec, secrets = RuntimeSpec.from_json(name, body, origin)
    require_on_destination(spec.destination.to_json(), WRITE_VERBS)
    existing = _runtimes().declared(name)
    if existing is not None:
        require_on_destination(existing["destination"], WRITE_VERBS)
    return _runtimes().put(spec, secrets)


def view(name: str, verbs: tuple[str, ...] = ("read",)) -> dict[str, Any]:
    """A runtime as shown, once the caller holds ``verbs`` on its destination."""
    out = _runtimes().view(v.dns_label("runtime", name))
    require_on_destination(out["destination"], verbs)
    return out
