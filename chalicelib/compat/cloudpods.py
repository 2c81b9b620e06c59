"""Cloudpods kubeserver's release API (what ``climc k8s-release-*`` calls), translated onto Charthouse's operations.

``/api/releases``: create, list (climc's filters), show by name with ``resources`` grouped by kind, upgrade,
history, rollback, delete, in Cloudpods' shapes. ``cluster`` and ``namespace`` travel in the body or the query
string, as climc sends them; without them a release is found by its name (the one release of that name the caller
may read), and a new one goes to the configured default cluster and the ``default`` namespace. A change answers
with the release once its operation has ended (``sync``); still running at the gateway's limit, it answers 202 with
the operation to poll; failed, with the operation's error. The table of what maps to what is docs/COMPAT.md.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.api import schemas as s
from chalicelib.api import web
from chalicelib.api.routes import Ask, Body, Query, Scope, Target, route
from chalicelib.compat import sync
from chalicelib.domain import fields
from chalicelib.domain import validate as v
from chalicelib.domain.fields import STR
from chalicelib.domain.models import (
    Action,
    InstallSpec,
    ListQuery,
    ReleaseRef,
    RollbackSpec,
    UninstallSpec,
    UpgradeSpec,
)
from chalicelib.errors import CharthouseError, InvalidInput

bp = Blueprint(__name__)
_catalog = bootstrap.use(lambda d: d.catalog)
_limits = bootstrap.use(lambda d: d.limits)
_service = bootstrap.use(lambda d: d.service)

RELEASES = "/api/releases"
RELEASE = RELEASES + "/{name}"
ID_NAMESPACE = uuid.UUID("6f1c3c52-4a55-4c8e-9a0e-2f4b6a0c7d11")  # stable ids: uuid5 of cluster/namespace/name
WHERE = ("cluster", "namespace")
CREATE_FIELDS = (
    "chart_name",
    "release_name",
    "version",
    "values",
    "values_json",
    "sets",
    "dry_run",
    "details",
    "timeout",
    *WHERE,
)
UPGRADE_FIELDS = (*CREATE_FIELDS, "reuse_values", "reset_values", "force", "recreate")
ROLLBACK_FIELDS = ("revision", "description", *WHERE)
LIST_PARAMS = (
    "limit",
    "offset",
    "search",
    "name",
    "details",
    "all",
    "type",
    "scope",
    "deployed",
    "deleting",
    "failed",
    "superseded",
    "pending",
    *WHERE,
)
STATUS_FLAGS = {
    "deployed": "deployed",
    "deleting": "uninstalling",
    "failed": "failed",
    "superseded": "superseded",
    "pending": "pending",
}
FIELD_SCHEMAS: s.S = {
    "chart_name": {"type": "string", "description": "<repository>/<chart>"},
    "release_name": fields.SCHEMAS["name"],
    "version": fields.SCHEMAS["version"],
    "values": {"type": "string", "description": "a YAML values file (climc --values)"},
    "values_json": {"type": "object"},
    "sets": {"type": "object", "description": "{'a.b': value} (helm --set)"},
    "dry_run": fields.SCHEMAS["dry_run"],
    "details": fields.BOOL,
    "timeout": fields.SCHEMAS["timeout"],
    "cluster": STR,
    "namespace": STR,
    "reuse_values": fields.SCHEMAS["reuse_values"],
    "reset_values": fields.SCHEMAS["reset_values"],
    "force": fields.SCHEMAS["force"],
    "recreate": {"type": "boolean", "description": "refused: removed from Helm 3"},
    "revision": fields.SCHEMAS["revision"],
    "description": fields.SCHEMAS["description"],
}


def _body_schema(names: tuple[str, ...]) -> s.S:
    return {"type": "object", "properties": {n: FIELD_SCHEMAS[n] for n in names}, "additionalProperties": False}


REFUSED = {"recreate": "was removed from Helm 3 (pods are restarted by a changed pod template instead)"}

RELEASE_SCHEMA: s.S = {
    "type": "object",
    "required": ["id", "name", "namespace", "cluster", "status", "version", "chart", "chart_version", "type"],
    "properties": {
        "id": STR,
        "name": STR,
        "namespace": STR,
        "cluster": STR,
        "cluster_id": STR,
        "status": STR,
        "version": s.INT,
        "chart": STR,
        "chart_version": STR,
        "type": STR,
        "config": {"type": "object"},
        "resources": {"type": "object"},
    },
}
ONE = {"200": s.json_response(RELEASE_SCHEMA), "202": s.json_response(s.ref("Operation"), "still running: poll it")}
CHANGE = {
    **ONE,
    "200": s.json_response({"oneOf": [RELEASE_SCHEMA, s.ref("DryRun")]}, "the release, or a dry run's answer"),
}
HISTORY_SCHEMA: s.S = {"type": "array", "items": {"type": "object", "required": ["revision", "status", "chart"]}}


def _body(fields: tuple[str, ...]) -> dict[str, Any]:
    body = {k: val for k, val in web.json_body(bp.current_request).items() if val is not None}
    for key in body:
        if key not in fields:
            raise InvalidInput(key, "is not a field of this Cloudpods request")
    for key, why in REFUSED.items():
        if body.get(key):
            raise InvalidInput(key, why)
    return body


def _query(allowed: tuple[str, ...]) -> dict[str, str]:
    query = web.query(bp.current_request)
    for key in query:
        if key not in allowed:
            raise InvalidInput(key, "is not a parameter of this Cloudpods request")
    return query


def _where(body: dict[str, Any], query: dict[str, str]) -> tuple[str | None, str | None]:
    """cluster and namespace, from the body or the query string (climc sends either)."""
    cluster = body.get("cluster") or query.get("cluster") or None
    namespace = body.get("namespace") or query.get("namespace") or None
    return (
        sync.cluster_named(cluster, "cluster") if cluster else None,
        v.dns_label("namespace", namespace) if namespace else None,
    )


def _ref(name: str, body: dict[str, Any], query: dict[str, str]) -> ReleaseRef:
    cluster, namespace = _where(body, query)
    return sync.find_release(v.release_name("name", name), cluster, namespace)


def _located(ask: Ask) -> list[Target] | None:
    """A release named without both cluster and namespace: where the one release of that name the caller may read
    is (None: none or several; the guard then authorizes on what was given and the route answers why)."""
    cluster, namespace = (str(ask.body.get(k) or ask.query.get(k) or "") or None for k in WHERE)
    try:
        ref = sync.find_release(v.release_name("name", ask.params.get("name")), cluster, namespace)
    except CharthouseError:
        return None
    return [Target(ref.cluster, ref.namespace)]


NAMED = Scope(Body("cluster", default=Query("cluster")), Body("namespace", default=Query("namespace")), _located)
NEW = Scope(
    Body("cluster", default=Query("cluster", default=sync.default_cluster_name)),
    Body("namespace", default=Query("namespace", default="default")),
)


def _release(record: dict[str, Any], shown: dict[str, Any] | None = None) -> dict[str, Any]:
    """A release in Cloudpods' shape (``climc k8s-release-show``)."""
    key = f"{record['cluster']}/{record['namespace']}/{record['name']}"
    out: dict[str, Any] = {
        "id": str(uuid.uuid5(ID_NAMESPACE, key)),
        "name": record["name"],
        "namespace": record["namespace"],
        "namespace_id": str(uuid.uuid5(ID_NAMESPACE, f"{record['cluster']}/{record['namespace']}")),
        "cluster": record["cluster"],
        "cluster_id": record["cluster"],
        "clusterID": record["cluster"],
        "external_id": key,
        "chart": record["chart"],
        "chart_version": record["chart_version"],
        "status": record["status"],
        "version": record["revision"],
        "created_at": record.get("first_deployed") or "",
        "updated_at": record.get("last_deployed") or "",
        "description": record.get("description") or "",
        "type": "external",
        "is_emulated": False,
        "progress": 0,
    }
    if shown is not None:
        out["config"] = shown.get("values") or {}
        grouped: dict[str, list[dict[str, Any]]] = {}
        for res in shown.get("resources") or []:
            kind = str(res.get("kind") or "")
            grouped.setdefault("k8s_service" if kind == "Service" else kind.lower(), []).append(res)
        out["resources"] = grouped
    return out


