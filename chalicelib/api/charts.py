"""HTTP routes for chart repositories and charts: register, refresh, search, show, upload."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.api import schemas as s
from chalicelib.api import web
from chalicelib.api.routes import route
from chalicelib.core.catalog import SHOW_PARTS
from chalicelib.core.repositories import UPLOADED, RepositorySpec, uploaded_repository_json
from chalicelib.domain import fields, multipart
from chalicelib.domain import validate as v
from chalicelib.errors import InvalidInput, PayloadTooLarge

bp = Blueprint(__name__)

ARCHIVE_TYPES = s.ARCHIVE_TYPES
VALUES_FORMATS = ("text", "json")
FORM_FIELDS = ("chart", "content", "file")  # the form field holding the archive, in a multipart upload
# A Lambda proxy request carries 6 MB and a binary body arrives base64-encoded (4/3 larger): 3 MiB is 4.2 MB of
# base64, with room for the headers. Larger charts go through POST /v1/charts/uploads (a presigned S3 upload).
MAX_DIRECT_UPLOAD = 3 * 1024 * 1024


def _query() -> dict[str, str]:
    return web.query(bp.current_request)


def _created(body: dict[str, Any], created: bool) -> Response:
    return Response(body=body, status_code=201 if created else 200, headers={"Content-Type": "application/json"})


# ---------------------------------------------------------------- repositories


@route(
    bp,
    "GET",
    "/v1/repositories",
    verb="read",
    summary="chart repositories (the built-in 'uploaded' first)",
    ok={"200": s.listing("repositories", s.ref("Repository"))},
    errors=(503,),
)
def list_repositories() -> dict[str, Any]:
    repos = [r.to_json() for r in bootstrap.get().catalog.repos.all()]
    return {"repositories": [uploaded_repository_json(), *repos]}


@route(
    bp,
    "PUT",
    "/v1/repositories/{repository}",
    verb="charts",
    summary="add or replace a repository (credentials go to Secrets Manager; an index is fetched)",
    ok={"200": s.json_response(s.ref("Repository")), "201": s.json_response(s.ref("Repository"), "created")},
    errors=(400, 413, 422, 502, 503),
    body=s.REPOSITORY_PUT,
)
def put_repository(repository: str) -> Response:
    d = bootstrap.get()
    spec = RepositorySpec.from_json(repository, web.json_body(bp.current_request), d.settings.allow_http_charts)
    repo, created = d.catalog.repos.put(spec)
    return _created(repo.to_json(), created)


@route(
    bp,
    "GET",
    "/v1/repositories/{repository}",
    verb="read",
    summary="a repository",
    ok={"200": s.json_response(s.ref("Repository"))},
    errors=(404, 422, 503),
)
def get_repository(repository: str) -> dict[str, Any]:
    if repository == UPLOADED:
        return uploaded_repository_json()
    return bootstrap.get().catalog.repos.get(repository).to_json()


@route(
    bp,
    "DELETE",
    "/v1/repositories/{repository}",
    verb="charts",
    summary="forget a repository and its credentials",
    ok={"204": s.DELETED},
    errors=(404, 422, 503),
)
def delete_repository(repository: str) -> Response:
    if repository == UPLOADED:
        raise InvalidInput("repository", "the uploaded repository is built in; delete its charts one by one")
    bootstrap.get().catalog.repos.delete(repository)
    return Response(body="", status_code=204)


@route(
    bp,
    "POST",
    "/v1/repositories/refresh",
    verb="charts",
    summary="fetch every repository's index again (helm repo update); one that fails is listed under failed",
    ok={
        "200": s.json_response(
            {
                "type": "object",
                "required": ["repositories", "failed"],
                "properties": {
                    "repositories": {"type": "array", "items": s.ref("Repository")},
                    "failed": {"type": "array", "items": s.OBJECT},
                },
            }
        )
    },
    errors=(503,),
)
def refresh_repositories() -> dict[str, Any]:
    done, failed = bootstrap.get().catalog.repos.refresh_all()
    return {"repositories": [r.to_json() for r in done], "failed": failed}


@route(
    bp,
    "POST",
    "/v1/repositories/{repository}/refresh",
    verb="charts",
    summary="fetch the repository's index again",
    ok={"200": s.json_response(s.ref("Repository"))},
    errors=(404, 422, 502, 503),
)
def refresh_repository(repository: str) -> dict[str, Any]:
    if repository == UPLOADED:
        return uploaded_repository_json()
    return bootstrap.get().catalog.repos.refresh(repository).to_json()


# ---------------------------------------------------------------- charts


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["o"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise InvalidInput("next_token", "is not a token this API returned") from exc
    if not isinstance(offset, int) or offset < 0:
        raise InvalidInput("next_token", "is not a token this API returned")
    return offset


@route(
    bp,
    "GET",
    "/v1/charts",
    verb="read",
    summary="search charts of HTTP repositories and uploads (name, description, keywords)",
    ok={"200": s.listing("charts", s.ref("Chart"), paged=True)},
    errors=(400, 404, 422, 502, 503),
    query=[
        s.param("q"),
        s.param("repository"),
        s.param("versions", schema=fields.BOOL, desc="every version"),
        s.param("devel", schema=fields.BOOL, desc="include pre-releases"),
        s.param("version", desc="a version constraint"),
        *s.PAGING,
    ],
)
def search_charts() -> dict[str, Any]:
    query = web.query_bools(_query(), ("versions", "devel"))
    v.no_unknown(query, frozenset({"q", "repository", "versions", "devel", "version", "limit", "next_token"}))
    repository = query.get("repository")
    if repository:
        v.dns_label("repository", repository)
    found = bootstrap.get().catalog.search(
        v.text("q", query.get("q"), 128),
        repository,
        bool(query.get("versions")),
        bool(query.get("devel")),
        v.chart_version("version", query.get("version")),
    )
    start, size = _offset(query.get("next_token")), web.limit(query)
    more = start + size < len(found)
    token = base64.urlsafe_b64encode(json.dumps({"o": start + size}).encode()).decode() if more else None
    return web.page(found[start : start + size], token, "charts")


@route(
    bp,
    "GET",
    "/v1/charts/{repository}/{chart}",
    verb="read",
    summary="show a chart (like helm show)",
    ok={"200": s.json_response(s.ref("ChartShow"))},
    errors=(400, 404, 422, 502, 503),
    query=[
        s.param("version"),
        s.param("devel", schema=fields.BOOL),
        s.param("info", desc=f"all, or comma-separated {','.join(SHOW_PARTS)} (default chart)"),
        s.param(
            "format",
            schema=fields.enum(VALUES_FORMATS),
            desc="values as the chart's text (default) or as an object (json)",
        ),
    ],
)
def show_chart(repository: str, chart: str) -> dict[str, Any]:
    query = web.query_bools(_query(), ("devel",))
    v.no_unknown(query, frozenset({"version", "info", "devel", "format"}))
    as_object = v.choice("format", query.get("format"), VALUES_FORMATS) == "json"
    asked = (query.get("info") or "chart").split(",")
    if "all" in asked:
        asked = list(SHOW_PARTS)
    for part in asked:
        if part not in SHOW_PARTS:
            raise InvalidInput("info", f"must be all or a comma-separated list of {', '.join(SHOW_PARTS)}")
    v.dns_label("repository", repository)
    return bootstrap.get().catalog.show(
        repository,
        chart,
        v.chart_version("version", query.get("version")),
        bool(query.get("devel")),
        tuple(dict.fromkeys(asked)),
        values_as_object=as_object,
    )


@route(
    bp,
    "DELETE",
    "/v1/charts/{repository}/{chart}",
    verb="charts",
    summary="delete one version of an uploaded chart",
    ok={"204": s.DELETED},
    errors=(404, 422, 503),
    query=[s.param("version", required=True)],
)
def delete_chart(repository: str, chart: str) -> Response:
    if repository != UPLOADED:
        raise InvalidInput("repository", "only uploaded charts can be deleted here; other repositories own theirs")
    query = _query()
    v.no_unknown(query, frozenset({"version"}))
    version = v.chart_version("version", query.get("version"))
    if not version:
        raise InvalidInput("version", "is required: the version of the uploaded chart to delete")
    bootstrap.get().catalog.uploads.delete(chart, version)
    return Response(body="", status_code=204)


@route(
    bp,
    "POST",
    "/v1/charts",
    verb="charts",
    summary="upload a packaged chart (.tgz) as the body or a multipart form field (chart, content or file), "
    "or finish a presigned upload with {upload_id}",
    ok={
        "201": s.json_response(s.ref("Chart"), "stored"),
        "200": s.json_response(s.ref("Chart"), "the same archive was already stored"),
    },
    errors=(400, 409, 413, 422, 503),
    query=[s.param("overwrite", schema=fields.BOOL)],
    request_body=s.CHART_UPLOAD,
    content_types=(*ARCHIVE_TYPES, "application/json", multipart.MEDIA_TYPE),
)
def upload_chart() -> Response:
    """The archive as the body or a multipart form (up to 3 MiB), or {"upload_id": ...} after a presigned upload."""
    request = bp.current_request
    query = web.query_bools(_query(), ("overwrite",))
    v.no_unknown(query, frozenset({"overwrite"}))
    overwrite = bool(query.get("overwrite"))
    uploads = bootstrap.get().catalog.uploads
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type == "application/json":
        body = web.json_body(request)
        v.no_unknown(body, frozenset({"upload_id"}))
        chart, created = uploads.complete(body.get("upload_id"), overwrite)
    elif content_type == multipart.MEDIA_TYPE:
        form = web.form_body(request, MAX_DIRECT_UPLOAD)
        part = next((p for p in (form.get(n) for n in FORM_FIELDS) if p is not None), None)
        if part is None or not part.data:
            raise InvalidInput("chart", f"the form needs the packaged chart (.tgz) as one of {', '.join(FORM_FIELDS)}")
        chart, created = uploads.add(part.data, overwrite)
    else:
        raw = request.raw_body or b""
        data = raw.encode() if isinstance(raw, str) else raw
        if len(data) > MAX_DIRECT_UPLOAD:
            raise PayloadTooLarge("body", "larger charts go through POST /v1/charts/uploads (a presigned upload)")
        if not data:
            raise InvalidInput("body", "is empty: send the packaged chart (.tgz)")
        chart, created = uploads.add(data, overwrite)
    return _created(chart, created)


@route(
    bp,
    "POST",
    "/v1/charts/uploads",
    verb="charts",
    summary="a presigned upload slot for a large chart (then POST /v1/charts)",
    ok={"201": s.json_response(s.ref("UploadSlot"), "created")},
    errors=(503,),
)
def start_upload() -> Response:
    """A presigned S3 URL for one chart archive; the answer goes to the caller only and is never logged."""
    return Response(
        body=bootstrap.get().catalog.uploads.presign(), status_code=201, headers={"Content-Type": "application/json"}
    )
