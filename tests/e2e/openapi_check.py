"""Validate real responses against the OpenAPI document (3.0 schemas converted to JSON Schema for jsonschema)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import jsonschema

from chalicelib.api.openapi import spec


def to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 -> JSON Schema: ``nullable`` becomes a null alternative, $refs point into the document."""
    if isinstance(node, list):
        return [to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_jsonschema(v) for k, v in node.items() if k not in ("nullable", "format")}
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/definitions/")
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


class ResponseChecker:
    def __init__(self) -> None:
        self.doc = spec()
        self.definitions = to_jsonschema(self.doc["components"]["schemas"])
        self.templates = [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$"), p) for p in self.doc["paths"]]
        self.checked: list[tuple[str, str, int]] = []

    def template(self, path: str) -> str:
        bare = urlsplit(path).path
        matches = [t for rx, t in self.templates if rx.match(bare)]
        assert matches, f"{bare} is not in the OpenAPI document"
        return min(matches, key=lambda t: t.count("{"))  # the most literal template wins

    def check(self, method: str, path: str, status: int, body: Any) -> None:
        template = self.template(path)
        operation = self.doc["paths"][template].get(method.lower())
        assert operation, f"{method} {template} is not in the OpenAPI document"
        response = operation["responses"].get(str(status))
        assert response, f"{method} {template} answered {status}, which the document does not list"
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        if schema is not None:
            jsonschema.validate(body, {**to_jsonschema(schema), "definitions": self.definitions})
        self.checked.append((method, template, status))
