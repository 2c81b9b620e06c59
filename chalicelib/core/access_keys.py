"""Access keys: the AK/SK pairs that Huawei Cloud's SDKs sign requests with (``SDK-HMAC-SHA256``).

``POST /v1/access-keys`` issues a pair for the caller's own principal and shows the secret once; the secret is kept
in Secrets Manager (``charthouse/access-keys/<id>``), the table keeps only the key id, its owner and dates. A
signed request is the key owner's: same principal, same groups, so the same policies apply as to its other
credentials. A signature older (or newer) than ``MAX_SKEW_S`` is refused, and each signature is accepted once.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any

from chalicelib.adapters.store import Store
from chalicelib.adapters.vault import Vault
from chalicelib.core.auth import Principal
from chalicelib.domain import sdksign
from chalicelib.domain.models import iso, now
from chalicelib.errors import InvalidInput, NotFound, Unauthenticated

MAX_SKEW_S = 15 * 60
MAX_KEYS_PER_PRINCIPAL = 10
SECRET_CACHE_S = 60  # a revoked key stops working at once in this container, within a minute in the others
KEY_ID_PREFIX = "CHAK"


class AccessKeys:
    def __init__(self, store: Store, vault: Vault) -> None:
        self._store = store
        self._vault = vault
        self._known: dict[str, tuple[float, dict[str, Any], str]] = {}  # id -> (valid until, doc, secret)

    def create(self, owner: Principal, description: str | None = None) -> dict[str, Any]:
        """A new pair for ``owner``; the only answer that ever holds ``secret_key``."""
        if len(self._store.list_access_keys(owner.id)) >= MAX_KEYS_PER_PRINCIPAL:
            raise InvalidInput("principal", f"has {MAX_KEYS_PER_PRINCIPAL} access keys already; delete one first")
        key_id = KEY_ID_PREFIX + secrets.token_hex(8).upper()
        secret = secrets.token_urlsafe(30)
        self._vault.put(key_id, {"secret_key": secret})
        doc = {
            "id": key_id,
            "owner": owner.id,
            "kind": owner.kind,
            "groups": list(owner.groups),
            "description": description or "",
            "created_at": now(),
        }
        self._store.put_access_key(key_id, owner.id, doc)
        return {**_shown(doc), "access_key": key_id, "secret_key": secret}

    def list(self, owner: Principal, everyone: bool) -> list[dict[str, Any]]:
        docs = self._store.list_access_keys(None if everyone else owner.id)
        return [_shown(d) for d in docs]

    def delete(self, owner: Principal, key_id: str, everyone: bool) -> None:
        doc = self._store.get_access_key(key_id) if key_id.startswith(KEY_ID_PREFIX) and len(key_id) < 64 else None
        if doc is None or (doc["owner"] != owner.id and not everyone):
            raise NotFound(f"no access key {key_id[:64]}")
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
        expires = int(datetime.now(UTC).timestamp()) + 2 * MAX_SKEW_S
        if not self._store.claim_signature(auth.signature, expires):
            raise Unauthenticated("this signed request was already received once (a replay); sign it again")
        return Principal(str(doc["owner"]), str(doc.get("kind") or "token"), tuple(doc.get("groups") or ()))

    def _key(self, key_id: str) -> tuple[dict[str, Any], str]:
        cached = self._known.get(key_id)
        if cached and cached[0] > time.monotonic():
            return cached[1], cached[2]
        doc = self._store.get_access_key(key_id) if key_id.startswith(KEY_ID_PREFIX) else None
        stored = self._vault.get(self._vault.secret_id(key_id)) if doc else None
        if doc is None or not stored or not isinstance(stored.get("secret_key"), str):
            raise Unauthenticated("the access key is not valid (it may have been deleted)")
        self._known[key_id] = (time.monotonic() + SECRET_CACHE_S, doc, stored["secret_key"])
        return doc, stored["secret_key"]


def _shown(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["id"],
        "owner": doc["owner"],
        "description": doc.get("description") or "",
        "created_at": iso(doc.get("created_at")),
    }
