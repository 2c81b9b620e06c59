"""``charthouse access-key``: the secret key is printed once, to stdout; list and delete call their routes."""

from __future__ import annotations

import json

from tests.unit.cli.fakeapi import FakeApi, run

KEY = {
    "id": "CHAK01",
    "owner": "token:ci",
    "description": "ci",
    "created_at": "2026-11-27T20:00:00Z",
    "expires_at": "2027-02-25T20:00:00Z",
    "expired": False,
}


def test_create_prints_the_secret_once_to_stdout(fake: FakeApi) -> None:
    fake.on("POST", "/v1/access-keys", (201, {**KEY, "access_key": "CHAK01", "secret_key": "sk-value"}))
    code, out, err = run(fake, "access-key", "create", "--description", "ci")
    assert code == 0, err
    assert fake.requests[0]["body"] == {"description": "ci"}
    assert "secret_key: sk-value" in out and "sk-value" not in err and "shown this once" in err


def test_list_and_delete(fake: FakeApi) -> None:
    fake.on("GET", "/v1/access-keys", (200, {"access_keys": [KEY]}))
    fake.on("DELETE", "/v1/access-keys/CHAK01", (204, None))
    code, out, err = run(fake, "access-key", "list", "-o", "json")
    assert code == 0 and json.loads(out)["access_keys"][0]["id"] == "CHAK01", err
    code, out, err = run(fake, "access-keys", "rm", "CHAK01")
    assert code == 0 and "CHAK01 deleted" in out, err


def test_create_asks_for_an_expiry_and_list_shows_it(fake: FakeApi) -> None:
    fake.on("POST", "/v1/access-keys", (201, {**KEY, "access_key": "CHAK01", "secret_key": "sk-value"}))
    code, _, err = run(fake, "access-key", "create", "--expires-in-days", "30")
    assert code == 0 and fake.requests[0]["body"] == {"expires_in_days": 30}, err
    old = {**KEY, "id": "CHAK02", "expired": True}
    fake.on("GET", "/v1/access-keys", (200, {"access_keys": [KEY, old]}))
    code, out, err = run(fake, "access-key", "list")
    assert code == 0 and "EXPIRES" in out, err
    lines = out.splitlines()
    assert "expired" in next(line for line in lines if "CHAK02" in line)
    assert "expired" not in next(line for line in lines if "CHAK01" in line)
