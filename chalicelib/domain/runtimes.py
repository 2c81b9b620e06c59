"""A runtime: desired releases declared in a source (a Git repository at a revision and path, or inline), a
destination (cluster and namespaces) and how it is kept in sync. The request body is read here, once.

``PUT /v1/runtimes/{name}`` body::

    {"source": {"git": {"url": "https://git.example.com/team/deploy.git", "revision": "main",
                        "path": "envs/dev", "username": "...", "password": "..."}}
             | {"inline": {"releases": [...]}},          # the releases file's shape (gitops.py)
     "destination": {"cluster": "prod", "namespaces": ["shop"]},
     "sync": {"interval": "5m", "prune": true, "drift_correction": false, "suspend": false,
              "webhook_secret": "..."}}

Credentials (``username``/``password``) and the webhook secret go to Secrets Manager; they are never stored in
the table or shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain import fields
from chalicelib.domain import validate as v
from chalicelib.domain.gitops import RELEASE_BODY, RELEASES_FILES
from chalicelib.errors import InvalidInput

MAX_INTERVAL_S = 7 * 24 * 3600
DEFAULT_INTERVAL_S = 300
MAX_NAMESPACES = 50
MAX_URL = 2048
MAX_DESCRIPTION = 256
WEBHOOK_SECRET_LENGTH = (16, 256)
PHASES = ("new", "syncing", "synced", "failed", "error")  # a runtime's status.phase
PLAN_ACTIONS = ("install", "upgrade", "uninstall", "unchanged")  # what a plan says of each release

# The bodies, described once: the parsers below read these tables, the OpenAPI document publishes their schemas.
_URL: fields.Schema = {"type": "string", "maxLength": MAX_URL, "pattern": "^https?://"}
_LABEL: fields.Schema = {"type": "string", "maxLength": v.LABEL_MAX, "pattern": fields.NAME_PATTERN}
GIT_SOURCE_BODY = fields.Body(
    {
        "url": {**_URL, "description": "http(s):// URL of the repository, without credentials"},
        "repository": {**_LABEL, "description": "or: a registered Git repository (its URL and credentials)"},
        "revision": {"type": "string", "maxLength": 255, "description": "a branch, a tag or a commit id; HEAD"},
        "path": {
            "type": "string",
            "maxLength": 1024,
            "description": f"a chart, a releases file ({', '.join(RELEASES_FILES)}) or manifests; default the root",
        },
        "username": {"type": "string", "maxLength": 256},
        "password": {"type": "string", "maxLength": 4096, "description": "or a token; never returned"},
    },
    description="url (and credentials), or repository",
)
INLINE_SOURCE_BODY = fields.Body(
    {"releases": {"type": "array", "items": RELEASE_BODY.schema()}},
    required=("releases",),
    description="the releases file's shape (docs/RUNTIMES.md)",
)
SOURCE_BODY = fields.Body(
    {"git": GIT_SOURCE_BODY.schema(), "inline": INLINE_SOURCE_BODY.schema()},
    description="exactly one of git or inline",
)
DESTINATION_BODY = fields.Body(
    {
        "cluster": {**_LABEL, "description": "a registered cluster"},
        "namespaces": {"type": "array", "minItems": 1, "maxItems": MAX_NAMESPACES, "items": _LABEL},
    },
    required=("cluster", "namespaces"),
)
SYNC_BODY = fields.Body(
    {
        "interval": {
            "oneOf": [fields.STR, {"type": "integer", "minimum": 1, "maximum": MAX_INTERVAL_S}],
            "description": f"seconds or a duration such as '5m'; default {DEFAULT_INTERVAL_S} s",
        },
        "prune": fields.BOOL,
        "drift_correction": fields.BOOL,
        "suspend": fields.BOOL,
        "webhook_secret": {
            "type": "string",
            "minLength": WEBHOOK_SECRET_LENGTH[0],
            "maxLength": WEBHOOK_SECRET_LENGTH[1],
            "description": "the push webhook's HMAC secret; never returned",
        },
    }
)
RUNTIME_BODY = fields.Body(
    {"source": SOURCE_BODY.schema(), "destination": DESTINATION_BODY.schema(), "sync": SYNC_BODY.schema()},
    required=("source", "destination"),
)
GIT_REPOSITORY_BODY = fields.Body(
    {
        "url": {**_URL, "description": "http(s):// URL of the repository, without credentials"},
        "username": {"type": "string", "maxLength": 256},
        "password": {"type": "string", "maxLength": 4096, "description": "or a token; never returned"},
        "description": {"type": "string", "maxLength": MAX_DESCRIPTION},
    },
    required=("url",),
)


@dataclass(frozen=True)
class GitSource:
    url: str  # empty when ``repository`` names a registered Git repository (its URL and credentials)
    revision: str = "HEAD"
    path: str = ""
    repository: str = ""

    def to_json(self) -> dict[str, Any]:
        out = {"url": self.url, "revision": self.revision, "path": self.path}
        if self.repository:
            out["repository"] = self.repository
        return out


@dataclass(frozen=True)
class GitRepositorySpec:
    """``PUT /v1/git-repositories/{name}``: a Git repository runtimes (and Nautes' ``code_repo``) name."""

    name: str
    url: str
    description: str = ""

    @classmethod
    def from_json(cls, name: str, body: dict[str, Any]) -> tuple[GitRepositorySpec, dict[str, str] | None]:
        v.dns_label("repository", name)
        GIT_REPOSITORY_BODY.check(body)
        url = _git_url("url", body.get("url"))
        creds = _credentials("", body.get("username"), body.get("password"))
        return cls(name, url, v.text("description", body.get("description"), MAX_DESCRIPTION) or ""), creds

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "url": self.url, "description": self.description}