def _show(ref: ReleaseRef) -> dict[str, Any]:
    shown = _service().get(ref, ("values", "resources"), None)
    return _release(shown, shown)


def _ended(ended: sync.Ended, ref: ReleaseRef) -> Any:
    """The release once its operation ended; 202 with the operation while it runs; its error when it failed."""
    op = ended.operation
    if ended.running:
        return Response(
            body=op.to_json(),
            status_code=202,
            headers={"Location": f"/v1/operations/{op.id}", "Content-Type": "application/json"},
        )
    if not ended.ok:
        error = op.error or {}
        body = {"error": {"code": error.get("code", "OperationFailed"), "message": ended.message, "details": {}}}
        status = 502 if str(error.get("code", "")).startswith("Helm") else 409
        return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})
    if op.action is Action.UNINSTALL:
        record = _service().record(ref)
        return _release(
            record or {**ref.to_json(), "chart": "", "chart_version": "", "status": "uninstalled", "revision": 0}
        )
    return _show(ref)


def _values(body: dict[str, Any]) -> dict[str, Any]:
    """values (a YAML text, climc's --values) and values_json (an object) and sets ({"a.b": "x"})."""
    out: dict[str, Any] = {}
    if body.get("values"):
        out["values_files"] = [{"name": "values", "content": body["values"]}]
    if body.get("values_json") is not None:
        out["values"] = body["values_json"]
    if body.get("sets"):
        out["set"] = body["sets"]
    for key in ("version", "timeout", "dry_run", "reuse_values", "reset_values", "force"):
        if body.get(key) not in (None, ""):
            out[key] = body[key]
    return out


