"""One declaration per route: method, path, authorization (verb and scope), summary, request body, responses.

``route(bp, "PUT", path, verb=..., scope=..., summary=..., ok=..., ...)`` registers the Chalice route and records its
declaration in ``TABLE``. The guard authorizes every request from ``TABLE`` before its handler runs (a request whose
route is not there is for admins only), and ``openapi.spec`` builds every path of the published document from it, so
the three cannot drift apart. No handler authorizes by hand.

Authorization is declared, never coded:

- ``verb``: one of ``authz.VERBS``; a tuple of them (all needed: a runtime's ``install``, ``upgrade`` and
  ``uninstall``); or ``Pick(Body("action"), {...})`` when the request names its verb (CCE's update). ``PUBLIC``: no
  credentials (health, the console's files, the runtimes' webhook, verified by its own secret). ``SELF``: any
  authenticated caller, for routes about the caller only (whoami, its access keys, the OpenAPI document); a route
  that addresses a cluster, a namespace, a runtime or an operation cannot be ``SELF`` (``route`` refuses it).
- ``scope``: where the cluster and namespace come from. By default the path's ``{cluster}`` and ``{namespace}``;
  otherwise ``Scope(cluster=Query("cluster"), namespace=Body("namespace"))``, a source with a ``default`` (a value,
  another source, or a function: the configured default cluster) and a ``via`` mapping an id onto a cluster name
  (CCE's ``cluster_id``, helm-engine's ``endpoint=``; None when it names none: the id is then authorized as given,
  so an unknown cluster is refused exactly as a known one); ``Scope(lookup=fn)`` for what is read from the store
  (a runtime's destination, an operation's release, a release found by its name). Several scopes: all needed.
- ``reveal``: a source (``Query("reveal")``) that, when true, also needs ``reveal`` on the same scope.
- ``door``: how the guard's refusal is answered (``Door``): ``/v1``'s 403 by default, helm-engine's envelope.
- ``filtered=True``: a list that answers only what the caller may read: its query's cluster/namespace filters need
  no declaration.
``AUTHORIZER`` is what every route but the public ones declares: API Gateway enforces it when deployed
(``chalice local`` lets requests through, and the guard's own check applies).
"""

from __future__ import annotations

import contextvars
import functools
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, Union

from chalice.app import Blueprint, CognitoUserPoolAuthorizer, IAMAuthorizer, Response

from chalicelib.api import schemas as s
from chalicelib.api import web
from chalicelib.core.authz import PUBLIC, SELF, VERBS
from chalicelib.errors import CharthouseError

JSON = ("application/json",)
_PARAM = re.compile(r"{(\w+)}")
View = TypeVar("View", bound=Callable[..., Any])
ADDRESSING = ("cluster", "namespace", "cluster_id", "runtime", "operation_id", "endpoint", "destination")
TRUE = ("true", "1")


# ---------------------------------------------------------------- where authorization reads the request


@dataclass(frozen=True)
class Ask:
    """What a scope reads: the path parameters, the query string and the JSON body (``{}`` if it has none)."""

    params: Mapping[str, str]
    query: Mapping[str, str]
    body: Mapping[str, Any]


Default = Union[str, "Source", Callable[[], "str | None"], None]


@dataclass(frozen=True)
class Source:
    """A value of the request: a path parameter, a query parameter or a JSON body field (dotted when nested:
    ``destination.cluster``; a list of strings gives several values). ``default`` when it is absent or empty;
    ``via`` maps what the request gives onto a cluster name (None: it names no cluster)."""

    place: str  # path | query | body
    name: str
    default: Default = None
    via: Callable[[str], str | None] | None = None

    def raw(self, ask: Ask) -> list[str]:
        if self.place == "path":
            found: Any = ask.params.get(self.name)
        elif self.place == "query":
            found = ask.query.get(self.name)
        else:
            found = ask.body
            for part in self.name.split("."):
                found = found.get(part) if isinstance(found, Mapping) else None
        values = [found] if isinstance(found, str) else found if isinstance(found, list) else []
        values = [x for x in values if isinstance(x, str) and x]
        if values or self.default is None:
            return values
        if isinstance(self.default, str):
            return [self.default]
        if isinstance(self.default, Source):
            return self.default.raw(ask)
        default = self.default()
        return [default] if default else []

    def truthy(self, ask: Ask) -> bool:
        return any(x.lower() in TRUE for x in self.raw(ask))


def Path(name: str, *, default: Default = None, via: Callable[[str], str | None] | None = None) -> Source:  # noqa: N802
    return Source("path", name, default, via)


def Query(name: str, *, default: Default = None, via: Callable[[str], str | None] | None = None) -> Source:  # noqa: N802
    return Source("query", name, default, via)


def Body(name: str, *, default: Default = None, via: Callable[[str], str | None] | None = None) -> Source:  # noqa: N802
    return Source("body", name, default, via)


