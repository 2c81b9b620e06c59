"""JSON schemas of the HTTP API: building blocks, the components, and the helpers that describe responses.

Routes describe themselves with these (``routes.route``); ``openapi.spec`` assembles the document. Request bodies
are declared once, beside the parser that reads them (``domain/fields.py`` says where); the ``*_PUT``/``*_POST``
names here are those tables' schemas. Every ``enum`` comes from the code's own list (``fields.enum``).
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.access_keys import DEFAULT_DAYS, MAX_DAYS
from chalicelib.core.audit import RESULTS as AUDIT_RESULTS
from chalicelib.core.authz import PATTERNS_SCHEMA, POLICY_BODY, RULE_BODY
from chalicelib.core.clusters import CLUSTER_BODY, ClusterAuth
from chalicelib.core.repositories import REPOSITORY_BODY, REPOSITORY_TYPES
from chalicelib.domain import diagnosis, diff, fields
from chalicelib.domain.fields import BOOL, NAME_PATTERN, STR
from chalicelib.domain.models import LIST_ORDERS, LIST_SORTS, STATUS_FILTERS, Action, OperationStatus, ReleaseStatus
from chalicelib.domain.namefilter import MAX_PATTERN

S = dict[str, Any]
ACTIONS = [a.value for a in Action]
OPERATION_STATUSES = [s.value for s in OperationStatus]
DIFF_ACTIONS = (Action.INSTALL.value, Action.UPGRADE.value, Action.ROLLBACK.value)  # what a diff can preview
INT: S = {"type": "integer"}
OBJECT: S = {"type": "object"}
DELETED: S = {"description": "deleted"}

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
_NSTR: S = {"type": "string", "nullable": True}
_STATUS: S = fields.enum(diagnosis.STATUSES)
OBJECT_STATUS: S = {
    "type": "object",
    "required": ["kind", "name", "status", "message"],
    "properties": {"kind": STR, "name": STR, "namespace": STR, "status": _STATUS, "message": STR, "hook": STR},
}
CONTAINER_STATUS: S = {
    "type": "object",
    "required": ["name", "ready", "state", "restarts"],
    "properties": {
        "name": STR,
        "init": BOOL,
        "ready": BOOL,
        "state": fields.enum(diagnosis.CONTAINER_STATES),
        "reason": _NSTR,
        "exit_code": {"type": "integer", "nullable": True},
        "restarts": INT,
        "message": _NSTR,
    },
}
POD_STATUS: S = {
    "type": "object",
    "required": ["name", "phase", "containers", "conditions"],
    "properties": {
        "name": STR,
        "phase": STR,
        "node": _NSTR,
        "ready": BOOL,
        "owner": STR,
        "containers": {"type": "array", "items": CONTAINER_STATUS},
        "conditions": {
            "type": "array",
            "description": "the Pod's conditions that are not True (PodScheduled=False carries the scheduler's message)",
            "items": {
                "type": "object",
                "properties": {"type": STR, "status": STR, "reason": _NSTR, "message": _NSTR},
            },
        },
    },
}
DIAGNOSIS: S = {
    "type": "object",
    "description": "why a failed install, upgrade, rollback or test failed, read from the cluster right after helm "
    "returned (docs/CLI.md, README): a one-line summary, the release's objects, its Pods that are not ready, the "
    "latest Warning events about them, its hooks; at most 64 KB; no Secret data, environment value or command line",
    "required": ["summary", "resources", "pods", "events", "hooks"],
    "properties": {
        "summary": STR,
        "revision": {"type": "integer", "nullable": True},
        "release_status": _NSTR,
        "observed_at": STR,
        "note": STR,
        "error": {"type": "string", "description": "what could not be read from the cluster, and why"},
        "truncated": BOOL,
        "resources": {"type": "array", "items": OBJECT_STATUS},
        "pods": {"type": "array", "items": POD_STATUS},
        "events": {
            "type": "array",
            "maxItems": 20,
            "items": {
                "type": "object",
                "required": ["reason", "message", "object", "count"],
                "properties": {"reason": STR, "message": STR, "object": STR, "count": INT, "last_seen": _NSTR},
            },
        },
        "hooks": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["kind", "name", "events", "phase", "status"],
                "properties": {
                    "kind": STR,
                    "name": STR,
                    "events": {"type": "array", "items": STR},
                    "phase": STR,
                    "status": _STATUS,
                    "message": STR,
                    "pods": {"type": "array", "items": POD_STATUS},
                },
            },
        },
    },
}
PROGRESS: S = {
    "type": "object",
    "description": "a running operation's progress, refreshed while helm waits: what helm is doing, how many of the "
    "release's objects are ready (overall and by kind), and the ones that are not, with their message",
    "required": ["phase", "ready", "total", "by_kind", "not_ready"],
    "properties": {
        "phase": fields.enum(diagnosis.PHASES),
        "revision": {"type": "integer", "nullable": True},
        "ready": INT,
        "total": INT,
        "by_kind": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["ready", "total"],
                "properties": {"ready": INT, "total": INT},
            },
        },
        "not_ready": {"type": "array", "maxItems": 10, "items": OBJECT_STATUS},
        "observed_at": STR,
    },
}
OPERATION_ERROR: S = {
    "type": "object",
    "nullable": True,
    "properties": {
        "code": STR,
        "message": STR,
        "details": {"type": "object", "properties": {"diagnosis": {"$ref": "#/components/schemas/Diagnosis"}}},
    },
}
OPERATION: S = {
    "type": "object",
    "required": ["id", "action", "status", "release", "created_at", "updated_at"],
    "properties": {
        "id": STR,
        "action": fields.enum(Action),
        "status": fields.enum(OperationStatus),
        "release": REF,
        "created_at": STR,
        "updated_at": STR,
        "started_at": NULLABLE_STR,
        "finished_at": NULLABLE_STR,
        "request": {"type": "object"},
        "result": {"type": "object", "nullable": True},
        "error": OPERATION_ERROR,
        "progress": {"$ref": "#/components/schemas/Progress"},
    },
}
RELEASE: S = {
    "type": "object",
    "required": ["cluster", "namespace", "name", "status", "revision", "chart", "chart_version", "app_version"],
    "properties": {
        "cluster": STR,
        "namespace": STR,
        "name": STR,
        "status": fields.enum(ReleaseStatus),
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
                            "state": fields.enum(diff.DRIFT_STATES),
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
MASKING: S = fields.MASKING.schema()
CLUSTER: S = {
    "type": "object",
    "required": ["name", "auth", "server", "created_at", "updated_at"],
    "properties": {
        "name": STR,
        "auth": fields.enum(ClusterAuth),
        "server": STR,
        "description": STR,
        "created_at": STR,
        "updated_at": STR,
        "eks": {"type": "object"},
        "masking": MASKING,
        "reachable": BOOL,
        "server_version": NULLABLE_STR,
        "unreachable_reason": STR,
    },
}
CLUSTER_PUT: S = CLUSTER_BODY.schema()  # core/clusters.py reads the same table
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


def json_response(schema: S, description: str = "OK") -> S:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def yaml_or_json(schema: S, description: str = "OK") -> S:
    """A response as JSON, or as YAML text with ``?output=yaml``."""
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}, "application/yaml": {"schema": STR}},
    }


def errors(*codes: int) -> dict[str, S]:
    names = {
        400: "malformed request",
        401: "no or unknown credentials",
        403: "not allowed (details.permission)",
        404: "not found",
        409: "conflict or locked",
        412: "a precondition (If-Match, If-None-Match) no longer holds; nothing was changed",
        413: "too large",
        415: "the body must be application/json",
        422: "invalid field",
        502: "cluster or helm failed",
        503: "a dependency is unavailable",
    }
    return {str(c): json_response({"$ref": "#/components/schemas/Error"}, names[c]) for c in codes}


def param(name: str, where: str = "query", schema: S = STR, required: bool = False, desc: str = "") -> S:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema, "description": desc}


IDEMPOTENCY_KEY: S = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,128}$"},
    "description": "the same key and request return the same operation; another request: 422",
}


IF_MATCH: S = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "schema": STR,
    "description": "the release's ETag (GET the release) or *: 412 PreconditionFailed, nothing changed, when the "
    "release is no longer in that state",
}
IF_NONE_MATCH: S = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": "^[*]$"},
    "description": "*: install only if the release does not exist (412 PreconditionFailed otherwise)",
}
ETAG_HEADER: S = {"ETag": {"schema": STR, "description": "the release's state: changes with every revision and status"}}
PREFER: S = {
    "name": "Prefer",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": "wait=[0-9]+"},
    "description": "wait=N (at most 25): answer 200 (201 for an install that succeeded) with the finished "
    "operation when it ends within N seconds; otherwise 202 as usual. When the request's helm timeout + 5 s fits "
    "in N, the operation runs in the request itself (no queue).",
}


def finished(other: S | None) -> S:
    """The answer of an operation that ended within ``Prefer: wait`` (beside ``other``, a dry run's, if any)."""
    schema = ref("FinishedOperation")
    if other is not None:
        schema = {"anyOf": [other["content"]["application/json"]["schema"], schema]}
    return json_response(schema, "ended within Prefer: wait" + (f", or {other['description']}" if other else ""))


_LABEL: S = {"type": "string", "pattern": NAME_PATTERN, "maxLength": 63}
PATH_PARAMS: dict[str, S] = {  # every {parameter} a route path may hold
    "cluster": param("cluster", "path", _LABEL),
    "namespace": param("namespace", "path", _LABEL),
    "name": param("name", "path", {"type": "string", "pattern": NAME_PATTERN, "maxLength": 53}),
    "repository": param("repository", "path", _LABEL),
    "chart": param("chart", "path", {"type": "string", "maxLength": 100}),
    "policy": param("policy", "path", _LABEL),
    "token": param("token", "path"),
    "operation_id": param("operation_id", "path"),
    "version": param("version", "path", {"type": "string", "pattern": "^[0-9a-f]{16}$"}),
    "asset": param("asset", "path", {"type": "string", "pattern": "^[a-z0-9-]+[.][a-z]+$"}),
    "revision": param("revision", "path", {"type": "string", "pattern": "^[0-9]{1,9}$"}),
    "access_key": param("access_key", "path"),
    "cluster_id": param("cluster_id", "path", {"type": "string", "maxLength": 64}),
    "chart_id": param("chart_id", "path", {"type": "string", "maxLength": 64}),
    "runtime": param("runtime", "path", _LABEL),
    "product": param("product", "path", _LABEL),
}
PAGING = [
    param("limit", schema={"type": "integer", "minimum": 1, "maximum": 1000}),
    param("next_token", desc="opaque token from the previous page"),
]
LIST_FILTERS = [
    param("status", desc=f"comma-separated: {', '.join(STATUS_FILTERS)}; default all but uninstalled"),
    param("name", desc="exact release name"),
    param("search", desc="substring of the release name"),
    param("chart", desc="chart name"),
    param(
        "filter",
        schema={"type": "string", "maxLength": MAX_PATTERN},
        desc="a regular expression the name matches (helm list --filter; no back references or look-arounds)",
    ),
    param("sort", schema=fields.enum(LIST_SORTS), desc="default: cluster, namespace, name"),
    param("order", schema=fields.enum(LIST_ORDERS), desc="with sort; default asc"),
    *PAGING,
]
RELEASE_LIST = json_response(
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


# ---------------------------------------------------------------- repositories and charts

AUTH: S = {"type": "object", "properties": {k: BOOL for k in ("basic", "token", "client_certificate", "ca_bundle")}}
REPOSITORY: S = {
    "type": "object",
    "required": ["name", "url", "type", "auth", "index"],
    "properties": {
        "name": STR,
        "url": NULLABLE_STR,
        "type": fields.enum(REPOSITORY_TYPES),
        "description": STR,
        "auth": AUTH,
        "keyring": BOOL,
        "insecure_skip_tls_verify": BOOL,
        "pass_credentials": BOOL,
        "plain_http": BOOL,
        "masking": MASKING,
        "created_at": NULLABLE_STR,
        "updated_at": NULLABLE_STR,
        "index": {
            "type": "object",
            "nullable": True,
            "properties": {"refreshed_at": NULLABLE_STR, "charts": INT, "versions": INT, "digest": STR},
        },
    },
}
REPOSITORY_PUT: S = REPOSITORY_BODY.schema()  # core/repositories.py reads the same table
CHART: S = {
    "type": "object",
    "required": ["repository", "name", "version", "ref"],
    "properties": {
        "repository": STR,
        "name": STR,
        "version": STR,
        "ref": STR,
        "app_version": NULLABLE_STR,
        "description": NULLABLE_STR,
        "deprecated": BOOL,
        "created": NULLABLE_STR,
        "keywords": {"type": "array"},
        "digest": STR,
        "size": INT,
        "files": INT,
        "uploaded_at": NULLABLE_STR,
    },
}
CHART_SHOW: S = {
    "type": "object",
    "required": ["repository", "name", "version", "digest"],
    "properties": {
        "repository": STR,
        "name": STR,
        "version": STR,
        "digest": STR,
        "chart": {"type": "object"},
        "values": {"oneOf": [STR, {"type": "object"}], "description": "text; an object with format=json"},
        "readme": STR,
        "crds": {"type": "array", "items": {"type": "object", "required": ["path", "content"]}},
        "schema": {"type": "string", "description": "the text of values.schema.json (empty when there is none)"},
    },
}
ARCHIVE_TYPES = ("application/gzip", "application/x-gzip", "application/octet-stream", "application/x-tar")
CHART_UPLOAD: S = {  # the request body of POST /v1/charts: the archive itself, or {"upload_id"} after a presigned PUT
    "required": True,
    "content": {
        **{
            t: {"schema": {"type": "string", "format": "binary"}}
            for t in ("application/gzip", "application/octet-stream")
        },
        "application/json": {"schema": {"type": "object", "required": ["upload_id"], "properties": {"upload_id": STR}}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "description": "the archive in one field: chart, content or file",
                "properties": {k: {"type": "string", "format": "binary"} for k in ("chart", "content", "file")},
            }
        },
    },
}
UPLOAD_SLOT: S = {
    "type": "object",
    "required": ["upload_id", "url", "method", "headers", "expires_at", "max_bytes"],
    "properties": {
        "upload_id": STR,
        "url": {"type": "string", "description": "presigned: keep it private"},
        "method": STR,
        "headers": {"type": "object"},
        "expires_at": STR,
        "max_bytes": INT,
    },
}

# ---------------------------------------------------------------- access control

PATTERNS: S = PATTERNS_SCHEMA
RULE: S = RULE_BODY.schema()
POLICY: S = {
    "type": "object",
    "required": ["name", "principals", "rules"],
    "properties": {"name": STR, "description": STR, "principals": PATTERNS, "rules": {"type": "array", "items": RULE}},
}
POLICY_PUT: S = POLICY_BODY.schema()  # core/authz.py reads the same table
WHOAMI: S = {
    "type": "object",
    "required": ["id", "kind", "admin", "rules"],
    "properties": {"id": STR, "kind": STR, "groups": {"type": "array"}, "admin": BOOL, "rules": {"type": "array"}},
}
TOKEN_ITEM: S = {"type": "object", "required": ["name"], "properties": {"name": STR, "created_at": STR}}
ACCESS_KEY_ITEM: S = {
    "type": "object",
    "required": ["id", "owner", "created_at"],
    "properties": {
        "id": STR,
        "owner": STR,
        "description": STR,
        "created_at": {"type": "string", "nullable": True},
        "expires_at": {"type": "string", "description": "when the key stops working"},
        "expired": {"type": "boolean"},
    },
}
ACCESS_KEY_CREATED: S = {
    "type": "object",
    "required": ["id", "owner", "access_key", "secret_key"],
    "properties": {**ACCESS_KEY_ITEM["properties"], "access_key": STR, "secret_key": STR},
}
# POST /v1/access-keys and POST /v1/tokens, described once: api/admin.py checks the body with these tables
ACCESS_KEY_BODY = fields.Body(
    {
        "description": {"type": "string", "maxLength": 256},
        "expires_in_days": {"type": "integer", "minimum": 1, "maximum": MAX_DAYS, "default": DEFAULT_DAYS},
    }
)
ACCESS_KEY_POST: S = ACCESS_KEY_BODY.schema()
TOKEN_CREATED: S = {"type": "object", "required": ["name", "token"], "properties": {"name": STR, "token": STR}}
TOKEN_BODY = fields.Body(
    {"name": {"type": "string", "pattern": NAME_PATTERN, "maxLength": 63, "description": "a DNS label"}},
    required=("name",),
)
TOKEN_POST: S = TOKEN_BODY.schema()
AUDIT_RESULT: S = fields.enum(AUDIT_RESULTS)
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
        "result": AUDIT_RESULT,
        "operation_id": STR,
        "error_code": STR,
        "reason": {"type": "string", "description": "why it was refused or failed"},
        "source_ip": STR,
        "user_agent": STR,
    },
}

