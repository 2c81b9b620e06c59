"""Huawei CCE's release and chart template API, as its official SDK (``huaweicloudsdkcce``) sends and parses it.

Routes (``docs/COMPAT.md`` has the field-by-field table): ``/cce/cam/v3/clusters/{cluster_id}/releases`` (create,
list with ``namespace``/``chart_id``), ``.../namespace/{namespace}/releases/{name}`` (show, update with ``action:
upgrade|rollback``, delete), ``.../history``, and ``/v2/charts`` (multipart upload, list, show, values, update,
delete, archive). Each maps onto the same core operations, authorization verbs, audit and redaction as ``/v1``;
changes wait for their operation (up to ``WAIT_S``: API Gateway answers within 29 s), as CCE's client expects a
finished answer; one still running then is answered with its ``PENDING_*`` status.

Callers authenticate with ``X-Auth-Token: <Charthouse token>`` or the SDK's ``SDK-HMAC-SHA256`` signature with an
access key from ``POST /v1/access-keys`` (the guard checks both; the routes have no gateway authorizer).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.api import schemas as s
from chalicelib.api import web
from chalicelib.api.guard import principal
from chalicelib.api.routes import JSON, Body, Path, Pick, Query, Scope, View, route
from chalicelib.compat import cce_shapes as shapes
from chalicelib.core.releases import Caller, Outcome
from chalicelib.domain import archives, diagnosis, fields, multipart, redact
from chalicelib.domain import validate as v
from chalicelib.domain import values as vals
from chalicelib.domain.models import (
    Action,
    InstallSpec,
    ListQuery,
    OperationStatus,
    ReleaseRef,
    RollbackSpec,
    UninstallSpec,
    UpgradeSpec,
    iso,
)
from chalicelib.errors import CharthouseError, ChartVersionNotFound, ClusterNotFound, InvalidInput, NotFound

bp = Blueprint(__name__)
_authorizer = bootstrap.use(lambda d: d.authorizer)
_catalog = bootstrap.use(lambda d: d.catalog)
_limits = bootstrap.use(lambda d: d.limits)
_registry = bootstrap.use(lambda d: d.registry)
_hall = bootstrap.use(lambda d: d.releases)
_service = bootstrap.use(lambda d: d.service)

CLUSTER = "/cce/cam/v3/clusters/{cluster_id}"
RELEASES = CLUSTER + "/releases"
RELEASE = CLUSTER + "/namespace/{namespace}/releases/{name}"
CHARTS = "/v2/charts"
CHART = CHARTS + "/{chart_id}"
WAIT_S = 25  # API Gateway answers within 29 s
OPERATION_HEADER = "X-Charthouse-Operation"  # the operation behind a change (audit; polling at /v1/operations)
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# CCE's request bodies (seeds 001/002: CreateReleaseReqBody, UpdateReleaseReqBody, ReleaseReqBodyParams, the
# upload's parameters), described once: the handlers check a body against these tables' names, docs/COMPAT.md
# lists them. The CCE routes are not in /v1's OpenAPI document (their shapes are CCE's).
_FLAG = fields.BOOL
PARAMETERS_BODY = fields.Body(
    {
        "dry_run": _FLAG,
        "name_template": fields.SCHEMAS["name_template"],
        "no_hooks": _FLAG,
        "replace": _FLAG,
        "recreate": {"type": "boolean", "description": "refused: --recreate-pods was removed from Helm 3"},
        "reset_values": _FLAG,
        "release_version": {"type": "integer", "minimum": 1, "description": "the revision a rollback returns to"},
        "include_hooks": _FLAG,
    },
    description="ReleaseReqBodyParams",
)
_RELEASE_FIELDS: dict[str, fields.Schema] = {
    "chart_id": {"type": "string", "description": "an uploaded chart's id (POST /v2/charts answers it)"},
    "description": fields.SCHEMAS["description"],
    "version": {"type": "string", "description": "the chart_id's version, or left out"},
    "parameters": PARAMETERS_BODY.schema(),
    "values": {"type": "object", "description": "the release's values"},
}
CREATE_BODY = fields.Body(
    {**_RELEASE_FIELDS, "name": fields.SCHEMAS["name"], "namespace": {"type": "string"}},
    required=("chart_id", "namespace"),
)
UPDATE_ACTIONS = (Action.UPGRADE.value, Action.ROLLBACK.value)
UPDATE_BODY = fields.Body({**_RELEASE_FIELDS, "action": fields.enum(UPDATE_ACTIONS, "default upgrade")})
UPLOAD_PARAMETERS_BODY = fields.Body(
    {"override": _FLAG, "skip_lint": _FLAG, "source": {"type": "string"}, "visible": _FLAG},
    description="UploadChartRequestBody.parameters (JSON in the form's parameters part)",
)
CREATE_FIELDS = CREATE_BODY.names
UPDATE_FIELDS = UPDATE_BODY.names
PARAMETER_FIELDS = PARAMETERS_BODY.names
UPLOAD_PARAMETERS = UPLOAD_PARAMETERS_BODY.names
ANY: s.S = {"description": "a CCE shape (see docs/COMPAT.md)"}


def cce_route(
    method: str,
    path: str,
    *,
    verb: str | Pick,
    summary: str,
    status: str = "200",
    scope: Scope | None = None,
    content_types: tuple[str, ...] = JSON,
) -> Callable[[View], View]:
    """A CCE route: answered in CCE's shapes (so not in /v1's OpenAPI document), signed the SDK's way (so without
    API Gateway's authorizer: the guard authenticates it)."""
    return route(
        bp,
        method,
        path,
        verb=verb,
        summary=summary,
        ok={status: s.json_response(ANY)},
        scope=scope,
        content_types=content_types,
        published=False,
        gateway_auth=False,
    )


