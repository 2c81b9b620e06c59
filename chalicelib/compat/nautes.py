"""Nautes' deployment runtimes (``/api/v1/products/{product}/deploymentruntimes/{name}``), mapped onto runtimes.

=========================================  ===================================================================
Nautes                                     Charthouse
=========================================  ===================================================================
``{product}``, ``{name}``                  the runtime ``<product>-<name>``; ``origin`` keeps both
``projects_ref``                           ``origin.projects_ref`` (kept and shown, not interpreted)
``manifest_source.code_repo``              ``source.git.repository``: a registered Git repository
``manifest_source.target_revision``        ``source.git.revision`` (``HEAD``, a branch, a tag or a commit)
``manifest_source.path``                   ``source.git.path``
``destination.environment``                ``destination.cluster``: a registered cluster
``destination.namespaces``                 ``destination.namespaces`` (default: ``[<name>]``)
=========================================  ===================================================================

``POST`` (create or update) declares the runtime with ``prune`` on and starts a sync at once; the schedule keeps
it in sync. ``DELETE`` uninstalls what it deployed (Nautes destroys the runtime in the cluster). A destination
that changes once deployed is a 409, as in Nautes. ``insecure_skip_check`` is accepted and ignored: the checks
Charthouse makes (registered repository and cluster) cannot be skipped.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib import bootstrap
from chalicelib.api import schemas as s
from chalicelib.api import web
from chalicelib.api.guard import principal
from chalicelib.api.routes import Ask, Body, Path, Scope, Target, route
from chalicelib.api.runtime_access import WRITE_VERBS, put_runtime, view
from chalicelib.api.scopes import runtime_destination
from chalicelib.domain import fields
from chalicelib.domain import validate as v
from chalicelib.errors import InvalidInput, RuntimeNotFound

bp = Blueprint(__name__)
_authorizer = bootstrap.use(lambda d: d.authorizer)
_runtimes = bootstrap.use(lambda d: d.runtimes)
BASE = "/api/v1/products/{product}/deploymentruntimes"
ONE = BASE + "/{runtime}"
STR = {"type": "string"}
ITEM: s.S = {
    "type": "object",
    "required": ["product", "name", "projects_ref", "manifest_source", "destination"],
    "properties": {
        "product": STR,
        "name": STR,
        "projects_ref": {"type": "array", "items": STR},
        "manifest_source": {
            "type": "object",
            "properties": {"code_repo": STR, "target_revision": STR, "path": STR},
        },
        "destination": {
            "type": "object",
            "properties": {"environment": STR, "namespaces": {"type": "array", "items": STR}},
        },
    },
}
# the request body, described once: to_runtime reads these tables, the route publishes BODY
SOURCE_BODY = fields.Body({"code_repo": STR, "target_revision": STR, "path": STR})
DESTINATION_BODY = fields.Body({"environment": STR, "namespaces": {"type": "array", "items": STR}})
RUNTIME_BODY = fields.Body(
    {
        "projects_ref": {"type": "array", "items": STR},
        "manifest_source": SOURCE_BODY.schema(),
        "destination": DESTINATION_BODY.schema(),
    },
    required=("manifest_source", "destination"),
)
BODY: s.S = RUNTIME_BODY.schema()
QUERY = [s.param("insecure_skip_check", desc="accepted and ignored")]


def runtime_name(product: str, name: str) -> str:
    return v.dns_label("name", f"{v.dns_label('product', product)}-{v.dns_label('name', name)}")


def _stored(ask: Ask) -> list[Target]:
    """The stored destination of the runtime ``<product>-<name>`` (none: nothing more to authorize on)."""
    try:
        return runtime_destination(runtime_name(ask.params.get("product", ""), ask.params.get("runtime", "")))
    except InvalidInput:
        return []


STORED = Scope(lookup=_stored)
NEW_DESTINATION = Scope(
    cluster=Body("destination.environment"), namespace=Body("destination.namespaces", default=Path("runtime"))
)


def to_runtime(name: str, body: dict[str, Any]) -> dict[str, Any]:
    RUNTIME_BODY.check(body)
    source = body.get("manifest_source")
    dest = body.get("destination")
    if not isinstance(source, dict):
        raise InvalidInput("manifest_source", "must be an object with code_repo, target_revision, path")
    if not isinstance(dest, dict):
        raise InvalidInput("destination", "must be an object with environment and namespaces")
    SOURCE_BODY.check(source, "manifest_source.")
    DESTINATION_BODY.check(dest, "destination.")
    return {
        "source": {
            "git": {
                "repository": v.dns_label("manifest_source.code_repo", source.get("code_repo")),
                "revision": source.get("target_revision") or "HEAD",
                "path": source.get("path") or "",
            }
        },
        "destination": {
            "cluster": v.dns_label("destination.environment", dest.get("environment")),
            "namespaces": dest.get("namespaces") or [name],
        },
        "sync": {"prune": True},
    }


def to_item(runtime: dict[str, Any]) -> dict[str, Any]:
    origin = runtime.get("origin") or {}
    git = runtime["source"].get("git") or {}
    return {
        "product": origin.get("product"),
        "name": origin.get("name"),
        "projects_ref": origin.get("projects_ref") or [],
        "manifest_source": {
            "code_repo": git.get("repository") or git.get("url"),
            "target_revision": git.get("revision"),
            "path": git.get("path"),
        },
        "destination": {
            "environment": runtime["destination"]["cluster"],
            "namespaces": runtime["destination"]["namespaces"],
        },
    }


def _nautes(product: str, runtime: str) -> dict[str, Any]:
    out = view(runtime_name(product, runtime))
    if (out.get("origin") or {}).get("api") != "nautes" or out["origin"].get("product") != product:
        raise RuntimeNotFound(f"deployment runtime {runtime} not found in product {product}")
    return out


@route(
    bp,
    "POST",
    ONE,
    verb=WRITE_VERBS,
    scope=(NEW_DESTINATION, STORED),
    summary="Nautes: create or update a deployment runtime (a runtime named <product>-<name>; a sync starts)",
    ok={"200": s.json_response(ITEM)},
    errors=(400, 404, 409, 413, 422, 503),
    query=QUERY,
    body=BODY,
)
def save(product: str, runtime: str) -> dict[str, Any]:
    body = web.json_body(bp.current_request)
    refs = body.get("projects_ref") or []
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise InvalidInput("projects_ref", "must be a list of project names")
    name = runtime_name(product, runtime)
    origin = {"api": "nautes", "product": product, "name": runtime, "projects_ref": refs}
    out, _ = put_runtime(name, to_runtime(runtime, body), origin)
    _runtimes().sync(name, "nautes")
    return to_item(out)


@route(
    bp,
    "GET",
    ONE,
    verb="read",
    scope=STORED,
    summary="Nautes: a deployment runtime",
    ok={"200": s.json_response(ITEM)},
    errors=(404, 422, 503),
)
def get(product: str, runtime: str) -> dict[str, Any]:
    return to_item(_nautes(product, runtime))


@route(
    bp,
    "GET",
    BASE,
    verb="read",
    filtered=True,
    summary="Nautes: the product's deployment runtimes",
    ok={"200": s.listing("items", ITEM)},
    errors=(422, 503),
)
def list_runtimes(product: str) -> dict[str, Any]:
    v.dns_label("product", product)
    seen = _authorizer().reader(principal())
    return {
        "items": [
            to_item(r)
            for r in _runtimes().all()
            if (r.get("origin") or {}).get("api") == "nautes"
            and r["origin"].get("product") == product
            and all(seen.can_read(r["destination"]["cluster"], n) for n in r["destination"]["namespaces"])
        ]
    }


@route(
    bp,
    "DELETE",
    ONE,
    verb=WRITE_VERBS,
    scope=STORED,
    summary="Nautes: delete a deployment runtime and uninstall what it deployed",
    ok={"200": s.json_response(s.OBJECT)},
    errors=(404, 422, 503),
    query=QUERY,
)
def delete(product: str, runtime: str) -> dict[str, Any]:
    _nautes(product, runtime)
    name = runtime_name(product, runtime)
    view(name, WRITE_VERBS)
    _runtimes().delete(name, prune=True)
    return {}
