"""The OpenAPI document covers every route of the app, method by method, and is itself valid."""

from __future__ import annotations

from typing import Any

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


def _enums(node: Any, at: str = "") -> list[tuple[str, list[Any]]]:
    """Every ``enum`` of the document, with where it is."""
    found: list[tuple[str, list[Any]]] = []
    if isinstance(node, dict):
        if "enum" in node:
            found.append((at, node["enum"]))
        for key, child in node.items():
            found += _enums(child, f"{at}/{key}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += _enums(child, f"{at}/{index}")
    return found


def test_every_enum_is_one_of_the_codes_own_lists() -> None:
    """An enum in the document is the list the code parses or answers with (a str Enum's values or a tuple of
    names), in the code's order, so the two cannot drift apart."""
    from chalicelib.api import charts, web
    from chalicelib.compat import cce
    from chalicelib.core import audit, authz, clusters, drift, repositories
    from chalicelib.domain import diagnosis, diff, fields, models, runtimes

    code: dict[str, list[Any]] = {
        "Action": [a.value for a in models.Action],
        "OperationStatus": [s.value for s in models.OperationStatus],
        "ReleaseStatus": [s.value for s in models.ReleaseStatus],
        "ClusterAuth": [a.value for a in clusters.ClusterAuth],
        "repository types": list(repositories.REPOSITORY_TYPES),
        "verbs": list(authz.VERBS),
        "audit results": list(audit.RESULTS),
        "drift states": list(drift.STATES),
        "diff changes": list(diff.CHANGES),
        "diff actions": ["install", "upgrade", "rollback"],
        "list sorts": list(models.LIST_SORTS),
        "list orders": list(models.LIST_ORDERS),
        "outputs": list(web.OUTPUTS),
        "values formats": list(charts.VALUES_FORMATS),
        "dry run modes": list(fields.DRY_RUN_MODES),
        "cascade modes": list(fields.CASCADE_MODES),
        "recovery policies": list(fields.RECOVERY_POLICIES),
        "runtime phases": list(runtimes.PHASES),
        "plan actions": list(runtimes.PLAN_ACTIONS),
        "CCE update actions": list(cce.UPDATE_ACTIONS),
        "helm-engine codes": [0, 1],
        "kstatus statuses": list(diagnosis.STATUSES),
        "container states": list(diagnosis.CONTAINER_STATES),
        "progress phases": list(diagnosis.PHASES),
    }
    assert code["diff actions"] == [a for a in code["Action"] if a in code["diff actions"]]
    found = _enums(spec())
    assert found
    strays = [(at, values) for at, values in found if values not in code.values()]
    assert strays == []
    assert {"Action", "ReleaseStatus", "ClusterAuth", "verbs"} <= {
        name for name, values in code.items() if any(values == v for _, v in found)
    }
