"""One declaration per route: the Chalice route, the authorization verb and the OpenAPI operation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from chalice.app import Blueprint

from app import app
from chalicelib.api import openapi, routes
from chalicelib.api import schemas as s
from chalicelib.core.authz import PUBLIC, SELF, VERBS

ROOT = Path(__file__).resolve().parents[3]


def test_every_app_route_is_declared_once_with_a_verb() -> None:
    served = {(method, path) for path, entries in app.routes.items() for method in entries}
    assert served == set(routes.TABLE)
    assert all(declared.verb in (*VERBS, PUBLIC, SELF) for declared in routes.TABLE.values())


def test_the_document_is_whole_without_the_app() -> None:
    """A process that never imported ``app`` (a client, the e2e checker) still gets every route."""
    code = (
        "import json, sys; from chalicelib.api.openapi import spec; "
        "json.dump(sorted((m, p) for p, ops in spec()['paths'].items() for m in ops), sys.stdout)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    published = {(m.lower(), p) for (m, p), declared in routes.TABLE.items() if declared.published}
    assert {tuple(pair) for pair in json.loads(out.stdout)} == published


def test_an_undeclared_route_is_for_admins_only() -> None:
    assert routes.verb_of("GET", "/v1/not-a-route") == "admin"
    assert routes.verb_of("GET", "/v1/health") == PUBLIC


def test_the_document_has_every_declared_operation_with_its_parameters() -> None:
    doc = openapi.spec()
    for (method, path), declared in routes.TABLE.items():
        if not declared.published:  # the compat surfaces: other APIs' shapes (docs/COMPAT.md)
            assert path not in doc["paths"] or method.lower() not in doc["paths"][path]
            continue
        op = doc["paths"][path][method.lower()]
        assert op["summary"] == declared.summary
        in_path = {p["name"] for p in op["parameters"] if p["in"] == "path"}
        assert in_path == {part[1:-1] for part in path.split("/") if part.startswith("{")}
        assert ("security" in op) is (declared.verb != PUBLIC)


def test_every_request_body_property_has_a_schema() -> None:
    for path, ops in openapi.spec()["paths"].items():
        for method, op in ops.items():
            content = op.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            for name, prop in schema.get("properties", {}).items():
                assert prop, f"{method} {path}: {name} has an empty schema"


@pytest.mark.parametrize(
    ("verb", "path", "message"),
    [
        ("nobody", "/v1/x", "not an authorization verb"),
        ("read", "/v1/x/{unknown}", "path parameters without a schema"),
        ("read", "/v1/health", "declared twice"),
    ],
)
def test_bad_declarations_fail_when_the_module_is_imported(verb: str, path: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        routes.route(Blueprint("t"), "GET", path, verb=verb, summary="s", ok={})


# ---------------------------------------------------------------- declared authorization


def _declared(method: str, path: str, **kwargs: Any) -> routes.Route:
    routes.route(Blueprint("t"), method, path, summary="s", ok={}, **kwargs)
    return routes.TABLE.pop((method, path))


@pytest.mark.parametrize(
    ("path", "kwargs", "message"),
    [
        ("/t/clusters/{cluster}", {"verb": SELF}, "SELF is for routes about the caller only"),
        ("/t/x", {"verb": SELF, "query": [s.param("cluster")]}, "SELF is for routes about the caller only"),
        ("/t/x", {"verb": SELF, "body": {"properties": {"namespace": {}}}}, "SELF is for routes about the caller"),
        ("/t/x", {"verb": SELF, "scope": routes.Scope(routes.Query("cluster"))}, "SELF is for routes about"),
        ("/t/{cluster_id}", {"verb": "read"}, "declare the scope cluster_id maps to"),
        ("/t/{runtime}", {"verb": "read"}, "declare the scope runtime maps to"),
        ("/t/x", {"verb": "read", "query": [s.param("cluster")]}, r"\?cluster not read by its scope"),
        ("/t/x", {"verb": "install", "body": {"properties": {"namespace": {}}}}, "body namespace not read"),
        ("/t/x", {"verb": ("read", PUBLIC)}, "not an authorization verb"),
        ("/t/x", {"verb": ()}, "not an authorization verb"),
    ],
)
def test_a_route_that_addresses_a_cluster_declares_its_verb_and_scope(
    path: str, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _declared("GET", path, **kwargs)


def test_filtered_lists_and_admin_routes_need_no_query_scope() -> None:
    assert _declared("GET", "/t/a", verb="read", query=[s.param("cluster")], filtered=True).filtered
    assert _declared("GET", "/t/b", verb="admin", query=[s.param("cluster")]).verb == "admin"


def ask(params: dict[str, str] | None = None, query: dict[str, str] | None = None, body: Any = None) -> routes.Ask:
    return routes.Ask(params or {}, query or {}, body or {})


def test_sources_read_the_path_the_query_and_the_body_with_defaults() -> None:
    request = ask({"cluster": "prod"}, {"ns": "q"}, {"dest": {"cluster": "b", "namespaces": ["x", "y", 3, ""]}})
    assert routes.Path("cluster").raw(request) == ["prod"]
    assert routes.Query("ns").raw(request) == ["q"]
    assert routes.Body("dest.namespaces").raw(request) == ["x", "y"]
    assert routes.Body("dest.cluster").raw(request) == ["b"]
    assert routes.Body("missing.deep").raw(request) == []
    assert routes.Body("nope", default=routes.Query("ns")).raw(request) == ["q"]
    assert routes.Query("nope", default="default").raw(request) == ["default"]
    assert routes.Query("nope", default=lambda: "computed").raw(request) == ["computed"]
    assert routes.Query("nope", default=lambda: None).raw(request) == []
    assert routes.Query("reveal").truthy(ask(query={"reveal": "TRUE"}))
    assert not routes.Query("reveal").truthy(ask(query={"reveal": "no"}))


def test_a_scope_maps_ids_onto_clusters_and_authorizes_an_unknown_one_as_given() -> None:
    ids = {"a1": "prod"}
    scope = routes.Scope(routes.Path("cluster_id", via=ids.get), routes.Body("namespace"))
    assert scope.targets(ask({"cluster_id": "a1"}, body={"namespace": "web"})) == [
        routes.Target("prod", "web", shown="a1")
    ]
    assert scope.targets(ask({"cluster_id": "zz"})) == [routes.Target("zz", None)]
    many = routes.Scope(routes.Body("c"), routes.Body("ns"))
    assert many.targets(ask(body={"c": "prod", "ns": ["a", "b"]})) == [
        routes.Target("prod", "a"),
        routes.Target("prod", "b"),
    ]
    assert routes.Scope().targets(ask()) == [routes.Target(None, None)]


def test_a_lookup_finds_what_the_request_does_not_give() -> None:
    seen: list[routes.Ask] = []

    def lookup(request: routes.Ask) -> list[routes.Target] | None:
        seen.append(request)
        return [routes.Target("prod", "found")] if request.params.get("name") == "web" else None

    scope = routes.Scope(routes.Query("cluster"), routes.Query("namespace"), lookup)
    assert scope.targets(ask({"name": "web"}, {"cluster": "prod", "namespace": "given"})) == [
        routes.Target("prod", "given")
    ]
    assert not seen  # both given: nothing looked up
    assert scope.targets(ask({"name": "web"})) == [routes.Target("prod", "found")]
    assert scope.targets(ask({"name": "other"}, {"cluster": "dev"})) == [routes.Target("dev", None)]
    assert routes.Scope(lookup=lambda _: []).targets(ask()) == []


def test_a_route_needs_each_verb_on_each_target() -> None:
    declared = _declared(
        "PUT",
        "/t/{runtime}",
        verb=("install", "upgrade"),
        scope=(routes.Scope(routes.Body("c"), routes.Body("ns")), routes.Scope(lookup=lambda _: [])),
    )
    assert declared.needs(ask(body={"c": "prod", "ns": ["a", "b"]})) == [
        ("install", routes.Target("prod", "a")),
        ("upgrade", routes.Target("prod", "a")),
        ("install", routes.Target("prod", "b")),
        ("upgrade", routes.Target("prod", "b")),
    ]
    assert declared.needs(ask()) == [  # nothing addressed: a rule for every cluster is needed
        ("install", routes.Target(None, None)),
        ("upgrade", routes.Target(None, None)),
    ]
    assert declared.reads_body()


def test_a_picked_verb_and_reveal() -> None:
    pick = routes.Pick(routes.Body("action"), ("upgrade", "rollback"), "upgrade")
    declared = _declared("PUT", "/t/{cluster}/{namespace}", verb=pick, reveal=routes.Query("reveal"))
    where = {"cluster": "prod", "namespace": "web"}
    assert declared.verb == "upgrade" and declared.reads_body()
    assert [v for v, _ in declared.needs(ask(where, body={"action": "rollback"}))] == ["rollback"]
    assert [v for v, _ in declared.needs(ask(where, body={"action": "delete"}))] == ["upgrade"]
    assert declared.needs(ask(where, {"reveal": "true"})) == [
        ("upgrade", routes.Target("prod", "web")),
        ("reveal", routes.Target("prod", "web")),
    ]


def test_an_envelope_notes_the_error_it_answers() -> None:
    routes.clear_noted()
    assert routes.noted() is None
    failure = ValueError("x")
    routes.note(failure)
    assert routes.noted() is failure
    routes.clear_noted()
    assert routes.noted() is None


def test_a_remark_is_kept_for_the_audit_entry_until_the_next_request() -> None:
    routes.clear_noted()
    assert routes.remarked() is None
    routes.remark("replaced sha256:abc")
    assert routes.remarked() == "replaced sha256:abc" and routes.noted() is None
    routes.clear_noted()  # the guard clears both before each request
    assert routes.remarked() is None