# ---------------------------------------------------------------- addressing


def cluster_name(cluster_id: str) -> str:
    """A cluster's name from CCE's ``cluster_id``: its name, or the id Charthouse derives from it."""
    registry = _registry()
    if _LABEL.match(cluster_id):
        try:
            return registry.get(cluster_id).name
        except ClusterNotFound:
            pass
    for info in registry.all():
        if shapes.cluster_uuid(info.name) == cluster_id:
            return info.name
    raise ClusterNotFound(f"no cluster {cluster_id[:64]} (use its name, or the cluster_id Charthouse shows)")


def _known(cluster_id: str) -> str | None:
    """The cluster ``cluster_id`` names, or None: the guard then authorizes on the id as given (then a 404)."""
    try:
        return cluster_name(cluster_id)
    except NotFound:
        return None


CLUSTER_ID = Path("cluster_id", via=_known)
_scope = Scope(CLUSTER_ID, Path("namespace"))


def _chart_entry(chart_id: object, field: str = "chart_id") -> dict[str, Any]:
    if not isinstance(chart_id, str) or not chart_id:
        raise InvalidInput(field, "is required: the id of an uploaded chart (POST /v2/charts answers it)")
    for entry in _catalog().uploads.entries():
        if shapes.chart_uuid(str(entry["name"]), str(entry["version"])) == chart_id:
            return entry
    raise ChartVersionNotFound(f"no uploaded chart with id {chart_id[:64]}")


def _chart_json(entry: dict[str, Any], values: Any = None, readme: str = "") -> dict[str, Any]:
    return shapes.chart({**entry, "uploaded_at": iso(entry.get("uploaded_at"))}, values, readme)


# ---------------------------------------------------------------- requests


def _body() -> dict[str, Any]:
    return web.json_body(bp.current_request)


def _parameters(raw: object) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidInput("parameters", "must be an object (ReleaseReqBodyParams)")
    v.no_unknown(raw, PARAMETER_FIELDS, "parameters.")
    if raw.get("recreate"):
        raise InvalidInput("parameters.recreate", "cannot be honoured: --recreate-pods was removed from Helm 3")
    return raw


def _values(raw: object) -> object:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidInput("values", "must be an object")
    return raw


