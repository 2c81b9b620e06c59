"""HTTP routes of access control: who am I, bearer tokens (local stages), access keys, policies, the audit log."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.api import schemas as s
from chalicelib.api import web
from chalicelib.api.guard import principal
from chalicelib.api.routes import route
from chalicelib.core.access_keys import DEFAULT_DAYS, MAX_DAYS
from chalicelib.core.authz import SELF, Policy
from chalicelib.domain import validate as v
from chalicelib.errors import NotFound

bp = Blueprint(__name__)


def _query() -> dict[str, str]:
    return web.query(bp.current_request)


def _json(body: Any, status: int) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


@route(
    bp,
    "GET",
    "/v1/whoami",
    verb=SELF,
    summary="the caller and the rules that apply to it",
    ok={"200": s.json_response(s.WHOAMI)},
    errors=(503,),
)
def whoami() -> dict[str, Any]:
    """The caller, and the rules that apply to it (``admin: true`` for a configured admin)."""
    me = principal()
    rules = bootstrap.get().authorizer.rules_for(me)
    return {**me.to_json(), "admin": rules is None, "rules": [r.to_json() for r in rules or []]}


# ---------------------------------------------------------------- tokens (the local stages' bearer tokens)


@route(
    bp,
    "GET",
    "/v1/tokens",
    verb="admin",
    summary="bearer tokens (names only)",
    ok={"200": s.listing("tokens", s.TOKEN_ITEM)},
    errors=(503,),
)
def list_tokens() -> dict[str, Any]:
    return {"tokens": bootstrap.get().tokens.all()}


@route(
    bp,
    "POST",
    "/v1/tokens",
    verb="admin",
    summary="create a bearer token: the only time it is shown",
    ok={"201": s.json_response(s.TOKEN_CREATED, "created")},
    errors=(400, 409, 422, 503),
    body=s.TOKEN_POST,
)
def create_token() -> Response:
    """A new bearer token; the answer is the only time it is shown (the table keeps its SHA-256)."""
    body = web.json_body(bp.current_request)
    s.TOKEN_BODY.check(body)
    name = str(body.get("name") or "")
    return _json({"name": name, "token": bootstrap.get().tokens.create(name)}, 201)


@route(
    bp,
    "DELETE",
    "/v1/tokens/{token}",
    verb="admin",
    summary="delete a bearer token (and revoke the access keys it created)",
    ok={"204": s.DELETED},
    errors=(404, 503),
)
def delete_token(token: str) -> Response:
    """The token, and the access keys it created (they live only as long as their owner)."""
    d = bootstrap.get()
    d.tokens.delete(token)
    d.access_keys.revoke_owner(f"token:{token}")
    return Response(body="", status_code=204)


# ---------------------------------------------------------------- access keys (SDK-HMAC-SHA256 signing)


def _sees_all() -> bool:
    """Admins list and revoke every principal's access keys; the others their own."""
    return bootstrap.get().authorizer.allowed(principal(), "admin")


@route(
    bp,
    "POST",
    "/v1/access-keys",
    verb=SELF,
    summary="issue an access key pair for the caller (AK/SK request signing): the only time the secret is shown; "
    "it expires (expires_in_days, default 90, at most 365) and dies with the token that created it; "
    "a request signed with an access key cannot create one",
    ok={"201": s.json_response(s.ACCESS_KEY_CREATED, "created")},
    errors=(400, 403, 422, 503),
    body=s.ACCESS_KEY_POST,
)
def create_access_key() -> Response:
    body = web.json_body(bp.current_request)
    s.ACCESS_KEY_BODY.check(body)
    description = v.text("description", body.get("description"), 256)
    days = v.integer("expires_in_days", body.get("expires_in_days"), 1, MAX_DAYS, DEFAULT_DAYS) or DEFAULT_DAYS
    return _json(bootstrap.get().access_keys.create(principal(), description, days), 201)


