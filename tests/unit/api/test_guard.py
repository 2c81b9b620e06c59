"""The route guard, in process: the middleware is called with a Chalice request, routes declared here, and fakes for
authentication, the authorizer and the audit log. Authorization comes before the handler; a refusal is answered in
its door's way and audited as ``denied`` with the cluster and namespace it was refused on; every other audited
answer records its real outcome and where the request resolved to."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from chalice.app import Request, Response

from chalicelib import bootstrap
from chalicelib.api import guard, routes
from chalicelib.api.routes import Body, Door, Path, Query, Route, Scope, Target
from chalicelib.core.auth import Principal
from chalicelib.core.authz import PUBLIC
from chalicelib.core.runtimes import WebhookRefused
from chalicelib.domain.sdksign import SignedRequest
from chalicelib.errors import CharthouseError, Forbidden, InvalidInput, Unauthenticated

RELEASES = "/v1/clusters/{cluster}/namespaces/{namespace}/releases"
RELEASE = RELEASES + "/{name}"
ENGINE = "/engine/namespaces/{namespace}/releases/{name}"
HOOK = "/v1/runtimes/{runtime}/webhook"


def _engine_refusal(exc: CharthouseError) -> Response:
    return Response(body={"code": 1, "error": exc.message}, status_code=200)


def _engine_failed(response: Response) -> str | None:
    return "EngineError" if isinstance(response.body, dict) and response.body.get("code") == 1 else None


ENGINE_DOOR = Door("engine", _engine_refusal, _engine_failed)
ENDPOINTS = {"https://k8s.prod.example": "prod"}


def _stored_destination(ask: routes.Ask) -> list[Target] | None:
    if ask.params.get("runtime") == "broken":
        raise InvalidInput("runtime", "cannot be read")
    return [Target("prod", "apps"), Target("prod", "web")] if ask.params.get("runtime") == "shop" else None


def _route(method: str, path: str, verb: str, **kwargs: Any) -> Route:
    return Route(method, path, verb, "a route of the test", {}, **kwargs)


ROUTES = {
    (r.method, r.path): r
    for r in (
        _route("GET", RELEASE, "read", reveal=Query("reveal")),
        _route("POST", RELEASES, "install", reveal=Query("reveal")),
        _route("DELETE", RELEASE, "uninstall"),
        _route("POST", "/v2/charts", "charts", scopes=()),
        _route("PUT", "/v1/policies/{policy}", "admin", scopes=(), gateway_auth=False),
        _route("POST", ENGINE, "install", scopes=(Scope(Query("endpoint", via=ENDPOINTS.get), Path("namespace")),)),
        _route(
            "GET",
            ENGINE,
            "read",
            scopes=(Scope(Query("endpoint", via=ENDPOINTS.get, default="local"), Path("namespace")),),
            door=ENGINE_DOOR,
        ),
        _route(
            "PUT",
            ENGINE,
            "upgrade",
            scopes=(Scope(Query("endpoint", default="local"), Path("namespace")),),
            door=ENGINE_DOOR,
        ),
        _route("PUT", "/v1/runtimes/{runtime}", "install", scopes=(Scope(Body("cluster"), Body("namespaces")),)),
        _route("POST", HOOK, PUBLIC, scopes=(Scope(lookup=_stored_destination),)),
        _route("GET", "/v1/health", PUBLIC, scopes=()),
        _route("POST", "/v1/feedback", PUBLIC, scopes=()),
        _route(
            "POST", "/engine/hook", PUBLIC, scopes=(Scope(Query("endpoint"), Query("namespace")),), door=ENGINE_DOOR
        ),
    )
}


@dataclass
class Reader:
    grants: set[tuple[str, str | None, str | None]]

    def may(self, verb: str, cluster: str | None, namespace: str | None) -> bool:
        return (verb, cluster, namespace) in self.grants or ("admin", None, None) in self.grants


@dataclass
class Authorizer:
    grants: dict[str, set[tuple[str, str | None, str | None]]] = field(default_factory=dict)
    fails: bool = False

    def reader(self, caller: Principal) -> Reader:
        if self.fails:
            raise RuntimeError("the policy table is unreadable")
        return Reader(self.grants.get(caller.id, set()))


@dataclass
class Audit:
    entries: list[dict[str, Any]] = field(default_factory=list)

    def record(self, **entry: Any) -> None:
        self.entries.append(entry)


@dataclass
class Authenticated:
    """``authenticate``: ``Bearer <name>`` is ``token:<name>``; what it was called with, to check."""

    calls: list[dict[str, Any]] = field(default_factory=list)

    def __call__(
        self,
        request: Request,
        mode: str,
        tokens: Any,
        signers: Any,
        signed: SignedRequest | None,
        gateway_checked: bool,
    ) -> Principal:
        self.calls.append(
            {"mode": mode, "tokens": tokens, "signers": signers, "signed": signed, "gateway_checked": gateway_checked}
        )
        auth = str(request.headers.get("authorization") or "")
        if auth.startswith("Bearer "):
            return Principal("token:" + auth.removeprefix("Bearer "), "token")
        if signed is not None:
            return Principal("token:signer", "token")
        raise Unauthenticated("no credentials")


@dataclass
class World:
    authorizer: Authorizer
    audit: Audit
    authenticated: Authenticated
    settings: Any

    def grant(self, who: str, *grants: tuple[str, str | None, str | None]) -> None:
        self.authorizer.grants.setdefault(f"token:{who}", set()).update(grants)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    w = World(Authorizer(), Audit(), Authenticated(), SimpleNamespace(auth_mode="token"))
    deps = SimpleNamespace(
        settings=w.settings, tokens="the tokens", access_keys="the keys", authorizer=w.authorizer, audit=w.audit
    )
    monkeypatch.setattr(guard, "route_of", lambda method, path: ROUTES.get((method, path)))
    monkeypatch.setattr(guard, "authenticate", w.authenticated)
    bootstrap.override(deps)  # type: ignore[arg-type]
    routes.clear_noted()
    yield w
    bootstrap.override(None)


def request(
    method: str,
    path: str,
    params: dict[str, str] | None = None,
    query: dict[str, list[str]] | None = None,
    body: Any = None,
    who: str | None = "alice",
    headers: dict[str, str] | None = None,
) -> Request:
    hdrs = {"user-agent": "charthouse-cli/1", **({"authorization": f"Bearer {who}"} if who else {}), **(headers or {})}
    raw = body if isinstance(body, str | bytes) or body is None else json.dumps(body)
    return Request(
        {
            "multiValueQueryStringParameters": query,
            "headers": hdrs,
            "pathParameters": params,
            "requestContext": {"httpMethod": method, "resourcePath": path, "identity": {"sourceIp": "203.0.113.7"}},
            "stageVariables": None,
            "body": raw,
        }
    )


@dataclass
class Handler:
    """The route's handler: records that it ran and as whom, and answers ``response`` (or calls ``does`` first)."""

    response: Response = field(default_factory=lambda: Response(body={"ok": True}, status_code=200))
    does: Callable[[], None] | None = None
    ran_as: list[Principal | None] = field(default_factory=list)
    given: list[Request] = field(default_factory=list)

    def __call__(self, event: Request) -> Response:
        self.given.append(event)
        try:
            self.ran_as.append(guard.principal())
        except Unauthenticated:
            self.ran_as.append(None)
        if self.does:
            self.does()
        return self.response


