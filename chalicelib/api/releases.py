"""HTTP routes of releases (``/v1``): reads answered from the store (``core/service.py``), and the verbs, each
parsed into its spec and handed to the hall (``core/releases.py``), whose outcome becomes the answer
(``api/operations.py``); also the health check and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.api import operations, web
from chalicelib.api import schemas as s
from chalicelib.api.guard import principal
from chalicelib.api.openapi import spec as openapi_spec
from chalicelib.api.routes import Query, route
from chalicelib.config import VERSION
from chalicelib.core.authz import PUBLIC, SELF
from chalicelib.core.reconcile import LIVE_INFO
from chalicelib.core.releases import Caller, Outcome
from chalicelib.core.service import INFO_PARTS
from chalicelib.domain import fields
from chalicelib.domain import validate as v
from chalicelib.domain.models import (
    INSTALL_FIELDS,
    ROLLBACK_FIELDS,
    TEST_FIELDS,
    UNINSTALL_FIELDS,
    UNLOCK_FIELDS,
    UPGRADE_FIELDS,
    InstallSpec,
    ReleaseRef,
    ReleaseTestSpec,
    RollbackSpec,
    UninstallSpec,
    UnlockSpec,
    UpgradeSpec,
)
from chalicelib.domain.plans import etag_of
from chalicelib.errors import InvalidInput

PLAN_FIELDS = frozenset({"plan"})  # a body applying a plan holds nothing else: the plan is the whole request

bp = Blueprint(__name__)
_limits = bootstrap.use(lambda d: d.limits)
_reconciler = bootstrap.use(lambda d: d.reconciler)
_service = bootstrap.use(lambda d: d.service)
_settings = bootstrap.use(lambda d: d.settings)

RELEASES = "/v1/clusters/{cluster}/namespaces/{namespace}/releases"
RELEASE = RELEASES + "/{name}"


def _body() -> dict[str, Any]:
    return web.json_body(bp.current_request)


def _query() -> dict[str, str]:
    return web.query(bp.current_request)


def _reveal(ref: ReleaseRef) -> bool:
    """``?reveal=true``: show values and Secret data unmasked (the route declares ``reveal``: the guard checked it)."""
    return operations.wants_reveal(bp.current_request)


def _caller(body: dict[str, Any], dry_run: bool = False) -> Caller:
    return operations.caller(bp.current_request, body, dry_run)


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
    return {"status": "ok", "stage": _settings().stage, "version": VERSION, "helm_version": _service().helm_version()}


@route(bp, "GET", "/v1/openapi.json", verb=SELF, summary="this document", ok={"200": s.json_response(s.OBJECT)})
def openapi() -> dict[str, Any]:
    return openapi_spec()


# ---------------------------------------------------------------- releases: reads


def _list(cluster: str | None, namespace: str | None) -> dict[str, Any]:
    query = _query()
    v.no_unknown(query, web.LIST_PARAMS | {"order"})
    items, token = _service().list(web.list_query(query, cluster, namespace))
    # filtered after the page is read: a page may hold fewer than ``limit`` items; next_token still continues it
    return web.page(operations.visible(items), token, "releases")


@route(
    bp,
    "GET",
    "/v1/releases",
    verb="read",
    summary="releases on every cluster",
    ok={"200": s.RELEASE_LIST},
    errors=(400, 422, 503),
    query=[s.param("namespace"), *s.LIST_FILTERS],
    filtered=True,
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
    filtered=True,
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
    ok={"200": {**s.yaml_or_json(s.ref("Release")), "headers": s.ETAG_HEADER}},
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
    reveal=Query("reveal"),
)
def get_release(cluster: str, namespace: str, name: str) -> Any:
    query = _query()
    v.no_unknown(query, frozenset({"info", "revision", "reveal", "output"}))
    found = get_release_json(cluster, namespace, name, query)
    answer = web.output(found, query.get("output"))
    if not isinstance(answer, Response):
        answer = Response(body=answer, status_code=200, headers={"Content-Type": "application/json"})
    answer.headers["ETag"] = etag_of(found)  # If-Match on PUT, rollback and DELETE compares with it
    return answer


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
    out = _service().get(ref, parts, revision, _reveal(ref))
    if "drift" in live:
        out["drift"] = _reconciler().drift_of(ref)
    if "events" in live:
        out["events"] = _reconciler().events_of(ref)
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
    return {"release": ref.to_json(), "history": _service().history(ref, max_entries)}


# ---------------------------------------------------------------- releases: the verbs (the hall decides)


@route(
    bp,
    "POST",
    RELEASES,
    verb="install",
    summary="install a chart (dry_run answers 200 at once)",
    ok={"202": s.ACCEPTED, "200": s.json_response(s.ref("DryRun"), "dry run")},
    errors=(400, 404, 409, 412, 413, 422, 502, 503),
    query=[s.IF_NONE_MATCH],
    body=fields.body_schema(INSTALL_FIELDS, ("chart",)),
    reveal=Query("reveal"),
)
def install(cluster: str, namespace: str) -> Response:
    v.dns_label("cluster", cluster)
    v.dns_label("namespace", namespace)
    body = _body()
    spec, name = InstallSpec.from_json(body, _limits())
    outcome = operations.releases().install(_caller(body, bool(spec.dry_run)), cluster, namespace, spec, name)
    return _answered(outcome)


@route(
    bp,
    "PUT",
    RELEASE,
    verb="upgrade",
    summary="upgrade (install: true for an upsert); {plan: id} applies exactly what a diff planned",
    ok={"202": s.ACCEPTED, "200": s.json_response(s.ref("DryRun"), "dry run")},
    errors=(400, 404, 409, 412, 413, 422, 502, 503),
    query=[s.IF_MATCH],
    body={"anyOf": [fields.body_schema(UPGRADE_FIELDS, ("chart",)), s.PLAN_BODY]},
    reveal=Query("reveal"),
)
def upgrade(cluster: str, namespace: str, name: str) -> Response:
    ref = ReleaseRef.parse(cluster, namespace, name)
    body = _body()
    if "plan" in body:
        v.no_unknown(body, PLAN_FIELDS)
        return _answered(operations.releases().apply_upgrade(_caller(body), ref, body["plan"]))
    spec = UpgradeSpec.from_json(body, _limits())
    return _answered(operations.releases().upgrade(_caller(body, bool(spec.dry_run)), ref, spec))


@route(
    bp,
    "POST",
    RELEASE + "/rollback",
    verb="rollback",
    summary="roll back to a revision (default: the previous one); {plan: id} applies exactly what a diff planned",
    ok={"202": s.ACCEPTED, "200": s.json_response(s.OBJECT, "dry run: the revision it would roll back to")},
    errors=(400, 404, 409, 412, 422, 503),
    query=[s.IF_MATCH],
    body={"anyOf": [fields.body_schema(ROLLBACK_FIELDS), s.PLAN_BODY]},
)
def rollback(cluster: str, namespace: str, name: str) -> Response:
    ref = ReleaseRef.parse(cluster, namespace, name)
    body = _body()
    if "plan" in body:
        v.no_unknown(body, PLAN_FIELDS)
        return _answered(operations.releases().apply_rollback(_caller(body), ref, body["plan"]))
    spec = RollbackSpec.from_json(body, _limits())
    return _answered(operations.releases().rollback(_caller(body, bool(spec.dry_run)), ref, spec))


def _answered(outcome: Outcome) -> Response:
    """A dry run's answer (200), or the operation (``operations.accepted``)."""
    if outcome.dry_run is not None:
        return Response(body=outcome.dry_run, status_code=200)
    return operations.accepted(bp.current_request, outcome)


