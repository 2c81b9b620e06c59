"""HTTP routes for chart repositories and charts: register, refresh, search, show, upload."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.api import web
from chalicelib.core.auth import AUTHORIZER
from chalicelib.core.catalog import SHOW_PARTS
from chalicelib.core.repositories import UPLOADED, RepositorySpec, uploaded_repository_json
from chalicelib.domain import validate as v
from chalicelib.errors import InvalidInput, PayloadTooLarge

bp = Blueprint(__name__)

ARCHIVE_TYPES = ["application/gzip", "application/x-gzip", "application/octet-stream", "application/x-tar"]
MAX_DIRECT_UPLOAD = 10 * 1000 * 1000  # API Gateway's body limit; larger charts go through POST /v1/charts/uploads


def _query() -> dict[str, str]:
    return web.query(bp.current_request)


def _created(body: dict[str, Any], created: bool) -> Response:
    return Response(body=body, status_code=201 if created else 200, headers={"Content-Type": "application/json"})


# ---------------------------------------------------------------- repositories


@bp.route("/v1/repositories", methods=["GET"], authorizer=AUTHORIZER)
@web.handled
def list_repositories() -> dict[str, Any]:
    repos = [r.to_json() for r in bootstrap.get().catalog.repos.all()]
    return {"repositories": [uploaded_repository_json(), *repos]}


@bp.route("/v1/repositories/{repository}", methods=["PUT"], content_types=["application/json"], authorizer=AUTHORIZER)
@web.handled
def put_repository(repository: str) -> Response:
    d = bootstrap.get()
    spec = RepositorySpec.from_json(repository, web.json_body(bp.current_request), d.settings.allow_http_charts)
    repo, created = d.catalog.repos.put(spec)
    return _created(repo.to_json(), created)


@bp.route("/v1/repositories/{repository}", methods=["GET"], authorizer=AUTHORIZER)
@web.handled
def get_repository(repository: str) -> dict[str, Any]:
    if repository == UPLOADED:
        return uploaded_repository_json()
    return bootstrap.get().catalog.repos.get(repository).to_json()


@bp.route("/v1/repositories/{repository}", methods=["DELETE"], authorizer=AUTHORIZER)
@web.handled
def delete_repository(repository: str) -> Response:
    if repository == UPLOADED:
        raise InvalidInput("repository", "the uploaded repository is built in; delete its charts one by one")
    bootstrap.get().catalog.repos.delete(repository)
    return Response(body="", status_code=204)


@bp.route("/v1/repositories/{repository}/refresh", methods=["POST"], authorizer=AUTHORIZER)
@web.handled
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


@bp.route("/v1/charts", methods=["GET"], authorizer=AUTHORIZER)
@web.handled
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


@bp.route("/v1/charts/{repository}/{chart}", methods=["GET"], authorizer=AUTHORIZER)
@web.handled
def show_chart(repository: str, chart: str) -> dict[str, Any]:
    query = web.query_bools(_query(), ("devel",))
    v.no_unknown(query, frozenset({"version", "info", "devel"}))
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
    )


@bp.route("/v1/charts/{repository}/{chart}", methods=["DELETE"], authorizer=AUTHORIZER)
@web.handled
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


@bp.route("/v1/charts", methods=["POST"], content_types=[*ARCHIVE_TYPES, "application/json"], authorizer=AUTHORIZER)
@web.handled
def upload_chart() -> Response:
    """The archive as the body (up to 10 MB), or {"upload_id": ...} after a presigned upload."""
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
    else:
        raw = request.raw_body or b""
        data = raw.encode() if isinstance(raw, str) else raw
        if len(data) > MAX_DIRECT_UPLOAD:
            raise PayloadTooLarge("body", "larger charts go through POST /v1/charts/uploads (a presigned upload)")
        if not data:
            raise InvalidInput("body", "is empty: send the packaged chart (.tgz)")
        chart, created = uploads.add(data, overwrite)
    return _created(chart, created)


@bp.route("/v1/charts/uploads", methods=["POST"], authorizer=AUTHORIZER)
@web.handled
def start_upload() -> Response:
    """A presigned S3 URL for one chart archive; the answer goes to the caller only and is never logged."""
    return Response(
        body=bootstrap.get().catalog.uploads.presign(), status_code=201, headers={"Content-Type": "application/json"}
    )
