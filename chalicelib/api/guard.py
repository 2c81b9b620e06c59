"""The gate every request passes: authenticate, authorize (the verb and scope its route declares), then audit. One
middleware for the whole app, so no route can be reached around it; routes read the caller with ``principal()``.

Authorization comes before existence: the scope is read from the request as given (an id that names no cluster is
authorized as given), so a caller with no rule on a cluster gets the same refusal whether or not it exists. A
refusal is answered in its door's way (``routes.Door``) and audited as ``denied`` with the cluster and namespace it
was refused on; every other audited answer records the real outcome (an envelope's error is an ``error`` even when
its HTTP status is 200) and the cluster and namespace the request resolved to.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from typing import Any

from chalice.app import Blueprint, Request, Response

from chalicelib import bootstrap
from chalicelib.api import web
from chalicelib.api.routes import Ask, Route, Target, clear_noted, noted, remarked, route_of
from chalicelib.core.auth import Principal, authenticate
from chalicelib.core.authz import PUBLIC, refusal
from chalicelib.domain.sdksign import SignedRequest, is_signed
from chalicelib.errors import CharthouseError, Forbidden, InvalidInput, Unauthenticated

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
    return _guarded(event, get_response)


def _guarded(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """The middleware's work (undecorated: mutation testing mutates only undecorated functions)."""
    method, path = event.method.upper(), event.path
    declared = route_of(method, path)
    params = {k: str(val) for k, val in (event.uri_params or {}).items()}
    clear_noted()
    if declared is not None and declared.verb == PUBLIC:
        return _public(event, declared, params, get_response)
    who = "anonymous"
    targets: list[Target] = []
    d = bootstrap.get()
    token = _CURRENT.set(None)
    try:
        try:
            signed = _signed(event, path, params)
            gateway_checked = declared.gateway_auth if declared else True
            caller = authenticate(event, d.settings.auth_mode, d.tokens, d.access_keys, signed, gateway_checked)
            who = caller.id
            _CURRENT.set(caller)  # a scope's lookup reads as the caller (a release found among those it may read)
            ask = _ask(event, declared, params)
            targets, forbidden = _authorize(caller, declared, ask)
            if forbidden is not None:
                raise forbidden
        except CharthouseError as exc:
            response = _refused(exc, declared, d.settings.auth_mode)
            _audit(event, path, params, who, response, targets, exc)
            return response
        except Exception:  # noqa: BLE001 - never a stack trace to the caller; nothing was done
            log.exception("authorization failed unexpectedly for %s %s", method, path)
            return web.internal_error()
        response = get_response(event)
    finally:
        _CURRENT.reset(token)
    failure = _failure(declared, response)
    revealed = declared is not None and declared.reveal is not None and declared.reveal.truthy(ask)
    if method not in READ_METHODS or revealed or _result(response, failure) == "denied":
        _audit(event, path, params, who, response, targets, failure)
    return response


def _authorize(caller: Principal, declared: Route | None, ask: Ask) -> tuple[list[Target], Forbidden | None]:
    """Every verb on every cluster/namespace the route declares, before anything is read, validated or queued: the
    targets, or the first one refused (audited with the cluster it resolved to) and its refusal (repeating the
    cluster as the request named it)."""
    seen = bootstrap.get().authorizer.reader(caller)
    needs = declared.needs(ask) if declared else [("admin", Target(None, None))]  # not declared: admins only
    for verb, target in needs:
        if not seen.may(verb, target.cluster, target.namespace):
            return [target], refusal(caller, verb, target.shown or target.cluster, target.namespace)
    return list(dict.fromkeys(t for _, t in needs)), None


def _ask(event: Request, declared: Route | None, params: dict[str, str]) -> Ask:
    query = dict(event.query_params or {})
    body: dict[str, Any] = {}
    if declared is not None and declared.reads_body():
        try:
            body = web.json_body(event)
        except InvalidInput:  # the route answers it, naming the field; the scope is read without the body
            body = {}
    return Ask(params, query, body)