FINISHED_OPERATION: S = {
    "allOf": [
        {"$ref": "#/components/schemas/Operation"},
        {
            "type": "object",
            "required": ["record"],
            "properties": {"record": {"allOf": [{"$ref": "#/components/schemas/Release"}], "nullable": True}},
        },
    ]
}

DIFF_OBJECT: S = {
    "type": "object",
    "required": ["api_version", "kind", "name", "change", "hook"],
    "properties": {
        "api_version": STR,
        "kind": STR,
        "name": STR,
        "namespace": STR,
        "source": STR,
        "hook": BOOL,
        "change": fields.enum(diff.CHANGES),
        "diff": {"type": "string", "description": "unified diff of the object's YAML; Secret data masked"},
    },
}
DIFF: S = {
    "type": "object",
    "required": ["release", "action", "from_revision", "summary", "objects"],
    "properties": {
        "release": REF,
        "action": fields.enum(DIFF_ACTIONS),
        "from_revision": INT,
        "to_revision": INT,
        "summary": {"type": "object", "additionalProperties": INT},
        "objects": {"type": "array", "items": DIFF_OBJECT},
        "plan": {
            "type": "object",
            "description": 'apply exactly this request with {"plan": id} (PUT the release, or POST rollback)',
            "required": ["id", "expires_at"],
            "properties": {"id": STR, "expires_at": STR},
        },
        "values": {
            "type": "object",
            "description": "the three-way values view, masked unless revealed (chart_defaults: null for a rollback)",
            "required": ["chart_defaults", "deployed", "proposed"],
            "properties": {
                "chart_defaults": {"type": "object", "nullable": True},
                "deployed": OBJECT,
                "proposed": OBJECT,
            },
        },
    },
}
PLAN_BODY: S = {
    "type": "object",
    "description": "apply the request a diff planned, exactly, or be refused (409 PlanStale, 404 PlanNotFound)",
    "required": ["plan"],
    "properties": {"plan": {"type": "string", "description": "plan.id of a diff's answer"}},
    "additionalProperties": False,
}

COMPONENTS: dict[str, S] = {
    "Error": ERROR,
    "Operation": OPERATION,
    "FinishedOperation": FINISHED_OPERATION,
    "Diagnosis": DIAGNOSIS,
    "Progress": PROGRESS,
    "Release": RELEASE,
    "Revision": REVISION,
    "Cluster": CLUSTER,
    "DryRun": DRY_RUN,
    "Diff": DIFF,
    "Repository": REPOSITORY,
    "Chart": CHART,
    "ChartShow": CHART_SHOW,
    "UploadSlot": UPLOAD_SLOT,
    "Policy": POLICY,
    "AuditEntry": AUDIT_ENTRY,
}


def ref(component: str) -> S:
    """A reference to one of ``COMPONENTS``."""
    if component not in COMPONENTS:
        raise LookupError(f"no schema component {component}")
    return {"$ref": f"#/components/schemas/{component}"}


def listing(key: str, items: S, paged: bool = False) -> S:
    """A 200 answer ``{key: [items...]}`` (+ ``next_token`` when paged)."""
    props: S = {key: {"type": "array", "items": items}}
    if paged:
        props["next_token"] = NULLABLE_STR
    return json_response({"type": "object", "required": sorted(props), "properties": props})
