"""The OpenAPI document is built from the route declarations: every published route once, under its path and
lower-case method, nothing unpublished; components and security schemes as declared; plain JSON."""

from __future__ import annotations

import json

from chalicelib.api import openapi, routes


def test_every_published_route_is_in_the_document_and_nothing_else() -> None:
    doc = openapi.spec()  # imports every route module itself
    published = {(m.lower(), p) for (m, p), d in routes.TABLE.items() if d.published}
    hidden = {(m.lower(), p) for (m, p), d in routes.TABLE.items() if not d.published}
    listed = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert listed == published and not listed & hidden
    assert ("post", "/v1/clusters/{cluster}/namespaces/{namespace}/releases") in listed


def test_the_document_is_openapi_3_and_plain_json() -> None:
    doc = openapi.spec()
    assert doc["openapi"].startswith("3.0") and doc["info"]["title"] == "Charthouse"
    assert set(doc["components"]["securitySchemes"]) == {"sigv4", "bearer"}
    assert json.loads(json.dumps(doc)) == doc


def test_every_reference_points_at_a_declared_component() -> None:
    doc = openapi.spec()
    text = json.dumps(doc)
    refs = {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}
    assert refs and refs <= set(doc["components"]["schemas"])