@route(
    bp,
    "GET",
    "/v1/access-keys",
    verb=SELF,
    summary="the caller's access keys (an admin: everyone's); never a secret",
    ok={"200": s.listing("access_keys", s.ACCESS_KEY_ITEM)},
    errors=(503,),
)
def list_access_keys() -> dict[str, Any]:
    return {"access_keys": bootstrap.get().access_keys.list(principal(), _sees_all())}


@route(
    bp,
    "GET",
    "/v1/access-keys/{access_key}",
    verb=SELF,
    summary="one of the caller's access keys",
    ok={"200": s.json_response(s.ACCESS_KEY_ITEM)},
    errors=(404, 503),
)
def get_access_key(access_key: str) -> dict[str, Any]:
    found = [k for k in bootstrap.get().access_keys.list(principal(), _sees_all()) if k["id"] == access_key]
    if not found:
        raise NotFound(f"no access key {access_key[:64]}")
    return found[0]


@route(
    bp,
    "DELETE",
    "/v1/access-keys/{access_key}",
    verb=SELF,
    summary="revoke an access key (its secret is deleted)",
    ok={"204": s.DELETED},
    errors=(404, 503),
)
def delete_access_key(access_key: str) -> Response:
    bootstrap.get().access_keys.delete(principal(), access_key, _sees_all())
    return Response(body="", status_code=204)


# ---------------------------------------------------------------- policies


@route(
    bp,
    "GET",
    "/v1/policies",
    verb="admin",
    summary="authorization policies",
    ok={"200": s.listing("policies", s.ref("Policy"))},
    errors=(503,),
)
def list_policies() -> dict[str, Any]:
    return {"policies": [p.to_json() for p in bootstrap.get().authorizer.all()]}


@route(
    bp,
    "PUT",
    "/v1/policies/{policy}",
    verb="admin",
    summary="create or replace a policy",
    ok={"200": s.json_response(s.ref("Policy")), "201": s.json_response(s.ref("Policy"), "created")},
    errors=(400, 413, 422, 503),
    body=s.POLICY_PUT,
)
def put_policy(policy: str) -> Response:
    parsed = Policy.from_json(policy, web.json_body(bp.current_request))
    created = bootstrap.get().authorizer.put(parsed)
    return _json(parsed.to_json(), 201 if created else 200)


@route(
    bp,
    "GET",
    "/v1/policies/{policy}",
    verb="admin",
    summary="one policy",
    ok={"200": s.json_response(s.ref("Policy"))},
    errors=(404, 422, 503),
)
def get_policy(policy: str) -> dict[str, Any]:
    return bootstrap.get().authorizer.get(policy).to_json()


@route(
    bp,
    "DELETE",
    "/v1/policies/{policy}",
    verb="admin",
    summary="delete a policy",
    ok={"204": s.DELETED},
    errors=(404, 422, 503),
)
def delete_policy(policy: str) -> Response:
    bootstrap.get().authorizer.delete(policy)
    return Response(body="", status_code=204)


# ---------------------------------------------------------------- audit


@route(
    bp,
    "GET",
    "/v1/audit",
    verb="admin",
    summary="the audit log, newest first: mutating and refused calls",
    ok={"200": s.listing("entries", s.ref("AuditEntry"), paged=True)},
    errors=(400, 422, 503),
    query=[
        s.param("cluster"),
        s.param("namespace"),
        s.param("release"),
        s.param("principal"),
        s.param("result", schema=s.AUDIT_RESULT),
        s.param("since", desc="ISO 8601 time or epoch seconds; default: the last 24 hours"),
        *s.PAGING,
    ],
)
def audit() -> dict[str, Any]:
    query = _query()
    v.no_unknown(
        query, frozenset({"cluster", "namespace", "release", "principal", "result", "since", "limit", "next_token"})
    )
    items, token = bootstrap.get().audit.query(query, web.limit(query))
    return web.page(items, token, "entries")