DIFF_QUERY = [
    s.param("hooks", schema=fields.BOOL, desc="compare the hooks too"),
    s.param("reveal", schema=fields.BOOL, desc="Secret data unmasked (needs the reveal permission)"),
]


def _diff_options() -> tuple[bool, Caller]:
    query = _query()
    v.no_unknown(query, frozenset({"hooks", "reveal"}))
    hooks = bool(web.query_bools(query, ("hooks",)).get("hooks", False))
    return hooks, Caller(principal(), reveal=operations.wants_reveal(bp.current_request))


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
    reveal=Query("reveal"),
)
def diff_upgrade(cluster: str, namespace: str, name: str) -> dict[str, Any]:
    ref = ReleaseRef.parse(cluster, namespace, name)
    spec = UpgradeSpec.from_json(_body(), _limits())
    hooks, caller = _diff_options()
    return operations.releases().diff_upgrade(caller, ref, spec, hooks, _body())


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
    reveal=Query("reveal"),
)
def diff_rollback(cluster: str, namespace: str, name: str) -> dict[str, Any]:
    ref = ReleaseRef.parse(cluster, namespace, name)
    spec = RollbackSpec.from_json(_body(), _limits())
    hooks, caller = _diff_options()
    return operations.releases().diff_rollback(caller, ref, spec, hooks, _body())


@route(
    bp,
    "DELETE",
    RELEASE,
    verb="uninstall",
    summary="uninstall",
    ok={"202": s.ACCEPTED},
    errors=(400, 404, 409, 412, 422, 503),
    query=[
        s.IF_MATCH,
        *[s.param(b, schema=fields.BOOL) for b in ("keep_history", "disable_hooks", "wait")],
        s.param("timeout"),
        s.param("cascade", schema=fields.SCHEMAS["cascade"]),
    ],
    body=fields.body_schema(UNINSTALL_FIELDS),
)
def uninstall(cluster: str, namespace: str, name: str) -> Response:
    ref = ReleaseRef.parse(cluster, namespace, name)
    options = {**web.query_bools(_query(), ("keep_history", "disable_hooks", "wait")), **_body()}
    spec = UninstallSpec.from_json(options, _limits())
    return _answered(operations.releases().uninstall(_caller(options), ref, spec))


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
    ref = ReleaseRef.parse(cluster, namespace, name)
    body = _body()
    spec = ReleaseTestSpec.from_json(body, _limits())
    return _answered(operations.releases().test(_caller(body), ref, spec))


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
    ref = ReleaseRef.parse(cluster, namespace, name)
    body = _body()
    spec = UnlockSpec.from_json(body, _limits(), _settings().recovery_policy)
    return _answered(operations.releases().unlock(_caller(body), ref, spec))