def call(event: Request, handler: Handler | None = None) -> tuple[Response, Handler]:
    handler = handler or Handler()
    response = guard.authenticate_authorize_audit(event, handler)
    assert all(given is event for given in handler.given)  # the handler answers the request itself
    return response, handler


APPS = {"cluster": "prod", "namespace": "apps", "name": "web"}


# ---------------------------------------------------------------- authorization before the handler


def test_an_authorized_caller_reaches_the_handler_as_itself_and_a_read_is_not_audited(world: World) -> None:
    world.grant("alice", ("read", "prod", "apps"))
    response, handler = call(request("GET", RELEASE, APPS))
    assert response.status_code == 200 and handler.ran_as == [Principal("token:alice", "token")]
    assert world.audit.entries == []
    (seen,) = world.authenticated.calls
    assert seen == {
        "mode": "token",
        "tokens": "the tokens",
        "signers": "the keys",
        "signed": None,
        "gateway_checked": True,
    }
    with pytest.raises(Unauthenticated):  # the caller is the request's only
        guard.principal()


def test_a_caller_without_the_verb_is_refused_before_the_handler_and_audited_as_denied(world: World) -> None:
    world.grant("alice", ("read", "prod", "other"))
    response, handler = call(request("GET", RELEASE, APPS, query={"q": ["1"]}))
    assert handler.ran_as == [] and response.status_code == 403
    assert response.body["error"]["code"] == "Forbidden"
    assert response.body["error"]["message"] == "token:alice may not read on cluster prod namespace apps"
    (entry,) = world.audit.entries
    assert entry == {
        "principal": "token:alice",
        "method": "GET",
        "route": RELEASE,
        "path": "/v1/clusters/prod/namespaces/apps/releases/web",
        "cluster": "prod",
        "namespace": "apps",
        "release": "web",
        "status": 403,
        "result": "denied",
        "operation_id": None,
        "source_ip": "203.0.113.7",
        "user_agent": "charthouse-cli/1",
        "error_code": "Forbidden",
        "reason": "token:alice may not read on cluster prod namespace apps",
    }