@dataclass(frozen=True)
class Destination:
    cluster: str
    namespaces: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "namespaces": list(self.namespaces)}


@dataclass(frozen=True)
class SyncPolicy:
    interval_s: int = DEFAULT_INTERVAL_S
    prune: bool = False
    drift_correction: bool = False
    suspend: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "interval": f"{self.interval_s}s",
            "prune": self.prune,
            "drift_correction": self.drift_correction,
            "suspend": self.suspend,
        }


@dataclass(frozen=True)
class Secrets:
    """What goes to Secrets Manager: Git credentials and the webhook secret (None: keep what is stored)."""

    git: dict[str, str] | None = None
    webhook: str | None = None


@dataclass(frozen=True)
class RuntimeSpec:
    name: str
    destination: Destination
    git: GitSource | None = None
    inline: dict[str, Any] | None = None
    sync: SyncPolicy = field(default_factory=SyncPolicy)
    origin: dict[str, Any] = field(default_factory=dict)  # who declared it (the Nautes shape: product, projects)

    @classmethod
    def from_json(
        cls, name: str, body: dict[str, Any], origin: dict[str, Any] | None = None
    ) -> tuple[RuntimeSpec, Secrets]:
        v.dns_label("name", name)
        RUNTIME_BODY.check(body)
        git, inline, creds = _source(body.get("source"))
        dest = _destination(body.get("destination"))
        sync, webhook = _sync(body.get("sync"))
        return cls(name, dest, git, inline, sync, dict(origin or {})), Secrets(creds, webhook)

    def to_json(self) -> dict[str, Any]:
        source: dict[str, Any] = {"git": self.git.to_json()} if self.git else {"inline": self.inline or {}}
        out = {
            "name": self.name,
            "source": source,
            "destination": self.destination.to_json(),
            "sync": self.sync.to_json(),
        }
        if self.origin:
            out["origin"] = self.origin
        return out

    @classmethod
    def from_stored(cls, doc: dict[str, Any]) -> RuntimeSpec:
        src = doc.get("source") or {}
        git = GitSource(**src["git"]) if src.get("git") else None
        sync = doc.get("sync") or {}
        return cls(
            name=str(doc["name"]),
            destination=Destination(str(doc["destination"]["cluster"]), tuple(doc["destination"]["namespaces"])),
            git=git,
            inline=src.get("inline") if not git else None,
            sync=SyncPolicy(
                int(str(sync.get("interval", f"{DEFAULT_INTERVAL_S}s")).rstrip("s")),
                bool(sync.get("prune")),
                bool(sync.get("drift_correction")),
                bool(sync.get("suspend")),
            ),
            origin=dict(doc.get("origin") or {}),
        )


def _object(name: str, raw: object) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidInput(name, "must be an object")
    return raw


