"""Authorization in one place: whether a principal has a verb on a cluster and namespace.

Policies (``PUT /v1/policies/{name}``, stored in the table) map principal patterns to rules::

    {"principals": ["token:team-a", "arn:aws:sts::123456789012:assumed-role/team-a-*", "group:team-a"],
     "rules": [{"verbs": ["read"], "clusters": ["*"], "namespaces": ["*"]},
               {"verbs": ["install", "upgrade", "rollback"], "clusters": ["prod"], "namespaces": ["team-a-*"]}]}

Patterns are shell-style (``*``, ``?``, ``[...]``), matched case-sensitively. A rule grants its verbs on the
clusters and namespaces its patterns match; ``admin`` grants every verb. Something addressed without a cluster
(or a namespace) needs a rule whose pattern for it is ``*`` — except ``read``, where any rule will do (list
results are then filtered to what the caller may read). ``use`` is the verb of a registered Git repository: a
rule may name the repositories it grants (``"repositories": ["deploy-*"]``, every one when absent), and a
runtime whose source names a repository needs ``use`` of it on each namespace of its destination, for its owner
at every read of the source. Principals matching ``CHARTHOUSE_ADMINS`` may do everything (that is how the first
admin gets in). Which verb each route needs is declared with the route (``api/routes.py``); a route declared
without one is refused.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from chalicelib.adapters.store import Store
from chalicelib.core.auth import Principal
from chalicelib.domain import fields
from chalicelib.domain import validate as v
from chalicelib.errors import Forbidden, InvalidInput, NotFound

VERBS = (
    "read",
    "install",
    "upgrade",
    "rollback",
    "uninstall",
    "test",
    "unlock",
    "reconcile",
    "reveal",
    "charts",
    "use",
    "admin",
)
PUBLIC = "public"  # a route anyone may call, without credentials
# The rules last loaded, and for which principal object: each request authenticates its caller anew (a new
# ``Principal``), so rules loaded for it by the guard are reused by the hall in the same request (one policy read per
# request) and never by a later request, whose principal is another object.
_LOADED: ContextVar[tuple[Principal, list[Rule] | None] | None] = ContextVar("charthouse_rules", default=None)
SELF = "self"  # a route any authenticated caller may call
_PATTERN = re.compile(r"^[A-Za-z0-9*?\[\]!:/._@+=,-]{1,512}$")
MAX_PATTERNS = 100
MAX_RULES = 100
MAX_DESCRIPTION = 256

# ``PUT /v1/policies/{policy}``, described once: Policy.from_json reads it, the OpenAPI document publishes it.
PATTERNS_SCHEMA: fields.Schema = {
    "type": "array",
    "minItems": 1,
    "maxItems": MAX_PATTERNS,
    "items": {"type": "string", "pattern": _PATTERN.pattern},
}
RULE_BODY = fields.Body(
    {
        "verbs": {"type": "array", "minItems": 1, "items": fields.enum(VERBS)},
        "clusters": {**PATTERNS_SCHEMA, "description": "default ['*']"},
        "namespaces": {**PATTERNS_SCHEMA, "description": "default ['*']"},
        "repositories": {
            **PATTERNS_SCHEMA,
            "description": "the registered Git repositories `use` grants (all if absent)",
        },
    },
    required=("verbs",),
)
POLICY_BODY = fields.Body(
    {
        "description": {"type": "string", "maxLength": MAX_DESCRIPTION},
        "principals": PATTERNS_SCHEMA,
        "rules": {"type": "array", "minItems": 1, "maxItems": MAX_RULES, "items": RULE_BODY.schema()},
    },
    required=("principals", "rules"),
)


def _patterns(field: str, raw: object, default: list[str] | None = None) -> tuple[str, ...]:
    if raw is None and default is not None:
        raw = default
    if not isinstance(raw, list) or not raw or len(raw) > MAX_PATTERNS:
        raise InvalidInput(field, f"must be a non-empty list of patterns (at most {MAX_PATTERNS})")
    for item in raw:
        if not isinstance(item, str) or not _PATTERN.match(item):
            raise InvalidInput(field, f"{str(item)[:60]!r} is not a pattern (letters, digits, * ? [ ] : / . _ @ -)")
    return tuple(raw)


@dataclass(frozen=True)
class Rule:
    verbs: tuple[str, ...]
    clusters: tuple[str, ...]
    namespaces: tuple[str, ...]
    repositories: tuple[str, ...] = ("*",)  # the registered Git repositories ``use`` applies to

    @classmethod
    def from_json(cls, raw: object, at: str) -> Rule:
        if not isinstance(raw, dict):
            raise InvalidInput(at, "must be an object with verbs, clusters and namespaces")
        RULE_BODY.check(raw, f"{at}.")
        verbs = raw.get("verbs")
        if not isinstance(verbs, list) or not verbs or any(x not in VERBS for x in verbs):
            raise InvalidInput(f"{at}.verbs", f"must be a non-empty list of {', '.join(VERBS)}")
        return cls(
            tuple(verbs),
            _patterns(f"{at}.clusters", raw.get("clusters"), ["*"]),
            _patterns(f"{at}.namespaces", raw.get("namespaces"), ["*"]),
            _patterns(f"{at}.repositories", raw.get("repositories"), ["*"]),
        )

    def grants(self, verb: str, cluster: str | None, namespace: str | None, repository: str | None = None) -> bool:
        if verb not in self.verbs and "admin" not in self.verbs:
            return False
        if repository is not None and not any(fnmatchcase(repository, p) for p in self.repositories):
            return False
        return _scope(self.clusters, cluster, verb) and _scope(self.namespaces, namespace, verb)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "verbs": list(self.verbs),
            "clusters": list(self.clusters),
            "namespaces": list(self.namespaces),
        }
        if self.repositories != ("*",):
            out["repositories"] = list(self.repositories)
        return out


def _scope(patterns: tuple[str, ...], value: str | None, verb: str) -> bool:
    if value is None:
        return verb == "read" or "*" in patterns
    return any(fnmatchcase(value, p) for p in patterns)


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    principals: tuple[str, ...]
    rules: tuple[Rule, ...]

    @classmethod
    def from_json(cls, name: str, body: dict[str, Any]) -> Policy:
        v.dns_label("policy", name)
        POLICY_BODY.check(body)
        rules = body.get("rules")
        if not isinstance(rules, list) or not rules or len(rules) > MAX_RULES:
            raise InvalidInput("rules", f"must be a non-empty list of rules (at most {MAX_RULES})")
        return cls(
            name,
            v.text("description", body.get("description"), MAX_DESCRIPTION) or "",
            _patterns("principals", body.get("principals")),
            tuple(Rule.from_json(r, f"rules[{i}]") for i, r in enumerate(rules)),
        )

    def applies_to(self, principal: Principal) -> bool:
        return any(fnmatchcase(n, p) for n in principal.names for p in self.principals)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "principals": list(self.principals),
            "rules": [r.to_json() for r in self.rules],
        }


class Authorizer:
    """Decides with the stored policies and the configured admins."""

    def __init__(self, store: Store, admins: tuple[str, ...]) -> None:
        self._store = store
        self._admins = admins

    # ------------------------------------------------------------ policies

    def put(self, policy: Policy) -> bool:
        created = self._store.get_policy(policy.name) is None
        self._store.put_policy(policy.name, policy.to_json())
        return created

    def get(self, name: str) -> Policy:
        entry = self._store.get_policy(v.dns_label("policy", name))
        if entry is None:
            raise NotFound(f"policy {name} not found")
        return Policy.from_json(name, {k: entry[k] for k in ("principals", "rules", "description")})

    def all(self) -> list[Policy]:
        return [
            Policy.from_json(e["name"], {k: e[k] for k in ("principals", "rules", "description")})
            for e in self._store.list_policies()
        ]

    def delete(self, name: str) -> None:
        self.get(name)
        self._store.delete_policy(name)

    # ------------------------------------------------------------ decisions

    def rules_for(self, principal: Principal) -> list[Rule] | None:
        """The rules that apply to ``principal``; None means an admin (everything). Read once per request: the
        same principal object (the request's authenticated caller) gets the rules already loaded for it."""
        if any(fnmatchcase(n, p) for n in principal.names for p in self._admins):
            return None
        loaded = _LOADED.get()
        if loaded is not None and loaded[0] is principal:
            return loaded[1]
        rules = [rule for policy in self.all() if policy.applies_to(principal) for rule in policy.rules]
        _LOADED.set((principal, rules))
        return rules

    def allowed(
        self,
        principal: Principal,
        verb: str,
        cluster: str | None = None,
        namespace: str | None = None,
        rules: list[Rule] | None = None,
        repository: str | None = None,
    ) -> bool:
        if verb == SELF:
            return True
        rules = self.rules_for(principal) if rules is None else rules
        return rules is None or any(r.grants(verb, cluster, namespace, repository) for r in rules)

    def require(
        self,
        principal: Principal,
        verb: str,
        cluster: str | None = None,
        namespace: str | None = None,
        repository: str | None = None,
    ) -> None:
        if not self.allowed(principal, verb, cluster, namespace, repository=repository):
            raise refusal(principal, verb, cluster, namespace, repository)

    def reader(self, principal: Principal) -> Visibility:
        """What ``principal`` may read, for filtering lists (one policy lookup per request)."""
        return Visibility(self.rules_for(principal))


@dataclass(frozen=True)
class Visibility:
    rules: list[Rule] | None  # None: an admin

    def can_read(self, cluster: str, namespace: str | None = None) -> bool:
        return self.may("read", cluster, namespace)

    def may(self, verb: str, cluster: str | None = None, namespace: str | None = None) -> bool:
        """Whether the principal has ``verb`` there (``SELF``: any authenticated principal)."""
        if self.rules is None or verb == SELF:
            return True
        return any(r.grants(verb, cluster, namespace) for r in self.rules)


def refusal(
    principal: Principal, verb: str, cluster: str | None, namespace: str | None, repository: str | None = None
) -> Forbidden:
    """The refusal of ``verb`` on a cluster and namespace (as the request named them), and on a registered Git
    repository for ``use``, naming the permission."""
    named = (("repository", repository), ("cluster", cluster), ("namespace", namespace))
    where = " ".join(f"{k} {val}" for k, val in named if val)
    details = {"repository": repository} if repository is not None else {}
    return Forbidden(
        f"{principal.id} may not {verb}" + (f" on {where}" if where else ""),
        permission=verb,
        cluster=cluster,
        namespace=namespace,
        **details,
    )
