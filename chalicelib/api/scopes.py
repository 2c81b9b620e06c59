"""Scopes read from the store, for routes that address a thing instead of a cluster and namespace (``routes.Scope``'s
``lookup``): an operation's release, a runtime's destination. Each answers ``[]`` for a thing that does not exist
(nothing more to authorize on: the route then answers its 404 to a caller who may call it at all)."""

from __future__ import annotations

from chalicelib import bootstrap
from chalicelib.api.routes import Ask, Target
from chalicelib.errors import NotFound


def operation_release(ask: Ask) -> list[Target]:
    """``{operation_id}``: the cluster and namespace of the operation's release."""
    try:
        op = bootstrap.get().intake.get(ask.params.get("operation_id", ""))
    except NotFound:
        return []
    return [Target(op.release.cluster, op.release.namespace)]


def runtime_destination(name: str) -> list[Target]:
    """Every namespace of a stored runtime's destination (its old one, when a request replaces it)."""
    doc = bootstrap.get().runtimes.declared(name) if name else None
    if not doc:
        return []
    destination = doc.get("destination") or {}
    return [Target(str(destination.get("cluster")), str(ns)) for ns in destination.get("namespaces") or []]


def stored_runtime(ask: Ask) -> list[Target]:
    """``{runtime}``: its stored destination."""
    return runtime_destination(ask.params.get("runtime", ""))