def _source(raw: object) -> tuple[GitSource | None, dict[str, Any] | None, dict[str, str] | None]:
    src = _object("source", raw)
    SOURCE_BODY.check(src, "source.")
    kinds = [k for k in ("git", "inline") if k in src]
    if len(kinds) != 1 or len(src) != 1:
        raise InvalidInput("source", "give exactly one of git or inline")
    if kinds == ["inline"]:
        inline = _object("source.inline", src["inline"])
        INLINE_SOURCE_BODY.check(inline, "source.inline.")
        if not isinstance(inline.get("releases"), list):
            raise InvalidInput("source.inline.releases", "must be a list of releases")
        return None, inline, None
    git = _object("source.git", src["git"])
    GIT_SOURCE_BODY.check(git, "source.git.")
    repository = ""
    if git.get("repository") is not None:
        repository = v.dns_label("source.git.repository", git.get("repository"))
        if any(git.get(k) is not None for k in ("url", "username", "password")):
            raise InvalidInput("source.git.repository", "give a registered repository, or url (and credentials)")
        url = ""
    else:
        url = _git_url("source.git.url", git.get("url"))
    revision = v.text("source.git.revision", git.get("revision"), 255, "HEAD") or "HEAD"
    if any(c.isspace() for c in revision) or revision.startswith("-") or ".." in revision:
        raise InvalidInput("source.git.revision", "must be a branch, a tag or a commit id")
    path = clean_path("source.git.path", git.get("path"))
    creds = _credentials("source.git.", git.get("username"), git.get("password"))
    return GitSource(url, revision, path, repository), None, creds


def _git_url(name: str, url: object) -> str:
    if not isinstance(url, str) or not url.startswith(("https://", "http://")) or len(url) > MAX_URL:
        raise InvalidInput(name, f"must be an http(s):// URL of at most {MAX_URL} characters")
    if "@" in url.split("/", 3)[2] or "?" in url or "#" in url:
        raise InvalidInput(name, "must not carry credentials, a query or a fragment: give username and password")
    return url


def _credentials(prefix: str, user_raw: object, password_raw: object) -> dict[str, str] | None:
    if user_raw is None and password_raw is None:
        return None
    user = v.text(f"{prefix}username", user_raw, 256) or ""
    password = v.text(f"{prefix}password", password_raw, 4096)
    if not password:
        raise InvalidInput(f"{prefix}password", "is required with a username (a token works too)")
    return {"username": user, "password": password}


def clean_path(name: str, raw: object) -> str:
    """A relative path inside the repository: no leading slash, no ``..``; empty is the root."""
    text = (v.text(name, raw, 1024, "") or "").strip().strip("/")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise InvalidInput(name, "must stay inside the repository (no ..)")
    return "/".join(parts)


def _destination(raw: object) -> Destination:
    dest = _object("destination", raw)
    DESTINATION_BODY.check(dest, "destination.")
    cluster = v.dns_label("destination.cluster", dest.get("cluster"))
    names = dest.get("namespaces", [])
    if not isinstance(names, list) or len(names) > MAX_NAMESPACES:
        raise InvalidInput("destination.namespaces", f"must be a list of at most {MAX_NAMESPACES} namespaces")
    checked = tuple(v.dns_label(f"destination.namespaces[{i}]", n) for i, n in enumerate(names))
    if not checked:
        raise InvalidInput("destination.namespaces", "give at least one namespace")
    return Destination(cluster, tuple(dict.fromkeys(checked)))


def _sync(raw: object) -> tuple[SyncPolicy, str | None]:
    sync = _object("sync", raw if raw is not None else {})
    SYNC_BODY.check(sync, "sync.")
    # a lower bound: the schedule's own rate (the reconcile tick) decides how often runtimes are looked at
    interval = v.duration_seconds("sync.interval", sync.get("interval"), MAX_INTERVAL_S, DEFAULT_INTERVAL_S)
    secret = sync.get("webhook_secret")
    low, high = WEBHOOK_SECRET_LENGTH
    if secret is not None and (not isinstance(secret, str) or not low <= len(secret) <= high):
        raise InvalidInput("sync.webhook_secret", f"must be a string of {low} to {high} characters")
    policy = SyncPolicy(
        interval,
        v.boolean("sync.prune", sync.get("prune")),
        v.boolean("sync.drift_correction", sync.get("drift_correction")),
        v.boolean("sync.suspend", sync.get("suspend")),
    )
    return policy, secret