@dataclass(frozen=True)
class Target:
    """A cluster and namespace to authorize on (None: not addressed). ``shown``: the cluster as the request named it
    (an id, an endpoint), which a refusal repeats instead of the name it maps to."""

    cluster: str | None
    namespace: str | None
    shown: str | None = None


Lookup = Callable[[Ask], "list[Target] | None"]


@dataclass(frozen=True)
class Scope:
    """Where a route's cluster and namespace come from. ``lookup`` finds them when the request does not give both
    (a release by its name, a runtime's destination, an operation's release); None from it: authorize on what was
    given (an unknown thing is then authorized on nothing, which needs a rule for every cluster)."""

    cluster: Source | None = None
    namespace: Source | None = None
    lookup: Lookup | None = None

    def targets(self, ask: Ask) -> list[Target]:
        shown = self.cluster.raw(ask)[:1] if self.cluster else []
        cluster: str | None = None
        if shown:
            mapped = self.cluster.via(shown[0]) if self.cluster and self.cluster.via else shown[0]
            cluster = mapped or shown[0]
        namespaces: list[str | None] = list(self.namespace.raw(ask)) if self.namespace else []
        if self.lookup is not None and (cluster is None or not namespaces):
            found = self.lookup(ask)
            if found is not None:
                return found
        named = shown[0] if shown and shown[0] != cluster else None
        return [Target(cluster, ns, named) for ns in namespaces or [None]]

    def sources(self) -> list[Source]:
        out: list[Source] = []
        for src in (self.cluster, self.namespace):
            while src is not None:
                out.append(src)
                src = src.default if isinstance(src.default, Source) else None
        return out


PATH_SCOPE = Scope(Path("cluster"), Path("namespace"))


@dataclass(frozen=True)
class Pick:
    """The verb the request names (CCE's update: ``action: upgrade|rollback``); ``default`` when it names none or
    another (the handler then refuses the value, naming the field)."""

    source: Source
    verbs: tuple[str, ...]
    default: str

    def verb(self, ask: Ask) -> str:
        named = self.source.raw(ask)
        return named[0] if named and named[0] in self.verbs else self.default


@dataclass(frozen=True)
class Door:
    """How a door answers the guard's refusals: ``/v1``'s status and error shape, or its API's envelope."""

    name: str
    refuse: Callable[[CharthouseError], Response] = web.error_response
    failed: Callable[[Response], str | None] = lambda _: None  # an answer whose status hides a failure: its code


V1 = Door("v1")


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
    verb: str  # the verb a caller without any grant is refused (Pick's default; the first of several)
    summary: str
    responses: dict[str, s.S]  # status -> OpenAPI response; the errors every route can answer are added
    query: tuple[s.S, ...] = ()
    body: s.S | None = None  # the JSON body's schema
    request_body: s.S | None = None  # a whole OpenAPI requestBody, for bodies that are not (only) JSON
    content_types: tuple[str, ...] = JSON
    published: bool = True  # in the OpenAPI document (the compat surfaces answer in other APIs' shapes: not)
    scopes: tuple[Scope, ...] = (PATH_SCOPE,)  # where the cluster and namespace come from (all needed)
    gateway_auth: bool = True  # API Gateway's authorizer checks the caller first (else only the guard does)
    verbs: tuple[str, ...] = ()  # every verb needed (a Pick: the one the request names)
    pick: Pick | None = None
    reveal: Source | None = None  # true: ``reveal`` is needed too, on the same scope
    door: Door = V1
    filtered: bool = False  # a list filtered to what the caller may read

    def needs(self, ask: Ask) -> list[tuple[str, Target]]:
        """Each verb on each cluster/namespace this request needs, in the order they are checked."""
        verbs = [self.pick.verb(ask)] if self.pick else list(self.verbs or (self.verb,))
        if self.reveal is not None and self.reveal.truthy(ask):
            verbs.append("reveal")
        targets = [t for scope in self.scopes for t in scope.targets(ask)]
        return [(verb, t) for t in targets or [Target(None, None)] for verb in verbs]

    def reads_body(self) -> bool:
        return any(src.place == "body" for scope in self.scopes for src in scope.sources()) or bool(
            self.pick and self.pick.source.place == "body"
        )

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
    verb: str | tuple[str, ...] | Pick,
    summary: str,
    ok: dict[str, s.S],
    errors: tuple[int, ...] = (),
    query: tuple[s.S, ...] | list[s.S] = (),
    body: s.S | None = None,
    request_body: s.S | None = None,
    content_types: tuple[str, ...] = JSON,
    published: bool = True,
    gateway_auth: bool = True,
    scope: Scope | tuple[Scope, ...] | None = None,
    reveal: Source | None = None,
    door: Door = V1,
    filtered: bool = False,
) -> Callable[[View], View]:
    """Declare a route once; the view is wrapped so that domain errors become their HTTP answers (``web``).

    ``gateway_auth=False`` leaves the route without API Gateway's authorizer: for the compat surfaces, whose
    clients sign requests their own way (``SDK-HMAC-SHA256``), checked by the guard. The module docstring says
    how ``verb``, ``scope``, ``reveal``, ``door`` and ``filtered`` declare its authorization."""
    verbs = verb.verbs if isinstance(verb, Pick) else (verb,) if isinstance(verb, str) else verb
    if not verbs or any(x not in (*VERBS, PUBLIC, SELF) for x in verbs) or len(verbs) > 1 and PUBLIC in verbs:
        raise ValueError(f"{method} {path}: {verb!r} is not an authorization verb")
    unknown = [p for p in _PARAM.findall(path) if p not in s.PATH_PARAMS]
    if unknown:
        raise ValueError(f"{method} {path}: path parameters without a schema: {', '.join(unknown)}")
    if (method, path) in TABLE:
        raise ValueError(f"{method} {path} is declared twice")
    scopes = (scope,) if isinstance(scope, Scope) else scope or (PATH_SCOPE,)
    _check_scope(method, path, verbs, scope is not None, scopes, query, body, filtered)
    primary = verb.default if isinstance(verb, Pick) else verbs[0]
    TABLE[(method, path)] = Route(
        method,
        path,
        primary,
        summary,
        {**ok, **s.errors(*errors)},
        tuple(query),
        body,
        request_body,
        content_types,
        published,
        scopes,
        gateway_auth,
        verbs,
        verb if isinstance(verb, Pick) else None,
        reveal,
        door,
        filtered,
    )
    options: dict[str, Any] = {"methods": [method], "content_types": list(content_types)}
    if primary != PUBLIC and gateway_auth:
        options["authorizer"] = AUTHORIZER

    def register(view: View) -> View:
        bp.route(path, **options)(web.handled(_noting(view)))
        return view

    return register


