"""helm-engine's REST API (helm-wrapper style), translated onto Charthouse's operations: ``/api/...``.

Every answer is HTTP 200 with ``{"code": 0, "data": ...}`` or ``{"code": 1, "error": "..."}``, as helm-engine
answers, and a change answers once its operation has ended (``sync``). The target cluster is the configured default
or ``endpoint=`` (a registered cluster's API server URL); ``token``/``kubeUserName``/``kubePassword`` in a query
string are refused (credentials in URLs end up in logs). ``repo`` (a repository URL) resolves to a registered
repository, whose own credentials are used; per-request credentials and files (``username``, ``password``,
``ca_file``, ``cert_file``, ``key_file``, ``keyring``) are refused, naming the field. Empty strings are ignored, as
helm-engine ignores them. The table of what maps to what is docs/COMPAT.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from chalice.app import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.api import schemas as s
from chalicelib.api import web
from chalicelib.api.routes import Door, Path, Query, Scope, note, remark, route
from chalicelib.compat import sync
from chalicelib.config import VERSION
from chalicelib.core.repositories import UPLOADED
from chalicelib.domain import fields, multipart
from chalicelib.domain import validate as v
from chalicelib.domain.models import (
    InstallSpec,
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
_settings = bootstrap.use(lambda d: d.settings)

MAX_UPLOAD_BYTES = 10 * 1000 * 1000  # API Gateway's body limit (as POST /v1/charts)
BASE = "/api/namespaces/{namespace}/releases"
RELEASE = BASE + "/{name}"
ANSWER: s.S = {
    "type": "object",
    "required": ["code"],
    "properties": {
        "code": {"type": "integer", "enum": [0, 1], "description": "0 ok, 1 error"},
        "data": {"description": "the answer (omitted when there is none)"},
        "error": {"type": "string"},
    },
}
OK = {"200": s.json_response(ANSWER, "always 200: code 0 with data, or code 1 with error")}

CLUSTER_PARAMS = ("endpoint", "token", "kubeUserName", "kubePassword", "kube_context")
CREDENTIALS_IN_URL = ("token", "kubeUserName", "kubePassword")
# helm-engine's body field -> Charthouse's (install/upgrade)
CHART_FIELDS = {
    "dry_run": "dry_run",
    "disable_hooks": "disable_hooks",
    "wait": "wait",
    "devel": "devel",
    "description": "description",
    "atomic": "atomic",
    "skip_crds": "skip_crds",
    "sub_notes": "render_subchart_notes",
    "create_namespace": "create_namespace",
    "dependency_update": "dependency_update",
    "values": "values",
    "set": "set",
    "set_string": "set_string",
    "verify": "verify",
    "version": "version",
}
UPGRADE_ONLY = {"force": "force", "install": "install", "cleanup_on_fail": "cleanup_on_fail"}
REPO_FIELDS = ("repo", "username", "password", "ca_file", "cert_file", "key_file", "keyring", "insecure_skip_verify")
REFUSED = {
    "recreate": "was removed from Helm 3 (pods are restarted by a changed pod template instead)",
    **{
        f: "per-request repository credentials and files are not taken: register the repository "
        "(PUT /v1/repositories/{name}) and give its URL as repo"
        for f in ("username", "password", "ca_file", "cert_file", "key_file", "keyring")
    },
    "insecure_skip_verify": "is set on the registered repository (insecure_skip_tls_verify), not per request",
}
ROLLBACK_FIELDS = {
    "dry_run": "dry_run",
    "disable_hooks": "disable_hooks",
    "wait": "wait",
    "force": "force",
    "cleanup_on_fail": "cleanup_on_fail",
    "history_max": "max_history",
}
LIST_FIELDS = (
    "all",
    "all_namespaces",
    "by_date",
    "sort_reverse",
    "limit",
    "offset",
    "filter",
    "uninstalled",
    "uninstalling",
    "superseded",
    "failed",
    "deployed",
    "pending",
)


def _field_schema(name: str) -> s.S:
    """A helm-engine body field's schema: Charthouse's for the field it maps to, else what helm-engine takes."""
    ours = {**CHART_FIELDS, **UPGRADE_ONLY, **ROLLBACK_FIELDS}.get(name)
    if ours is not None:
        return fields.SCHEMAS[ours]
    if name in ("limit", "offset"):
        return {"type": "integer", "minimum": 0}
    if name in REPO_FIELDS or name == "filter":
        return {"oneOf": [fields.STR, fields.BOOL]} if name == "insecure_skip_verify" else fields.STR
    return fields.BOOL  # recreate and the list flags


def _body_schema(names: tuple[str, ...] | list[str]) -> s.S:
    return {"type": "object", "properties": {n: _field_schema(n) for n in names}, "additionalProperties": False}


INSTALL_BODY = _body_schema([*CHART_FIELDS, *REPO_FIELDS])
UPGRADE_BODY = _body_schema([*CHART_FIELDS, *UPGRADE_ONLY, "recreate", *REPO_FIELDS])
ROLLBACK_BODY = _body_schema([*ROLLBACK_FIELDS, "recreate"])
LIST_BODY = _body_schema(LIST_FIELDS)
CLUSTER_QUERY = [
    s.param("endpoint", desc="the API server URL of a registered cluster (default: the configured cluster)"),
    *[s.param(p, desc="refused: credentials do not travel in URLs") for p in CREDENTIALS_IN_URL],
]


# ---------------------------------------------------------------- plumbing


def _refusal(exc: CharthouseError) -> Response:
    """The guard's refusal in helm-engine's envelope (HTTP 200, code 1); audited as denied all the same."""
    return Response(
        body={"code": 1, "error": exc.message}, status_code=200, headers={"Content-Type": "application/json"}
    )


def _failed(response: Response) -> str | None:
    body = response.body
    return "HelmEngineError" if isinstance(body, dict) and body.get("code") == 1 else None


DOOR = Door("helm-engine", _refusal, _failed)
WHERE = Scope(Query("endpoint", via=sync.cluster_at, default=sync.default_cluster_name), Path("namespace"))


def _answer(work: Callable[[], Any]) -> dict[str, Any]:
    """helm-engine's envelope: every error (ours, named) becomes code 1 with its message."""
    try:
        data = work()
    except sync.Unfinished as exc:
        note(exc)
        return {"code": 1, "error": exc.ended.message}
    except CharthouseError as exc:
        note(exc)
        return {"code": 1, "error": exc.message}
    return {"code": 0} if data is None else {"code": 0, "data": data}


