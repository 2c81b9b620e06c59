"""The OpenAPI document covers every route of the app, method by method, and is itself valid."""

from __future__ import annotations

from openapi_spec_validator import validate

from chalicelib.api.openapi import spec
from chalicelib.api.routes import TABLE
from tests.functional.conftest import Api


def test_every_route_is_described() -> None:
    """Every route but the compat surfaces' (answered in other APIs' shapes: docs/COMPAT.md describes them)."""
    from app import app

    doc = spec()
    routes = {(path, method.lower()) for path, entries in app.routes.items() for method in entries}
    compat = {(path, method.lower()) for (method, path), declared in TABLE.items() if not declared.published}
    described = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert routes - compat == described


def test_document_is_valid_and_served(api: Api) -> None:
    validate(spec())
    status, served = api.call("GET", "/v1/openapi.json")
    assert status == 200 and served == spec()