def _refused(exc: CharthouseError, declared: Route | None, auth_mode: str) -> Response:
    if isinstance(exc, Unauthenticated):
        response = web.error_response(exc)
        response.headers["WWW-Authenticate"] = "Bearer" if auth_mode == "token" else "AWS4-HMAC-SHA256"
        return response
    return declared.door.refuse(exc) if declared else web.error_response(exc)


def _public(
    event: Request, declared: Route, params: dict[str, str], get_response: Callable[[Request], Response]
) -> Response:
    """A public route runs without a caller; one that changes something (the runtimes' webhook) is audited, with
    the cluster and namespace its scope resolves to and, when refused, why."""
    response = get_response(event)
    if event.method.upper() in READ_METHODS:
        return response
    try:
        targets = [t for scope in declared.scopes for t in scope.targets(_ask(event, declared, params))]
    except CharthouseError:
        targets = []
    failure = _failure(declared, response)
    # the runtime's webhook only when its secret was verified: an answer that failed (even one answered before the
    # route ran, a 415) was nobody's
    verified = "runtime" in params and _result(response, failure) == "ok"
    who = f"webhook:{params['runtime']}" if verified else "anonymous"
    _audit(event, event.path, params, who, response, targets, failure)
    return response


def _failure(declared: Route | None, response: Response) -> BaseException | None:
    """What failed, when the answer failed: noted by the route (an envelope's error), else read from the answer."""
    found = noted()
    if found is not None:
        return found
    code = declared.door.failed(response) if declared else None
    return _Failed(code) if code else None


class _Failed(CharthouseError):
    """An answer its door marks as failed without saying why (an envelope's error)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _result(response: Response, failure: BaseException | None) -> str:
    if isinstance(failure, (Forbidden, Unauthenticated)) or response.status_code in (401, 403):
        return "denied"
    if failure is not None or response.status_code >= 400:
        return "error"
    return "ok"


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


def _audit(
    event: Request,
    route: str,
    params: dict[str, str],
    who: str,
    response: Response,
    targets: list[Target],
    failure: BaseException | None,
) -> None:
    body: Any = response.body
    op_id = body.get("id") if isinstance(body, dict) and str(body.get("id", "")).startswith("op-") else None
    op_id = (
        op_id or str(response.headers.get("X-Charthouse-Operation") or "") or None
    )  # the compat surfaces answer in other shapes
    release = params.get("name")
    if isinstance(body, dict) and isinstance(body.get("release"), dict) and not release:
        release = str(body["release"].get("name"))  # install: the name is in the body
    clusters = {t.cluster for t in targets if t.cluster}
    namespaces = {t.namespace for t in targets if t.namespace}
    error = body.get("error") if isinstance(body, dict) else None
    error_code = error.get("code") if isinstance(error, dict) else None
    if isinstance(failure, CharthouseError):
        error_code = failure.code
    elif failure is not None:
        error_code = type(failure).__name__
    context: dict[str, Any] = event.context or {}
    headers: Any = event.headers
    bootstrap.get().audit.record(
        principal=who,
        method=event.method.upper(),
        route=route,
        path=_concrete(route, params),
        cluster=clusters.pop() if len(clusters) == 1 else params.get("cluster"),
        namespace=namespaces.pop() if len(namespaces) == 1 else params.get("namespace"),
        release=release,
        status=response.status_code,
        result=_result(response, failure),
        operation_id=op_id,
        source_ip=(context.get("identity") or {}).get("sourceIp"),
        user_agent=headers.get("user-agent") if headers else None,
        error_code=error_code,
        reason=_reason(failure, error) or (remarked() if failure is None else None),
    )


def _reason(failure: BaseException | None, error: Any) -> str | None:
    """Why an answer failed (a message made to be shown to the caller: no secret in it)."""
    if isinstance(failure, CharthouseError):
        return getattr(failure, "reason", None) or failure.message
    if failure is not None:
        return str(failure)[:300] or None
    return str(error.get("message"))[:300] if isinstance(error, dict) and error.get("message") else None


def _concrete(route: str, params: dict[str, str]) -> str:
    for key, value in params.items():
        route = route.replace("{" + key + "}", value)
    return route
