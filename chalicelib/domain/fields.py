"""Request bodies, each described once: the fields a parser accepts are the fields the contract publishes.

Release verbs: a spec's field table (``INSTALL_FIELDS``, ...) is built with ``declare``, which refuses a name
without a schema here at import time: the parser (``models``) and the published contract (``GET /v1/openapi.json``)
read the same table, so a field can be neither accepted without a schema nor published with a wrong one.

Every other body (clusters, repositories, runtimes, Git repositories, policies, tokens, access keys, the compat
doors' bodies) is a :class:`Body` declared beside the parser that reads it (``core/clusters.py`` ``CLUSTER_BODY``,
``domain/runtimes.py`` ``RUNTIME_BODY``, ...): the parser refuses what the table does not name
(:meth:`Body.check`) and the route publishes :meth:`Body.schema`. The rule that checks a value lives with the
parser (through ``validate``); its message names the field. docs/API.md lists the bodies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from chalicelib.config import MAX_HELM_TIMEOUT_S
from chalicelib.domain import validate as v
from chalicelib.domain.values import DEFAULT_LIMITS as VALUES_LIMITS
from chalicelib.domain.values import MAX_FILE_NAME

Schema = dict[str, Any]

BOOL: Schema = {"type": "boolean"}
STR: Schema = {"type": "string"}
NAME_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DRY_RUN_MODES = ("client", "server")
CASCADE_MODES = ("background", "foreground", "orphan")
RECOVERY_POLICIES = ("rollback", "mark-failed")

TIMEOUT: Schema = {
    "oneOf": [
        {"type": "integer", "minimum": 1, "maximum": MAX_HELM_TIMEOUT_S},
        {"type": "string", "minLength": 1, "pattern": r"^(\d+|(\d+h)?(\d+m)?(\d+s)?)$"},
    ],
    "description": f"seconds, or a duration such as '5m30s'; at most {MAX_HELM_TIMEOUT_S} s",
}
SET_FORM: Schema = {
    "oneOf": [{"type": "object"}, {"type": "array", "items": STR}, STR],
    "description": "{'a.b': value}, ['a.b=value', ...] or 'a.b=value,c=d' (helm --set syntax)",
}


def _flag(description: str) -> Schema:
    return {"type": "boolean", "description": description}


SCHEMAS: dict[str, Schema] = {
    # naming (install)
    "name": {"type": "string", "maxLength": 53, "pattern": NAME_PATTERN},
    "generate_name": _flag("a generated name: <chart>-<unix time>"),
    "name_template": {"type": "string", "maxLength": 256, "description": "a Go template helm renders to the name"},
    # the chart
    "chart": {
        "type": "string",
        "minLength": 1,
        "description": "<repository>/<chart>, uploaded/<chart>, "
        "oci://host/path/chart, or the http(s) URL of a chart archive (.tgz)",
    },
    "version": {"type": "string", "description": "chart version or constraint"},
    "devel": _flag("allow pre-release chart versions"),
    "verify": _flag("verify the chart's provenance with its repository's keyring"),
    "dependency_update": _flag("fetch the chart's dependencies from registered repositories before installing"),
    # values
    "values": {"oneOf": [{"type": "object"}, STR], "description": "an object, or a YAML document"},
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
    "set": SET_FORM,
    "set_string": SET_FORM,
    "set_json": SET_FORM,
    "set_sensitive": {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "description": "helm --set assignments (e.g. 'db.password=...'), applied last; their paths are masked "
        "wherever values are shown (an object or a comma-separated string is read like set, too)",
    },
    "reuse_values": _flag("reuse the last release's values and merge the request's over them"),
    "reset_values": _flag("reset the values to the chart's defaults"),
    "reset_then_reuse_values": _flag("reset to the chart's defaults, then apply the last release's values"),
    # how helm runs
    "dry_run": {"oneOf": [BOOL, {"type": "string", "enum": list(DRY_RUN_MODES)}]},
    "timeout": TIMEOUT,
    "wait": _flag("wait until the release's resources are ready"),
    "wait_for_jobs": _flag("also wait for Jobs to complete (implies wait)"),
    "atomic": _flag("roll back (install: uninstall) when the operation fails (implies wait)"),
    "rollback_on_failure": _flag("helm 4's name for atomic"),
    "disable_hooks": _flag("do not run the chart's hooks"),
    "skip_crds": _flag("do not install the chart's CRDs"),
    "create_namespace": _flag("create the namespace if it does not exist"),
    "render_subchart_notes": _flag("render the subcharts' NOTES.txt too"),
    "replace": _flag("reuse the name of a release that was uninstalled with its history kept"),
    "force": _flag("replace resources that cannot be patched"),
    "cleanup_on_fail": _flag("delete the resources an upgrade created when it fails"),
    "install": _flag("install when the release does not exist (helm upgrade --install)"),
    "description": {"type": "string", "maxLength": 1024},
    "labels": {"type": "object", "additionalProperties": STR},
    "max_history": {"type": "integer", "minimum": 0, "maximum": 1000},
    "drift_correction": _flag("reconcile re-applies the release when its live objects drift"),
    # rollback, uninstall, unlock
    "revision": {"type": "integer", "minimum": 0, "description": "0 or absent: the previous revision"},
    "keep_history": _flag("keep helm's release history (the name stays taken)"),
    "cascade": {"type": "string", "enum": list(CASCADE_MODES)},
    "policy": {"type": "string", "enum": list(RECOVERY_POLICIES)},
}


def declare(*names: str) -> frozenset[str]:
    """A spec's field table; a name without a schema above is a programming error, raised at import time."""
    missing = sorted(n for n in names if n not in SCHEMAS)
    if missing:
        raise LookupError(f"request fields without a schema in domain/fields.py: {', '.join(missing)}")
    return frozenset(names)


