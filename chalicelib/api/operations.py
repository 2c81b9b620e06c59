"""HTTP routes of operations (``/v1/operations``), and how ``/v1`` asks for and answers one: the Idempotency-Key,
``Prefer: wait=N`` (RFC 7240) and the function's remaining time become the hall's ``Caller``; an ``Outcome`` becomes
202 + Location, or 200/201 with the finished operation and its release record."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from chalice.app import Blueprint, Request, Response

from chalicelib import bootstrap
from chalicelib.api import schemas as s
from chalicelib.api import scopes, web
from chalicelib.api.guard import principal
from chalicelib.api.routes import Query, Scope, route
from chalicelib.core.releases import Caller, Outcome
from chalicelib.domain import validate as v
from chalicelib.domain.models import Action, Idempotency, Operation, OperationQuery, OperationStatus
from chalicelib.errors import InvalidInput

bp = Blueprint(__name__)
_authorizer = bootstrap.use(lambda d: d.authorizer)
releases = bootstrap.use(lambda d: d.releases)  # the hall (core/releases.py)

MAX_WAIT_S = 25  # API Gateway answers within 29 s
LAMBDA_MARGIN_S = 2  # an operation run in the request leaves the function this long to answer
PREFER_WAIT = re.compile(r"(?:^|[\s,;])wait\s*=\s*(\d{1,6})\b", re.IGNORECASE)
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


# ---------------------------------------------------------------- a request -> the hall's caller


def idempotency(request: Request, body: dict[str, Any]) -> Idempotency | None:
    """The Idempotency-Key header and a digest of the request it names (method, path, query, body)."""
    headers: Any = request.headers  # a case-insensitive mapping
    key = headers.get("idempotency-key") if headers else None
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.match(key):
        raise InvalidInput("Idempotency-Key", "must be 1-128 characters of letters, digits and -_.:")
    # request.path is the route template: the URI parameters make it the concrete resource
    canonical = json.dumps(
        {
            "method": request.method,
            "path": request.path,
            "params": request.uri_params or {},
            "query": web.query(request),
            "body": body,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return Idempotency(key, hashlib.sha256(canonical.encode()).hexdigest())


def preferred_wait(request: Request) -> int | None:
    """``Prefer: wait=N`` (RFC 7240): how long the caller would rather wait for the answer, at most
    ``MAX_WAIT_S``; a preference that cannot be read is ignored, as the RFC asks."""
    headers: Any = request.headers
    found = PREFER_WAIT.search(headers.get("prefer") or "") if headers else None
    return min(int(found.group(1)), MAX_WAIT_S) if found else None


def inline_budget(request: Request) -> float | None:
    """Seconds this request may spend on an operation: ``Prefer: wait=N``, and never past the function's own
    time limit (less a margin to answer). None without the preference."""
    wait = preferred_wait(request)
    if wait is None:
        return None
    context = getattr(request, "lambda_context", None)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return min(wait, remaining() / 1000 - LAMBDA_MARGIN_S) if callable(remaining) else float(wait)


def wants_reveal(request: Request) -> bool:
    """``?reveal=true`` (the hall checks the ``reveal`` permission)."""
    return bool(web.query_bools({"reveal": web.query(request).get("reveal", "false")}, ("reveal",))["reveal"])


def caller(request: Request, body: dict[str, Any], dry_run: bool = False) -> Caller:
    """The hall's caller for a ``/v1`` request: who, its Idempotency-Key (a dry run has none), its budget to run
    the operation here and how long it waits (``Prefer: wait=N``), ``?reveal`` for a dry run."""
    if dry_run:
        return Caller(principal(), reveal=wants_reveal(request))
    wait = preferred_wait(request)
    if_match, if_none_match = preconditions(request)
    return Caller(
        principal(),
        idempotency(request, body),
        budget_s=inline_budget(request),
        wait_s=None if wait is None else float(wait),
        if_match=if_match,
        if_none_match=if_none_match,
    )


def preconditions(request: Request) -> tuple[str | None, bool]:
    """``If-Match`` (as sent) and whether ``If-None-Match: *`` was (the only form a write honours)."""
    headers: Any = request.headers
    if not headers:
        return None, False
    none_match = headers.get("if-none-match")
    if none_match is not None and none_match.strip() != "*":
        raise InvalidInput("If-None-Match", "only * is honoured (install only if the release does not exist)")
    if_match = headers.get("if-match")
    if if_match is not None and (not if_match.strip() or len(if_match) > 1024):
        raise InvalidInput("If-Match", "must be the release's ETag (GET the release) or *")
    return if_match, none_match is not None


# ---------------------------------------------------------------- the hall's outcome -> an HTTP answer


def accepted(request: Request, outcome: Outcome) -> Response:
    """202 with the operation to poll; or, asked to wait (``Prefer: wait=N``) and the operation ended in time,
    200 (201 for an install that succeeded) with the finished operation and the release record."""
    op = outcome.op
    location: dict[str, str | list[str]] = {"Location": f"/v1/operations/{op.id}", "Content-Type": "application/json"}
    wait = preferred_wait(request)
    if wait is None:
        return Response(body=op.to_json(), status_code=202, headers=location)
    location["Preference-Applied"] = f"wait={wait}"
    if not op.status.terminal:
        return Response(body=op.to_json(), status_code=202, headers=location)
    created = op.action is Action.INSTALL and op.status is OperationStatus.SUCCEEDED
    body = {**op.to_json(), "record": releases().record_of(outcome)}
    return Response(body=body, status_code=201 if created else 200, headers=location)


def visible(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only what the caller may read (items carry ``cluster``/``namespace``, or a ``release`` holding them)."""
    seen = _authorizer().reader(principal())
    return [
        i
        for i in items
        if seen.can_read(
            str(i.get("cluster") or i.get("release", {}).get("cluster")),
            str(i.get("namespace") or i.get("release", {}).get("namespace")),
        )
    ]


