"""HTTP routes of clusters, releases and operations: parse -> service/pipeline -> JSON (plumbing: ``web``)."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.api import schemas as s
from chalicelib.api import web
from chalicelib.api.guard import principal
from chalicelib.api.openapi import spec as openapi_spec
from chalicelib.api.routes import route
from chalicelib.config import VERSION
from chalicelib.core.authz import PUBLIC, SELF
from chalicelib.core.clusters import ClusterSpec
from chalicelib.core.operations import fits_inline
from chalicelib.core.reconcile import LIVE_INFO
from chalicelib.core.service import INFO_PARTS
from chalicelib.domain import fields
from chalicelib.domain import validate as v
from chalicelib.domain.models import (
    INSTALL_FIELDS,
    LIST_SORTS,
    RECONCILE_FIELDS,
    ROLLBACK_FIELDS,
    STATUS_FILTERS,
    TEST_FIELDS,
    UNINSTALL_FIELDS,
    UNLOCK_FIELDS,
    UPGRADE_FIELDS,
    Action,
    ChartSpec,
    Idempotency,
    InstallSpec,
    Limits,
    ListQuery,
    Operation,
    OperationQuery,
    OperationStatus,
    ReconcileSpec,
    ReleaseRecord,
    ReleaseRef,
    ReleaseTestSpec,
    RollbackSpec,
    Spec,
    UninstallSpec,
    UnlockSpec,
    UpgradeSpec,
)
from chalicelib.domain.namefilter import NameFilter
from chalicelib.errors import (
    DependencyUnavailable,
    InvalidInput,
)

log = logging.getLogger(__name__)
bp = Blueprint(__name__)

MAX_BODY_BYTES = 512 * 1024
MAX_WAIT_S = 25  # API Gateway answers within 29 s
LAMBDA_MARGIN_S = 2  # an operation run in the request leaves the function this long to answer
PREFER_WAIT = re.compile(r"(?:^|[\s,;])wait\s*=\s*(\d{1,6})\b", re.IGNORECASE)
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
RELEASES = "/v1/clusters/{cluster}/namespaces/{namespace}/releases"
RELEASE = RELEASES + "/{name}"


# ---------------------------------------------------------------- plumbing


@bp.middleware("http")
def chalice_errors_in_our_shape(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Chalice answers some requests itself (405 method not allowed, 415 media type, 400 bad body) with
    ``{"Code", "Message"}``: give those the service's error shape too, so every error reads the same."""
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and set(body) == {"Code", "Message"}:
        response.body = {
            "error": {
                "code": str(body["Code"]).removesuffix("Error") or "Error",
                "message": str(body["Message"]),
                "details": {},
            }
        }
        response.headers["Content-Type"] = "application/json"
    return response


def _body() -> dict[str, Any]:
    return web.json_body(bp.current_request)


def _query() -> dict[str, str]:
    return web.query(bp.current_request)


def _limits() -> Limits:
    return bootstrap.get().limits


def _idempotency(body: dict[str, Any]) -> Idempotency | None:
    """The Idempotency-Key header and a digest of the request it names (method, path, query, body)."""
    headers: Any = bp.current_request.headers  # a case-insensitive mapping
    key = headers.get("idempotency-key") if headers else None
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.match(key):
        raise InvalidInput("Idempotency-Key", "must be 1-128 characters of letters, digits and -_.:")
    req = bp.current_request
    # req.path is the route template: the URI parameters make it the concrete resource
    canonical = json.dumps(
        {"method": req.method, "path": req.path, "params": req.uri_params or {}, "query": _query(), "body": body},
        sort_keys=True,
        separators=(",", ":"),
    )
    return Idempotency(key, hashlib.sha256(canonical.encode()).hexdigest())


def _submit(action: Action, ref: ReleaseRef, spec: Spec, body: dict[str, Any], check: Callable[[], None]) -> Response:
    """Replays answer with their operation; then ``check`` the stored state; a dry run answers at once (200);
    anything else becomes an operation (202 + Location), run in this request when the caller waits for it and
    its helm timeout fits in the wait (``_run_here``)."""
    started = time.monotonic()
    d = bootstrap.get()
    idem = None if isinstance(spec, ChartSpec) and spec.dry_run else _idempotency(body)
    op = d.intake.replay(idem)
    if op is None:
        check()
        if isinstance(spec, ChartSpec) and spec.dry_run:
            return Response(body=d.service.dry_run(ref, spec, _reveal(ref)), status_code=200)
        budget = _inline_budget()
        if budget is not None and fits_inline(action, spec, budget):
            return _accepted(*_run_here(action, ref, spec, idem, budget - (time.monotonic() - started)))
        op = d.intake.accept(action, ref, spec, idem)
    return _accepted(op)


