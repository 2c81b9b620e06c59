"""One declaration per route: the Chalice route, the authorization verb and the OpenAPI operation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from chalice.app import Blueprint

from app import app
from chalicelib.api import openapi, routes
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
        if not declared.published:  # routes kept out of the document on purpose (routes.Route.published)
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