def _chart_spec(entry: dict[str, Any], body: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    version = body.get("version")
    if version not in (None, "", entry["version"]):
        raise InvalidInput("version", f"must be the version of chart_id ({entry['version']}) or left out")
    spec: dict[str, Any] = {
        "chart": f"uploaded/{entry['name']}",
        "version": entry["version"],
        "values": _values(body.get("values")),
    }
    if params.get("no_hooks"):
        spec["disable_hooks"] = True
    if body.get("description"):
        spec["description"] = body["description"]
    return spec


# ---------------------------------------------------------------- answers


def _shown_values(ref: ReleaseRef) -> Any:
    """The release's user values, masked; None when helm has none to show (an uninstalled release)."""
    try:
        return _service().get(ref, ("values",), None).get("values")
    except CharthouseError:
        return None


def _release(ref: ReleaseRef, with_values: bool = True) -> dict[str, Any]:
    record = _service().get(ref, (), None)
    values = _shown_values(ref) if with_values and record.get("status") != "uninstalled" else None
    return shapes.release(record, values)


def _caller() -> Caller:
    """CCE's client expects a finished answer: the hall waits up to ``WAIT_S`` for the operation's end."""
    return Caller(principal(), wait_s=WAIT_S)


def _finished(outcome: Outcome, status_code: int, chart: dict[str, Any] | None = None) -> Response:
    """A failure is an error in CCE's shape, otherwise the release as it now is."""
    op = outcome.op
    headers: dict[str, str | list[str]] = {OPERATION_HEADER: op.id, "Content-Type": "application/json"}
    if op.status is OperationStatus.FAILED:
        error = op.error or {}
        code = str(error.get("code") or "OperationFailed")
        message = diagnosis.error_text(error) or f"operation {op.id} failed"
        body = {"error_code": code, "error_msg": message, "error": {"code": code, "message": message, "details": {}}}
        return Response(body=body, status_code=400, headers=headers)
    record = _service().record(op.release)
    if record is None or not op.status.terminal and record.get("last_operation_id") != op.id:
        shown = shapes.pending(op.to_json(), op.release.cluster, chart)
        if record is not None:
            shown = {
                **shapes.release(record),
                "status": shown["status"],
                "status_description": shown["status_description"],
            }
        return Response(body=shown, status_code=status_code, headers=headers)
    values = _shown_values(op.release) if record.get("status") != "uninstalled" else None
    return Response(body=shapes.release(record, values), status_code=status_code, headers=headers)


# ---------------------------------------------------------------- releases


@cce_route(
    "POST",
    RELEASES,
    verb="install",
    summary="CCE: create a release",
    status="201",
    scope=Scope(CLUSTER_ID, Body("namespace")),
)
def create_release(cluster_id: str) -> Response:
    cluster = cluster_name(cluster_id)
    body = _body()
    v.no_unknown(body, CREATE_FIELDS)
    namespace = v.dns_label("namespace", body.get("namespace"))
    params = _parameters(body.get("parameters"))
    entry = _chart_entry(body.get("chart_id"))
    spec_json = _chart_spec(entry, body, params)
    if body.get("name"):
        spec_json["name"] = body["name"]
    elif params.get("name_template"):
        spec_json["name_template"] = params["name_template"]
    else:
        raise InvalidInput("name", "is required (or parameters.name_template)")
    if params.get("replace"):
        spec_json["replace"] = True
    if params.get("dry_run"):
        spec_json["dry_run"] = True
    spec, name_req = InstallSpec.from_json(spec_json, _limits())
    outcome = _hall().install(_caller(), cluster, namespace, spec, name_req)  # checked, masked, dry run or accepted
    if outcome.dry_run is not None:
        ref = outcome.ref
        shown = shapes.release(
            {**ref.to_json(), "chart": entry["name"], "chart_version": entry["version"], "status": "pending-install"},
            outcome.values,
        )
        return Response(body={**shown, "status_description": "dry run: nothing was installed"}, status_code=201)
    return _finished(outcome, 201, entry)


@cce_route(
    "GET",
    RELEASES,
    verb="read",
    summary="CCE: list releases (namespace, chart_id)",
    scope=Scope(CLUSTER_ID, Query("namespace")),
)
def list_releases(cluster_id: str) -> Response:
    cluster = cluster_name(cluster_id)
    query = web.query(bp.current_request)
    v.no_unknown(query, frozenset({"namespace", "chart_id"}))
    namespace = v.dns_label("namespace", query["namespace"]) if query.get("namespace") else None
    entry = _chart_entry(query["chart_id"]) if query.get("chart_id") else None
    seen = _authorizer().reader(principal())
    out: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        q = ListQuery(cluster, namespace, chart=entry["name"] if entry else None, limit=1000, next_token=token)
        items, token = _service().list(q)
        for item in items:
            if not seen.can_read(str(item["cluster"]), str(item["namespace"])):
                continue
            if entry and item.get("chart_version") != entry["version"]:
                continue
            out.append(shapes.release(item))
        if not token:
            return Response(body=out, status_code=200, headers={"Content-Type": "application/json"})


@cce_route("GET", RELEASE, verb="read", summary="CCE: show a release", scope=_scope)
def show_release(cluster_id: str, namespace: str, name: str) -> dict[str, Any]:
    return _release(ReleaseRef.parse(cluster_name(cluster_id), namespace, name))


@cce_route("GET", RELEASE + "/history", verb="read", summary="CCE: a release's history", scope=_scope)
def release_history(cluster_id: str, namespace: str, name: str) -> Response:
    ref = ReleaseRef.parse(cluster_name(cluster_id), namespace, name)
    revisions = _service().history(ref, 256)
    body = [shapes.history_entry(ref.to_json(), r) for r in revisions]
    return Response(body=body, status_code=200, headers={"Content-Type": "application/json"})


@cce_route(
    "PUT",
    RELEASE,
    verb=Pick(Body("action"), UPDATE_ACTIONS, "upgrade"),
    summary="CCE: upgrade or roll back a release",
    scope=_scope,
)
def update_release(cluster_id: str, namespace: str, name: str) -> Response:
    ref = ReleaseRef.parse(cluster_name(cluster_id), namespace, name)
    body = _body()
    v.no_unknown(body, UPDATE_FIELDS)
    action = v.choice("action", body.get("action") or "upgrade", UPDATE_ACTIONS) or "upgrade"
    params = _parameters(body.get("parameters"))
    if action == "rollback":
        revision = params.get("release_version")
        rollback = {"revision": revision} if revision else {}
        if params.get("no_hooks"):
            rollback["disable_hooks"] = True
        spec = RollbackSpec.from_json(rollback, _limits())
        return _finished(_hall().rollback(_caller(), ref, spec), 200)
    if body.get("chart_id"):
        entry = _chart_entry(body["chart_id"])
    else:  # the chart the release has (none: ReleaseNotFound)
        record = _service().get(ref, (), None)
        entry = _chart_entry(shapes.chart_uuid(str(record.get("chart")), str(record.get("chart_version"))), "chart_id")
    spec_json = _chart_spec(entry, body, params)
    if params.get("reset_values"):
        spec_json["reset_values"] = True
    upgrade = UpgradeSpec.from_json(spec_json, _limits())
    return _finished(_hall().upgrade(_caller(), ref, upgrade), 200, entry)


@cce_route("DELETE", RELEASE, verb="uninstall", summary="CCE: delete a release", scope=_scope)
def delete_release(cluster_id: str, namespace: str, name: str) -> Response:
    ref = ReleaseRef.parse(cluster_name(cluster_id), namespace, name)
    spec = UninstallSpec.from_json({}, _limits())
    answer = _finished(_hall().uninstall(_caller(), ref, spec), 200)
    if answer.status_code == 200 and isinstance(answer.body, dict):
        answer.body = json.dumps(f"release {ref.name} deleted" if answer.body.get("status") == "DELETED" else "")
    return answer


# ---------------------------------------------------------------- chart templates


def _form() -> multipart.Form:
    return web.form_body(bp.current_request)


def _upload_parameters(form: multipart.Form) -> dict[str, Any]:
    part = form.get("parameters")
    if part is None or not part.data.strip():
        return {}
    try:
        raw = json.loads(part.text())
    except ValueError as exc:
        raise InvalidInput("parameters", "must be a JSON object (UploadChartRequestBody.parameters)") from exc
    if not isinstance(raw, dict):
        raise InvalidInput("parameters", "must be a JSON object")
    v.no_unknown(raw, UPLOAD_PARAMETERS, "parameters.")
    return raw


def _content(form: multipart.Form) -> bytes:
    part = form.get("content")
    if part is None or not part.data:
        raise InvalidInput("content", "is required: the packaged chart (.tgz)")
    return part.data


def _chart_values(entry: dict[str, Any]) -> tuple[Any, str]:
    """The chart's default values (read as helm reads them, :mod:`~chalicelib.domain.values`; masked) and its
    README. A values.yaml helm would misread (a key such as ``on:``) is a 422 naming the key and its line."""
    shown = _catalog().show("uploaded", str(entry["name"]), str(entry["version"]), False, ("values", "readme"))
    values = vals.parse_values(str(shown.get("values") or "") or None, "values.yaml")
    return redact.mask_values(values), str(shown.get("readme") or "")


@cce_route(
    "POST",
    CHARTS,
    verb="charts",
    summary="CCE: upload a chart (multipart: parameters, content)",
    status="201",
    content_types=(multipart.MEDIA_TYPE,),
)
def upload_chart() -> Response:
    form = _form()
    params = _upload_parameters(form)
    chart, _ = _catalog().uploads.add(_content(form), bool(params.get("override")))
    entry = _chart_entry(shapes.chart_uuid(chart["name"], chart["version"]))
    return Response(body=_chart_json(entry), status_code=201, headers={"Content-Type": "application/json"})


@cce_route("GET", CHARTS, verb="read", summary="CCE: list charts")
def list_charts() -> Response:
    body = [_chart_json(e) for e in _catalog().uploads.entries()]
    return Response(body=body, status_code=200, headers={"Content-Type": "application/json"})


@cce_route("GET", CHART, verb="read", summary="CCE: show a chart")
def show_chart(chart_id: str) -> dict[str, Any]:
    entry = _chart_entry(chart_id)
    values, readme = _chart_values(entry)
    return _chart_json(entry, values, readme)


@cce_route("GET", CHART + "/values", verb="read", summary="CCE: a chart's values")
def show_chart_values(chart_id: str) -> dict[str, Any]:
    values, _ = _chart_values(_chart_entry(chart_id))
    return {"values": {"basic": values}}


@cce_route(
    "PUT",
    CHART,
    verb="charts",
    summary="CCE: replace a chart's archive (multipart: parameters, content)",
    content_types=(multipart.MEDIA_TYPE,),
)
def update_chart(chart_id: str) -> dict[str, Any]:
    entry = _chart_entry(chart_id)
    form = _form()
    params = _upload_parameters(form)
    uploads = _catalog().uploads
    data = _content(form)
    found = archives.inspect(data, uploads.limits)
    if found.name != entry["name"]:
        raise InvalidInput("content", f"is chart {found.name}, not {entry['name']} (chart_id names that chart)")
    chart, _ = uploads.add(data, bool(params.get("override", True)))
    return _chart_json(_chart_entry(shapes.chart_uuid(chart["name"], chart["version"])))


@cce_route("DELETE", CHART, verb="charts", summary="CCE: delete a chart")
def delete_chart(chart_id: str) -> dict[str, Any]:
    entry = _chart_entry(chart_id)
    _catalog().uploads.delete(str(entry["name"]), str(entry["version"]))
    return _chart_json(entry)


@cce_route("GET", CHART + "/archive", verb="read", summary="CCE: download a chart's archive")
def download_chart(chart_id: str) -> Response:
    entry = _chart_entry(chart_id)
    data = _catalog().uploads.archive(entry)
    filename = f"{entry['name']}-{entry['version']}.tgz"
    return Response(
        body=data,
        status_code=200,
        headers={"Content-Type": "application/gzip", "Content-Disposition": f'attachment; filename="{filename}"'},
    )
