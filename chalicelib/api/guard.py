"""The gate every request passes: authenticate, authorize (the verb its route declares), then audit. One middleware for the
whole app, so no route can be reached around it; routes read the caller with ``principal()``."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from typing import Any

from chalice.app import Blueprint, Request, Response

from chalicelib import bootstrap
from chalicelib.api import web
from chalicelib.api.routes import route_of, verb_of
from chalicelib.core.auth import Principal, authenticate
from chalicelib.core.authz import PUBLIC
from chalicelib.domain.sdksign import SignedRequest, is_signed
from chalicelib.errors import CharthouseError, Unauthenticated

log = logging.getLogger(__name__)
bp = Blueprint(__name__)
_CURRENT: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("charthouse_principal", default=None)
READ_METHODS = ("GET", "HEAD", "OPTIONS")
# the multipart chart uploads, whose body the SDK signs as UNSIGNED-PAYLOAD (domain/sdksign): nowhere else
UNSIGNED_PAYLOAD_ROUTES = frozenset({("POST", "/v2/charts"), ("PUT", "/v2/charts/{chart_id}")})


def principal() -> Principal:
    """The authenticated caller of the request being served."""
    current = _CURRENT.get()
    if current is None:  # a route called outside the middleware: never allow it silently
        raise Unauthenticated("no authenticated caller")
    return current


@bp.middleware("http")
def authenticate_authorize_audit(event: Request, get_response: Callable[[Request], Response]) -> Response:
    method, route = event.method.upper(), event.path
    verb = verb_of(method, route)
    if verb == PUBLIC:
        return get_response(event)
    params = {k: str(val) for k, val in (event.uri_params or {}).items()}
    declared = route_of(method, route)
    who = "anonymous"
    d = bootstrap.get()
    try:
        signed = _signed(event, route, params)
        gateway_checked = declared.gateway_auth if declared else True
        caller = authenticate(event, d.settings.auth_mode, d.tokens, d.access_keys, signed, gateway_checked)
        who = caller.id
        scope = declared.scope(params) if declared and declared.scope else params
        d.authorizer.require(caller, verb, scope.get("cluster"), scope.get("namespace"))
    except CharthouseError as exc:
        response = web.error_response(exc)
        if isinstance(exc, Unauthenticated):
            response.headers["WWW-Authenticate"] = "Bearer" if d.settings.auth_mode == "token" else "AWS4-HMAC-SHA256"
        _audit(event, route, params, who, response)
        return response
    except Exception:  # noqa: BLE001 - never a stack trace to the caller; nothing was done
        log.exception("authorization failed unexpectedly for %s %s", method, route)
        return web.internal_error()
    token = _CURRENT.set(caller)
    try:
        response = get_response(event)
    finally:
        _CURRENT.reset(token)
    if method not in READ_METHODS or response.status_code in (401, 403):
        _audit(event, route, params, who, response)
    return response


def _signed(event: Request, route: str, params: dict[str, str]) -> SignedRequest | None:
    """What an SDK-HMAC-SHA256 signature covers (``domain/sdksign``): the concrete path, every query value."""
    headers: Any = event.headers
    if not is_signed(headers.get("authorization") if headers else None):
        return None
    query = event.query_params
    pairs = tuple((k, str(val)) for k in (query or {}) for val in query.getlist(k)) if query else ()
    raw = event.raw_body or b""
    return SignedRequest(
        method=event.method.upper(),
        path=_concrete(route, params),
        query=pairs,
        headers={k.lower(): str(val) for k, val in (headers or {}).items()},
        body=raw.encode() if isinstance(raw, str) else raw,
        unsigned_payload=(event.method.upper(), route) in UNSIGNED_PAYLOAD_ROUTES,
    )


def _audit(event: Request, route: str, params: dict[str, str], who: str, response: Response) -> None:
    body: Any = response.body
    op_id = body.get("id") if isinstance(body, dict) and str(body.get("id", "")).startswith("op-") else None
    op_id = (
        op_id or str(response.headers.get("X-Charthouse-Operation") or "") or None
    )  # the compat surfaces answer in other shapes
    if isinstance(body, dict) and isinstance(body.get("release"), dict) and "name" not in params:
        params = {**params, "name": str(body["release"].get("name"))}  # install: the name is in the body
    error = body.get("error") if isinstance(body, dict) else None
    context: dict[str, Any] = event.context or {}
    headers: Any = event.headers
    bootstrap.get().audit.record(
        principal=who,
        method=event.method.upper(),
        route=route,
        path=_concrete(route, params),
        params=params,
        status=response.status_code,
        operation_id=op_id,
        source_ip=(context.get("identity") or {}).get("sourceIp"),
        user_agent=headers.get("user-agent") if headers else None,
        error_code=error.get("code") if isinstance(error, dict) else None,
    )


def _concrete(route: str, params: dict[str, str]) -> str:
    for key, value in params.items():
        route = route.replace("{" + key + "}", value)
    return route
