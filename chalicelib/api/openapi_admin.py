"""The OpenAPI paths and schemas of access control: whoami, tokens, policies, audit (merged into ``openapi.spec``)."""

from __future__ import annotations

from chalicelib.api.openapi import BOOL, NAME_PATTERN, NULLABLE_STR, PAGING, STR, S, _errors, _json, _op, _param
from chalicelib.core.authz import VERBS

PATTERNS: S = {"type": "array", "minItems": 1, "items": STR}
RULE: S = {
    "type": "object",
    "required": ["verbs"],
    "additionalProperties": False,
    "properties": {
        "verbs": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": list(VERBS)}},
        "clusters": PATTERNS,
        "namespaces": PATTERNS,
    },
}
POLICY: S = {
    "type": "object",
    "required": ["name", "principals", "rules"],
    "properties": {"name": STR, "description": STR, "principals": PATTERNS, "rules": {"type": "array", "items": RULE}},
}
POLICY_PUT: S = {
    "type": "object",
    "required": ["principals", "rules"],
    "additionalProperties": False,
    "properties": {
        "description": STR,
        "principals": PATTERNS,
        "rules": {"type": "array", "minItems": 1, "items": RULE},
    },
}
AUDIT_ENTRY: S = {
    "type": "object",
    "required": ["id", "at", "principal", "method", "route", "path", "status", "result"],
    "properties": {
        "id": STR,
        "at": STR,
        "principal": STR,
        "method": STR,
        "route": STR,
        "path": STR,
        "cluster": STR,
        "namespace": STR,
        "release": STR,
        "status": {"type": "integer"},
        "result": {"type": "string", "enum": ["ok", "error", "denied"]},
        "operation_id": STR,
        "error_code": STR,
        "source_ip": STR,
        "user_agent": STR,
    },
}
PATH_POLICY = _param("policy", "path", {"type": "string", "pattern": NAME_PATTERN, "maxLength": 63})


def schemas() -> S:
    return {"Policy": POLICY, "AuditEntry": AUDIT_ENTRY}


def paths() -> S:
    policy: S = {"$ref": "#/components/schemas/Policy"}
    token_item: S = {"type": "object", "required": ["name"], "properties": {"name": STR, "created_at": STR}}
    return {
        "/v1/whoami": {
            "get": _op(
                "the caller and the rules that apply to it",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["id", "kind", "admin", "rules"],
                            "properties": {
                                "id": STR,
                                "kind": STR,
                                "groups": {"type": "array"},
                                "admin": BOOL,
                                "rules": {"type": "array"},
                            },
                        }
                    ),
                    **_errors(503),
                },
            )
        },
        "/v1/tokens": {
            "get": _op(
                "bearer tokens (names only)",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["tokens"],
                            "properties": {"tokens": {"type": "array", "items": token_item}},
                        }
                    ),
                    **_errors(503),
                },
            ),
            "post": _op(
                "create a bearer token: the only time it is shown",
                {
                    "201": _json(
                        {"type": "object", "required": ["name", "token"], "properties": {"name": STR, "token": STR}},
                        "created",
                    ),
                    **_errors(400, 409, 422, 503),
                },
                [],
                {"type": "object", "required": ["name"], "properties": {"name": STR}, "additionalProperties": False},
            ),
        },
        "/v1/tokens/{token}": {
            "delete": _op(
                "delete a bearer token",
                {"204": {"description": "deleted"}, **_errors(404, 503)},
                [_param("token", "path")],
            )
        },
        "/v1/policies": {
            "get": _op(
                "authorization policies",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["policies"],
                            "properties": {"policies": {"type": "array", "items": policy}},
                        }
                    ),
                    **_errors(503),
                },
            )
        },
        "/v1/policies/{policy}": {
            "put": _op(
                "create or replace a policy",
                {"200": _json(policy), "201": _json(policy, "created"), **_errors(400, 413, 422, 503)},
                [PATH_POLICY],
                POLICY_PUT,
            ),
            "get": _op("one policy", {"200": _json(policy), **_errors(404, 422, 503)}, [PATH_POLICY]),
            "delete": _op(
                "delete a policy", {"204": {"description": "deleted"}, **_errors(404, 422, 503)}, [PATH_POLICY]
            ),
        },
        "/v1/audit": {
            "get": _op(
                "the audit log, newest first: mutating and refused calls",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["entries", "next_token"],
                            "properties": {
                                "entries": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEntry"}},
                                "next_token": NULLABLE_STR,
                            },
                        }
                    ),
                    **_errors(400, 422, 503),
                },
                [
                    _param("cluster"),
                    _param("namespace"),
                    _param("release"),
                    _param("principal"),
                    _param("result", schema={"type": "string", "enum": ["ok", "error", "denied"]}),
                    _param("since", desc="ISO 8601 time or epoch seconds; default: the last 24 hours"),
                    *PAGING,
                ],
            )
        },
    }