def _inline_budget() -> float | None:
    """Seconds this request may spend on an operation: ``Prefer: wait=N``, and never past the function's own
    time limit (less a margin to answer). None without the preference."""
    wait = _preferred_wait()
    if wait is None:
        return None
    context = getattr(bp.current_request, "lambda_context", None)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return min(wait, remaining() / 1000 - LAMBDA_MARGIN_S) if callable(remaining) else float(wait)


def _run_here(
    action: Action, ref: ReleaseRef, spec: Spec, idem: Idempotency | None, seconds: float
) -> tuple[Operation, ReleaseRecord | None]:
    """Accept the operation without a message and run it in this function under the release's lease
    (``Executor.execute_here``): the operation, and the release record it wrote (None: read the store). If it
    cannot start here (Secrets Manager unavailable) it goes to the worker after all; a replayed twin's operation
    is only waited for."""
    d = bootstrap.get()
    op = d.intake.accept(action, ref, spec, idem, enqueue=False)
    if not d.intake.runs_here(op):  # a replayed twin's operation: only waited for
        return op, None
    try:
        done = d.executor.execute_here(op, spec, seconds)
    except DependencyUnavailable:
        log.info("operation %s could not start in the request; handed to the worker", op.id)
        d.intake.enqueue(op, spec)
        return op, None
    return (done.op, done.record) if done else (op, None)


def _reveal(ref: ReleaseRef) -> bool:
    """``?reveal=true``: show values and Secret data unmasked, which needs the ``reveal`` permission."""
    if not web.query_bools({"reveal": _query().get("reveal", "false")}, ("reveal",))["reveal"]:
        return False
    bootstrap.get().authorizer.require(principal(), "reveal", ref.cluster, ref.namespace)
    return True