def test_every_verb_on_every_target_is_needed_and_the_first_refused_is_audited(world: World) -> None:
    body = {"cluster": "prod", "namespaces": ["apps", "web"]}
    world.grant("alice", ("install", "prod", "apps"))
    response, handler = call(request("PUT", "/v1/runtimes/{runtime}", {"runtime": "shop"}, body=body))
    assert handler.ran_as == [] and response.status_code == 403
    assert response.body["error"]["message"] == "token:alice may not install on cluster prod namespace web"
    (entry,) = world.audit.entries
    assert (entry["cluster"], entry["namespace"], entry["result"]) == ("prod", "web", "denied")
    world.grant("alice", ("install", "prod", "web"))
    response, handler = call(request("PUT", "/v1/runtimes/{runtime}", {"runtime": "shop"}, body=body))
    assert response.status_code == 200 and len(handler.ran_as) == 1
    ok = world.audit.entries[-1]
    assert (ok["cluster"], ok["namespace"], ok["result"], ok["status"]) == ("prod", None, "ok", 200)  # two namespaces


def test_a_body_that_is_not_json_is_authorized_without_it_and_left_to_the_handler(world: World) -> None:
    world.grant("alice", ("install", None, None))
    answer = Response(body={"error": {"code": "InvalidInput", "message": "body: is not valid JSON"}}, status_code=400)
    response, handler = call(
        request("PUT", "/v1/runtimes/{runtime}", {"runtime": "shop"}, body="{nope"), Handler(answer)
    )
    assert response.status_code == 400 and len(handler.ran_as) == 1
    (entry,) = world.audit.entries
    assert (entry["result"], entry["error_code"], entry["reason"]) == (
        "error",
        "InvalidInput",
        "body: is not valid JSON",
    )


def test_the_reveal_a_request_asks_for_is_a_verb_of_its_own_and_a_revealing_read_is_audited(world: World) -> None:
    world.grant("alice", ("read", "prod", "apps"))
    response, handler = call(request("GET", RELEASE, APPS, query={"reveal": ["true"]}))
    assert handler.ran_as == [] and response.body["error"]["message"].startswith("token:alice may not reveal")
    world.grant("alice", ("reveal", "prod", "apps"))
    response, handler = call(request("GET", RELEASE, APPS, query={"reveal": ["TRUE"]}))
    assert response.status_code == 200 and len(handler.ran_as) == 1
    assert [e["result"] for e in world.audit.entries] == ["denied", "ok"]
    call(request("GET", RELEASE, APPS, query={"reveal": ["no"]}))
    assert len(world.audit.entries) == 2  # a read that reveals nothing is not audited


def test_a_route_that_is_not_declared_is_for_admins_only(world: World) -> None:
    response, handler = call(request("GET", "/v1/secret-place"))
    assert handler.ran_as == [] and response.status_code == 403
    assert response.body["error"]["message"] == "token:alice may not admin"
    world.grant("alice", ("admin", None, None))
    response, handler = call(request("GET", "/v1/secret-place"))
    assert response.status_code == 200 and len(handler.ran_as) == 1
    assert [c["gateway_checked"] for c in world.authenticated.calls] == [True, True]


def test_a_route_the_gateway_does_not_check_says_so_to_authentication(world: World) -> None:
    world.grant("alice", ("admin", None, None))
    call(request("PUT", "/v1/policies/{policy}", {"policy": "p1"}, body={}))
    assert world.authenticated.calls[-1]["gateway_checked"] is False


