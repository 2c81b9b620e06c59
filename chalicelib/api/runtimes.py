"""HTTP routes of runtimes: declare, read, plan, sync, delete; the push webhook (core/runtimes.py does the work).

A caller needs, on every namespace of a runtime's destination, ``install``, ``upgrade`` and ``uninstall`` to
declare, sync or delete it (what a sync may do there), and ``read`` to see or plan it; a source naming a registered
Git repository also needs ``use`` of it there (checked for the declaring owner at every read of the source, in
core/runtimes.py). The webhook is public: a push is accepted only with the runtime's webhook secret (GitHub's HMAC
signature, or GitLab's token).

A runtime's ``GET`` answers an ``ETag`` (its declaration and its last sync's state); ``PUT``, ``DELETE`` and ``POST
.../sync`` honour ``If-Match`` (412). ``POST .../plan`` keeps a plan; ``POST .../sync`` with ``{"plan": id}``
applies exactly it or is refused (409 ``PlanStale``, 404 ``PlanNotFound``).
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Request, Response

from chalicelib import bootstrap
from chalicelib.api import operations, scopes, web
from chalicelib.api import schemas as s
from chalicelib.api.guard import principal
from chalicelib.api.routes import Body, Scope, route
from chalicelib.api.runtime_access import WRITE_VERBS, put_runtime, view
from chalicelib.core.authz import PUBLIC
from chalicelib.domain import fields
from chalicelib.domain import validate as v
from chalicelib.domain.runtimes import (
    GIT_REPOSITORY_BODY,
    PHASES,
    PLAN_ACTIONS,
    RUNTIME_BODY,
    GitRepositorySpec,
)
from chalicelib.errors import InvalidInput, PayloadTooLarge

bp = Blueprint(__name__)
RUNTIME = "/v1/runtimes/{runtime}"
MAX_WEBHOOK_BYTES = 1 << 20

STR = {"type": "string"}
RUNTIME_SCHEMA: s.S = {
    "type": "object",
    "required": ["name", "source", "destination", "sync", "status"],
    "properties": {
        "name": STR,
        "source": {"type": "object", "description": "git: url, revision, path, credentials (a flag); or inline"},
        "destination": {
            "type": "object",
            "required": ["cluster", "namespaces"],
            "properties": {"cluster": STR, "namespaces": {"type": "array", "items": STR}},
        },
        "sync": {
            "type": "object",
            "properties": {
                "interval": STR,
                "prune": fields.BOOL,
                "drift_correction": fields.BOOL,
                "suspend": fields.BOOL,
                "webhook": fields.BOOL,
            },
        },
        "origin": {"type": "object"},
        "created_at": STR,
        "updated_at": STR,
        "status": {
            "type": "object",
            "required": ["phase", "releases"],
            "properties": {
                "phase": fields.enum(PHASES),
                "commit": STR,
                "synced_commit": STR,
                "synced_at": STR,
                "checked_at": STR,
                "deployed": fields.BOOL,
                "releases": {"type": "object", "additionalProperties": {"type": "object"}},
                "last_error": {"type": "object", "nullable": True},
                "run": {"type": "object"},
            },
        },
    },
}
RUNTIME_PUT: s.S = RUNTIME_BODY.schema()  # domain/runtimes.py reads the same table
PLAN_SCHEMA: s.S = {
    "type": "object",
    "required": ["runtime", "commit", "releases", "plan"],
    "properties": {
        "runtime": STR,
        "commit": STR,
        "plan": {
            "type": "object",
            "required": ["id", "expires_at"],
            "description": 'POST .../sync with {"plan": id} applies exactly this, or is refused (409 PlanStale)',
            "properties": {"id": STR, "expires_at": {"type": "string", "format": "date-time"}},
        },
        "releases": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["namespace", "name", "action"],
                "properties": {
                    "namespace": STR,
                    "name": STR,
                    "action": fields.enum(PLAN_ACTIONS),
                    "reason": STR,
                    "digest": STR,
                    "revision": {"type": "integer", "description": "the release's revision now (0: none)"},
                    "summary": {"type": "object"},
                    "objects": {"type": "array", "items": s.DIFF_OBJECT},
                },
            },
        },
    },
}
DELETED_SCHEMA: s.S = {
    "type": "object",
    "required": ["name", "deleted", "operations", "errors"],
    "properties": {
        "name": STR,
        "deleted": fields.BOOL,
        "operations": {"type": "array", "items": s.ref("Operation")},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}


SYNC_BODY: s.S = {
    "type": "object",
    "additionalProperties": False,
    "description": "empty: sync what the source holds now; plan: apply exactly what POST .../plan answered",
    "properties": {"plan": {"type": "string", "description": "plan.id of a runtime's plan"}},
}
IF_MATCH: s.S = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "schema": STR,
    "description": "the runtime's ETag (GET the runtime) or *: 412 PreconditionFailed, nothing changed, when the "
    "runtime or its last sync changed since",
}
ETAG: s.S = {"ETag": {"schema": STR, "description": "the runtime's state: changes with its declaration and every sync"}}


def _if_match(request: Request) -> str | None:
    headers: Any = request.headers
    value = headers.get("if-match") if headers else None
    if value is not None and (not value.strip() or len(value) > 1024):
        raise InvalidInput("If-Match", "must be the runtime's ETag (GET the runtime) or *")
    return None if value is None else str(value)


STORED = Scope(lookup=scopes.stored_runtime)  # the runtime's destination, every namespace of it
NEW_DESTINATION = Scope(cluster=Body("destination.cluster"), namespace=Body("destination.namespaces"))


@route(
    bp,
    "PUT",
    RUNTIME,
    verb=WRITE_VERBS,
    scope=(NEW_DESTINATION, STORED),
    summary="declare or replace a runtime (its destination cannot change once deployed: 409)",
    ok={"200": s.json_response(RUNTIME_SCHEMA), "201": s.json_response(RUNTIME_SCHEMA, "created")},
    errors=(400, 404, 409, 412, 413, 422, 503),
    body=RUNTIME_PUT,
    query=[IF_MATCH],
)
def put(runtime: str) -> Response:
    request = bp.current_request
    out, created = put_runtime(runtime, web.json_body(request), if_match=_if_match(request))
    return Response(body=out, status_code=201 if created else 200, headers={"Content-Type": "application/json"})


@route(
    bp,
    "GET",
    RUNTIME,
    verb="read",
    scope=STORED,
    summary="a runtime and its status: synced commit, when, per-release state, last error",
    ok={"200": {**s.json_response(RUNTIME_SCHEMA), "headers": ETAG}},
    errors=(404, 422, 503),
)
def get(runtime: str) -> Response:
    out, tag = bootstrap.get().runtimes.tagged(v.dns_label("runtime", runtime))
    return Response(body=out, status_code=200, headers={"Content-Type": "application/json", "ETag": tag})


@route(
    bp,
    "GET",
    "/v1/runtimes",
    verb="read",
    filtered=True,
    summary="runtimes (those whose destination the caller may read)",
    ok={"200": s.listing("runtimes", RUNTIME_SCHEMA)},
    errors=(503,),
)
def list_runtimes() -> dict[str, Any]:
    seen = bootstrap.get().authorizer.reader(principal())
    items = bootstrap.get().runtimes.all()
    return {
        "runtimes": [
            r
            for r in items
            if all(seen.can_read(r["destination"]["cluster"], n) for n in r["destination"]["namespaces"])
        ]
    }


@route(
    bp,
    "DELETE",
    RUNTIME,
    verb=WRITE_VERBS,
    scope=STORED,
    summary="forget a runtime; prune=true uninstalls (as operations) every release it installed",
    ok={"200": s.json_response(DELETED_SCHEMA)},
    errors=(400, 404, 412, 422, 503),
    query=[s.param("prune", schema=fields.BOOL), IF_MATCH],
)
def delete(runtime: str) -> dict[str, Any]:
    query = web.query(bp.current_request)
    v.no_unknown(query, frozenset({"prune"}))
    prune = bool(web.query_bools(query, ("prune",)).get("prune", False))
    view(runtime, WRITE_VERBS)
    return bootstrap.get().runtimes.delete(runtime, prune, _if_match(bp.current_request))


@route(
    bp,
    "POST",
    RUNTIME + "/plan",
    verb="read",
    scope=STORED,
    summary="what a sync would do now, per release (install, upgrade with its diff, uninstall, unchanged); "
    "kept as a plan a sync may apply exactly",
    ok={"200": s.json_response(PLAN_SCHEMA)},
    errors=(404, 422, 502, 503),
)
def plan(runtime: str) -> dict[str, Any]:
    view(runtime)
    return bootstrap.get().runtimes.plan(runtime)


@route(
    bp,
    "POST",
    RUNTIME + "/sync",
    verb=WRITE_VERBS,
    scope=STORED,
    summary="sync now: the plan applied as operations in needs order, stopping at the first failure; "
    "{plan: id} applies exactly what POST .../plan answered (409 PlanStale naming what changed)",
    ok={"202": s.json_response(RUNTIME_SCHEMA, "sync started (or already running); follow status")},
    errors=(400, 404, 409, 412, 422, 502, 503),
    body=SYNC_BODY,
    query=[IF_MATCH],
)
def sync(runtime: str) -> Response:
    request = bp.current_request
    body = web.json_body(request)
    v.no_unknown(body, frozenset({"plan"}))
    if "plan" in body and not isinstance(body["plan"], str):
        raise InvalidInput("plan", "must be a plan id as a runtime's plan answered it (plan.id)")
    view(runtime, WRITE_VERBS)
    out = bootstrap.get().runtimes.sync(
        runtime,
        "api",
        plan_id=body.get("plan"),
        if_match=_if_match(request),
        idem=operations.idempotency(request, body),
    )
    return Response(body=out, status_code=202, headers={"Content-Type": "application/json"})


@route(
    bp,
    "POST",
    RUNTIME + "/webhook",
    verb=PUBLIC,
    scope=STORED,  # not authorized (the webhook secret is checked): audited with the runtime's destination
    summary="a push event (GitHub X-Hub-Signature-256 or GitLab X-Gitlab-Token, the runtime's webhook secret)",
    ok={"202": s.json_response(s.OBJECT, "verified: a sync started")},
    errors=(401, 413, 503),
    content_types=("application/json", "application/x-www-form-urlencoded"),
)
def webhook(runtime: str) -> Response:
    req = bp.current_request
    raw = req.raw_body or b""
    raw = raw.encode() if isinstance(raw, str) else raw
    if len(raw) > MAX_WEBHOOK_BYTES:
        raise PayloadTooLarge("body", f"must be at most {MAX_WEBHOOK_BYTES // 1024} KiB")
    headers: Any = req.headers
    out = bootstrap.get().runtimes.webhook(runtime, dict(headers.items()) if headers else {}, raw)
    return Response(body=out, status_code=202, headers={"Content-Type": "application/json"})


# ---------------------------------------------------------------- Git repositories

GIT_REPO = "/v1/git-repositories/{repository}"
GIT_REPO_SCHEMA: s.S = {
    "type": "object",
    "required": ["name", "url", "credentials"],
    "properties": {"name": STR, "url": STR, "description": STR, "credentials": fields.BOOL, "created_at": STR},
}
GIT_REPO_PUT: s.S = GIT_REPOSITORY_BODY.schema()  # domain/runtimes.py reads the same table


@route(
    bp,
    "PUT",
    GIT_REPO,
    verb="admin",
    summary="register a Git repository runtimes may name (credentials go to Secrets Manager)",
    ok={"200": s.json_response(GIT_REPO_SCHEMA), "201": s.json_response(GIT_REPO_SCHEMA, "created")},
    errors=(400, 413, 422, 503),
    body=GIT_REPO_PUT,
)
def put_git_repository(repository: str) -> Response:
    spec, creds = GitRepositorySpec.from_json(repository, web.json_body(bp.current_request))
    out, created = bootstrap.get().runtimes.put_repository(spec, creds)
    return Response(body=out, status_code=201 if created else 200, headers={"Content-Type": "application/json"})


@route(
    bp,
    "GET",
    GIT_REPO,
    verb="read",
    summary="a registered Git repository (never its credentials)",
    ok={"200": s.json_response(GIT_REPO_SCHEMA)},
    errors=(404, 422, 503),
)
def get_git_repository(repository: str) -> dict[str, Any]:
    return bootstrap.get().runtimes.repository(v.dns_label("repository", repository))


@route(
    bp,
    "GET",
    "/v1/git-repositories",
    verb="read",
    summary="registered Git repositories",
    ok={"200": s.listing("repositories", GIT_REPO_SCHEMA)},
    errors=(503,),
)
def list_git_repositories() -> dict[str, Any]:
    return {"repositories": bootstrap.get().runtimes.repositories()}


@route(
    bp,
    "DELETE",
    GIT_REPO,
    verb="admin",
    summary="forget a Git repository (409 while a runtime reads it)",
    ok={"204": s.DELETED},
    errors=(404, 409, 422, 503),
)
def delete_git_repository(repository: str) -> Response:
    bootstrap.get().runtimes.delete_repository(v.dns_label("repository", repository))
    return Response(body="", status_code=204)
