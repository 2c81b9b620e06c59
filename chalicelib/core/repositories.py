"""Chart repositories: HTTP(S) repositories with an ``index.yaml``, and OCI registries.

The public part of a repository (URL, options, which kinds of credentials it has, index statistics) is stored in
the table; its credentials (password, token, client key and certificate, CA bundle, keyring) in Secrets Manager,
and they are never returned. An HTTP repository's index is fetched when the repository is added and on refresh,
parsed once, and cached (``Blobs``: S3 in AWS, a directory locally), so installs and searches never refetch it.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import ssl
import time
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from chalicelib.adapters.blobs import Blobs
from chalicelib.adapters.http import guard as netguard
from chalicelib.adapters.http.fetch import Access, RemoteNotFound, fetch, safe_url
from chalicelib.adapters.store import Store
from chalicelib.adapters.vault import Vault
from chalicelib.config import CREDENTIAL_CACHE_S
from chalicelib.core import metacache
from chalicelib.domain import chartindex, fields, redact
from chalicelib.domain import validate as v
from chalicelib.domain.models import iso, now
from chalicelib.errors import CharthouseError, InvalidInput, RepositoryNotFound

log = logging.getLogger(__name__)

UPLOADED = "uploaded"  # the built-in repository of uploaded charts
RUNTIME = "runtime"  # charts runtimes build from Git (``uploads.RuntimeCharts``): no repository may take the name
RESERVED = frozenset({UPLOADED, RUNTIME})
SECRET_FIELDS = ("username", "password", "token", "client_certificate", "client_key", "ca_bundle", "keyring")
REPOSITORY_TYPES = ("http", "oci", UPLOADED)  # an index over HTTP(S), an OCI registry, the uploaded charts
MAX_SECRET = 65536
MAX_DESCRIPTION = 256


def _described(schema: fields.Schema, description: str) -> fields.Schema:
    return {**schema, "description": description}


_SECRET: fields.Schema = {"type": "string", "maxLength": MAX_SECRET}
# ``PUT /v1/repositories/{repository}``, described once: RepositorySpec.from_json reads it, the OpenAPI document
# publishes it.
REPOSITORY_BODY = fields.Body(
    {
        "url": _described(fields.STR, "https://... (a repository with index.yaml) or oci://host/path (a registry)"),
        "description": {"type": "string", "maxLength": MAX_DESCRIPTION, "description": "free text"},
        "username": _described(_SECRET, "basic auth (with password)"),
        "password": _described(_SECRET, "basic auth (with username); never returned"),
        "token": _described(_SECRET, "bearer token; never returned"),
        "client_certificate": _described(_SECRET, "PEM, for mutual TLS (with client_key)"),
        "client_key": _described(_SECRET, "PEM private key; never returned"),
        "ca_bundle": _described(_SECRET, "PEM CA bundle to trust"),
        "keyring": _described(_SECRET, "base64 of a GnuPG public keyring (gpg --export) to verify signed charts with"),
        "insecure_skip_tls_verify": _described(fields.BOOL, "do not verify the server's certificate"),
        "pass_credentials": _described(fields.BOOL, "send credentials to chart URLs on other hosts too"),
        "plain_http": _described(fields.BOOL, "OCI registries served over plain HTTP"),
        "masking": fields.MASKING.schema(),
    },
    required=("url",),
)
REPO_FIELDS = REPOSITORY_BODY.names
MAX_INDEX_BYTES = 64 << 20
MAX_KEYRING_BYTES = 1 << 20
FETCH_TIMEOUT_S = 20.0
_OCI = re.compile(r"^oci://[A-Za-z0-9.\-\[\]:]+(:\d{1,5})?(/[A-Za-z0-9._\-/]*)?$")
_PRIVATE_KEY = re.compile(r"-----BEGIN ([A-Z]+ )?PRIVATE KEY-----")


@dataclass(frozen=True)
class RepositorySpec:
    """A validated PUT /v1/repositories/{name} body; ``secret`` holds the credentials."""

    name: str
    url: str
    kind: str  # http | oci
    description: str
    insecure_skip_tls_verify: bool
    pass_credentials: bool
    plain_http: bool
    secret: dict[str, str] = field(default_factory=dict)
    masking: redact.Masking = redact.NO_MASKING  # added masking rules for releases of this repository's charts

    @classmethod
    def from_json(cls, name: str, body: dict[str, Any], allow_http: bool) -> RepositorySpec:
        v.dns_label("repository", name)
        if name in RESERVED:
            raise InvalidInput(
                "repository", f"{name} is reserved for {'uploaded' if name == UPLOADED else 'runtime'} charts"
            )
        REPOSITORY_BODY.check(body)
        url, kind = _url(body.get("url"), allow_http)
        secret: dict[str, str] = {}
        for key in SECRET_FIELDS:
            raw = body.get(key)
            if raw is None or raw == "":
                continue
            if not isinstance(raw, str) or len(raw) > MAX_SECRET:
                raise InvalidInput(key, "must be a string of at most 64 KiB")
            secret[key] = raw
        _check_credentials(secret)
        plain_http = v.boolean("plain_http", body.get("plain_http"))
        if plain_http and kind != "oci":
            raise InvalidInput("plain_http", "applies to OCI registries only (an http:// URL says it for the others)")
        if plain_http and not allow_http:
            raise InvalidInput("plain_http", "plain HTTP is not allowed on this stage")
        spec = cls(
            name=name,
            url=url,
            kind=kind,
            description=v.text("description", body.get("description"), MAX_DESCRIPTION) or "",
            insecure_skip_tls_verify=v.boolean("insecure_skip_tls_verify", body.get("insecure_skip_tls_verify")),
            pass_credentials=v.boolean("pass_credentials", body.get("pass_credentials")),
            plain_http=plain_http,
            secret=secret,
            masking=redact.Masking.from_json(body.get("masking")),
        )
        try:
            spec.access().ssl_context()
        except (ssl.SSLError, ValueError) as exc:
            field_name = "ca_bundle" if "ca_bundle" in secret and "client_key" not in secret else "client_certificate"
            raise InvalidInput(field_name, "could not be loaded as PEM (certificate, key, or bundle)") from exc
        return spec

    def access(self) -> Access:
        return _access(self.url, self.secret, self.insecure_skip_tls_verify, self.pass_credentials)


def _url(raw: object, allow_http: bool) -> tuple[str, str]:
    if not isinstance(raw, str) or not raw or len(raw) > v.MAX_URL or any(c.isspace() for c in raw):
        raise InvalidInput("url", "is required: the repository URL (https://... or oci://...)")
    url = raw.rstrip("/")
    if url.startswith("oci://"):
        if not _OCI.match(url):
            raise InvalidInput("url", "must be oci://host[:port]/path without credentials or query")
        return url, "oci"
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise InvalidInput("url", f"must be an {' or '.join(s + '://' for s in schemes)} or oci:// URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise InvalidInput("url", "must not carry credentials, a query or a fragment: use the credential fields")
    return url, "http"


def _check_credentials(secret: dict[str, str]) -> None:
    if ("username" in secret) != ("password" in secret):
        raise InvalidInput("username" if "password" in secret else "password", "username and password go together")
    if "token" in secret and "username" in secret:
        raise InvalidInput("token", "give either a bearer token or username and password, not both")
    if ("client_certificate" in secret) != ("client_key" in secret):
        missing = "client_key" if "client_certificate" in secret else "client_certificate"
        raise InvalidInput(missing, "client_certificate and client_key go together")
    for key in ("client_certificate", "ca_bundle"):
        if key in secret and "-----BEGIN CERTIFICATE-----" not in secret[key]:
            raise InvalidInput(key, "must be PEM (-----BEGIN CERTIFICATE-----)")
    if "client_key" in secret and not _PRIVATE_KEY.search(secret["client_key"]):
        raise InvalidInput("client_key", "must be a PEM private key")
    if "token" in secret and any(c.isspace() for c in secret["token"]):
        raise InvalidInput("token", "must not contain spaces")
    if "keyring" in secret:
        try:
            ring = base64.b64decode(secret["keyring"], validate=True)
        except binascii.Error as exc:
            raise InvalidInput("keyring", "must be the base64 of a GnuPG public keyring (gpg --export)") from exc
        if not ring or len(ring) > MAX_KEYRING_BYTES:
            raise InvalidInput("keyring", f"must be a non-empty keyring of at most {MAX_KEYRING_BYTES} bytes")


def _access(url: str, secret: dict[str, str], insecure: bool, pass_credentials: bool) -> Access:
    return Access(
        url=url,
        username=secret.get("username"),
        password=secret.get("password"),
        token=secret.get("token"),
        client_certificate=secret.get("client_certificate"),
        client_key=secret.get("client_key"),
        ca_bundle=secret.get("ca_bundle"),
        insecure_skip_tls_verify=insecure,
        pass_credentials=pass_credentials,
    )


@dataclass(frozen=True)
class Repository:
    """A registered repository as stored and shown: no credentials, only which kinds it has."""

    name: str
    url: str
    kind: str
    description: str
    insecure_skip_tls_verify: bool
    pass_credentials: bool
    plain_http: bool
    credentials: tuple[str, ...]  # names of the stored credential fields
    secret_id: str | None
    created_at: float
    updated_at: float
    index: dict[str, Any] | None = None  # refreshed_at, charts, versions, digest
    masking: redact.Masking = redact.NO_MASKING  # added masking rules (redact.py)

    def to_item(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "kind": self.kind,
            "description": self.description,
            "insecure_skip_tls_verify": self.insecure_skip_tls_verify,
            "pass_credentials": self.pass_credentials,
            "plain_http": self.plain_http,
            "credentials": list(self.credentials),
            "secret_id": self.secret_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "index": self.index,
            "masking": self.masking.to_json(),
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Repository:
        masking = redact.Masking.from_json(item.get("masking"))
        return cls(**{**item, "credentials": tuple(item.get("credentials") or ()), "masking": masking})

    def to_json(self) -> dict[str, Any]:
        creds = set(self.credentials)
        index = None
        if self.index:
            index = {**self.index, "refreshed_at": iso(self.index.get("refreshed_at"))}
        return {
            "name": self.name,
            "url": self.url,
            "type": self.kind,
            "description": self.description,
            "auth": {
                "basic": "username" in creds,
                "token": "token" in creds,
                "client_certificate": "client_certificate" in creds,
                "ca_bundle": "ca_bundle" in creds,
            },
            "keyring": "keyring" in creds,
            "insecure_skip_tls_verify": self.insecure_skip_tls_verify,
            "pass_credentials": self.pass_credentials,
            "plain_http": self.plain_http,
            "masking": self.masking.to_json(),
            "index": index,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


def uploaded_repository_json() -> dict[str, Any]:
    """The built-in repository of uploaded charts, as GET /v1/repositories lists it."""
    return {
        "name": UPLOADED,
        "url": None,
        "type": UPLOADED,
        "description": "charts uploaded with POST /v1/charts",
        "auth": {"basic": False, "token": False, "client_certificate": False, "ca_bundle": False},
        "keyring": False,
        "insecure_skip_tls_verify": False,
        "pass_credentials": False,
        "plain_http": False,
        "index": None,
        "created_at": None,
        "updated_at": None,
    }


@dataclass(frozen=True)
class Connection:
    """A repository with its credentials, for one fetch or pull."""

    repo: Repository
    secret: dict[str, str]

    @property
    def access(self) -> Access:
        r = self.repo
        return _access(r.url, self.secret, r.insecure_skip_tls_verify, r.pass_credentials)

    @property
    def keyring(self) -> bytes | None:
        raw = self.secret.get("keyring")
        return base64.b64decode(raw) if raw else None


class RepositoryRegistry:
    def __init__(
        self, store: Store, vault: Vault, index_cache: Blobs, netpolicy: netguard.Policy = netguard.DEPLOYED
    ) -> None:
        self.netpolicy = netpolicy  # what the SSRF guard refuses (adapters/http/guard.py)
        self._store = store
        self._vault = vault
        self._cache = index_cache
        self._secrets: dict[str, tuple[float, dict[str, str]]] = {}
        self._indexes: dict[str, tuple[str, dict[str, Any]]] = {}  # name -> (digest, compact index)
        # every repository by name at a version (inside metacache.cached_reads())
        self._listed: metacache.Expiring[tuple[int, dict[str, Repository]]] = metacache.Expiring()

    # ------------------------------------------------------------ registry

    def put(self, spec: RepositorySpec) -> tuple[Repository, bool]:
        """Create or replace. An HTTP repository's index is fetched first: a wrong URL or credential fails here."""
        existing = self._get(spec.name)
        netguard.check_url(spec.url, self.netpolicy, "url")
        index = self._fetch_index(spec.url, spec.access()) if spec.kind == "http" else None
        secret_id = self._vault.put(spec.name, spec.secret) if spec.secret else None
        if existing and existing.secret_id and not spec.secret:
            self._vault.delete(existing.secret_id)
        ts = now()
        repo = Repository(
            name=spec.name,
            url=spec.url,
            kind=spec.kind,
            description=spec.description,
            insecure_skip_tls_verify=spec.insecure_skip_tls_verify,
            pass_credentials=spec.pass_credentials,
            plain_http=spec.plain_http,
            credentials=tuple(sorted(spec.secret)),
            secret_id=secret_id,
            created_at=existing.created_at if existing else ts,
            updated_at=ts,
            masking=spec.masking,
        )
        if index is not None:
            repo = self._store_index(repo, index)
        self._store.put_repository(repo.name, repo.to_item())
        self._secrets.pop(spec.name, None)
        self._listed.forget()
        return repo, existing is None

    def _get(self, name: str) -> Repository | None:
        reads = metacache.active()
        if reads is not None:
            before = reads.repositories_version
            found = self._versioned(reads).get(name)
            if found is not None:
                return found
            # not in the cached list: list again (a repository registered a moment ago is not refused)
            reads.repositories_version = before
            self._listed.forget()
            found = self._versioned(reads).get(name)
            if found is not None:
                return found
        item = self._store.get_repository(name)
        return Repository.from_item(item) if item else None

    def _versioned(self, reads: metacache.Reads) -> dict[str, Repository]:
        """Every repository by name, as cached or listed now, noting in ``reads`` the version the accept must
        condition on (``Store.repositories_as_read``): the first one used in the request."""
        hit = self._listed.get("all")
        if hit is None:
            version, bumped_at = self._store.repositories_version()
            hit = (version, {r.name: r for r in self.all(fresh=True)})
            if now() - bumped_at > metacache.SETTLE_S:
                self._listed.put("all", hit)
        if reads.repositories_version is None:
            reads.repositories_version = hit[0]
        elif reads.repositories_version != hit[0]:
            reads.repositories_version = min(reads.repositories_version, hit[0])  # the accept fails: checked again
        return hit[1]

    def forget(self) -> None:
        """Forget the cached repositories (the cached list was stale)."""
        self._listed.forget()

    def get(self, name: str) -> Repository:
        repo = self._get(v.dns_label("repository", name))
        if repo is None:
            raise RepositoryNotFound(f"repository {name} is not registered")
        return repo

    def all(self, fresh: bool = False) -> list[Repository]:
        """Every registered repository; inside ``metacache.cached_reads()`` (unless ``fresh``) maybe as cached."""
        reads = None if fresh else metacache.active()
        if reads is not None:
            return list(self._versioned(reads).values())
        return [Repository.from_item(i) for i in self._store.list_repositories()]

    def delete(self, name: str) -> None:
        repo = self.get(name)
        self._store.delete_repository(name)
        self._listed.forget()
        if repo.secret_id:
            self._vault.delete(repo.secret_id)
        self._cache.delete(f"{name}.json")
        self._secrets.pop(name, None)
        self._indexes.pop(name, None)

    def masking(self, name: str) -> redact.Masking:
        """A repository's added masking rules; none for a name that is not registered (the caller's check says
        so)."""
        repo = self._get(name)
        return repo.masking if repo else redact.NO_MASKING

    def connect(self, name: str) -> Connection:
        repo = self.get(name)
        return Connection(repo, self._secret(repo))

    def _secret(self, repo: Repository) -> dict[str, str]:
        if not repo.secret_id:
            return {}
        cached = self._secrets.get(repo.name)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        secret = {k: str(val) for k, val in (self._vault.get(repo.secret_id) or {}).items()}
        self._secrets[repo.name] = (time.monotonic() + CREDENTIAL_CACHE_S, secret)
        return secret

    def for_url(self, url: str) -> Connection | None:
        """The registered repository whose URL is a prefix of ``url`` (credentials for a direct chart URL)."""
        best = None
        for repo in self.all():
            if url == repo.url or url.startswith(repo.url + "/"):
                if best is None or len(repo.url) > len(best.url):
                    best = repo
        return Connection(best, self._secret(best)) if best else None

    # ------------------------------------------------------------ index

    def refresh(self, name: str) -> Repository:
        conn = self.connect(name)
        if conn.repo.kind != "http":
            return conn.repo  # an OCI registry has no index; charts are resolved by tag when installed
        repo = self._store_index(conn.repo, self._fetch_index(conn.repo.url, conn.access))
        self._store.put_repository(repo.name, repo.to_item())
        self._listed.forget()
        return repo

    def refresh_all(self) -> tuple[list[Repository], list[dict[str, Any]]]:
        """``helm repo update``: every repository's index fetched again. One that fails is reported (its error's
        code and message, which name no credential) and the others go on."""
        done: list[Repository] = []
        failed: list[dict[str, Any]] = []
        for repo in self.all():
            try:
                done.append(self.refresh(repo.name))
            except CharthouseError as exc:
                failed.append({"name": repo.name, "error": {"code": exc.code, "message": exc.message}})
        return done, failed

    def index(self, name: str) -> dict[str, Any]:
        """The cached compact index of an HTTP repository (fetched once if the cache has none)."""
        repo = self.get(name)
        if repo.kind != "http":
            raise InvalidInput("repository", f"{name} is an OCI registry: it has no index to search")
        digest = (repo.index or {}).get("digest")
        hit = self._indexes.get(name)
        if hit and hit[0] == digest:
            return hit[1]
        raw = self._cache.get(f"{name}.json")
        index = json.loads(raw) if raw else None
        if index is None or index.get("digest") != digest:
            repo = self.refresh(name)
            index = self._indexes[name][1]
        self._indexes[name] = (str(index.get("digest")), index)
        return index

    def _fetch_index(self, url: str, access: Access) -> dict[str, Any]:
        try:
            raw = fetch(url + "/index.yaml", access, MAX_INDEX_BYTES, FETCH_TIMEOUT_S, self.netpolicy, "url")
        except RemoteNotFound:
            raise InvalidInput("url", f"{safe_url(url)} has no index.yaml: is it a chart repository?") from None
        return chartindex.parse(raw, url)

    def _store_index(self, repo: Repository, index: dict[str, Any]) -> Repository:
        self._cache.put(f"{repo.name}.json", json.dumps(index, separators=(",", ":")).encode(), "application/json")
        self._indexes[repo.name] = (str(index["digest"]), index)
        info = {"refreshed_at": now(), **chartindex.stats(index), "digest": index["digest"]}
        return replace(repo, index=info)