def test_an_unexpected_failure_of_authorization_is_a_bare_500_and_nothing_runs(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.authorizer.fails = True
    response, handler = call(request("DELETE", RELEASE, APPS))
    assert [r.getMessage() for r in caplog.records] == [f"authorization failed unexpectedly for DELETE {RELEASE}"]
    assert response.status_code == 500 and handler.ran_as == []
    assert response.body == {"error": {"code": "InternalError", "message": "an internal error occurred", "details": {}}}
    assert world.audit.entries == []
    with pytest.raises(Unauthenticated):
        guard.principal()


# ---------------------------------------------------------------- refusals in each door's way


def test_no_credentials_is_a_401_with_the_modes_challenge_audited_as_anonymous(world: World) -> None:
    response, handler = call(request("GET", RELEASE, APPS, who=None))
    assert handler.ran_as == [] and response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    (entry,) = world.audit.entries
    assert (entry["principal"], entry["result"], entry["error_code"], entry["reason"]) == (
        "anonymous",
        "denied",
        "Unauthenticated",
        "no credentials",
    )
    assert (entry["cluster"], entry["namespace"]) == ("prod", "apps")  # from the path: nothing was resolved
    world.settings.auth_mode = "iam"
    response, _ = call(request("GET", RELEASE, APPS, who=None))
    assert response.headers["WWW-Authenticate"] == "AWS4-HMAC-SHA256"


def test_a_door_refuses_in_its_own_shape_and_the_refusal_is_denied_whatever_its_status(world: World) -> None:
    params = {"namespace": "apps", "name": "web"}
    response, handler = call(request("GET", ENGINE, params))
    assert handler.ran_as == [] and (response.status_code, response.body["code"]) == (200, 1)
    assert response.body["error"] == "token:alice may not read on cluster local namespace apps"
    (entry,) = world.audit.entries
    assert (entry["status"], entry["result"], entry["cluster"], entry["namespace"]) == (200, "denied", "local", "apps")
    assert entry["error_code"] == "Forbidden"


def test_a_refusal_repeats_the_cluster_as_named_and_audits_the_one_it_resolved_to(world: World) -> None:
    params = {"namespace": "apps", "name": "web"}
    query = {"endpoint": ["https://k8s.prod.example"]}
    response, _ = call(request("POST", ENGINE, params, query=query, body={}))
    assert response.status_code == 403
    assert (
        response.body["error"]["message"]
        == "token:alice may not install on cluster https://k8s.prod.example namespace apps"
    )
    (entry,) = world.audit.entries
    assert (entry["cluster"], entry["namespace"], entry["release"]) == ("prod", "apps", "web")


# ---------------------------------------------------------------- audit of what was answered


def test_a_change_is_audited_with_its_operation_and_the_release_it_installs(world: World) -> None:
    world.grant("alice", ("install", "prod", "apps"))
    params = {"cluster": "prod", "namespace": "apps"}
    accepted = Response(body={"id": "op-123", "release": {"name": "web"}}, status_code=202)
    response, handler = call(request("POST", RELEASES, params, body={}), Handler(accepted))
    assert response.status_code == 202 and len(handler.ran_as) == 1
    (entry,) = world.audit.entries
    assert (entry["operation_id"], entry["release"], entry["result"], entry["status"]) == ("op-123", "web", "ok", 202)
    assert (entry["principal"], entry["method"], entry["route"]) == ("token:alice", "POST", RELEASES)
    assert (entry["error_code"], entry["reason"], entry["path"]) == (
        None,
        None,
        "/v1/clusters/prod/namespaces/apps/releases",
    )


def test_an_operation_id_is_read_from_the_header_when_the_body_has_none_of_its_shape(world: World) -> None:
    world.grant("alice", ("uninstall", "prod", "apps"))
    shapes = [
        Response(
            body={"id": "web", "release": {"name": "other"}},
            status_code=202,
            headers={"X-Charthouse-Operation": "op-9"},
        ),
        Response(body={"id": "web"}, status_code=202),
        Response(body="accepted", status_code=202, headers={"X-Charthouse-Operation": "op-7"}),
    ]
    for answer in shapes:
        call(request("DELETE", RELEASE, APPS), Handler(answer))
    assert [e["operation_id"] for e in world.audit.entries] == ["op-9", None, "op-7"]
    assert {e["release"] for e in world.audit.entries} == {"web"}  # the path names it: the body does not override


def test_an_envelope_error_is_audited_as_an_error_with_the_doors_code(world: World) -> None:
    world.grant("alice", ("upgrade", "local", "apps"))
    failed = Response(body={"code": 1, "error": "chart not found"}, status_code=200)
    response, _ = call(request("PUT", ENGINE, {"namespace": "apps", "name": "web"}, body={}), Handler(failed))
    assert response.status_code == 200
    (entry,) = world.audit.entries
    assert (entry["result"], entry["error_code"], entry["reason"], entry["status"]) == (
        "error",
        "EngineError",
        "EngineError",
        200,
    )


def test_a_failure_the_handler_notes_is_the_outcome_whatever_the_status(world: World) -> None:
    world.grant("alice", ("read", "prod", "apps"), ("uninstall", "prod", "apps"))
    refused = Forbidden("token:alice may not read the values", permission="reveal")
    call(request("GET", RELEASE, APPS), Handler(does=lambda: routes.note(refused)))
    noted = InvalidInput("name", "is taken")
    call(request("DELETE", RELEASE, APPS), Handler(does=lambda: routes.note(noted)))
    crashed = ValueError("x" * 400)
    call(request("DELETE", RELEASE, APPS), Handler(does=lambda: routes.note(crashed)))
    denied, invalid, other = world.audit.entries  # the GET is audited: it was denied
    assert (denied["result"], denied["error_code"], denied["status"]) == ("denied", "Forbidden", 200)
    assert denied["reason"] == "token:alice may not read the values"
    assert (invalid["result"], invalid["error_code"], invalid["reason"]) == ("error", "InvalidInput", "name: is taken")
    assert (other["result"], other["error_code"], other["reason"]) == ("error", "ValueError", "x" * 300)


def test_an_error_answer_is_audited_with_its_code_and_message(world: World) -> None:
    world.grant("alice", ("uninstall", "prod", "apps"))
    answers = [
        Response(body={"error": {"code": "Conflict", "message": "m" * 400}}, status_code=409),
        Response(body={"error": {"code": "Conflict"}}, status_code=409),
        Response(body={"error": "plain"}, status_code=403),
        Response(body={"ok": True}, status_code=401),
    ]
    for answer in answers:
        call(request("DELETE", RELEASE, APPS), Handler(answer))
    found = [(e["result"], e["error_code"], e["reason"]) for e in world.audit.entries]
    assert found == [
        ("error", "Conflict", "m" * 300),
        ("error", "Conflict", None),
        ("denied", None, None),
        ("denied", None, None),
    ]


def test_a_remark_is_the_reason_of_an_answer_that_did_not_fail(world: World) -> None:
    world.grant("alice", ("uninstall", "prod", "apps"))
    call(request("DELETE", RELEASE, APPS), Handler(does=lambda: routes.remark("replaced sha256:ab")))
    refused = Forbidden("token:alice may not uninstall here")

    def both() -> None:
        routes.remark("replaced sha256:cd")
        routes.note(refused)

    call(request("DELETE", RELEASE, APPS), Handler(does=both))
    assert [e["reason"] for e in world.audit.entries] == ["replaced sha256:ab", "token:alice may not uninstall here"]


def test_a_failure_noted_by_an_earlier_request_is_not_this_ones(world: World) -> None:
    world.grant("alice", ("uninstall", "prod", "apps"))
    routes.note(InvalidInput("name", "left over"))
    routes.remark("left over")
    call(request("DELETE", RELEASE, APPS))
    (entry,) = world.audit.entries
    assert (entry["result"], entry["error_code"], entry["reason"]) == ("ok", None, None)


# ---------------------------------------------------------------- public routes and signed requests


def test_a_public_route_runs_without_a_caller_and_only_a_change_is_audited(world: World) -> None:
    response, handler = call(request("GET", "/v1/health", who=None))
    assert response.status_code == 200 and handler.ran_as == [None] and world.audit.entries == []
    assert world.authenticated.calls == []  # nobody is authenticated on a public route
    accepted = Response(body={"sync": "started"}, status_code=202)
    _, handler = call(request("POST", HOOK, {"runtime": "shop"}, who=None), Handler(accepted))
    assert handler.ran_as == [None]
    refused = Handler(
        Response(body={"error": {"code": "Unauthenticated", "message": "bad signature"}}, status_code=401)
    )
    call(request("POST", HOOK, {"runtime": "shop"}, who=None), refused)
    unverified = Handler(Response(body={"error": {"code": "UnsupportedMediaType"}}, status_code=415))
    call(request("POST", HOOK, {"runtime": "shop"}, who=None), unverified)  # answered before the secret was checked
    noted = Handler(does=lambda: routes.note(Unauthenticated("no signature")))
    call(request("POST", HOOK, {"runtime": "shop"}, who=None), noted)
    ok, denied, unsupported, unsigned = world.audit.entries
    assert (ok["principal"], ok["result"], ok["cluster"], ok["namespace"]) == ("webhook:shop", "ok", "prod", None)
    assert (denied["principal"], denied["result"], denied["reason"]) == ("anonymous", "denied", "bad signature")
    assert (unsupported["principal"], unsupported["result"]) == ("anonymous", "error")
    assert (unsigned["principal"], unsigned["result"], unsigned["error_code"]) == (
        "anonymous",
        "denied",
        "Unauthenticated",
    )


def test_a_webhook_whose_destination_cannot_be_read_is_audited_without_one(world: World) -> None:
    call(request("POST", HOOK, {"runtime": "broken"}, who=None), Handler(Response(body={}, status_code=202)))
    call(request("POST", "/v1/feedback", who=None), Handler(Response(body={}, status_code=200)))
    broken, feedback = world.audit.entries
    assert (broken["principal"], broken["cluster"], broken["namespace"], broken["path"]) == (
        "webhook:broken",
        None,
        None,
        "/v1/runtimes/broken/webhook",
    )
    assert feedback["principal"] == "anonymous" and feedback["result"] == "ok"  # no runtime: nobody's webhook


def test_a_signed_request_is_verified_over_what_was_sent(world: World) -> None:
    world.grant("signer", ("admin", None, None))
    auth = {"authorization": "SDK-HMAC-SHA256 Access=k, SignedHeaders=host;x-sdk-date, Signature=s", "X-Sdk-Date": "d"}
    query = {"b": ["2", "3"], "a": ["1"]}
    call(request("DELETE", RELEASE, APPS, query=query, body="x", who=None, headers=auth))
    signed = world.authenticated.calls[-1]["signed"]
    assert signed == SignedRequest(
        method="DELETE",
        path="/v1/clusters/prod/namespaces/apps/releases/web",
        query=(("b", "2"), ("b", "3"), ("a", "1")),
        headers={"user-agent": "charthouse-cli/1", "authorization": auth["authorization"], "x-sdk-date": "d"},
        body=b"x",
        unsigned_payload=False,
    )
    call(request("POST", "/v2/charts", body=b"\x00archive", who=None, headers=auth))
    upload = world.authenticated.calls[-1]["signed"]
    assert (
        upload.unsigned_payload and upload.body == b"\x00archive" and upload.query == () and upload.path == "/v2/charts"
    )
    call(request("DELETE", RELEASE, APPS, who=None, headers=auth))
    assert world.authenticated.calls[-1]["signed"].body == b""


def test_a_route_called_outside_the_middleware_has_no_caller() -> None:
    with pytest.raises(Unauthenticated) as exc:
        guard.principal()
    assert exc.value.message == "no authenticated caller" and exc.value.code == "Unauthenticated"


def test_a_public_route_of_an_envelope_door_is_audited_with_its_real_outcome(world: World) -> None:
    failed = Response(body={"code": 1, "error": "no such release"}, status_code=200)
    query = {"endpoint": ["prod"], "namespace": ["apps"]}
    response, handler = call(request("POST", "/engine/hook", query=query, who=None), Handler(failed))
    assert response.status_code == 200 and len(handler.given) == 1
    (entry,) = world.audit.entries
    assert (entry["result"], entry["error_code"], entry["cluster"], entry["namespace"]) == (
        "error",
        "EngineError",
        "prod",
        "apps",
    )


def test_a_refused_webhook_is_audited_with_the_reason_kept_from_its_caller(world: World) -> None:
    refused = WebhookRefused("the runtime has no webhook secret")
    response = Response(body={"error": {"code": "Unauthenticated", "message": refused.message}}, status_code=401)
    call(request("POST", HOOK, {"runtime": "shop"}, who=None), Handler(response, does=lambda: routes.note(refused)))
    (entry,) = world.audit.entries
    assert (entry["principal"], entry["result"], entry["reason"]) == (
        "anonymous",
        "denied",
        "the runtime has no webhook secret",
    )


def test_a_failure_without_a_message_has_no_reason_not_a_remark(world: World) -> None:
    world.grant("alice", ("uninstall", "prod", "apps"))

    def failed_quietly() -> None:
        routes.remark("replaced sha256:ab")
        routes.note(ValueError(""))

    call(request("DELETE", RELEASE, APPS), Handler(does=failed_quietly))
    (entry,) = world.audit.entries
    assert (entry["result"], entry["error_code"], entry["reason"]) == ("error", "ValueError", None)