def body_schema(names: frozenset[str], required: tuple[str, ...] = ()) -> Schema:
    """The JSON schema of a request body made of ``names`` (no other field is accepted)."""
    schema: Schema = {
        "type": "object",
        "properties": {name: SCHEMAS[name] for name in sorted(names)},
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return schema


# ---------------------------------------------------------------- every other body


def enum(values: type[Enum] | Iterable[str], description: str = "") -> Schema:
    """A string schema whose ``enum`` is the code's own list (a ``str`` Enum's values, or a tuple of names)."""
    names = [m.value for m in values] if isinstance(values, type) and issubclass(values, Enum) else list(values)
    schema: Schema = {"type": "string", "enum": names}
    if description:
        schema["description"] = description
    return schema


@dataclass(frozen=True)
class Body:
    """One request body (or one object inside one), described once.

    ``fields`` maps each accepted name to its JSON schema (a nested object's schema is another ``Body``'s
    :meth:`schema`); ``required`` names those the schema marks required. The parser calls :meth:`check` (an
    unknown name is a 422 naming it) and the route publishes :meth:`schema`, so the two cannot drift.
    """

    fields: Mapping[str, Schema]
    required: tuple[str, ...] = ()
    description: str = ""
    names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", frozenset(self.fields))
        missing = [n for n in self.required if n not in self.fields]
        if missing:
            raise LookupError(f"required fields without a schema: {', '.join(missing)}")

    def check(self, body: dict[str, Any], prefix: str = "", names: Iterable[str] | None = None) -> None:
        """Refuse a name this body does not declare (or, with ``names``, one outside that subset of it, as
        when one form of the body excludes the others' fields), naming it with ``prefix``."""
        known = self.names if names is None else frozenset(names)
        if not known <= self.names:
            raise LookupError(f"not fields of this body: {', '.join(sorted(known - self.names))}")
        v.no_unknown(body, known, prefix)

    def schema(self) -> Schema:
        """The body's JSON schema: its fields, nothing else accepted."""
        out: Schema = {"type": "object"}
        if self.description:
            out["description"] = self.description
        if self.required:
            out["required"] = list(self.required)
        out["properties"] = {name: self.fields[name] for name in self.fields}
        out["additionalProperties"] = False
        return out


MASKING = Body(
    {"keys": {"type": "array", "items": STR}, "paths": {"type": "array", "items": STR}},
    description="masking rules added to the defaults (docs/SECURITY.md): values of these key names wherever "
    "they occur, and these values paths ('db.hosts[0].dsn'), masked in this cluster's or repository's releases",
)
