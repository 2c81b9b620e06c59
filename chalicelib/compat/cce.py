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
from chalicelib.api.routes import JSON, Scope, View, route
from chalicelib.compat import cce_shapes as shapes
from chalicelib.core.authz import SELF
from chalicelib.domain import archives, diagnosis, multipart, redact, yamlguard
from chalicelib.domain import validate as v
from chalicelib.domain.models import (
    Action,
    InstallSpec,
    ListQuery,
    Operation,
    OperationStatus,
    ReleaseRef,
    RollbackSpec,
    UninstallSpec,
    UpgradeSpec,
    iso,
)
from chalicelib.errors import CharthouseError, ChartVersionNotFound, ClusterNotFound, InvalidInput, NotFound

bp = Blueprint(__name__)

CLUSTER = "/cce/cam/v3/clusters/{cluster_id}"
RELEASES = CLUSTER + "/releases"
RELEASE = CLUSTER + "/namespace/{namespace}/releases/{name}"
CHARTS = "/v2/charts"
CHART = CHARTS + "/{chart_id}"
WAIT_S = 25  # API Gateway answers within 29 s
OPERATION_HEADER = "X-Charthouse-Operation"  # the operation behind a change (audit; polling at /v1/operations)
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
CREATE_FIELDS = frozenset({"chart_id", "description", "name", "namespace", "version", "parameters", "values"})
UPDATE_FIELDS = frozenset({"chart_id", "action", "parameters", "values", "description", "version"})
PARAMETER_FIELDS = frozenset(
    {"dry_run", "name_template", "no_hooks", "replace", "recreate", "reset_values", "release_version", "include_hooks"}
)
UPLOAD_PARAMETERS = frozenset({"override", "skip_lint", "source", "visible"})
ANY: s.S = {"description": "a CCE shape (see docs/COMPAT.md)"}


def cce_route(
    method: str,
    path: str,
    *,
    verb: str,
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
    registry = bootstrap.get().registry
    if _LABEL.match(cluster_id):
        try:
            return registry.get(cluster_id).name
        except ClusterNotFound:
            pass
    for info in registry.all():
        if shapes.cluster_uuid(info.name) == cluster_id:
            return info.name
    raise ClusterNotFound(f"no cluster {cluster_id[:64]} (use its name, or the cluster_id Charthouse shows)")


def _scope(params: dict[str, str]) -> dict[str, str]:
    """What the guard authorizes on; an unknown cluster_id is authorized as given (then answered 404)."""
    try:
        cluster = cluster_name(params.get("cluster_id", ""))
    except NotFound:
        cluster = params.get("cluster_id", "")
    return {"cluster": cluster, "namespace": params.get("namespace", "")}


def _chart_entry(chart_id: object, field: str = "chart_id") -> dict[str, Any]:
    if not isinstance(chart_id, str) or not chart_id:
        raise InvalidInput(field, "is required: the id of an uploaded chart (POST /v2/charts answers it)")
    for entry in bootstrap.get().catalog.uploads.entries():
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
        return bootstrap.get().service.get(ref, ("values",), None).get("values")
    except CharthouseError:
        return None


def _release(ref: ReleaseRef, with_values: bool = True) -> dict[str, Any]:
    record = bootstrap.get().service.get(ref, (), None)
    values = _shown_values(ref) if with_values and record.get("status") != "uninstalled" else None
    return shapes.release(record, values)


def _finished(op: Operation, status_code: int, chart: dict[str, Any] | None = None) -> Response:
    """Wait for ``op``; a failure is an error in CCE's shape, otherwise the release as it now is."""
    d = bootstrap.get()
    op = d.intake.wait(op.id, WAIT_S)
    headers: dict[str, str | list[str]] = {OPERATION_HEADER: op.id, "Content-Type": "application/json"}
    if op.status is OperationStatus.FAILED:
        error = op.error or {}
        code = str(error.get("code") or "OperationFailed")
        message = diagnosis.error_text(error) or f"operation {op.id} failed"
        body = {"error_code": code, "error_msg": message, "error": {"code": code, "message": message, "details": {}}}
        return Response(body=body, status_code=400, headers=headers)
    record = d.service.record(op.release)
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
    verb=SELF,  # install, authorized below on the namespace the body names
    summary="CCE: create a release",
    status="201",
)
def create_release(cluster_id: str) -> Response:
    d = bootstrap.get()
    cluster = cluster_name(cluster_id)
    body = _body()
    v.no_unknown(body, CREATE_FIELDS)
    namespace = v.dns_label("namespace", body.get("namespace"))
    d.authorizer.require(principal(), "install", cluster, namespace)
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
    spec, name_req = InstallSpec.from_json(spec_json, d.limits)
    ref = ReleaseRef.parse(cluster, namespace, d.service.resolve_name(cluster, spec.chart, name_req))
    if params.get("dry_run"):
        dry = d.service.dry_run(ref, spec, False)
        shown = shapes.release(
            {**ref.to_json(), "chart": entry["name"], "chart_version": entry["version"], "status": "pending-install"},
            redact.mask_values(dry.get("values", spec_json["values"])),
        )
        return Response(body={**shown, "status_description": "dry run: nothing was installed"}, status_code=201)
    d.service.check_install(ref, spec)
    d.catalog.check(spec)
    return _finished(d.intake.accept(Action.INSTALL, ref, spec), 201, entry)


