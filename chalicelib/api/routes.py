"""One declaration per route: method, path, authorization verb, summary, request body, responses.

``route(bp, "PUT", path, verb=..., summary=..., ok=..., ...)`` registers the Chalice route and records its
declaration in ``TABLE``. The guard authorizes from ``TABLE`` (a request whose route is not there is for admins
only), and ``openapi.spec`` builds every path of the published document from it, so the three cannot drift apart.

Authorization verbs are ``authz.VERBS``, plus ``PUBLIC`` (no credentials) and ``SELF`` (any authenticated
caller). ``AUTHORIZER`` is what every route but the public ones declares: API Gateway enforces it when deployed
(``chalice local`` lets requests through, and the guard's own check applies).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from chalice.app import Blueprint, CognitoUserPoolAuthorizer, IAMAuthorizer

from chalicelib.api import schemas as s
from chalicelib.api import web
from chalicelib.core.authz import PUBLIC, SELF, VERBS

JSON = ("application/json",)
_PARAM = re.compile(r"{(\w+)}")
View = TypeVar("View", bound=Callable[..., Any])
Scope = Callable[[dict[str, str]], dict[str, str]]  # path parameters -> {"cluster", "namespace"} to authorize on


def _route_authorizer() -> Any:
    """Chosen when the app is imported (``chalice package`` imports it with the stage's environment)."""
    pools = [p for p in os.environ.get("CHARTHOUSE_COGNITO_POOL_ARNS", "").split(",") if p]
    if os.environ.get("CHARTHOUSE_AUTH") == "jwt" and pools:
        return CognitoUserPoolAuthorizer("charthouse-users", provider_arns=pools)
    return IAMAuthorizer()


AUTHORIZER = _route_authorizer()


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    verb: str
    summary: str
    responses: dict[str, s.S]  # status -> OpenAPI response; the errors every route can answer are added
    query: tuple[s.S, ...] = ()
    body: s.S | None = None  # the JSON body's schema
    request_body: s.S | None = None  # a whole OpenAPI requestBody, for bodies that are not (only) JSON
    content_types: tuple[str, ...] = JSON
    published: bool = True  # in the OpenAPI document (the compat surfaces answer in other APIs' shapes: not)
    scope: Scope | None = None  # the cluster/namespace the route addresses, from its path parameters
    gateway_auth: bool = True  # API Gateway's authorizer checks the caller first (else only the guard does)

    def operation(self) -> s.S:
        """The OpenAPI operation object."""
        params = [s.PATH_PARAMS[name] for name in _PARAM.findall(self.path)] + list(self.query)
        responses = {**self.responses, **s.errors(415)}
        if "202" in self.responses:  # an operation: idempotent, and answered when done if the caller waits
            params += [s.IDEMPOTENCY_KEY, s.PREFER]
            for code in ("200", "201") if self.verb == "install" else ("200",):
                responses[code] = s.finished(responses.get(code))
        out: s.S = {"summary": self.summary, "responses": responses, "parameters": params}
        if self.verb != PUBLIC:  # docs/SECURITY.md
            responses.update(s.errors(401, 403))
            out["security"] = [{"sigv4": []}, {"bearer": []}]
        if self.request_body is not None:
            out["requestBody"] = self.request_body
        elif self.body is not None:
            out["requestBody"] = {"required": False, "content": {"application/json": {"schema": self.body}}}
        return out


TABLE: dict[tuple[str, str], Route] = {}
ROUTE_MODULES = (  # all that declare routes
    "chalicelib.api.clusters",
    "chalicelib.api.releases",
    "chalicelib.api.operations",
    "chalicelib.api.charts",
    "chalicelib.api.admin",
    "chalicelib.api.console",
    "chalicelib.api.runtimes",
    "chalicelib.compat.cce",
    "chalicelib.compat.nautes",
    "chalicelib.compat.helm_engine",
    "chalicelib.compat.cloudpods",
)


def route(
    bp: Blueprint,
    method: str,
    path: str,
    *,
    verb: str,
    summary: str,
    ok: dict[str, s.S],
    errors: tuple[int, ...] = (),
    query: tuple[s.S, ...] | list[s.S] = (),
    body: s.S | None = None,
    request_body: s.S | None = None,
    content_types: tuple[str, ...] = JSON,
    published: bool = True,
    gateway_auth: bool = True,
    scope: Scope | None = None,
) -> Callable[[View], View]:
    """Declare a route once; the view is wrapped so that domain errors become their HTTP answers (``web``).

    ``gateway_auth=False`` leaves the route without API Gateway's authorizer: for the compat surfaces, whose
    clients sign requests their own way (``SDK-HMAC-SHA256``), checked by the guard. ``scope`` maps path
    parameters named otherwise (``cluster_id``) onto the cluster and namespace the guard authorizes on."""
    if verb not in (*VERBS, PUBLIC, SELF):
        raise ValueError(f"{method} {path}: {verb!r} is not an authorization verb")
    unknown = [p for p in _PARAM.findall(path) if p not in s.PATH_PARAMS]
    if unknown:
        raise ValueError(f"{method} {path}: path parameters without a schema: {', '.join(unknown)}")
    if (method, path) in TABLE:
        raise ValueError(f"{method} {path} is declared twice")
    TABLE[(method, path)] = Route(
        method,
        path,
        verb,
        summary,
        {**ok, **s.errors(*errors)},
        tuple(query),
        body,
        request_body,
        content_types,
        published,
        scope,
        gateway_auth,
    )
    options: dict[str, Any] = {"methods": [method], "content_types": list(content_types)}
    if verb != PUBLIC and gateway_auth:
        options["authorizer"] = AUTHORIZER

    def register(view: View) -> View:
        bp.route(path, **options)(web.handled(view))
        return view

    return register


def route_of(method: str, path: str) -> Route | None:
    return TABLE.get((method, path))


def verb_of(method: str, path: str) -> str:
    """The authorization verb of a route; a route missing from ``TABLE`` is for admins only (fail closed)."""
    declared = TABLE.get((method, path))
    return declared.verb if declared else "admin"
