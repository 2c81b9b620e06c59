"""The cluster registry: credentials in Secrets Manager, a credential-free summary in the store.

Three ways to reach a cluster (``auth``):

* ``kubeconfig``: a kubeconfig document; one context is flattened and kept. Only embedded data is accepted:
  file paths, ``exec`` and ``auth-provider`` plugins would run or read things on the service's host.
* ``token``: ``server`` + ``ca_data`` (PEM, plain or base64) + bearer ``token``.
* ``eks``: ``name`` + ``region`` (+ optional ``role_arn``); the endpoint and CA come from EKS and a 15-minute
  token is minted per use from a presigned STS GetCallerIdentity URL (no aws CLI).

``credentials()`` returns a ready kubeconfig text, cached per warm container for a few minutes.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import yaml

from chalicelib.adapters.kube import client as kube
from chalicelib.adapters.kube import eks
from chalicelib.adapters.store import Store
from chalicelib.adapters.vault import Vault
from chalicelib.config import CREDENTIAL_CACHE_S
from chalicelib.core import metacache
from chalicelib.domain import fields, redact, yamlguard
from chalicelib.domain import validate as v
from chalicelib.domain.models import ClusterInfo, now
from chalicelib.errors import (
    CharthouseError,
    ClusterNotFound,
    Conflict,
    InvalidInput,
)

log = logging.getLogger(__name__)

MAX_KUBECONFIG = 256 * 1024
_USER_KEYS = {"token", "client-certificate-data", "client-key-data", "username", "password"}
_CLUSTER_KEYS = {"server", "certificate-authority-data", "insecure-skip-tls-verify", "tls-server-name"}
_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_EKS_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$")
MAX_DESCRIPTION = 256
MAX_TOKEN = 16384


class ClusterAuth(str, Enum):
    """How a cluster is reached: which form of ``PUT /v1/clusters/{cluster}`` registered it."""

    KUBECONFIG = "kubeconfig"
    TOKEN = "token"
    EKS = "eks"


# ``PUT /v1/clusters/{cluster}``, described once: ClusterSpec.from_json reads it, the OpenAPI document publishes it.
EKS_BODY = fields.Body(
    {
        "name": {"type": "string", "pattern": _EKS_NAME.pattern, "description": "the EKS cluster's name"},
        "region": {"type": "string", "pattern": _REGION.pattern, "description": "its AWS region, e.g. eu-west-1"},
        "role_arn": {"type": "string", "description": "an IAM role to assume first (optional)"},
    },
    required=("name", "region"),
)
CLUSTER_BODY = fields.Body(
    {
        "kubeconfig": {
            "oneOf": [{"type": "string", "maxLength": MAX_KUBECONFIG}, {"type": "object"}],
            "description": "a kubeconfig (YAML text or object) with embedded data only; one context is kept",
        },
        "context": {"type": "string", "description": "the kubeconfig's context (default: its current-context)"},
        "server": {"type": "string", "description": "https:// URL of the API server (with ca_data and token)"},
        "ca_data": {"type": "string", "description": "the cluster CA: PEM, or its base64"},
        "token": {"type": "string", "maxLength": MAX_TOKEN, "description": "a bearer token; never returned"},
        "insecure_skip_tls_verify": fields.BOOL,
        "eks": EKS_BODY.schema(),
        "description": {"type": "string", "maxLength": MAX_DESCRIPTION},
        "masking": fields.MASKING.schema(),
    },
    description="exactly one of: kubeconfig (+context), server + ca_data + token, eks",
)
COMMON_FIELDS = ("description", "masking")
FORMS: dict[ClusterAuth, tuple[str, ...]] = {  # the fields of each form, besides COMMON_FIELDS
    ClusterAuth.KUBECONFIG: ("kubeconfig", "context"),
    ClusterAuth.TOKEN: ("server", "ca_data", "token", "insecure_skip_tls_verify"),
    ClusterAuth.EKS: ("eks",),
}


@dataclass(frozen=True)
class ClusterSpec:
    """A validated PUT /v1/clusters/{cluster} body. ``secret`` is what goes to Secrets Manager."""

    name: str
    auth: str
    server: str
    description: str
    secret: dict[str, Any]
    eks: dict[str, str] | None
    masking: redact.Masking = redact.NO_MASKING  # added masking rules for this cluster's releases

    @classmethod
    def from_json(cls, name: str, body: dict[str, Any]) -> ClusterSpec:
        v.dns_label("cluster", name)
        CLUSTER_BODY.check(body)
        description = v.text("description", body.get("description"), MAX_DESCRIPTION) or ""
        masking = redact.Masking.from_json(body.get("masking"))
        has = [k for k in ClusterAuth if body.get(k.value) is not None]
        if len(has) != 1:
            raise InvalidInput("body", "give exactly one of kubeconfig, server + ca_data + token, or eks")
        auth = has[0]
        CLUSTER_BODY.check(body, names=(*FORMS[auth], *COMMON_FIELDS))
        kind = auth.value
        if auth is ClusterAuth.KUBECONFIG:
            kubeconfig = _flatten_kubeconfig(body["kubeconfig"], body.get("context"))
            server = kubeconfig["clusters"][0]["cluster"]["server"]
            return cls(name, kind, server, description, {"auth": kind, "kubeconfig": kubeconfig}, None, masking)
        if auth is ClusterAuth.TOKEN:
            server = _server(body.get("server"))
            token = body["token"]
            if not isinstance(token, str) or not token or len(token) > MAX_TOKEN or any(c.isspace() for c in token):
                raise InvalidInput("token", "must be a non-empty bearer token without spaces")
            insecure = v.boolean("insecure_skip_tls_verify", body.get("insecure_skip_tls_verify"))
            ca = None if body.get("ca_data") is None else _pem("ca_data", body["ca_data"])
            if ca is None and not insecure:
                raise InvalidInput("ca_data", "is required (PEM of the cluster CA) unless insecure_skip_tls_verify")
            secret = {"auth": kind, "server": server, "ca_data": ca, "token": token, "insecure": insecure}
            return cls(name, kind, server, description, secret, None, masking)
        eks = _eks(body["eks"])
        return cls(name, kind, "", description, {"auth": kind, **eks}, eks, masking)


def _server(raw: object, field: str = "server") -> str:
    if not isinstance(raw, str) or not re.match(r"^https://[A-Za-z0-9.\-\[\]:]+(:\d{1,5})?(/[\w./-]*)?$", raw):
        raise InvalidInput(field, "must be the https:// URL of the Kubernetes API server")
    return raw


def _pem(field: str, raw: object) -> str:
    """Accept a PEM certificate, or base64 of one (as kubeconfig's *-data fields hold)."""
    if not isinstance(raw, str) or len(raw) > 65536:
        raise InvalidInput(field, "must be a PEM certificate or its base64")
    text = raw
    if "-----BEGIN" not in raw:
        try:
            text = base64.b64decode(raw, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidInput(field, "must be a PEM certificate or its base64") from exc
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise InvalidInput(field, "must be a PEM certificate or its base64")
    return text


def _eks(raw: object) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise InvalidInput("eks", "must be an object with name, region and optional role_arn")
    EKS_BODY.check(raw, "eks.")
    name, region, role = raw.get("name"), raw.get("region"), raw.get("role_arn")
    if not isinstance(name, str) or not _EKS_NAME.match(name):
        raise InvalidInput("eks.name", "must be an EKS cluster name")
    if not isinstance(region, str) or not _REGION.match(region):
        raise InvalidInput("eks.region", "must be an AWS region such as eu-west-1")
    out = {"name": name, "region": region}
    if role is not None:
        if not isinstance(role, str) or not _ARN.match(role):
            raise InvalidInput("eks.role_arn", "must be an IAM role ARN")
        out["role_arn"] = role
    return out


def _flatten_kubeconfig(raw: object, context: object) -> dict[str, Any]:
    """One context of a kubeconfig, as a self-contained document with embedded data only."""
    if isinstance(raw, str):
        if len(raw) > MAX_KUBECONFIG:
            raise InvalidInput("kubeconfig", f"must be at most {MAX_KUBECONFIG} bytes")
        try:
            doc = yamlguard.load(raw, "kubeconfig", yamlguard.KUBECONFIG)
        except yaml.YAMLError as exc:
            raise InvalidInput("kubeconfig", "is not valid YAML") from exc
    else:
        doc = raw
    if not isinstance(doc, dict):
        raise InvalidInput("kubeconfig", "must be a kubeconfig document (a mapping)")
    ctx_name = context if context is not None else doc.get("current-context")
    if not isinstance(ctx_name, str) or not ctx_name:
        raise InvalidInput("context", "is required: the kubeconfig has no current-context")

    def pick(section: str, name: object) -> dict[str, Any]:
        for entry in doc.get(section) or []:
            if isinstance(entry, dict) and entry.get("name") == name:
                body = entry.get(section[:-1])
                if isinstance(body, dict):
                    return body
        raise InvalidInput("kubeconfig", f"{section}: no entry named {name!r}")

    ctx = pick("contexts", ctx_name)
    cluster, user = pick("clusters", ctx.get("cluster")), pick("users", ctx.get("user"))
    if set(cluster) - _CLUSTER_KEYS:
        raise InvalidInput(
            "kubeconfig",
            f"cluster field {sorted(set(cluster) - _CLUSTER_KEYS)[0]!r} is not "
            "allowed: embed the CA as certificate-authority-data",
        )
    if set(user) - _USER_KEYS:
        raise InvalidInput(
            "kubeconfig",
            f"user field {sorted(set(user) - _USER_KEYS)[0]!r} is not allowed: "
            "use token or client-certificate-data/client-key-data "
            "(exec and auth-provider plugins and file paths are refused)",
        )
    _server(cluster.get("server"), "kubeconfig")
    if not user:
        raise InvalidInput("kubeconfig", "the user has no credentials")
    out_ctx: dict[str, Any] = {"cluster": "cluster", "user": "user"}
    if isinstance(ctx.get("namespace"), str):
        out_ctx["namespace"] = ctx["namespace"]
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "cluster", "cluster": cluster}],
        "users": [{"name": "user", "user": user}],
        "contexts": [{"name": "default", "context": out_ctx}],
        "current-context": "default",
    }


