"""The OpenAPI 3.0 description of the HTTP API, served at GET /v1/openapi.json.

Field lists come from ``models`` so the spec and the parser cannot drift apart on names.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chalicelib.config import MAX_HELM_TIMEOUT_S
from chalicelib.domain.models import (
    CASCADE_MODES,
    INSTALL_FIELDS,
    RECONCILE_FIELDS,
    RECOVERY_POLICIES,
    ROLLBACK_FIELDS,
    STATUS_FILTERS,
    UNINSTALL_FIELDS,
    UNLOCK_FIELDS,
    UPGRADE_FIELDS,
    Action,
)
from chalicelib.domain.values import DEFAULT_LIMITS as VALUES_LIMITS
from chalicelib.domain.values import MAX_FILE_NAME

S = dict[str, Any]
ACTIONS = [a.value for a in Action]
BOOL: S = {"type": "boolean"}
STR: S = {"type": "string"}
INT: S = {"type": "integer"}
TIMEOUT: S = {
    "oneOf": [
        {"type": "integer", "minimum": 1, "maximum": MAX_HELM_TIMEOUT_S},
        {"type": "string", "minLength": 1, "pattern": r"^(\d+|(\d+h)?(\d+m)?(\d+s)?)$"},
    ],
    "description": f"seconds, or a duration such as '5m30s'; at most {MAX_HELM_TIMEOUT_S} s",
}
SET_FORM: S = {
    "oneOf": [{"type": "object"}, {"type": "array", "items": STR}, STR],
    "description": "{'a.b': value}, ['a.b=value', ...] or 'a.b=value,c=d' (helm --set syntax)",
}
NAME_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"

FIELD_SCHEMAS: dict[str, S] = {
    "name": {"type": "string", "maxLength": 53, "pattern": NAME_PATTERN},
    "generate_name": BOOL,
    "name_template": {"type": "string", "maxLength": 256},
    "chart": {
        "type": "string",
        "minLength": 1,
        "description": "<repository>/<chart>, uploaded/<chart>, "
        "oci://host/path/chart, or the http(s) URL of a chart archive (.tgz)",
    },
    "verify": {"type": "boolean", "description": "verify the chart's provenance with its repository's keyring"},
    "version": {"type": "string", "description": "chart version or constraint"},
    "values": {"oneOf": [{"type": "object"}, STR], "description": "an object, or a YAML document"},
    "set": SET_FORM,
    "set_string": SET_FORM,
    "set_json": SET_FORM,
    "set_sensitive": SET_FORM,
    "values_files": {
        "type": "array",
        "maxItems": VALUES_LIMITS.max_files,
        "items": {
            "oneOf": [
                STR,
                {
                    "type": "object",
                    "required": ["content"],
                    "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": MAX_FILE_NAME},
                        "content": STR,
                    },
                    "additionalProperties": False,
                },
            ]
        },
        "description": "YAML texts merged in order like helm -f a -f b, before values; name is for messages",
    },
    "dry_run": {"oneOf": [BOOL, {"type": "string", "enum": ["client", "server"]}]},
    "timeout": TIMEOUT,
    "description": {"type": "string", "maxLength": 1024},
    "labels": {"type": "object", "additionalProperties": STR},
    "max_history": {"type": "integer", "minimum": 0, "maximum": 1000},
    "revision": {"type": "integer", "minimum": 0, "description": "0 or absent: the previous revision"},
    "cascade": {"type": "string", "enum": list(CASCADE_MODES)},
    "policy": {"type": "string", "enum": list(RECOVERY_POLICIES)},
}


def _body(fields: frozenset[str], required: tuple[str, ...] = ()) -> S:
    props = {f: FIELD_SCHEMAS.get(f, BOOL) for f in sorted(fields)}
    schema: S = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema


ERROR: S = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {"code": STR, "message": STR, "details": {"type": "object"}},
        }
    },
}
NULLABLE_STR: S = {"type": "string", "nullable": True}
REF: S = {
    "type": "object",
    "required": ["cluster", "namespace", "name"],
    "properties": {"cluster": STR, "namespace": STR, "name": STR},
}
OPERATION: S = {
    "type": "object",
    "required": ["id", "action", "status", "release", "created_at", "updated_at"],
    "properties": {
        "id": STR,
        "action": {"type": "string", "enum": ACTIONS},
        "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed"]},
        "release": REF,
        "created_at": STR,
        "updated_at": STR,
        "started_at": NULLABLE_STR,
        "finished_at": NULLABLE_STR,
        "request": {"type": "object"},
        "result": {"type": "object", "nullable": True},
        "error": {"type": "object", "nullable": True},
    },
}
RELEASE: S = {
    "type": "object",
    "required": ["cluster", "namespace", "name", "status", "revision", "chart", "chart_version", "app_version"],
    "properties": {
        "cluster": STR,
        "namespace": STR,
        "name": STR,
        "status": {
            "type": "string",
            "enum": [
                "unknown",
                "deployed",
                "uninstalled",
                "superseded",
                "failed",
                "uninstalling",
                "pending-install",
                "pending-upgrade",
                "pending-rollback",
            ],
        },
        "revision": INT,
        "chart": STR,
        "chart_version": STR,
        "app_version": STR,
        "first_deployed": STR,
        "last_deployed": STR,
        "description": STR,
        "notes": STR,
        "values_digest": STR,
        "labels": {"type": "object"},
        "last_action": STR,
        "last_operation_id": STR,
        "failures": INT,
        "updated_at": NULLABLE_STR,
        "values": {"type": "object"},
        "manifest": STR,
        "hooks": {"type": "array"},
        "resources": {"type": "array", "items": {"type": "object", "required": ["kind", "name"]}},
        "requested_revision": {"type": "object"},
        "changed_out_of_band": BOOL,
        "drift_correction": BOOL,
        "drift": {
            "type": "object",
            "required": ["drifted", "resources"],
            "properties": {
                "drifted": BOOL,
                "revision": INT,
                "checked_at": STR,
                "resources": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["kind", "name", "state"],
                        "properties": {
                            "state": {"type": "string", "enum": ["in-sync", "changed", "missing", "unknown"]},
                            "differences": {"type": "array"},
                        },
                    },
                },
            },
        },
        "events": {"type": "array", "items": {"type": "object", "required": ["kind", "time"]}},
    },
}
REVISION: S = {
    "type": "object",
    "required": ["revision", "status", "chart", "app_version", "updated", "description"],
    "properties": {
        "revision": INT,
        "status": STR,
        "chart": STR,
        "app_version": STR,
        "updated": STR,
        "description": STR,
    },
}
CLUSTER: S = {
    "type": "object",
    "required": ["name", "auth", "server", "created_at", "updated_at"],
    "properties": {
        "name": STR,
        "auth": {"type": "string", "enum": ["kubeconfig", "token", "eks"]},
        "server": STR,
        "description": STR,
        "created_at": STR,
        "updated_at": STR,
        "eks": {"type": "object"},
        "reachable": BOOL,
        "server_version": NULLABLE_STR,
        "unreachable_reason": STR,
    },
}
CLUSTER_PUT: S = {
    "type": "object",
    "description": "exactly one of: kubeconfig (+context), server + ca_data + token, eks",
    "properties": {
        "kubeconfig": {"oneOf": [STR, {"type": "object"}]},
        "context": STR,
        "server": STR,
        "ca_data": STR,
        "token": STR,
        "insecure_skip_tls_verify": BOOL,
        "eks": {
            "type": "object",
            "required": ["name", "region"],
            "additionalProperties": False,
            "properties": {"name": STR, "region": STR, "role_arn": STR},
        },
        "description": STR,
    },
    "additionalProperties": False,
}
DRY_RUN: S = {
    "type": "object",
    "required": ["dry_run", "release", "manifest"],
    "properties": {
        "dry_run": STR,
        "release": {"type": "object"},
        "manifest": STR,
        "notes": STR,
        "hooks": {"type": "array"},
        "resources": {"type": "array"},
    },
}


def _json(schema: S, description: str = "OK") -> S:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, S]:
    names = {
        400: "malformed request",
        401: "no or unknown credentials",
        403: "not allowed (details.permission)",
        404: "not found",
        409: "conflict or locked",
        413: "too large",
        415: "the body must be application/json",
        422: "invalid field",
        502: "cluster or helm failed",
        503: "a dependency is unavailable",
    }
    return {str(c): _json({"$ref": "#/components/schemas/Error"}, names[c]) for c in codes}


def _param(name: str, where: str = "query", schema: S = STR, required: bool = False, desc: str = "") -> S:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema, "description": desc}


IDEMPOTENCY_KEY: S = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,128}$"},
    "description": "the same key and request return the same operation; another request: 422",
}


def _op(summary: str, responses: dict[str, S], params: list[S] | None = None, body: S | None = None) -> S:
    params = list(params or [])
    if "202" in responses:
        params.append(IDEMPOTENCY_KEY)
    responses = {**responses, **_errors(415)}
    out: S = {"summary": summary, "responses": responses, "parameters": params}
    if body is not None:
        out["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
    return out


PATH_CLUSTER = _param("cluster", "path", {"type": "string", "pattern": NAME_PATTERN, "maxLength": 63})
PATH_NS = _param("namespace", "path", {"type": "string", "pattern": NAME_PATTERN, "maxLength": 63})
PATH_NAME = _param("name", "path", {"type": "string", "pattern": NAME_PATTERN, "maxLength": 53})
PAGING = [
    _param("limit", schema={"type": "integer", "minimum": 1, "maximum": 1000}),
    _param("next_token", desc="opaque token from the previous page"),
]
LIST_FILTERS = [
    _param("status", desc=f"comma-separated: {', '.join(STATUS_FILTERS)}; default all but uninstalled"),
    _param("name", desc="exact release name"),
    _param("search", desc="substring of the release name"),
    _param("chart", desc="chart name"),
    *PAGING,
]
RELEASE_LIST = _json(
    {
        "type": "object",
        "required": ["releases", "next_token"],
        "properties": {
            "releases": {"type": "array", "items": {"$ref": "#/components/schemas/Release"}},
            "next_token": NULLABLE_STR,
        },
    }
)
ACCEPTED: S = {
    "description": "accepted: poll the operation at Location",
    "headers": {"Location": {"schema": STR}},
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Operation"}}},
}
REL_PARAMS = [PATH_CLUSTER, PATH_NS, PATH_NAME]


@lru_cache(maxsize=1)
def spec() -> S:
    rel = "/v1/clusters/{cluster}/namespaces/{namespace}/releases/{name}"
    paths: S = {
        "/v1/health": {"get": _op("health check", {"200": _json({"type": "object"})})},
        "/v1/openapi.json": {"get": _op("this document", {"200": _json({"type": "object"})})},
        "/v1/clusters": {
            "get": _op(
                "list clusters",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["clusters"],
                            "properties": {
                                "clusters": {"type": "array", "items": {"$ref": "#/components/schemas/Cluster"}}
                            },
                        }
                    )
                },
            )
        },
        "/v1/clusters/{cluster}": {
            "put": _op(
                "register or replace a cluster",
                {
                    "200": _json({"$ref": "#/components/schemas/Cluster"}),
                    "201": _json({"$ref": "#/components/schemas/Cluster"}, "created"),
                    **_errors(400, 413, 422, 503),
                },
                [PATH_CLUSTER],
                CLUSTER_PUT,
            ),
            "get": _op(
                "a cluster, its reachability and server version",
                {"200": _json({"$ref": "#/components/schemas/Cluster"}), **_errors(404, 422, 503)},
                [PATH_CLUSTER],
            ),
            "delete": _op(
                "forget a cluster and delete its credentials",
                {"204": {"description": "deleted"}, **_errors(404, 409, 422, 503)},
                [PATH_CLUSTER, _param("force", schema=BOOL)],
            ),
        },
        "/v1/clusters/{cluster}/namespaces": {
            "get": _op(
                "namespaces of a cluster (live)",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["namespaces"],
                            "properties": {
                                "namespaces": {"type": "array", "items": {"type": "object", "required": ["name"]}}
                            },
                        }
                    ),
                    **_errors(404, 422, 502, 503),
                },
                [PATH_CLUSTER],
            )
        },
        "/v1/releases": {
            "get": _op(
                "releases on every cluster",
                {"200": RELEASE_LIST, **_errors(400, 422, 503)},
                [_param("namespace"), *LIST_FILTERS],
            )
        },
        "/v1/clusters/{cluster}/releases": {
            "get": _op(
                "releases on a cluster",
                {"200": RELEASE_LIST, **_errors(400, 404, 422, 503)},
                [PATH_CLUSTER, _param("namespace"), *LIST_FILTERS],
            )
        },
        "/v1/clusters/{cluster}/namespaces/{namespace}/releases": {
            "get": _op(
                "releases in a namespace",
                {"200": RELEASE_LIST, **_errors(400, 404, 422, 503)},
                [PATH_CLUSTER, PATH_NS, *LIST_FILTERS],
            ),
            "post": _op(
                "install a chart (dry_run answers 200 at once)",
                {
                    "202": ACCEPTED,
                    "200": _json({"$ref": "#/components/schemas/DryRun"}, "dry run"),
                    **_errors(400, 404, 409, 413, 422, 502, 503),
                },
                [PATH_CLUSTER, PATH_NS],
                _body(INSTALL_FIELDS, ("chart",)),
            ),
        },
        rel: {
            "get": _op(
                "a release from the store; info= reads details through helm",
                {"200": _json({"$ref": "#/components/schemas/Release"}), **_errors(404, 422, 502, 503)},
                [
                    *REL_PARAMS,
                    _param(
                        "info",
                        desc="all, or comma-separated values,manifest,notes,hooks,resources; "
                        "also drift (live objects vs the manifest) and events (reconcile findings)",
                    ),
                    _param("revision", schema={"type": "integer", "minimum": 1}),
                ],
            ),
            "put": _op(
                "upgrade (install: true for an upsert)",
                {
                    "202": ACCEPTED,
                    "200": _json({"$ref": "#/components/schemas/DryRun"}, "dry run"),
                    **_errors(400, 404, 409, 413, 422, 502, 503),
                },
                REL_PARAMS,
                _body(UPGRADE_FIELDS, ("chart",)),
            ),
            "delete": _op(
                "uninstall",
                {"202": ACCEPTED, **_errors(400, 404, 409, 422, 503)},
                [
                    *REL_PARAMS,
                    *[_param(b, schema=BOOL) for b in ("keep_history", "disable_hooks", "wait")],
                    _param("timeout"),
                    _param("cascade", schema=FIELD_SCHEMAS["cascade"]),
                ],
                _body(UNINSTALL_FIELDS),
            ),
        },
        rel + "/rollback": {
            "post": _op(
                "roll back to a revision (default: the previous one)",
                {"202": ACCEPTED, **_errors(400, 404, 409, 422, 503)},
                REL_PARAMS,
                _body(ROLLBACK_FIELDS),
            )
        },
        rel + "/unlock": {
            "post": _op(
                "recover a release whose operation was lost (after its lease expired)",
                {"202": ACCEPTED, **_errors(400, 404, 409, 422, 503)},
                REL_PARAMS,
                _body(UNLOCK_FIELDS),
            )
        },
        rel + "/history": {
            "get": _op(
                "revision history, newest first, from the store",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["release", "history"],
                            "properties": {
                                "release": REF,
                                "history": {"type": "array", "items": {"$ref": "#/components/schemas/Revision"}},
                            },
                        }
                    ),
                    **_errors(404, 422, 503),
                },
                [*REL_PARAMS, _param("max", schema={"type": "integer", "minimum": 1})],
            )
        },
        "/v1/clusters/{cluster}/reconcile": {
            "post": _op(
                "reconcile: bring the store in line with helm on the cluster (an operation on <cluster>/*/*)",
                {"202": ACCEPTED, **_errors(400, 404, 409, 422, 503)},
                [PATH_CLUSTER],
                _body(RECONCILE_FIELDS),
            )
        },
        "/v1/operations": {
            "get": _op(
                "operations, newest first",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["operations", "next_token"],
                            "properties": {
                                "operations": {"type": "array", "items": {"$ref": "#/components/schemas/Operation"}},
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
                    _param("status", schema={"type": "string", "enum": ["queued", "running", "succeeded", "failed"]}),
                    _param("action", schema={"type": "string", "enum": ACTIONS}),
                    *PAGING,
                ],
            )
        },
        "/v1/operations/{operation_id}": {
            "get": _op(
                "one operation",
                {"200": _json({"$ref": "#/components/schemas/Operation"}), **_errors(404, 503)},
                [_param("operation_id", "path")],
            )
        },
    }
    from chalicelib.api import openapi_admin, openapi_charts  # they build on the helpers above

    paths.update(openapi_charts.paths())
    paths.update(openapi_admin.paths())
    for path, item in paths.items():  # every route but the health check needs credentials (docs/SECURITY.md)
        for op in item.values():
            if path != "/v1/health":
                op["responses"].update(_errors(401, 403))
                op["security"] = [{"sigv4": []}, {"bearer": []}]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Charthouse",
            "version": "1.0.0",
            "description": "Install, upgrade, roll back, list and uninstall Helm releases on many clusters.",
        },
        "paths": paths,
        "components": {
            "schemas": {
                "Error": ERROR,
                "Operation": OPERATION,
                "Release": RELEASE,
                "Revision": REVISION,
                "Cluster": CLUSTER,
                "DryRun": DRY_RUN,
                **openapi_charts.schemas(),
                **openapi_admin.schemas(),
            },
            "securitySchemes": {
                "sigv4": {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "description": "AWS SigV4 (deployed stages: API Gateway's IAM authorizer)",
                },
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a token from POST /v1/tokens (local stages)",
                },
            },
        },
    }
