"""Access keys: issued for the caller, the secret shown once and kept in the vault; signed requests are the owner's,
refused when stale, replayed, wrongly signed or revoked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from chalicelib.core.access_keys import MAX_KEYS_PER_PRINCIPAL, AccessKeys
from chalicelib.core.auth import Principal
from chalicelib.domain.sdksign import DATE_FORMAT, SignedRequest
from chalicelib.errors import InvalidInput, NotFound, Unauthenticated

ALICE = Principal("token:alice", "token", ("team-a",))


class FakeStore:
    def __init__(self) -> None:
        self.keys: dict[str, tuple[str, dict[str, Any]]] = {}
        self.seen: set[str] = set()

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
def keys() -> AccessKeys:
    return AccessKeys(FakeStore(), FakeVault())  # type: ignore[arg-type]


def test_a_key_signs_as_its_owner_once(keys: AccessKeys) -> None:
    made = keys.create(ALICE, "ci")
    assert made["owner"] == "token:alice" and made["secret_key"]
    assert "secret_key" not in keys.list(ALICE, everyone=False)[0]
    req = signed(made["access_key"], made["secret_key"])
    assert keys.authenticate(req) == ALICE
    with pytest.raises(Unauthenticated, match="replay"):
        keys.authenticate(req)


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
