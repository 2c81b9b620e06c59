"""Access keys: issued for the caller, the secret shown once and kept in the vault; signed requests are the owner's as it
is at the time of use (no groups carried), refused when stale, replayed, wrongly signed, revoked, expired or when the
token that made the key is gone; a key cannot make keys."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from chalicelib.core import access_keys
from chalicelib.core.access_keys import DAY_S, MAX_KEYS_PER_PRINCIPAL, AccessKeys
from chalicelib.core.auth import Principal, token_hash
from chalicelib.domain.sdksign import DATE_FORMAT, SignedRequest
from chalicelib.errors import Forbidden, InvalidInput, NotFound, Unauthenticated

ALICE_TOKEN = "cht_" + "a" * 40
ALICE = Principal("token:alice", "token", token_hash=token_hash(ALICE_TOKEN))


class FakeStore:
    def __init__(self) -> None:
        self.keys: dict[str, tuple[str, dict[str, Any]]] = {}
        self.seen: set[str] = set()
        self.tokens: dict[str, dict[str, Any]] = {token_hash(ALICE_TOKEN): {"name": "alice"}}

    def get_token(self, digest: str) -> dict[str, Any] | None:
        return self.tokens.get(digest)

    def list_tokens(self, name: str | None = None) -> list[dict[str, Any]]:
        return [t for t in self.tokens.values() if name in (None, t["name"])]

    def put_access_key(self, key_id: str, owner: str, doc: dict[str, Any]) -> None:
        self.keys[key_id] = (owner, doc)

    def get_access_key(self, key_id: str) -> dict[str, Any] | None:
        return self.keys[key_id][1] if key_id in self.keys else None

    def list_access_keys(self, owner: str | None = None) -> list[dict[str, Any]]:
        return [doc for o, doc in self.keys.values() if owner in (None, o)]

    def delete_access_key(self, key_id: str) -> None:
        self.keys.pop(key_id, None)

    def claim_signature(self, signature: str, expires: int) -> bool:
        fresh = signature not in self.seen
        self.seen.add(signature)
        return fresh


class FakeVault:
    def __init__(self) -> None:
        self.secrets: dict[str, dict[str, Any]] = {}

    def secret_id(self, name: str) -> str:
        return f"charthouse/access-keys/{name}"

    def put(self, name: str, payload: dict[str, Any]) -> str:
        self.secrets[self.secret_id(name)] = payload
        return self.secret_id(name)

    def get(self, secret_id: str) -> dict[str, Any] | None:
        return self.secrets.get(secret_id)

    def delete(self, secret_id: str) -> None:
        self.secrets.pop(secret_id, None)


def signed(ak: str, sk: str, when: datetime | None = None) -> SignedRequest:
    headers = {"Content-Type": "application/json", "X-Project-Id": "p"}
    if when is not None:
        headers["X-Sdk-Date"] = when.strftime(DATE_FORMAT)
    req = SdkRequest(
        method="GET", schema="http", host="h", resource_path="/v2/charts", query_params=[], header_params=headers
    )
    Signer(BasicCredentials(ak, sk, "p")).sign(req)
    return SignedRequest("GET", "/v2/charts", (), {k.lower(): str(v) for k, v in req.header_params.items()}, b"")


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def keys(store: FakeStore) -> AccessKeys:
    return AccessKeys(store, FakeVault())  # type: ignore[arg-type]


def test_a_key_signs_as_its_owner_once(keys: AccessKeys) -> None:
    made = keys.create(ALICE, "ci")
    assert made["owner"] == "token:alice" and made["secret_key"]
    assert "secret_key" not in keys.list(ALICE, everyone=False)[0]
    req = signed(made["access_key"], made["secret_key"])
    caller = keys.authenticate(req)
    assert caller == ALICE and caller.access_key == made["access_key"]
    with pytest.raises(Unauthenticated, match="replay"):
        keys.authenticate(req)


def test_a_key_does_not_carry_the_groups_its_owner_had_when_it_was_made(keys: AccessKeys) -> None:
    """A JWT user's groups are known only from a current JWT: a user removed from a group must not keep it through a
    key, so a key has only the rules naming its owner."""
    user = Principal("jwt:u-1", "jwt", ("platform-admins",))
    made = keys.create(user)
    caller = keys.authenticate(signed(made["access_key"], made["secret_key"]))
    assert (caller.id, caller.kind, caller.groups) == ("jwt:u-1", "jwt", ())
    assert caller.names == ("jwt:u-1",)


def test_a_key_cannot_create_keys(keys: AccessKeys) -> None:
    made = keys.create(ALICE)
    caller = keys.authenticate(signed(made["access_key"], made["secret_key"]))
    with pytest.raises(Forbidden, match="cannot create access keys"):
        keys.create(caller)
    assert len(keys.list(ALICE, everyone=False)) == 1


def test_a_key_dies_with_the_token_that_made_it(keys: AccessKeys, store: FakeStore) -> None:
    made = keys.create(ALICE)
    assert keys.authenticate(signed(made["access_key"], made["secret_key"])) == ALICE
    store.tokens = {token_hash("cht_" + "b" * 40): {"name": "alice"}}  # rotated: same name, another token
    keys._known.clear()  # noqa: SLF001 - another container: nothing cached
    with pytest.raises(Unauthenticated, match="deleted or rotated"):
        keys.authenticate(signed(made["access_key"], made["secret_key"]))


def test_a_key_made_before_the_binding_needs_a_token_of_its_owners_name(keys: AccessKeys, store: FakeStore) -> None:
    made = keys.create(Principal("token:alice", "token"))
    assert "token_hash" not in store.keys[made["access_key"]][1]
    assert keys.authenticate(signed(made["access_key"], made["secret_key"])) == ALICE
    store.tokens = {}
    keys._known.clear()  # noqa: SLF001
    with pytest.raises(Unauthenticated, match="deleted or rotated"):
        keys.authenticate(signed(made["access_key"], made["secret_key"]))


def test_revoking_an_owner_revokes_each_of_its_keys(keys: AccessKeys) -> None:
    mine = [keys.create(ALICE) for _ in range(3)]
    other = keys.create(Principal("token:bob", "token"))
    assert keys.revoke_owner("token:alice") == 3
    assert [k["id"] for k in keys.list(ALICE, everyone=True)] == [other["access_key"]]
    for made in mine:
        with pytest.raises(Unauthenticated, match="not valid"):
            keys.authenticate(signed(made["access_key"], made["secret_key"]))


def test_keys_expire(keys: AccessKeys, store: FakeStore, monkeypatch: pytest.MonkeyPatch) -> None:
    made = keys.create(ALICE, expires_in_days=2)
    doc = store.keys[made["access_key"]][1]
    assert doc["expires_at"] - doc["created_at"] == 2 * DAY_S
    del doc["expires_at"]  # a key older than expiries: 90 days after it was made
    assert keys.list(ALICE, everyone=False)[0]["expires_at"] > made["expires_at"]
    doc["expires_at"] = doc["created_at"] + 2 * DAY_S
    later = doc["expires_at"] + 1
    monkeypatch.setattr(access_keys, "time", SimpleNamespace(time=lambda: later, monotonic=time.monotonic))
    when = datetime.fromtimestamp(later, UTC)
    with pytest.raises(Unauthenticated, match="expired"):
        keys.authenticate(signed(made["access_key"], made["secret_key"], when))
    assert keys.list(ALICE, everyone=False)[0]["expired"] is True


@pytest.mark.parametrize("days", [0, 366])
def test_the_expiry_is_bounded(keys: AccessKeys, days: int) -> None:
    with pytest.raises(InvalidInput, match="expires_in_days"):
        keys.create(ALICE, expires_in_days=days)


def test_stale_wrong_and_revoked_signatures_are_refused(keys: AccessKeys) -> None:
    made = keys.create(ALICE)
    old = datetime.now(UTC) - timedelta(minutes=16)
    with pytest.raises(Unauthenticated, match="15 minutes"):
        keys.authenticate(signed(made["access_key"], made["secret_key"], old))
    with pytest.raises(Unauthenticated, match="does not match"):
        keys.authenticate(signed(made["access_key"], "not-the-secret"))
    with pytest.raises(Unauthenticated, match="not valid"):
        keys.authenticate(signed("CHAKUNKNOWN", made["secret_key"]))
    keys.delete(ALICE, made["access_key"], everyone=False)
    with pytest.raises(Unauthenticated, match="not valid"):
        keys.authenticate(signed(made["access_key"], made["secret_key"]))


def test_only_the_owner_or_an_admin_sees_and_revokes_a_key(keys: AccessKeys) -> None:
    made = keys.create(ALICE)
    bob = Principal("token:bob", "token")
    assert keys.list(bob, everyone=False) == [] and len(keys.list(bob, everyone=True)) == 1
    with pytest.raises(NotFound):
        keys.delete(bob, made["access_key"], everyone=False)
    keys.delete(bob, made["access_key"], everyone=True)
    assert keys.list(ALICE, everyone=False) == []


def test_keys_per_principal_are_bounded(keys: AccessKeys) -> None:
    for _ in range(MAX_KEYS_PER_PRINCIPAL):
        keys.create(ALICE)
    with pytest.raises(InvalidInput):
        keys.create(ALICE)