# ---------------------------------------------------------------- routes


@route(
    bp,
    "POST",
    RELEASES,
    verb="install",
    scope=NEW,
    summary="Cloudpods: create a release (climc k8s-release-create); answers with it once installed",
    ok=CHANGE,
    errors=(400, 404, 409, 422, 502, 503),
    query=[s.param("cluster"), s.param("namespace")],
    body=_body_schema(CREATE_FIELDS),
)
def create() -> Any:
    body = _body(CREATE_FIELDS)
    cluster, namespace = _where(body, _query(WHERE))
    cluster = cluster or sync.default_cluster("cluster")
    chart = v.text("chart_name", body.get("chart_name"), 1024)
    if not chart:
        raise InvalidInput("chart_name", "is required (<repository>/<chart>)")
    ours: dict[str, Any] = {"chart": chart, **_values(body)}
    if body.get("release_name"):
        ours["name"] = body["release_name"]
    else:
        ours["generate_name"] = True
    spec, name_req = InstallSpec.from_json(ours, _limits())
    outcome = sync.hall().install(sync.caller(), cluster, namespace or "default", spec, name_req)
    if outcome.dry_run is not None:  # as /v1: checked, then answered at once; nothing recorded
        return outcome.dry_run
    return _ended(sync.ended(outcome), outcome.ref)


@route(
    bp,
    "GET",
    RELEASES,
    verb="read",
    scope=Scope(Query("cluster"), Query("namespace")),
    filtered=True,
    summary="Cloudpods: list releases (climc k8s-release-list filters)",
    ok={
        "200": s.json_response(
            {
                "type": "object",
                "required": ["data", "total", "limit", "offset"],
                "properties": {"data": {"type": "array", "items": RELEASE_SCHEMA}, "total": s.INT},
            }
        )
    },
    errors=(400, 404, 422, 503),
    query=[s.param(p) for p in LIST_PARAMS],
)
def list_releases() -> dict[str, Any]:
    query = _query(LIST_PARAMS)
    flags = web.query_bools(
        {k: val for k, val in query.items() if k in (*STATUS_FLAGS, "details", "all")},
        (*STATUS_FLAGS, "details", "all"),
    )
    cluster, namespace = _where({}, query)
    limit = v.integer("limit", query.get("limit"), 0, 1000, 20)
    limit = 20 if limit is None else limit
    offset = v.integer("offset", query.get("offset"), 0, 1_000_000, 0) or 0
    v.choice("type", query.get("type"), ("internal", "external"))
    statuses = [STATUS_FLAGS[f] for f in STATUS_FLAGS if flags.get(f)]
    if flags.get("all"):
        statuses = ["deployed", "failed", "pending", "superseded", "uninstalled", "uninstalling", "unknown"]
    filters = {"sort": "name", "limit": "1000"}
    if statuses:
        filters["status"] = ",".join(statuses)
    for key in ("name", "search"):
        if query.get(key):
            filters[key] = query[key]
    q = web.list_query(filters, cluster, namespace)
    items = [] if query.get("type") == "internal" else _all(q)
    page = items[offset : offset + limit] if limit else items[offset:]
    data = [
        _show(ReleaseRef.parse(i["cluster"], i["namespace"], i["name"])) if flags.get("details") else _release(i)
        for i in page
    ]
    return {"data": data, "total": len(items), "limit": limit, "offset": offset}