@cce_route(
    "GET",
    RELEASES,
    verb=SELF,  # read, filtered to what the caller may read
    summary="CCE: list releases (namespace, chart_id)",
)
def list_releases(cluster_id: str) -> Response:
    d = bootstrap.get()
    cluster = cluster_name(cluster_id)
    query = web.query(bp.current_request)
    v.no_unknown(query, frozenset({"namespace", "chart_id"}))
    namespace = v.dns_label("namespace", query["namespace"]) if query.get("namespace") else None
    d.authorizer.require(principal(), "read", cluster, namespace)
    entry = _chart_entry(query["chart_id"]) if query.get("chart_id") else None
    seen = d.authorizer.reader(principal())
    out: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        q = ListQuery(cluster, namespace, chart=entry["name"] if entry else None, limit=1000, next_token=token)
        items, token = d.service.list(q)
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
    revisions = bootstrap.get().service.history(ref, 256)
    body = [shapes.history_entry(ref.to_json(), r) for r in revisions]
    return Response(body=body, status_code=200, headers={"Content-Type": "application/json"})


@cce_route(
    "PUT",
    RELEASE,
    verb=SELF,  # upgrade or rollback (the body's action), authorized below
    summary="CCE: upgrade or roll back a release",
    scope=_scope,
)
def update_release(cluster_id: str, namespace: str, name: str) -> Response:
    d = bootstrap.get()
    ref = ReleaseRef.parse(cluster_name(cluster_id), namespace, name)
    body = _body()
    v.no_unknown(body, UPDATE_FIELDS)
    action = v.choice("action", body.get("action") or "upgrade", ("upgrade", "rollback")) or "upgrade"
    d.authorizer.require(principal(), action, ref.cluster, ref.namespace)
    params = _parameters(body.get("parameters"))
    if action == "rollback":
        revision = params.get("release_version")
        rollback = {"revision": revision} if revision else {}
        if params.get("no_hooks"):
            rollback["disable_hooks"] = True
        spec = RollbackSpec.from_json(rollback, d.limits)
        d.service.check_rollback(ref, spec.revision)
        return _finished(d.intake.accept(Action.ROLLBACK, ref, spec), 200)
    record = d.service.get(ref, (), None)
    entry = (
        _chart_entry(body["chart_id"])
        if body.get("chart_id")
        else _chart_entry(shapes.chart_uuid(str(record.get("chart")), str(record.get("chart_version"))), "chart_id")
    )
    spec_json = _chart_spec(entry, body, params)
    if params.get("reset_values"):
        spec_json["reset_values"] = True
    upgrade = UpgradeSpec.from_json(spec_json, d.limits)
    d.service.check_upgrade(ref, upgrade)
    d.catalog.check(upgrade)
    return _finished(d.intake.accept(Action.UPGRADE, ref, upgrade), 200, entry)


@cce_route("DELETE", RELEASE, verb="uninstall", summary="CCE: delete a release", scope=_scope)
def delete_release(cluster_id: str, namespace: str, name: str) -> Response:
    d = bootstrap.get()
    ref = ReleaseRef.parse(cluster_name(cluster_id), namespace, name)
    spec = UninstallSpec.from_json({}, d.limits)
    d.service.check_uninstall(ref)
    answer = _finished(d.intake.accept(Action.UNINSTALL, ref, spec), 200)
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
    """The chart's default values (masked) and its README."""
    shown = bootstrap.get().catalog.show(
        "uploaded", str(entry["name"]), str(entry["version"]), False, ("values", "readme")
    )
    values = yamlguard.load(str(shown.get("values") or ""), "values.yaml", yamlguard.CHART_YAML) or {}
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
    chart, _ = bootstrap.get().catalog.uploads.add(_content(form), bool(params.get("override")))
    entry = _chart_entry(shapes.chart_uuid(chart["name"], chart["version"]))
    return Response(body=_chart_json(entry), status_code=201, headers={"Content-Type": "application/json"})


@cce_route("GET", CHARTS, verb="read", summary="CCE: list charts")
def list_charts() -> Response:
    body = [_chart_json(e) for e in bootstrap.get().catalog.uploads.entries()]
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
    uploads = bootstrap.get().catalog.uploads
    data = _content(form)
    found = archives.inspect(data, uploads.limits)
    if found.name != entry["name"]:
        raise InvalidInput("content", f"is chart {found.name}, not {entry['name']} (chart_id names that chart)")
    chart, _ = uploads.add(data, bool(params.get("override", True)))
    return _chart_json(_chart_entry(shapes.chart_uuid(chart["name"], chart["version"])))


@cce_route("DELETE", CHART, verb="charts", summary="CCE: delete a chart")
def delete_chart(chart_id: str) -> dict[str, Any]:
    entry = _chart_entry(chart_id)
    bootstrap.get().catalog.uploads.delete(str(entry["name"]), str(entry["version"]))
    return _chart_json(entry)


@cce_route("GET", CHART + "/archive", verb="read", summary="CCE: download a chart's archive")
def download_chart(chart_id: str) -> Response:
    entry = _chart_entry(chart_id)
    data = bootstrap.get().catalog.uploads.archive(entry)
    filename = f"{entry['name']}-{entry['version']}.tgz"
    return Response(
        body=data,
        status_code=200,
        headers={"Content-Type": "application/gzip", "Content-Disposition": f'attachment; filename="{filename}"'},
    )
