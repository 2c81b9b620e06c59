"""Who is calling: one principal per request.

* ``iam`` (deployed default): API Gateway's IAM authorizer has checked the SigV4 signature; the caller is
  ``requestContext.identity.userArn`` (``arn:aws:sts::<account>:assumed-role/<role>/<session>`` or an IAM user).
* ``jwt``: a Cognito user pool (or JWT) authorizer has checked the token; the caller is ``jwt:<sub>`` and its
  groups (``cognito:groups``) are ``group:<name>``.
* ``token`` (the local stages): ``Authorization: Bearer <token>`` (or ``X-Auth-Token: <token>``, as Huawei
  Cloud's clients send it); tokens are random, shown once when created, and stored only as their SHA-256. The
  caller is ``token:<name>``.
* in every mode, a request signed ``SDK-HMAC-SHA256`` with an access key Charthouse issued (``access_keys``) is
  the key owner's. Only routes without a gateway authorizer (the compat surfaces) can receive one when deployed.

The mode is a setting (``CHARTHOUSE_AUTH``), so a deployed stage never accepts bearer tokens and the local stage
never trusts a forged identity. API Gateway's authorizer (``api/routes.py``) guards every route but the public ones
when deployed; ``chalice local`` lets requests through, and the bearer check here applies.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from chalicelib.adapters.store import Store
from chalicelib.domain import sdksign
from chalicelib.domain.models import iso, now
from chalicelib.errors import Conflict, InvalidInput, NotFound, Unauthenticated

TOKEN_PREFIX = "cht_"
TOKEN_CACHE_S = 60  # a deleted token stops working at once in this container, within a minute in the others
_TOKEN = re.compile(r"^cht_[A-Za-z0-9_-]{20,100}$")


@dataclass(frozen=True)
class Principal:
    id: str  # token:<name> | an IAM ARN | jwt:<sub>
    kind: str  # token | iam | jwt
    groups: tuple[str, ...] = ()
    # how it authenticated (not part of who it is): the SHA-256 of the bearer token it presented, the access key
    # that signed the request
    token_hash: str | None = field(default=None, compare=False)
    access_key: str | None = field(default=None, compare=False)

    @property
    def names(self) -> tuple[str, ...]:
        """What policies match against: the id and ``group:<g>`` for each group."""
        return (self.id, *(f"group:{g}" for g in self.groups))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "groups": list(self.groups)}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Tokens:
    """Bearer tokens of the local stages: created by an admin (or ``python -m devstack token``), stored hashed."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._known: dict[str, tuple[float, str]] = {}  # hash -> (valid until, name): one lookup per token per minute

    def create(self, name: str) -> str:
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", name or ""):
            raise InvalidInput("name", "a token name is a DNS label: lower-case letters, digits and '-'")
        if self._by_name(name):
            raise Conflict(f"a token named {name} exists; delete it first")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        digest = token_hash(token)
        self._store.put_token(digest, name, {"name": name, "hash": digest, "created_at": now()})
        return token

    def lookup(self, token: str) -> str | None:
        """The name of a valid token, else None."""
        if not _TOKEN.match(token):
            return None
        digest = token_hash(token)
        cached = self._known.get(digest)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        entry = self._store.get_token(digest)
        if entry is None:
            return None
        self._known[digest] = (time.monotonic() + TOKEN_CACHE_S, str(entry["name"]))
        return str(entry["name"])

    def exists(self, digest: str, name: str) -> bool:
        """Whether the token stored as ``digest`` is still there, under ``name`` (a deleted token, or one rotated
        by deleting and creating it again, is not)."""
        entry = self._store.get_token(digest)
        return entry is not None and entry.get("name") == name

    def _by_name(self, name: str) -> list[dict[str, Any]]:
        return self._store.list_tokens(name)

    def all(self) -> list[dict[str, Any]]:
        return [{"name": e["name"], "created_at": iso(e["created_at"])} for e in self._store.list_tokens()]

    def delete(self, name: str) -> None:
        found = self._by_name(name)
        if not found:
            raise NotFound(f"no token named {name}")
        for entry in found:
            self._store.delete_token(entry["hash"])
            self._known.pop(entry["hash"], None)


class Request(Protocol):
    """What authentication reads of a request: API Gateway's request context and the headers (case-insensitive)."""

    @property
    def context(self) -> Mapping[str, Any] | None: ...

    @property
    def headers(self) -> Mapping[str, str] | None: ...


class SignedCallers(Protocol):
    """Who signed a request with an access key (``core/access_keys``)."""

    def authenticate(self, req: sdksign.SignedRequest) -> Principal: ...


def authenticate(
    request: Request,
    mode: str,
    tokens: Tokens,
    signers: SignedCallers | None = None,
    signed: sdksign.SignedRequest | None = None,
    gateway_checked: bool = True,
) -> Principal:
    """The caller of ``request`` under ``mode``; ``Unauthenticated`` when there is none. ``gateway_checked=False``
    (a route without API Gateway's authorizer): nothing in the request context is trusted, so in the ``iam`` and
    ``jwt`` modes only an access key signature will do."""
    context: Mapping[str, Any] = request.context or {}
    headers: Mapping[str, str] = request.headers or {}
    if sdksign.is_signed(headers.get("authorization")):
        if signers is None or signed is None:
            raise Unauthenticated("SDK-HMAC-SHA256 signatures are not accepted here")
        return signers.authenticate(signed)
    if mode in ("iam", "jwt") and not gateway_checked:
        raise Unauthenticated("sign the request with an access key (SDK-HMAC-SHA256; POST /v1/access-keys)")
    if mode == "iam":
        arn = (context.get("identity") or {}).get("userArn")
        if isinstance(arn, str) and arn.startswith("arn:"):
            return Principal(arn, "iam")
    elif mode == "jwt":
        claims = (context.get("authorizer") or {}).get("claims") or {}
        sub = claims.get("sub")
        if isinstance(sub, str) and sub:
            groups = claims.get("cognito:groups") or []
            if isinstance(groups, str):
                groups = [g for g in re.split(r"[\s,]+", groups.strip("[]")) if g]
            return Principal(f"jwt:{sub}", "jwt", tuple(str(g) for g in groups))
    elif mode == "token":
        header = headers.get("authorization") or ""
        scheme, _, token = header.partition(" ")
        if not header and headers.get("x-auth-token"):
            scheme, token = "bearer", headers.get("x-auth-token") or ""
        if scheme.lower() == "bearer" and token.strip():
            name = tokens.lookup(token.strip())
            if name:
                return Principal(f"token:{name}", "token", token_hash=token_hash(token.strip()))
            raise Unauthenticated("the bearer token is not valid (it may have been deleted)")
    raise Unauthenticated(_HOW[mode] if mode in _HOW else "authentication is not configured")


_HOW = {
    "iam": "sign the request with AWS SigV4 (API Gateway's IAM authorizer)",
    "jwt": "send a JWT from the configured user pool in the Authorization header",
    "token": "send 'Authorization: Bearer <token>' (make run writes an admin token to .local/token)",
}
