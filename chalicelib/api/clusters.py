"""HTTP routes of clusters: register, list, show, forget, their namespaces, and a reconcile of one (``core/clusters.py``,
``core/reconcile.py`` do the work)."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.api import operations, web
from chalicelib.api import schemas as s
from chalicelib.api.guard import principal
from chalicelib.api.routes import route
from chalicelib.core.clusters import ClusterSpec
from chalicelib.domain import fields
from chalicelib.domain import validate as v
from chalicelib.domain.models import RECONCILE_FIELDS, ReconcileSpec

bp = Blueprint(__name__)
_authorizer = bootstrap.use(lambda d: d.authorizer)
_intake = bootstrap.use(lambda d: d.intake)
_limits = bootstrap.use(lambda d: d.limits)
_reconciler = bootstrap.use(lambda d: d.reconciler)
_registry = bootstrap.use(lambda d: d.registry)


def _query() -> dict[str, str]:
    return web.query(bp.current_request)


@route(
    bp,
    "GET",
    "/v1/clusters",
    verb="read",
    summary="list clusters",
    ok={"200": s.listing("clusters", s.ref("Cluster"))},
    filtered=True,
)
def list_clusters() -> dict[str, Any]:
    seen = _authorizer().reader(principal())
    return {"clusters": [c.to_json() for c in _registry().all() if seen.can_read(c.name)]}


@route(
    bp,
    "PUT",
    "/v1/clusters/{cluster}",
    verb="admin",
    summary="register or replace a cluster",
    ok={"200": s.json_response(s.ref("Cluster")), "201": s.json_response(s.ref("Cluster"), "created")},
    errors=(400, 413, 422, 503),
    body=s.CLUSTER_PUT,
)
def put_cluster(cluster: str) -> Response:
    spec = ClusterSpec.from_json(cluster, web.json_body(bp.current_request))
    info, created = _registry().put(spec)
    return Response(
        body=info.to_json(), status_code=201 if created else 200, headers={"Content-Type": "application/json"}
    )


@route(
    bp,
    "GET",
    "/v1/clusters/{cluster}",
    verb="read",
    summary="a cluster, its reachability and server version",
    ok={"200": s.json_response(s.ref("Cluster"))},
    errors=(404, 422, 503),
)
def get_cluster(cluster: str) -> dict[str, Any]:
    info = _registry().get(v.dns_label("cluster", cluster))
    probe = _registry().probe(cluster)
    out = info.to_json()
    out.update(reachable=probe.reachable, server_version=probe.server_version)
    if probe.error:
        out["unreachable_reason"] = probe.error
    return out


@route(
    bp,
    "DELETE",
    "/v1/clusters/{cluster}",
    verb="admin",
    summary="forget a cluster and delete its credentials",
    ok={"204": s.DELETED},
    errors=(404, 409, 422, 503),
    query=[s.param("force", schema=fields.BOOL)],
)
def delete_cluster(cluster: str) -> Response:
    _registry().get(v.dns_label("cluster", cluster))
    force = bool(web.query_bools(_query(), ("force",)).get("force", False))
    _registry().delete(cluster, force)
    return Response(body="", status_code=204)


@route(
    bp,
    "GET",
    "/v1/clusters/{cluster}/namespaces",
    verb="read",
    summary="namespaces of a cluster (live)",
    ok={"200": s.listing("namespaces", {"type": "object", "required": ["name"]})},
    errors=(404, 422, 502, 503),
)
def list_namespaces(cluster: str) -> dict[str, Any]:
    seen = _authorizer().reader(principal())
    names = _registry().namespaces(v.dns_label("cluster", cluster))
    return {"namespaces": [n for n in names if seen.can_read(cluster, n["name"])]}


@route(
    bp,
    "POST",
    "/v1/clusters/{cluster}/reconcile",
    verb="reconcile",
    summary="reconcile: bring the store in line with helm on the cluster (an operation on <cluster>/*/*)",
    ok={"202": s.ACCEPTED},
    errors=(400, 404, 409, 422, 503),
    body=fields.body_schema(RECONCILE_FIELDS),
)
def reconcile(cluster: str) -> Response:
    """Bring the store in line with the cluster (reconcile.py): 202 with the operation; 409 while one runs."""
    v.dns_label("cluster", cluster)
    request = bp.current_request
    body = web.json_body(request)
    spec = ReconcileSpec.from_json(body, _limits())
    op = _intake().replay(operations.idempotency(request, body))
    return operations.accepted(request, operations.waited(request, op or _reconciler().request(cluster, spec)))
