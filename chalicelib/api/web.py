"""HTTP plumbing shared by the route blueprints and the compat surfaces: the one mapping from domain errors to HTTP
(and Chalice's own errors put in the same shape), request parsing (JSON and multipart bodies, query strings, a
release list's filters), paging and output formats. No route is declared here."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

import yaml
from chalice.app import Blueprint, Request, Response

from chalicelib.domain import multipart
from chalicelib.domain import validate as v
from chalicelib.domain.models import LIST_SORTS, STATUS_FILTERS, ListQuery
from chalicelib.domain.namefilter import NameFilter
from chalicelib.errors import (
    CharthouseError,
    Conflict,
    DependencyUnavailable,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    Unauthenticated,
    UpstreamError,
)

log = logging.getLogger(__name__)
bp = Blueprint(__name__)  # carries the middleware below (app.py registers it)

MAX_BODY_BYTES = 512 * 1024
MAX_FORM_BYTES = 10 * 1000 * 1000  # API Gateway's body limit
_STATUS: tuple[tuple[type[CharthouseError], int], ...] = (
    (PayloadTooLarge, 413),
    (InvalidInput, 422),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (PreconditionFailed, 412),
    (UpstreamError, 502),
    (DependencyUnavailable, 503),
)


def error_response(exc: CharthouseError) -> Response:
    status = next((code for cls, code in _STATUS if isinstance(exc, cls)), 500)
    if isinstance(exc, InvalidInput) and exc.field == "body" and not isinstance(exc, PayloadTooLarge):
        status = 400
    body = {"error": {"code": exc.code, "message": exc.message, "details": exc.details}}
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


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


def handled(view: Callable[..., Any]) -> Callable[..., Any]:
    """Every route: domain errors -> their status; anything else -> a 500 without a stack trace."""

    @functools.wraps(view)
    def wrapper(**kwargs: Any) -> Any:
        try:
            return view(**kwargs)
        except CharthouseError as exc:
            return error_response(exc)
        except Exception:  # noqa: BLE001 - never a stack trace to the caller
            log.exception("unhandled error in %s", view.__name__)
            return internal_error()

    return wrapper


def internal_error() -> Response:
    body = {"error": {"code": "InternalError", "message": "an internal error occurred", "details": {}}}
    return Response(body=body, status_code=500, headers={"Content-Type": "application/json"})


def json_body(request: Request) -> dict[str, Any]:
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge("body", f"must be at most {MAX_BODY_BYTES // 1024} KiB")
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("body", "is not valid JSON") from exc
    except RecursionError as exc:
        raise InvalidInput("body", "is nested too deeply") from exc
    return v.object_body(data)


def form_body(request: Request, max_bytes: int = MAX_FORM_BYTES) -> multipart.Form:
    """A multipart/form-data body (``domain/multipart``): every upload route reads its form here."""
    raw = request.raw_body or b""
    data = raw.encode() if isinstance(raw, str) else raw
    if len(data) > max_bytes:
        raise PayloadTooLarge("body", f"must be at most {max_bytes} bytes")
    headers: Any = request.headers
    return multipart.parse(str((headers or {}).get("content-type") or ""), data)


def query(request: Request) -> dict[str, str]:
    return dict(request.query_params or {})


def query_bools(query: dict[str, str], names: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in query.items():
        if key in names:
            if value.lower() not in ("true", "false", "1", "0"):
                raise InvalidInput(key, "must be true or false")
            out[key] = value.lower() in ("true", "1")
        else:
            out[key] = value
    return out


OUTPUTS = ("json", "yaml")


def output(body: dict[str, Any], asked: str | None) -> Any:
    """``?output=json|yaml``: the body as JSON (default) or as one YAML document (``application/yaml``)."""
    if v.choice("output", asked, OUTPUTS) != "yaml":
        return body
    text = yaml.safe_dump(body, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return Response(body=text, status_code=200, headers={"Content-Type": "application/yaml"})


def page(items: list[dict[str, Any]], token: str | None, key: str) -> dict[str, Any]:
    return {key: items, "next_token": token}


def limit(query: dict[str, str]) -> int:
    return v.integer("limit", query.get("limit"), 1, 1000, 100) or 100


LIST_PARAMS = frozenset({"namespace", "status", "name", "search", "chart", "limit", "next_token", "filter", "sort"})


def list_query(query: dict[str, str], cluster: str | None, namespace: str | None) -> ListQuery:
    """A release list's filters from query parameters (``/v1`` and the compat surfaces)."""
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
        limit=limit(query),
        next_token=query.get("next_token"),
        sort=v.choice("sort", query.get("sort"), LIST_SORTS),
        reverse=v.choice("order", query.get("order"), ("asc", "desc")) == "desc",
        filter=NameFilter.parse("filter", query["filter"]) if query.get("filter") else None,
    )
