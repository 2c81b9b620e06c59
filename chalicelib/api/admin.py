"""HTTP routes of access control: who am I, bearer tokens (local stages), policies, the audit log."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.api import web
from chalicelib.api.guard import principal
from chalicelib.core.auth import AUTHORIZER
from chalicelib.core.authz import Policy
from chalicelib.domain import validate as v

bp = Blueprint(__name__)


def _query() -> dict[str, str]:
    return web.query(bp.current_request)


def _json(body: Any, status: int) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


@bp.route("/v1/whoami", methods=["GET"], authorizer=AUTHORIZER)
@web.handled
def whoami() -> dict[str, Any]:
    """The caller, and the rules that apply to it (``admin: true`` for a configured admin)."""
    me = principal()
    rules = bootstrap.get().authorizer.rules_for(me)
    return {**me.to_json(), "admin": rules is None, "rules": [r.to_json() for r in rules or []]}


# ---------------------------------------------------------------- tokens (the local stages' bearer tokens)


@bp.route("/v1/tokens", methods=["GET"], authorizer=AUTHORIZER)
@web.handled
def list_tokens() -> dict[str, Any]:
    return {"tokens": bootstrap.get().tokens.all()}


@bp.route("/v1/tokens", methods=["POST"], content_types=["application/json"], authorizer=AUTHORIZER)
@web.handled
def create_token() -> Response:
    """A new bearer token; the answer is the only time it is shown (the table keeps its SHA-256)."""
    body = web.json_body(bp.current_request)
    v.no_unknown(body, frozenset({"name"}))
    name = str(body.get("name") or "")
    return _json({"name": name, "token": bootstrap.get().tokens.create(name)}, 201)


@bp.route("/v1/tokens/{token}", methods=["DELETE"], authorizer=AUTHORIZER)
@web.handled
def delete_token(token: str) -> Response:
    bootstrap.get().tokens.delete(token)
    return Response(body="", status_code=204)


# ---------------------------------------------------------------- policies


@bp.route("/v1/policies", methods=["GET"], authorizer=AUTHORIZER)
@web.handled
def list_policies() -> dict[str, Any]:
    return {"policies": [p.to_json() for p in bootstrap.get().authorizer.all()]}


@bp.route("/v1/policies/{policy}", methods=["PUT"], content_types=["application/json"], authorizer=AUTHORIZER)
@web.handled
def put_policy(policy: str) -> Response:
    parsed = Policy.from_json(policy, web.json_body(bp.current_request))
    created = bootstrap.get().authorizer.put(parsed)
    return _json(parsed.to_json(), 201 if created else 200)


@bp.route("/v1/policies/{policy}", methods=["GET"], authorizer=AUTHORIZER)
@web.handled
def get_policy(policy: str) -> dict[str, Any]:
    return bootstrap.get().authorizer.get(policy).to_json()


@bp.route("/v1/policies/{policy}", methods=["DELETE"], authorizer=AUTHORIZER)
@web.handled
def delete_policy(policy: str) -> Response:
    bootstrap.get().authorizer.delete(policy)
    return Response(body="", status_code=204)


# ---------------------------------------------------------------- audit


@bp.route("/v1/audit", methods=["GET"], authorizer=AUTHORIZER)
@web.handled
def audit() -> dict[str, Any]:
    query = _query()
    v.no_unknown(
        query, frozenset({"cluster", "namespace", "release", "principal", "result", "since", "limit", "next_token"})
    )
    items, token = bootstrap.get().audit.query(query, web.limit(query))
    return web.page(items, token, "entries")