def _all(q: ListQuery) -> list[dict[str, Any]]:
    """Every matching record the caller may read, sorted by name."""
    service = _service()
    out: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        items, token = service.list(dataclasses.replace(q, next_token=token))
        out += sync.readable(items)
        if token is None or len(out) >= 10_000:
            return out


@route(
    bp,
    "GET",
    RELEASE,
    verb="read",
    scope=NAMED,
    summary="Cloudpods: a release by name, its values (config) and resources grouped by kind",
    ok={"200": s.json_response(RELEASE_SCHEMA)},
    errors=(400, 404, 422, 502, 503),
    query=[s.param("cluster"), s.param("namespace")],
)
def show(name: str) -> dict[str, Any]:
    return _show(_ref(name, {}, _query(WHERE)))


@route(
    bp,
    "PUT",
    RELEASE,
    verb="upgrade",
    scope=NAMED,
    summary="Cloudpods: upgrade a release (climc k8s-release-upgrade); answers with it once upgraded",
    ok=CHANGE,
    errors=(400, 404, 409, 422, 502, 503),
    query=[s.param("cluster"), s.param("namespace")],
    body=_body_schema(UPGRADE_FIELDS),
)
def upgrade(name: str) -> Any:
    query = _query(WHERE)
    body = _body(UPGRADE_FIELDS)
    if body.get("release_name") and body["release_name"] != name:
        raise InvalidInput("release_name", f"differs from the release in the path ({name})")
    ref = _ref(name, body, query)
    chart = body.get("chart_name") or (_service().record(ref) or {}).get("chart")
    if not chart or "/" not in str(chart):
        raise InvalidInput("chart_name", "is required (<repository>/<chart>)")
    spec = UpgradeSpec.from_json({"chart": chart, **_values(body)}, _limits())
    outcome = sync.hall().upgrade(sync.caller(), ref, spec)
    if outcome.dry_run is not None:
        return outcome.dry_run
    return _ended(sync.ended(outcome), ref)


@route(
    bp,
    "GET",
    RELEASE + "/history",
    verb="read",
    scope=NAMED,
    summary="Cloudpods: a release's history (climc k8s-release-history), oldest first",
    ok={"200": s.json_response(HISTORY_SCHEMA)},
    errors=(400, 404, 422, 503),
    query=[s.param("cluster"), s.param("namespace"), s.param("max")],
)
def history(name: str) -> list[dict[str, Any]]:
    query = _query((*WHERE, "max"))
    ref = _ref(name, {}, query)
    max_entries = v.integer("max", query.get("max"), 1, 1000, 256) or 256
    revisions = _service().history(ref, max_entries)
    return [
        {
            "revision": r["revision"],
            "chart": r["chart"],
            "app_version": r.get("app_version") or "",
            "status": r["status"],
            "updated": r["updated"],
            "description": r.get("description") or "",
        }
        for r in sorted(revisions, key=lambda r: int(r["revision"]))
    ]


@route(
    bp,
    "POST",
    RELEASE + "/rollback",
    verb="rollback",
    scope=NAMED,
    summary="Cloudpods: roll back to a revision (climc k8s-release-rollback); answers with the release",
    ok=ONE,
    errors=(400, 404, 409, 422, 502, 503),
    query=[s.param("cluster"), s.param("namespace")],
    body=_body_schema(ROLLBACK_FIELDS),
)
def rollback(name: str) -> Any:
    query = _query(WHERE)
    body = _body(ROLLBACK_FIELDS)
    ref = _ref(name, body, query)
    ours = {k: body[k] for k in ("revision", "description") if body.get(k) not in (None, "")}
    spec = RollbackSpec.from_json(ours, _limits())
    return _ended(sync.ended(sync.hall().rollback(sync.caller(), ref, spec)), ref)