# ---------------------------------------------------------------- routes


@route(
    bp,
    "GET",
    "/v1/operations/{operation_id}",
    verb="read",
    summary="one operation",
    ok={"200": s.json_response(s.ref("Operation"))},
    errors=(404, 503),
    scope=Scope(lookup=scopes.operation_release),
)
def get_operation(operation_id: str) -> dict[str, Any]:
    return releases().operation(operation_id).to_json()


@route(
    bp,
    "GET",
    "/v1/operations",
    verb="read",
    summary="operations, newest first",
    ok={"200": s.listing("operations", s.ref("Operation"), paged=True)},
    errors=(400, 422, 503),
    query=[
        s.param("cluster"),
        s.param("namespace"),
        s.param("release"),
        s.param("status", schema={"type": "string", "enum": s.OPERATION_STATUSES}),
        s.param("action", schema={"type": "string", "enum": s.ACTIONS}),
        *s.PAGING,
    ],
    scope=Scope(cluster=Query("cluster"), namespace=Query("namespace")),
    filtered=True,
)
def list_operations() -> dict[str, Any]:
    query = web.query(bp.current_request)
    v.no_unknown(query, frozenset({"cluster", "namespace", "release", "status", "action", "limit", "next_token"}))
    status = v.choice("status", query.get("status"), tuple(s.value for s in OperationStatus))
    action = v.choice("action", query.get("action"), tuple(a.value for a in Action))
    ops, token = releases().operations(
        OperationQuery(
            cluster=v.dns_label("cluster", query["cluster"]) if query.get("cluster") else None,
            namespace=v.dns_label("namespace", query["namespace"]) if query.get("namespace") else None,
            release=v.release_name("release", query["release"]) if query.get("release") else None,
            status=status,
            action=action,
            limit=web.limit(query),
            next_token=query.get("next_token"),
        )
    )
    return web.page(visible([o.to_json() for o in ops]), token, "operations")


def waited(request: Request, op: Operation) -> Outcome:
    """An operation not accepted by the hall (a reconcile), waited for as ``Prefer: wait=N`` asks."""
    wait = preferred_wait(request)
    if wait is not None:
        op = releases().wait(op, wait)
    return Outcome(op.release, op)
