"""The OpenAPI document covers every route of the app, method by method, and is itself valid."""

from __future__ import annotations

from openapi_spec_validator import validate

from chalicelib.api.openapi import spec
from tests.functional.conftest import Api


def test_every_route_is_described() -> None:
    from app import app

    doc = spec()
    routes = {(path, method.lower()) for path, entries in app.routes.items() for method in entries}
    described = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert routes == described


def test_document_is_valid_and_served(api: Api) -> None:
    validate(spec())
    status, served = api.call("GET", "/v1/openapi.json")
    assert status == 200 and served == spec()