@route(
    bp,
    "DELETE",
    RELEASE,
    verb="uninstall",
    scope=NAMED,
    summary="Cloudpods: delete a release (climc k8s-release-delete); answers once uninstalled",
    ok=ONE,
    errors=(400, 404, 409, 422, 502, 503),
    query=[s.param("cluster"), s.param("namespace")],
)
def delete(name: str) -> Any:
    ref = _ref(name, {}, _query(WHERE))
    return _ended(sync.ended(sync.hall().uninstall(sync.caller(), ref, UninstallSpec())), ref)


REPO_PARAMS = ("limit", "offset", "details", "all", "type", "scope", "search", "name", *WHERE)


@route(
    bp,
    "GET",
    "/api/repos",
    verb="read",
    scope=Scope(Query("cluster"), Query("namespace")),
    summary="Cloudpods: the chart repositories (climc k8s-repo-list); the document's release-list example uses it",
    ok={
        "200": s.json_response(
            {
                "type": "object",
                "required": ["data", "total", "limit", "offset"],
                "properties": {"data": {"type": "array", "items": {"type": "object"}}, "total": s.INT},
            }
        )
    },
    errors=(400, 422, 503),
    query=[s.param(p) for p in REPO_PARAMS],
)
def list_repos() -> dict[str, Any]:
    """Registered repositories in Cloudpods' shape (``type: external``; credentials never shown). The parameters
    climc sends with it (``cluster``, ``details``, ``all``, ``type``, ...) are accepted; ``cluster`` does not
    scope a repository, which serves every cluster."""
    query = _query(REPO_PARAMS)
    limit = v.integer("limit", query.get("limit"), 0, 1000, 20)
    limit = 20 if limit is None else limit
    offset = v.integer("offset", query.get("offset"), 0, 1_000_000, 0) or 0
    repos = [
        {
            "id": str(uuid.uuid5(ID_NAMESPACE, f"repository/{r.name}")),
            "name": r.name,
            "url": r.url,
            "type": "external",
            "kind": r.kind,  # http (a chart repository) or oci (a registry)
            "description": r.description,
        }
        for r in _catalog().repos.all()
        if query.get("type") != "internal"
        and (not query.get("name") or r.name == query["name"])
        and (not query.get("search") or query["search"] in r.name)
    ]
    page = repos[offset : offset + limit] if limit else repos[offset:]
    return {"data": page, "total": len(repos), "limit": limit, "offset": offset}


CHART_PARAMS = ("repo", "version")
CHART_DETAIL: s.S = {
    "type": "object",
    "required": ["chart"],
    "properties": {
        "chart": {
            "type": "object",
            "required": ["repo", "name", "version", "chart"],
            "properties": {
                "repo": STR,
                "name": STR,
                "version": STR,
                "chart": {
                    "type": "object",
                    "required": ["metadata", "values"],
                    "properties": {
                        "metadata": {"type": "object", "description": "Chart.yaml"},
                        "values": {"type": "object", "description": "the chart's default values (values.yaml)"},
                    },
                },
                "readme": STR,
                "options": {"type": "array", "items": {"type": "object"}},
            },
        }
    },
}


@route(
    bp,
    "GET",
    "/api/charts/{chart}",
    verb="read",
    summary="Cloudpods: a chart's metadata and default values (climc k8s-chart-show <repo> <chart>): "
    ".chart.chart.values",
    ok={"200": s.json_response(CHART_DETAIL)},
    errors=(400, 404, 422, 502, 503),
    query=[s.param("repo", required=True, desc="a registered repository, or uploaded"), s.param("version")],
)
def show_chart(chart: str) -> dict[str, Any]:
    """A chart in Cloudpods' ChartDetail shape, through the same show as ``GET /v1/charts/{repository}/{chart}``:
    ``chart.chart`` is helm's chart object (``metadata``: Chart.yaml; ``values``: values.yaml read by the one
    values parser, an object). A static path of the same prefix (helm-engine's ``/api/charts/upload``) wins."""
    query = _query(CHART_PARAMS)
    repo = query.get("repo") or ""
    if not repo:
        raise InvalidInput("repo", "is required: the chart's repository (?repo=<repository>)")
    shown = _catalog().show(
        v.dns_label("repo", repo),
        chart,
        v.chart_version("version", query.get("version")),
        False,
        ("chart", "values", "readme"),
        values_as_object=True,
    )
    return {
        "chart": {
            "repo": repo,
            "name": shown["name"],
            "version": shown["version"],
            "chart": {"metadata": shown["chart"], "values": shown["values"]},
            "readme": shown["readme"],
            "options": [],
        }
    }