def _check_scope(
    method: str,
    path: str,
    verbs: tuple[str, ...],
    declared: bool,
    scopes: tuple[Scope, ...],
    query: tuple[s.S, ...] | list[s.S],
    body: s.S | None,
    filtered: bool,
) -> None:
    """A route that addresses a cluster, namespace, runtime or operation declares a verb and where they come from:
    it cannot be ``SELF``, and every such name in its path, query or body is read by its scope (a filtered list's
    query excepted). ``admin`` needs a rule for every cluster, so it reads none."""
    in_path = [p for p in _PARAM.findall(path) if p in ADDRESSING]
    named = [str(q.get("name")) for q in query if q.get("name") in ADDRESSING]
    in_body = [k for k in (body or {}).get("properties", {}) if k in ADDRESSING]
    if SELF in verbs:
        if in_path or named or in_body or declared:
            raise ValueError(
                f"{method} {path}: addresses {', '.join(in_path + named + in_body) or 'a scope'}: "
                "declare its verb (SELF is for routes about the caller only)"
            )
        return
    if "admin" in verbs or PUBLIC in verbs and not declared:
        return
    if not declared and any(p not in ("cluster", "namespace") for p in in_path):
        raise ValueError(f"{method} {path}: declare the scope {', '.join(in_path)} maps to")
    read = {(src.place, src.name.split(".")[0]) for scope in scopes for src in scope.sources()}
    looked_up = any(scope.lookup for scope in scopes)
    missing = [p for p in in_path if ("path", p) not in read and not looked_up]
    missing += [f"?{n}" for n in named if ("query", n) not in read and not filtered]
    missing += [f"body {n}" for n in in_body if ("body", n) not in read and not filtered]
    if missing:
        raise ValueError(f"{method} {path}: {', '.join(missing)} not read by its scope")


# ---------------------------------------------------------------- the outcome the guard audits

_FAILURE: contextvars.ContextVar[BaseException | None] = contextvars.ContextVar("charthouse_failure", default=None)
_REMARK: contextvars.ContextVar[str | None] = contextvars.ContextVar("charthouse_remark", default=None)


def note(exc: BaseException) -> None:
    """A door's envelope that answers an error in its own shape (helm-engine's ``code: 1``) notes it here, so
    that the guard audits the real outcome, whatever the HTTP status."""
    _FAILURE.set(exc)


def noted() -> BaseException | None:
    return _FAILURE.get()


def clear_noted() -> None:
    _FAILURE.set(None)
    _REMARK.set(None)


def remark(text: str) -> None:
    """What the audit entry of an answer that did not fail says besides its outcome (its ``reason``): an upload
    that replaced an archive names the replaced digest. No handler writes audit itself; the guard reads this."""
    _REMARK.set(text)


def remarked() -> str | None:
    return _REMARK.get()


def _noting(view: View) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(**kwargs: Any) -> Any:
        try:
            return view(**kwargs)
        except CharthouseError as exc:
            note(exc)
            raise

    return wrapper


def route_of(method: str, path: str) -> Route | None:
    return TABLE.get((method, path))


def verb_of(method: str, path: str) -> str:
    """The authorization verb of a route; a route missing from ``TABLE`` is for admins only (fail closed)."""
    declared = TABLE.get((method, path))
    return declared.verb if declared else "admin"