def _query() -> dict[str, str]:
    return web.query(bp.current_request)


def _body(fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The JSON body, its empty strings dropped (helm-engine ignores them); a field of no helm-engine body is
    refused, naming it."""
    body = {k: val for k, val in web.json_body(bp.current_request).items() if val != "" and val is not None}
    for key in body:
        if key not in fields:
            raise InvalidInput(key, "is not a field of this helm-engine request")
    return body


def _cluster(query: dict[str, str]) -> str:
    for name in CREDENTIALS_IN_URL:
        if query.get(name):
            raise InvalidInput(
                name,
                "is refused: credentials in a query string end up in logs; register the cluster "
                "(PUT /v1/clusters/{name}) and address it with endpoint=<its API server URL>",
            )
    if query.get("kube_context"):
        raise InvalidInput("kube_context", "is not used: a registered cluster has one context; use endpoint=")
    if query.get("endpoint"):
        return sync.cluster_by_server(query["endpoint"], "endpoint")
    return sync.default_cluster("endpoint")


def _no_other(query: dict[str, str], allowed: tuple[str, ...]) -> None:
    for key, val in query.items():
        if val and key not in allowed and key not in CLUSTER_PARAMS:
            raise InvalidInput(key, "is not a parameter of this helm-engine request")


def _refuse(body: dict[str, Any]) -> None:
    for key, why in REFUSED.items():
        if key in body and body[key] not in (False, "false", "", None):
            raise InvalidInput(key, why)


def _chart(query: dict[str, str], body: dict[str, Any]) -> str:
    chart = query.get("chart") or ""
    if not chart:
        raise InvalidInput("chart", "is required (?chart=<repository>/<chart>)")
    repo_url = body.get("repo")
    if repo_url:
        for repo in _catalog().repos.all():
            if repo.url.rstrip("/") == str(repo_url).rstrip("/"):
                return f"{repo.name}/{chart.rsplit('/', 1)[-1]}"
        raise InvalidInput("repo", "names no registered repository: register it with PUT /v1/repositories/{name}")
    return chart


def _translate(body: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    return {mapping[k]: val for k, val in body.items() if k in mapping}


def _element(record: dict[str, Any]) -> dict[str, Any]:
    """A release as helm-engine lists it (helm list's columns)."""
    return {
        "name": record["name"],
        "namespace": record["namespace"],
        "revision": str(record["revision"]),
        "updated": record.get("last_deployed") or "",
        "status": record["status"],
        "chart": f"{record['chart']}-{record['chart_version']}" if record.get("chart_version") else record["chart"],
        "chart_version": record.get("chart_version") or "",
        "app_version": record.get("app_version") or "",
    }


def _ended(ended: sync.Ended, ref: ReleaseRef) -> Any:
    if ended.running or not ended.ok:
        raise sync.Unfinished(ended)
    record = _service().record(ref)
    return _element(record) if record else None


# ---------------------------------------------------------------- releases


@route(
    bp,
    "POST",
    RELEASE,
    verb="install",
    scope=WHERE,
    door=DOOR,
    summary="helm-engine: helm install (?chart=); answers when it ended",
    ok=OK,
    errors=(400,),
    query=[s.param("chart", required=True), *CLUSTER_QUERY],
    body=INSTALL_BODY,
)
def install(namespace: str, name: str) -> dict[str, Any]:
    def work() -> Any:
        query = _query()
        _no_other(query, ("chart",))
        cluster = _cluster(query)
        body = _body([*CHART_FIELDS, *REPO_FIELDS])
        _refuse(body)
        ours = {**_translate(body, CHART_FIELDS), "chart": _chart(query, body), "name": name}
        spec, name_req = InstallSpec.from_json(ours, _limits())
        ReleaseRef.parse(cluster, namespace, name)
        outcome = sync.hall().install(sync.caller(), cluster, namespace, spec, name_req)
        if outcome.dry_run is not None:  # as /v1: checked, then answered at once; nothing recorded
            return outcome.dry_run
        return _ended(sync.ended(outcome), outcome.ref)

    return _answer(work)


@route(
    bp,
    "PUT",
    RELEASE,
    verb="upgrade",
    scope=WHERE,
    door=DOOR,
    summary="helm-engine: helm upgrade (?chart=); answers when it ended",
    ok=OK,
    errors=(400,),
    query=[s.param("chart", required=True), *CLUSTER_QUERY],
    body=UPGRADE_BODY,
)
def upgrade(namespace: str, name: str) -> dict[str, Any]:
    def work() -> Any:
        query = _query()
        _no_other(query, ("chart",))
        cluster = _cluster(query)
        body = _body([*CHART_FIELDS, *UPGRADE_ONLY, "recreate", *REPO_FIELDS])
        _refuse(body)
        ours = {**_translate(body, {**CHART_FIELDS, **UPGRADE_ONLY}), "chart": _chart(query, body)}
        spec = UpgradeSpec.from_json(ours, _limits())
        ref = ReleaseRef.parse(cluster, namespace, name)
        outcome = sync.hall().upgrade(sync.caller(), ref, spec)
        if outcome.dry_run is not None:  # as /v1: checked, then answered at once; nothing recorded
            return outcome.dry_run
        return _ended(sync.ended(outcome), ref)

    return _answer(work)


@route(
    bp,
    "DELETE",
    RELEASE,
    verb="uninstall",
    scope=WHERE,
    door=DOOR,
    summary="helm-engine: helm uninstall; answers when it ended",
    ok=OK,
    query=CLUSTER_QUERY,
)
def uninstall(namespace: str, name: str) -> dict[str, Any]:
    def work() -> Any:
        query = _query()
        _no_other(query, ())
        ref = ReleaseRef.parse(_cluster(query), namespace, name)
        ended = sync.ended(sync.hall().uninstall(sync.caller(), ref, UninstallSpec()))
        if ended.running or not ended.ok:
            raise sync.Unfinished(ended)
        return None

    return _answer(work)


@route(
    bp,
    "PUT",
    RELEASE + "/versions/{revision}",
    verb="rollback",
    scope=WHERE,
    door=DOOR,
    summary="helm-engine: helm rollback to a revision; answers when it ended",
    ok=OK,
    errors=(400,),
    query=CLUSTER_QUERY,
    body=ROLLBACK_BODY,
)
def rollback(namespace: str, name: str, revision: str) -> dict[str, Any]:
    def work() -> Any:
        query = _query()
        _no_other(query, ())
        ref = ReleaseRef.parse(_cluster(query), namespace, name)
        body = _body([*ROLLBACK_FIELDS, "recreate"])
        _refuse(body)
        ours = {**_translate(body, ROLLBACK_FIELDS), "revision": v.integer("revision", revision, 1, 1_000_000)}
        spec = RollbackSpec.from_json(ours, _limits())
        outcome = sync.hall().rollback(sync.caller(), ref, spec)
        if outcome.dry_run is not None:
            return outcome.dry_run
        return _ended(sync.ended(outcome), ref)

    return _answer(work)


GET_INFOS = ("values", "manifest", "notes", "hooks")


@route(
    bp,
    "GET",
    RELEASE,
    verb="read",
    scope=WHERE,
    door=DOOR,
    summary="helm-engine: helm get (info=values|manifest|notes|hooks, output=json|yaml for values)",
    ok=OK,
    query=[s.param("info"), s.param("output"), *CLUSTER_QUERY],
)
def get_release(namespace: str, name: str) -> dict[str, Any]:
    def work() -> Any:
        query = _query()
        _no_other(query, ("info", "output"))
        ref = ReleaseRef.parse(_cluster(query), namespace, name)
        info = v.choice("info", query.get("info"), GET_INFOS, "values") or "values"
        output = v.choice("output", query.get("output"), ("json", "yaml"), "json")
        shown = _service().get(ref, (info,), None)
        found = shown.get(info, {} if info == "values" else "")
        if info == "values" and output == "yaml":
            return yaml.safe_dump(found, sort_keys=False, allow_unicode=True, default_flow_style=False)
        return found

    return _answer(work)


@route(
    bp,
    "GET",
    RELEASE + "/histories",
    verb="read",
    scope=WHERE,
    door=DOOR,
    summary="helm-engine: helm history",
    ok=OK,
    query=CLUSTER_QUERY,
)
def histories(namespace: str, name: str) -> dict[str, Any]:
    def work() -> Any:
        query = _query()
        _no_other(query, ())
        ref = ReleaseRef.parse(_cluster(query), namespace, name)
        return sorted(_service().history(ref, 256), key=lambda r: int(r["revision"]))

    return _answer(work)


@route(
    bp,
    "GET",
    BASE,
    verb="read",
    scope=WHERE,
    door=DOOR,
    filtered=True,
    summary="helm-engine: helm list (its body, or the same keys as query parameters)",
    ok=OK,
    query=[*[s.param(f) for f in LIST_FIELDS], *CLUSTER_QUERY],
    body=LIST_BODY,
)
def list_releases(namespace: str) -> dict[str, Any]:
    def work() -> Any:
        query = _query()
        _no_other(query, LIST_FIELDS)
        cluster = _cluster(query)
        options: dict[str, Any] = {k: val for k, val in query.items() if k in LIST_FIELDS and val != ""}
        options.update(_body(LIST_FIELDS))
        flags = {f: _flag(f, options.get(f)) for f in LIST_FIELDS if f not in ("limit", "offset", "filter")}
        statuses = [
            f for f in ("deployed", "failed", "pending", "superseded", "uninstalled", "uninstalling") if flags[f]
        ]
        if flags["all"]:
            statuses = ["deployed", "failed", "pending", "superseded", "uninstalling", "unknown"]
        elif not statuses:
            statuses = ["deployed", "failed"]  # helm list's default
        everywhere = flags["all_namespaces"]
        limit = v.integer("limit", options.get("limit"), 0, 1000, 0) or 1000
        offset = v.integer("offset", options.get("offset"), 0, 1_000_000, 0) or 0
        pattern = options.get("filter")
        q = web.list_query(
            {
                "status": ",".join(statuses),
                "sort": "last_deployed" if flags["by_date"] else "name",
                "order": "desc" if flags["sort_reverse"] else "asc",
                "limit": str(limit),
                **({"filter": str(pattern)} if pattern else {}),
                **({"next_token": f"offset:{offset}"} if offset else {}),
            },
            cluster,
            None if everywhere else v.dns_label("namespace", namespace),
        )
        items, _ = _service().list(q)
        return [_element(i) for i in sync.readable(items)]

    return _answer(work)


def _flag(name: str, raw: object) -> bool:
    if isinstance(raw, str):
        if raw.lower() not in ("true", "false", "1", "0", ""):
            raise InvalidInput(name, "must be true or false")
        return raw.lower() in ("true", "1")
    return v.boolean(name, raw)


# ---------------------------------------------------------------- charts and repositories

SHOW_INFOS = ("all", "readme", "values", "chart")


@route(
    bp,
    "GET",
    "/api/charts",
    verb="read",
    door=DOOR,
    summary="helm-engine: helm show (chart=<repository>/<chart>, an archive URL or oci://; info=all|readme|values|"
    "chart; version)",
    ok=OK,
    query=[s.param("chart", required=True), s.param("info"), s.param("version")],
)
def show_chart() -> dict[str, Any]:
    def work() -> Any:
        query = _query()
        _no_other(query, ("chart", "info", "version"))
        chart = query.get("chart") or ""
        if not chart:
            raise InvalidInput(
                "chart",
                "is required: <repository>/<chart>, uploaded/<chart>, an https:// archive URL or an oci:// reference",
            )
        info = v.choice("info", query.get("info"), SHOW_INFOS, "all") or "all"
        parts = ("chart", "values", "readme") if info == "all" else (info,)
        shown = _catalog().show_reference(
            chart,
            v.chart_version("version", query.get("version")),
            False,
            parts,
            values_as_object=True,
        )
        if info == "all":
            return {p: shown.get(p) for p in parts}
        return shown.get(info)

    return _answer(work)


@route(
    bp,
    "GET",
    "/api/repositories/charts",
    verb="read",
    door=DOOR,
    summary="helm-engine: helm search repo (keyword, version, versions)",
    ok=OK,
    query=[s.param("keyword", required=True), s.param("version"), s.param("versions")],
)
def search_charts() -> dict[str, Any]:
    def work() -> Any:
        query = _query()
        _no_other(query, ("keyword", "version", "versions"))
        keyword = v.text("keyword", query.get("keyword"), 128)
        if not keyword:
            raise InvalidInput("keyword", "is required")
        found = _catalog().search(
            keyword,
            None,
            _flag("versions", query.get("versions")),
            False,
            v.chart_version("version", query.get("version")),
        )
        return [
            {
                "name": c["ref"],
                "version": c["version"],
                "app_version": c.get("app_version") or "",
                "description": c.get("description") or "",
            }
            for c in found
        ]

    return _answer(work)


@route(
    bp,
    "PUT",
    "/api/repositories",
    verb="charts",
    door=DOOR,
    summary="helm-engine: helm repo update (every registered repository)",
    ok=OK,
)
def update_repositories() -> dict[str, Any]:
    def work() -> Any:
        _, failed = _catalog().repos.refresh_all()
        if failed:
            raise InvalidInput("repositories", "; ".join(f"{f['name']}: {f['error']['message']}" for f in failed))
        return None

    return _answer(work)


@route(bp, "GET", "/api/envs", verb="read", summary="helm-engine: helm env", ok=OK, door=DOOR)
def envs() -> dict[str, Any]:
    def work() -> Any:
        return {
            "HELM_BIN": "helm",
            "HELM_VERSION": _service().helm_version(),
            "HELM_NAMESPACE": "default",
            "HELM_MAX_HISTORY": str(_limits().default_max_history),
            "CHARTHOUSE_VERSION": VERSION,
            "CHARTHOUSE_DEFAULT_CLUSTER": _settings().default_cluster,
        }

    return _answer(work)


@route(
    bp,
    "POST",
    "/api/charts/upload",
    verb="charts",
    door=DOOR,
    summary="helm-engine: upload a chart (multipart form field chart, a .tgz) to the uploaded repository, replacing "
    "an upload of the same name and version (the replaced digest is audited)",
    ok=OK,
    errors=(400, 413),
    request_body={
        "required": True,
        "content": {
            multipart.MEDIA_TYPE: {
                "schema": {
                    "type": "object",
                    "required": ["chart"],
                    "properties": {"chart": {"type": "string", "format": "binary"}},
                }
            }
        },
    },
    content_types=(multipart.MEDIA_TYPE,),
)
def upload_chart() -> dict[str, Any]:
    def work() -> Any:
        form = web.form_body(bp.current_request, MAX_UPLOAD_BYTES)
        part = form.get("chart")
        if part is None or not part.data:
            raise InvalidInput("chart", "is required: the packaged chart (.tgz) as the form field chart")
        if part.filename is not None and not part.filename.endswith(".tgz"):
            raise InvalidInput("chart", "must be a .tgz file (a packaged chart)")
        stored = _catalog().uploads.put(part.data, overwrite=True)  # as helm-engine: the same file name is replaced
        if stored.replaced:
            remark(f"replaced sha256:{stored.replaced}")
        return stored.chart

    return _answer(work)


@route(bp, "GET", "/api/charts/upload", verb="read", summary="helm-engine: the uploaded charts", ok=OK, door=DOOR)
def uploaded_charts() -> dict[str, Any]:
    def work() -> Any:
        found = _catalog().search("", UPLOADED, True, False, None)
        return [{"name": f"{c['name']}-{c['version']}.tgz", "chart": c["ref"], "version": c["version"]} for c in found]

    return _answer(work)