def kubeconfig_from_token(server: str, ca_b64: str | None, token: str, insecure: bool = False) -> dict[str, Any]:
    """A one-context kubeconfig; ``ca_b64`` is the CA bundle in base64, as kubeconfig and EKS hold it."""
    cluster: dict[str, Any] = {"server": server}
    if ca_b64:
        cluster["certificate-authority-data"] = ca_b64
    if insecure:
        cluster["insecure-skip-tls-verify"] = True
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "cluster", "cluster": cluster}],
        "users": [{"name": "user", "user": {"token": token}}],
        "contexts": [{"name": "default", "context": {"cluster": "cluster", "user": "user"}}],
        "current-context": "default",
    }


@dataclass(frozen=True)
class Credentials:
    kubeconfig: str  # YAML text, ready for helm
    secrets: tuple[str, ...]  # literal secrets inside it, for redaction


@dataclass(frozen=True)
class Probe:
    reachable: bool
    server_version: str | None
    error: str | None


class ClusterRegistry:
    """Registers clusters and hands out credentials. ``session_factory(region)`` builds boto3 sessions (EKS)."""

    def __init__(
        self, secrets_client: Any, store: Store, secret_prefix: str, session_factory: Callable[[str, str | None], Any]
    ) -> None:
        self._vault = Vault(secrets_client, secret_prefix, "cluster credentials")
        self._store = store
        self._sessions = session_factory
        self._cache: dict[str, tuple[float, float, Credentials]] = {}  # name -> (expiry, registered at, creds)
        self._infos: metacache.Expiring[ClusterInfo] = metacache.Expiring()  # inside metacache.cached_reads()

    # ------------------------------------------------------------ registry

    def put(self, spec: ClusterSpec) -> tuple[ClusterInfo, bool]:
        """Create or replace. Credentials go to Secrets Manager first, then the summary to the store."""
        existing = self._store.get_cluster(spec.name)
        secret_id = self._vault.put(spec.name, spec.secret)
        ts = now()
        info = ClusterInfo(
            name=spec.name,
            auth=spec.auth,
            server=spec.server,
            secret_id=secret_id,
            description=spec.description,
            created_at=existing.created_at if existing else ts,
            updated_at=ts,
            eks=spec.eks,
            masking=spec.masking,
        )
        self._store.put_cluster(info)
        self._cache.pop(spec.name, None)
        self._infos.forget(spec.name)
        return info, existing is None

    def all(self) -> list[ClusterInfo]:
        return self._store.list_clusters()

    def get(self, name: str) -> ClusterInfo:
        """The registered cluster (``ClusterNotFound``); inside ``metacache.cached_reads()`` maybe as cached (the
        accept then conditions on its ``updated_at``: ``Store.cluster_as_read``)."""
        if metacache.active() is not None:
            cached = self._infos.get(name)
            if cached is not None:
                return cached
        info = self._store.get_cluster(name)
        if info is None:
            raise ClusterNotFound(f"cluster {name} is not registered")
        self._infos.put(name, info)
        return info

    def forget(self) -> None:
        """Forget the cached clusters (a cached one was stale)."""
        self._infos.forget()

    def delete(self, name: str, force: bool = False) -> None:
        """Forget a cluster and its credentials; 409 while it has releases, unless ``force``."""
        info = self.get(name)
        if not force and self._store.count_releases(name):
            raise Conflict(f"cluster {name} still has releases; uninstall them or pass ?force=true")
        self._store.delete_cluster(name)
        self._cache.pop(name, None)
        self._infos.forget(name)
        self._vault.delete(info.secret_id)

    # ------------------------------------------------------------ credentials

    def credentials(self, name: str, info: ClusterInfo | None = None) -> Credentials:
        """The cluster's kubeconfig, cached per container for ``CREDENTIAL_CACHE_S``; ``info``: the cluster as the
        caller read it (not read again), whose registration the cached kubeconfig must come from."""
        cached = self._cache.get(name)
        if cached and cached[0] > time.monotonic() and (info is None or cached[1] == info.updated_at):
            return cached[2]
        info = info or self.get(name)
        secret = self._vault.get(info.secret_id)
        if secret is None:
            raise ClusterNotFound(f"cluster {name} has no stored credentials; register it again")
        creds = self._materialise(secret)
        self._cache[name] = (time.monotonic() + CREDENTIAL_CACHE_S, info.updated_at, creds)
        return creds

    def _materialise(self, secret: dict[str, Any]) -> Credentials:
        if secret["auth"] == "kubeconfig":
            doc = secret["kubeconfig"]
            user = doc["users"][0]["user"]
            secrets = tuple(str(user[k]) for k in ("token", "password", "client-key-data") if k in user)
        elif secret["auth"] == "token":
            ca = secret.get("ca_data")
            ca_b64 = base64.b64encode(ca.encode()).decode() if ca else None
            doc = kubeconfig_from_token(secret["server"], ca_b64, secret["token"], bool(secret.get("insecure")))
            secrets = (secret["token"],)
        else:
            doc, token = self._eks_kubeconfig(secret)
            secrets = (token,)
        return Credentials(yaml.safe_dump(doc, sort_keys=False), secrets)

    def _eks_kubeconfig(self, secret: dict[str, Any]) -> tuple[dict[str, Any], str]:
        session = self._sessions(secret["region"], secret.get("role_arn"))
        endpoint, ca_b64, token = eks.connect(session, secret["name"], secret["region"])
        # Tokens live 15 minutes: the kubeconfig is cached for less than that (see CREDENTIAL_CACHE_S).
        return kubeconfig_from_token(endpoint, ca_b64, token), token

    # ------------------------------------------------------------ live checks

    def probe(self, name: str) -> Probe:
        try:
            return Probe(True, kube.server_version(self.credentials(name).kubeconfig), None)
        except CharthouseError as exc:  # unreachable, refused, or its credentials cannot be read
            return Probe(False, None, exc.message)

    def namespaces(self, name: str) -> list[dict[str, Any]]:
        return kube.namespaces(self.credentials(name).kubeconfig, name)
