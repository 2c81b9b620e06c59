"""Access keys: the AK/SK pairs that Huawei Cloud's SDKs sign requests with (``SDK-HMAC-SHA256``).

``POST /v1/access-keys`` issues a pair for the caller's own principal and shows the secret once; the secret is kept
in Secrets Manager (``charthouse/<stage>/access-keys/<id>``), the table keeps only the key id, its owner and dates. A
signed request is the key owner's, as the owner is at the time of use:

* a key lives only as long as the credential that created it: a key made with a bearer token is bound to that
  token (its SHA-256) and stops working when the token is deleted or rotated (deleted and created again), and
  deleting a token revokes its keys at once (``revoke_owner``);
* the policies are read at each request, for the owner's id. Groups are not carried: a token has none, and a
  JWT user's current groups are known only from a current JWT, so a key gets none rather than the groups its owner
  had when it was made (a user removed from a group loses it through the key too);
* every key expires (``DEFAULT_DAYS`` unless asked, at most ``MAX_DAYS``);
* a key cannot create keys (a leaked key cannot make itself a successor).

A signature older (or newer) than ``MAX_SKEW_S`` is refused, and each signature is accepted once.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any

from chalicelib.adapters.store import Store
from chalicelib.adapters.vault import Vault
from chalicelib.core.auth import Principal, Tokens
from chalicelib.domain import sdksign
from chalicelib.domain.models import iso, now
from chalicelib.errors import Forbidden, InvalidInput, NotFound, Unauthenticated

DAY_S = 86400
DEFAULT_DAYS = 90
MAX_DAYS = 365
MAX_SKEW_S = 15 * 60
MAX_KEYS_PER_PRINCIPAL = 10
SECRET_CACHE_S = 60  # a revoked key stops working at once in this container, within a minute in the others
KEY_ID_PREFIX = "CHAK"


class AccessKeys:
    def __init__(self, store: Store, vault: Vault) -> None:
        self._store = store
        self._vault = vault
        self._tokens = Tokens(store)
        self._known: dict[str, tuple[float, dict[str, Any], str]] = {}  # id -> (valid until, doc, secret)

    def create(
        self, owner: Principal, description: str | None = None, expires_in_days: int = DEFAULT_DAYS
    ) -> dict[str, Any]:
        """A new pair for ``owner``, valid ``expires_in_days``; the only answer that ever holds ``secret_key``."""
        if owner.access_key:
            raise Forbidden("an access key cannot create access keys: use the owner's own credentials")
        if not 1 <= expires_in_days <= MAX_DAYS:
            raise InvalidInput("expires_in_days", f"must be between 1 and {MAX_DAYS}")
        if len(self._store.list_access_keys(owner.id)) >= MAX_KEYS_PER_PRINCIPAL:
            raise InvalidInput("principal", f"has {MAX_KEYS_PER_PRINCIPAL} access keys already; delete one first")
        key_id = KEY_ID_PREFIX + secrets.token_hex(8).upper()
        secret = secrets.token_urlsafe(30)
        self._vault.put(key_id, {"secret_key": secret})
        created = now()
        doc: dict[str, Any] = {
            "id": key_id,
            "owner": owner.id,
            "kind": owner.kind,
            "description": description or "",
            "created_at": created,
            "expires_at": created + expires_in_days * DAY_S,
        }
        if owner.token_hash:
            doc["token_hash"] = owner.token_hash  # the key dies with the token that made it
        self._store.put_access_key(key_id, owner.id, doc)
        return {**_shown(doc), "access_key": key_id, "secret_key": secret}

    def list(self, owner: Principal, everyone: bool) -> list[dict[str, Any]]:
        docs = self._store.list_access_keys(None if everyone else owner.id)
        return [_shown(d) for d in docs]

    def delete(self, owner: Principal, key_id: str, everyone: bool) -> None:
        doc = self._store.get_access_key(key_id) if key_id.startswith(KEY_ID_PREFIX) and len(key_id) < 64 else None
        if doc is None or (doc["owner"] != owner.id and not everyone):
            raise NotFound(f"no access key {key_id[:64]}")
        self._revoke(key_id)

    def revoke_owner(self, owner_id: str) -> int:
        """Revoke every key of ``owner_id`` (its credential is gone); how many there were."""
        docs = self._store.list_access_keys(owner_id)
        for doc in docs:
            self._revoke(str(doc["id"]))
        return len(docs)

    def _revoke(self, key_id: str) -> None:
        self._store.delete_access_key(key_id)
        self._vault.delete(self._vault.secret_id(key_id))
        self._known.pop(key_id, None)

    def authenticate(self, req: sdksign.SignedRequest) -> Principal:
        """The owner of the key that signed ``req``; ``Unauthenticated`` for a bad, stale or replayed one."""
        auth = sdksign.parse_authorization(req.headers.get("authorization") or "")
        age = time.time() - sdksign.signed_at(req.headers).timestamp()
        if abs(age) > MAX_SKEW_S:
            raise Unauthenticated("the request was signed more than 15 minutes from now (X-Sdk-Date); sign it again")
        doc, secret = self._key(auth.access_key)
        sdksign.verify(secret, req, auth)
        if _expires_at(doc) <= time.time():
            raise Unauthenticated(f"the access key expired at {iso(_expires_at(doc))}; create a new one")
        expires = int(datetime.now(UTC).timestamp()) + 2 * MAX_SKEW_S
        if not self._store.claim_signature(auth.signature, expires):
            raise Unauthenticated("this signed request was already received once (a replay); sign it again")
        # the owner as it is now: no groups carried from the time the key was made (see the module's docstring)
        return Principal(str(doc["owner"]), str(doc.get("kind") or "token"), access_key=str(doc["id"]))

    def _key(self, key_id: str) -> tuple[dict[str, Any], str]:
        cached = self._known.get(key_id)
        if cached and cached[0] > time.monotonic():
            return cached[1], cached[2]
        doc = self._store.get_access_key(key_id) if key_id.startswith(KEY_ID_PREFIX) else None
        stored = self._vault.get(self._vault.secret_id(key_id)) if doc else None
        if doc is None or not stored or not isinstance(stored.get("secret_key"), str):
            raise Unauthenticated("the access key is not valid (it may have been deleted)")
        if not self._owner_alive(doc):
            raise Unauthenticated("the access key is not valid: the token that created it was deleted or rotated")
        self._known[key_id] = (time.monotonic() + SECRET_CACHE_S, doc, stored["secret_key"])
        return doc, stored["secret_key"]

    def _owner_alive(self, doc: dict[str, Any]) -> bool:
        """A token's key: the very token that created it still exists. IAM and JWT owners cannot be looked up
        without their own credentials: the key's expiry bounds them."""
        if str(doc.get("kind") or "token") != "token":
            return True
        owner = str(doc["owner"])
        name = owner.removeprefix("token:")
        digest = doc.get("token_hash")
        if isinstance(digest, str) and digest:
            return self._tokens.exists(digest, name)
        return owner.startswith("token:") and bool(self._store.list_tokens(name))  # a key older than the binding


def _expires_at(doc: dict[str, Any]) -> float:
    """When the key stops working (a key older than expiries: ``DEFAULT_DAYS`` after it was created)."""
    at = doc.get("expires_at")
    return float(at) if isinstance(at, int | float) else float(doc.get("created_at") or 0) + DEFAULT_DAYS * DAY_S


def _shown(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["id"],
        "owner": doc["owner"],
        "description": doc.get("description") or "",
        "created_at": iso(doc.get("created_at")),
        "expires_at": iso(_expires_at(doc)),
        "expired": _expires_at(doc) <= time.time(),
    }