def _visible(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only what the caller may read (items carry ``cluster``/``namespace``, or a ``release`` holding them)."""
    seen = bootstrap.get().authorizer.reader(principal())
    return [
        i
        for i in items
        if seen.can_read(
            str(i.get("cluster") or i.get("release", {}).get("cluster")),
            str(i.get("namespace") or i.get("release", {}).get("namespace")),
        )
    ]


def _preferred_wait() -> int | None:
    """``Prefer: wait=N`` (RFC 7240): how long the caller would rather wait for the answer, at most
    ``MAX_WAIT_S``; a preference that cannot be read is ignored, as the RFC asks."""
    headers: Any = bp.current_request.headers
    found = PREFER_WAIT.search(headers.get("prefer") or "") if headers else None
    return min(int(found.group(1)), MAX_WAIT_S) if found else None


def _accepted(op: Operation, record: ReleaseRecord | None = None) -> Response:
    """202 with the operation to poll; or, asked to wait (``Prefer: wait=N``) and the operation ended in time,
    200 (201 for an install that succeeded) with the finished operation and the release record (``record``
    when this request wrote it, else as stored)."""
    location: dict[str, str | list[str]] = {"Location": f"/v1/operations/{op.id}", "Content-Type": "application/json"}
    wait = _preferred_wait()
    if wait is None:
        return Response(body=op.to_json(), status_code=202, headers=location)
    d = bootstrap.get()
    if not op.status.terminal:
        op = d.intake.wait(op.id, wait)
    location["Preference-Applied"] = f"wait={wait}"
    if not op.status.terminal:
        return Response(body=op.to_json(), status_code=202, headers=location)
    created = op.action is Action.INSTALL and op.status is OperationStatus.SUCCEEDED
    body = {**op.to_json(), "record": record.to_json() if record else d.service.record(op.release)}
    return Response(body=body, status_code=201 if created else 200, headers=location)


# ---------------------------------------------------------------- meta


@route(
    bp,
    "GET",
    "/v1/health",
    verb=PUBLIC,
    summary="health check, with the service's and helm's versions",
    ok={
        "200": s.json_response(
            {
                "type": "object",
                "required": ["status", "stage", "version", "helm_version"],
                "properties": {
                    "status": fields.STR,
                    "stage": fields.STR,
                    "version": fields.STR,
                    "helm_version": fields.STR,
                },
            }
        )
    },
)
def health() -> dict[str, Any]:
    d = bootstrap.get()
    return {"status": "ok", "stage": d.settings.stage, "version": VERSION, "helm_version": d.service.helm_version()}


@route(bp, "GET", "/v1/openapi.json", verb=SELF, summary="this document", ok={"200": s.json_response(s.OBJECT)})
def openapi() -> dict[str, Any]:
    return openapi_spec()


# ---------------------------------------------------------------- clusters


@route(
    bp, "GET", "/v1/clusters", verb="read", summary="list clusters", ok={"200": s.listing("clusters", s.ref("Cluster"))}
)
def list_clusters() -> dict[str, Any]:
    seen = bootstrap.get().authorizer.reader(principal())
    return {"clusters": [c.to_json() for c in bootstrap.get().registry.all() if seen.can_read(c.name)]}


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
    spec = ClusterSpec.from_json(cluster, _body())
    info, created = bootstrap.get().registry.put(spec)
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
    registry = bootstrap.get().registry
    info = registry.get(v.dns_label("cluster", cluster))
    probe = registry.probe(cluster)
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
    d = bootstrap.get()
    d.registry.get(v.dns_label("cluster", cluster))
    force = bool(web.query_bools(_query(), ("force",)).get("force", False))
    d.registry.delete(cluster, force)
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
    seen = bootstrap.get().authorizer.reader(principal())
    names = bootstrap.get().registry.namespaces(v.dns_label("cluster", cluster))
    return {"namespaces": [n for n in names if seen.can_read(cluster, n["name"])]}


# ---------------------------------------------------------------- releases: reads


def list_query(query: dict[str, str], cluster: str | None, namespace: str | None) -> ListQuery:
    """A release list's filters from query parameters (also used by the compat surfaces)."""
    statuses: tuple[str, ...] = ()
    if query.get("status"):
        statuses = tuple(query["status"].split(","))
        for s in statuses:
            if s not in STATUS_FILTERS:
                raise InvalidInput("status", f"must be one of {', '.join(STATUS_FILTERS)} (comma-separated)")
    return ListQuery(
        cluster=v.dns_label("cluster", cluster) if cluster else None,
        namespace=v.dns_label("namespace", namespace or query.get("namespace"))
        if (namespace or query.get("namespace"))
        else None,
        name=v.release_name("name", query["name"]) if query.get("name") else None,
        search=v.text("search", query.get("search"), 53),
        chart=v.text("chart", query.get("chart"), 128),
        statuses=statuses,
        limit=web.limit(query),
        next_token=query.get("next_token"),
        sort=v.choice("sort", query.get("sort"), LIST_SORTS),
        reverse=v.choice("order", query.get("order"), ("asc", "desc")) == "desc",
        filter=NameFilter.parse("filter", query["filter"]) if query.get("filter") else None,
    )


LIST_PARAMS = frozenset({"namespace", "status", "name", "search", "chart", "limit", "next_token", "filter", "sort"})


def _list(cluster: str | None, namespace: str | None) -> dict[str, Any]:
    query = _query()
    v.no_unknown(query, LIST_PARAMS | {"order"})
    items, token = bootstrap.get().service.list(list_query(query, cluster, namespace))
    # filtered after the page is read: a page may hold fewer than ``limit`` items; next_token still continues it
    return web.page(_visible(items), token, "releases")


@route(
    bp,
    "GET",
    "/v1/releases",
    verb="read",
    summary="releases on every cluster",
    ok={"200": s.RELEASE_LIST},
    errors=(400, 422, 503),
    query=[s.param("namespace"), *s.LIST_FILTERS],
)
def list_all_releases() -> dict[str, Any]:
    return _list(None, None)


@route(
    bp,
    "GET",
    "/v1/clusters/{cluster}/releases",
    verb="read",
    summary="releases on a cluster",
    ok={"200": s.RELEASE_LIST},
    errors=(400, 404, 422, 503),
    query=[s.param("namespace"), *s.LIST_FILTERS],
)
def list_cluster_releases(cluster: str) -> dict[str, Any]:
    return _list(cluster, None)


@route(
    bp,
    "GET",
    RELEASES,
    verb="read",
    summary="releases in a namespace",
    ok={"200": s.RELEASE_LIST},
    errors=(400, 404, 422, 503),
    query=s.LIST_FILTERS,
)
def list_namespace_releases(cluster: str, namespace: str) -> dict[str, Any]:
    return _list(cluster, namespace)


@route(
    bp,
    "GET",
    RELEASE,
    verb="read",
    summary="a release from the store; info= reads details through helm",
    ok={"200": s.yaml_or_json(s.ref("Release"))},
    errors=(404, 422, 502, 503),
    query=[
        s.param(
            "info",
            desc="all, or comma-separated values,manifest,notes,hooks,resources; "
            "also drift (live objects vs the manifest) and events (reconcile findings)",
        ),
        s.param("revision", schema={"type": "integer", "minimum": 1}),
        s.param("reveal", schema=fields.BOOL, desc="values and Secret data unmasked (needs the reveal permission)"),
        s.param("output", schema={"type": "string", "enum": list(web.OUTPUTS)}, desc="json (default) or yaml"),
    ],
)
def get_release(cluster: str, namespace: str, name: str) -> Any:
    query = _query()
    v.no_unknown(query, frozenset({"info", "revision", "reveal", "output"}))
    return web.output(get_release_json(cluster, namespace, name, query), query.get("output"))


def get_release_json(cluster: str, namespace: str, name: str, query: dict[str, str]) -> dict[str, Any]:
    """A release as ``GET .../releases/{name}`` shows it (``info``, ``revision``, ``reveal`` from ``query``)."""
    ref = ReleaseRef.parse(cluster, namespace, name)
    parts: tuple[str, ...] = ()
    live: list[str] = []  # drift (live objects vs the manifest) and events (reconcile findings)
    if query.get("info"):
        asked = query["info"].split(",")
        live = [p for p in asked if p in LIVE_INFO]
        asked = [p for p in asked if p not in LIVE_INFO]
        if "all" in asked:
            asked = list(INFO_PARTS)
        for part in asked:
            if part not in INFO_PARTS:
                raise InvalidInput(
                    "info", f"must be all or a comma-separated list of {', '.join(INFO_PARTS + LIVE_INFO)}"
                )
        parts = tuple(dict.fromkeys(asked))
    revision = v.integer("revision", query.get("revision"), 1, 1_000_000)
    out = bootstrap.get().service.get(ref, parts, revision, _reveal(ref))
    if "drift" in live:
        out["drift"] = bootstrap.get().reconciler.drift_of(ref)
    if "events" in live:
        out["events"] = bootstrap.get().reconciler.events_of(ref)
    return out


@route(
    bp,
    "GET",
    RELEASE + "/history",
    verb="read",
    summary="revision history, newest first, from the store",
    ok={
        "200": s.json_response(
            {
                "type": "object",
                "required": ["release", "history"],
                "properties": {"release": s.REF, "history": {"type": "array", "items": s.ref("Revision")}},
            }
        )
    },
    errors=(404, 422, 503),
    query=[s.param("max", schema={"type": "integer", "minimum": 1})],
)
def release_history(cluster: str, namespace: str, name: str) -> dict[str, Any]:
    query = _query()
    v.no_unknown(query, frozenset({"max"}))
    ref = ReleaseRef.parse(cluster, namespace, name)
    max_entries = v.integer("max", query.get("max"), 1, 1000, 256) or 256
    return {"release": ref.to_json(), "history": bootstrap.get().service.history(ref, max_entries)}


# ---------------------------------------------------------------- releases: writes


@route(
    bp,
    "POST",
    RELEASES,
    verb="install",
    summary="install a chart (dry_run answers 200 at once)",
    ok={"202": s.ACCEPTED, "200": s.json_response(s.ref("DryRun"), "dry run")},
    errors=(400, 404, 409, 413, 422, 502, 503),
    body=fields.body_schema(INSTALL_FIELDS, ("chart",)),
)
def install(cluster: str, namespace: str) -> Response:
    d = bootstrap.get()
    v.dns_label("cluster", cluster)
    v.dns_label("namespace", namespace)
    body = _body()
    spec, name_req = InstallSpec.from_json(body, _limits())
    name = d.service.resolve_name(cluster, spec.chart, name_req)
    ref = ReleaseRef.parse(cluster, namespace, name)

    def check() -> None:
        d.service.check_install(ref, spec)
        d.catalog.check(spec)

    return _submit(Action.INSTALL, ref, spec, body, check)


@route(
    bp,
    "PUT",
    RELEASE,
    verb="upgrade",
    summary="upgrade (install: true for an upsert)",
    ok={"202": s.ACCEPTED, "200": s.json_response(s.ref("DryRun"), "dry run")},
    errors=(400, 404, 409, 413, 422, 502, 503),
    body=fields.body_schema(UPGRADE_FIELDS, ("chart",)),
)
def upgrade(cluster: str, namespace: str, name: str) -> Response:
    d = bootstrap.get()
    ref = ReleaseRef.parse(cluster, namespace, name)
    body = _body()
    spec = UpgradeSpec.from_json(body, _limits())

    def check() -> None:
        d.service.check_upgrade(ref, spec)
        d.catalog.check(spec)

    return _submit(Action.UPGRADE, ref, spec, body, check)


@route(
    bp,
    "POST",
    RELEASE + "/rollback",
    verb="rollback",
    summary="roll back to a revision (default: the previous one)",
    ok={"202": s.ACCEPTED, "200": s.json_response(s.OBJECT, "dry run: the revision it would roll back to")},
    errors=(400, 404, 409, 422, 503),
    body=fields.body_schema(ROLLBACK_FIELDS),
)
def rollback(cluster: str, namespace: str, name: str) -> Response:
    d = bootstrap.get()
    ref = ReleaseRef.parse(cluster, namespace, name)
    body = _body()
    spec = RollbackSpec.from_json(body, _limits())
    if spec.dry_run:
        return Response(body=d.service.rollback_preview(ref, spec), status_code=200)
    return _submit(Action.ROLLBACK, ref, spec, body, lambda: _checked(d.service.check_rollback(ref, spec.revision)))


def _checked(_: object) -> None:
    """A check whose answer is not needed here (it raises when the request cannot go on)."""


DIFF_QUERY = [
    s.param("hooks", schema=fields.BOOL, desc="compare the hooks too"),
    s.param("reveal", schema=fields.BOOL, desc="Secret data unmasked (needs the reveal permission)"),
]


def _diff_options(ref: ReleaseRef) -> tuple[bool, bool]:
    query = _query()
    v.no_unknown(query, frozenset({"hooks", "reveal"}))
    hooks = bool(web.query_bools(query, ("hooks",)).get("hooks", False))
    return hooks, _reveal(ref)


@route(
    bp,
    "POST",
    RELEASE + "/diff",
    verb="upgrade",
    summary="what an upgrade (the upgrade body) would change, per object, answered at once; nothing is applied",
    ok={"200": s.json_response(s.ref("Diff"))},
    errors=(400, 404, 409, 413, 422, 502, 503),
    query=DIFF_QUERY,
    body=fields.body_schema(UPGRADE_FIELDS, ("chart",)),
)
def diff_upgrade(cluster: str, namespace: str, name: str) -> dict[str, Any]:
    d = bootstrap.get()
    ref = ReleaseRef.parse(cluster, namespace, name)
    spec = UpgradeSpec.from_json(_body(), _limits())
    hooks, reveal = _diff_options(ref)
    d.catalog.check(spec)
    return d.differ.upgrade(ref, spec, hooks, reveal)


@route(
    bp,
    "POST",
    RELEASE + "/rollback/diff",
    verb="rollback",
    summary="what a rollback (the rollback body) would change, per object, answered at once; nothing is applied",
    ok={"200": s.json_response(s.ref("Diff"))},
    errors=(400, 404, 422, 502, 503),
    query=DIFF_QUERY,
    body=fields.body_schema(ROLLBACK_FIELDS),
)
def diff_rollback(cluster: str, namespace: str, name: str) -> dict[str, Any]:
    d = bootstrap.get()
    ref = ReleaseRef.parse(cluster, namespace, name)
    spec = RollbackSpec.from_json(_body(), _limits())
    hooks, reveal = _diff_options(ref)
    return d.differ.rollback(ref, spec, hooks, reveal)


@route(
    bp,
    "DELETE",
    RELEASE,
    verb="uninstall",
    summary="uninstall",
    ok={"202": s.ACCEPTED},
    errors=(400, 404, 409, 422, 503),
    query=[
        *[s.param(b, schema=fields.BOOL) for b in ("keep_history", "disable_hooks", "wait")],
        s.param("timeout"),
        s.param("cascade", schema=fields.SCHEMAS["cascade"]),
    ],
    body=fields.body_schema(UNINSTALL_FIELDS),
)
def uninstall(cluster: str, namespace: str, name: str) -> Response:
    d = bootstrap.get()
    ref = ReleaseRef.parse(cluster, namespace, name)
    options = {**web.query_bools(_query(), ("keep_history", "disable_hooks", "wait")), **_body()}
    spec = UninstallSpec.from_json(options, _limits())
    return _submit(Action.UNINSTALL, ref, spec, options, lambda: d.service.check_uninstall(ref))


@route(
    bp,
    "POST",
    RELEASE + "/test",
    verb="test",
    summary="run the chart's tests (helm test); the operation's result lists each test Pod and its phase",
    ok={"202": s.ACCEPTED},
    errors=(400, 404, 409, 422, 503),
    body=fields.body_schema(TEST_FIELDS),
)
def test_release(cluster: str, namespace: str, name: str) -> Response:
    d = bootstrap.get()
    ref = ReleaseRef.parse(cluster, namespace, name)
    body = _body()
    spec = ReleaseTestSpec.from_json(body, _limits())
    return _submit(Action.TEST, ref, spec, body, lambda: d.service.check_test(ref))


@route(
    bp,
    "POST",
    RELEASE + "/unlock",
    verb="unlock",
    summary="recover a release whose operation was lost (after its lease expired)",
    ok={"202": s.ACCEPTED},
    errors=(400, 404, 409, 422, 503),
    body=fields.body_schema(UNLOCK_FIELDS),
)
def unlock(cluster: str, namespace: str, name: str) -> Response:
    """Recover a release whose operation was lost; 409 until that operation's lease has expired."""
    d = bootstrap.get()
    ref = ReleaseRef.parse(cluster, namespace, name)
    d.registry.get(cluster)
    body = _body()
    spec = UnlockSpec.from_json(body, _limits(), d.settings.recovery_policy)
    op = d.intake.replay(_idempotency(body))
    return _accepted(op or d.recovery.unlock(ref, spec))


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
    d = bootstrap.get()
    v.dns_label("cluster", cluster)
    body = _body()
    spec = ReconcileSpec.from_json(body, _limits())
    op = d.intake.replay(_idempotency(body))
    return _accepted(op or d.reconciler.request(cluster, spec))


# ---------------------------------------------------------------- operations


@route(
    bp,
    "GET",
    "/v1/operations/{operation_id}",
    verb="read",
    summary="one operation",
    ok={"200": s.json_response(s.ref("Operation"))},
    errors=(404, 503),
)
def get_operation(operation_id: str) -> dict[str, Any]:
    op = bootstrap.get().intake.get(operation_id)
    bootstrap.get().authorizer.require(principal(), "read", op.release.cluster, op.release.namespace)
    return op.to_json()


@route(
    bp,
    "GET",
    "/v1/operations",
    verb="read",
    summary="operations, newest first",
    ok={"200": s.listing("operations", s.ref("Operation"), paged=True)},
    errors=(400, 422, 503),
    query=[
        s.param("cluster"),
        s.param("namespace"),
        s.param("release"),
        s.param("status", schema={"type": "string", "enum": s.OPERATION_STATUSES}),
        s.param("action", schema={"type": "string", "enum": s.ACTIONS}),
        *s.PAGING,
    ],
)
def list_operations() -> dict[str, Any]:
    query = _query()
    v.no_unknown(query, frozenset({"cluster", "namespace", "release", "status", "action", "limit", "next_token"}))
    status = v.choice("status", query.get("status"), tuple(s.value for s in OperationStatus))
    action = v.choice("action", query.get("action"), tuple(a.value for a in Action))
    ops, token = bootstrap.get().intake.list(
        OperationQuery(
            cluster=v.dns_label("cluster", query["cluster"]) if query.get("cluster") else None,
            namespace=v.dns_label("namespace", query["namespace"]) if query.get("namespace") else None,
            release=v.release_name("release", query["release"]) if query.get("release") else None,
            status=status,
            action=action,
            limit=web.limit(query),
            next_token=query.get("next_token"),
        )
    )
    return web.page(_visible([o.to_json() for o in ops]), token, "operations")
