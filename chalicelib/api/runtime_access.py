"""What ``/v1/runtimes`` (``api/runtimes.py``) and Nautes' deployment runtimes (``compat/nautes.py``) share: putting
a runtime and showing one. Who may do it is declared on their routes (``install``, ``upgrade`` and ``uninstall`` on
every namespace of the old and new destination to declare, sync or delete; ``read`` to see or plan), checked by the
guard before the handler runs. No route is declared here."""

from __future__ import annotations

from typing import Any

from chalicelib import bootstrap
from chalicelib.api.guard import principal
from chalicelib.domain import validate as v
from chalicelib.domain.runtimes import RuntimeSpec

_runtimes = bootstrap.use(lambda d: d.runtimes)

WRITE_VERBS = ("install", "upgrade", "uninstall")


def put_runtime(
    name: str, body: dict[str, Any], origin: dict[str, Any] | None = None, if_match: str | None = None
) -> tuple[dict[str, Any], bool]:
    """Put it, recording the caller as its owner (a registered Git repository is read only while the owner may
    ``use`` it); ``if_match``: the runtime's ETag (412 when it changed)."""
    spec, secrets = RuntimeSpec.from_json(name, body, origin)
    return _runtimes().put(spec, secrets, principal(), if_match)


def view(name: str, verbs: tuple[str, ...] = ("read",)) -> dict[str, Any]:
    """A runtime as shown (``verbs``: what its route declared on its destination, checked by the guard)."""
    return _runtimes().view(v.dns_label("runtime", name))
