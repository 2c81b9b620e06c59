"""Access keys and SDK-HMAC-SHA256 signatures through the Chalice app (moto, fake helm), signed by huaweicloudsdkcore's
own signer: a key lives only as long as the token that made it, expires, cannot make keys; the signature always
covers the body (UNSIGNED-PAYLOAD only on the chart uploads) and the host."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from chalicelib import bootstrap
from chalicelib.core import access_keys
from chalicelib.domain import multipart, sdksign
from tests.functional.conftest import Api
from tests.functional.test_charts_api import tgz

POLICY = {"principals": ["token:ci"], "rules": [{"verbs": ["read"], "clusters": ["*"], "namespaces": ["*"]}]}
WIDER = {"principals": ["token:ci"], "rules": [{"verbs": ["admin"], "clusters": ["*"], "namespaces": ["*"]}]}


def sign(
    key: dict[str, Any],
    method: str,
    path: str,
    body: bytes = b"",
    content_type: str = "application/json",
    **extra: str,
) -> dict[str, str]:
    """The headers huaweicloudsdkcore's signer puts on a request to the test client's host."""
    req = SdkRequest(
        method=method,
        schema="http",
        host="localhost",
        resource_path=path,
        query_params=[],
        # X-Request-Id: two requests signed in the same second are two signatures, not a replay
        header_params={
            "Content-Type": content_type,
            "X-Project-Id": "p1",
            "User-Agent": "sdk",
            "X-Request-Id": uuid.uuid4().hex,
            **extra,
        },
        body=body,
    )
    Signer(BasicCredentials(key["access_key"], key["secret_key"], "p1")).sign(req)
    return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in req.header_params.items()}


def send(api: Api, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, Any]:
    resp = getattr(api.c.http, method.lower())(path, headers=headers, body=body or None)
    return resp.status_code, resp.json_body


def key_of(api: Api, token: str, **body: Any) -> dict[str, Any]:
    status, key = api.call("POST", "/v1/access-keys", body, token=token)
    assert status == 201 and key["secret_key"], key
    return key


def whoami(api: Api, key: dict[str, Any]) -> tuple[int, Any]:
    bootstrap.get().access_keys._known.clear()  # noqa: SLF001 - as another container would: nothing cached
    return send(api, "GET", "/v1/whoami", sign(key, "GET", "/v1/whoami"))


# ---------------------------------------------------------------- 27.3: a key lives only as long as its owner


def test_deleting_the_token_revokes_its_keys(api: Api) -> None:
    status, made = api.call("POST", "/v1/tokens", {"name": "ci"})
    assert status == 201, made
    key = key_of(api, made["token"], description="pipeline")
    status, me = whoami(api, key)
    assert status == 200 and me["id"] == "token:ci", me
    status, _ = api.call("DELETE", "/v1/tokens/ci")
    assert status == 204
    assert api.call("GET", "/v1/whoami", token=made["token"])[0] == 401
    status, err = whoami(api, key)
    assert status == 401 and "not valid" in err["error"]["message"], err
    status, listed = api.call("GET", "/v1/access-keys")
    assert status == 200 and key["access_key"] not in [k["id"] for k in listed["access_keys"]], listed


def test_a_rotated_token_does_not_revive_its_old_keys(api: Api) -> None:
    """Rotation by hand (``python -m devstack token delete ci; ... create ci``) bypasses the API's revocation: the key
    is bound to the very token that made it, not to its name."""
    tokens = bootstrap.get().tokens
    old = tokens.create("ci")
    key = key_of(api, old)
    assert whoami(api, key)[0] == 200
    tokens.delete("ci")
    new = tokens.create("ci")
    assert api.call("GET", "/v1/whoami", token=new)[0] == 200
    status, err = whoami(api, key)
    assert status == 401 and "deleted or rotated" in err["error"]["message"], err


def test_a_key_has_the_policies_of_its_owner_at_the_time_of_use(api: Api) -> None:
    token = bootstrap.get().tokens.create("ci")
    key = key_of(api, token)
    assert api.call("PUT", "/v1/policies/ci", WIDER)[0] in (200, 201)
    signed = sign(key, "GET", "/v1/policies")
    assert send(api, "GET", "/v1/policies", signed)[0] == 200
    assert api.call("PUT", "/v1/policies/ci", POLICY)[0] == 200  # the owner loses admin: so does the key
    status, err = send(api, "GET", "/v1/policies", sign(key, "GET", "/v1/policies"))
    assert status == 403, err


def test_a_key_cannot_create_keys(api: Api) -> None:
    token = bootstrap.get().tokens.create("ci")
    key = key_of(api, token)
    body = json.dumps({"description": "successor"}).encode()
    status, err = send(api, "POST", "/v1/access-keys", sign(key, "POST", "/v1/access-keys", body), body)
    assert status == 403 and "cannot create access keys" in err["error"]["message"], err
    status, listed = api.call("GET", "/v1/access-keys", token=token)
    assert status == 200 and [k["id"] for k in listed["access_keys"]] == [key["access_key"]], listed


@pytest.mark.parametrize("days", [0, 366, -1, "ninety", 1.5, True])
def test_the_expiry_is_validated_naming_the_field(api: Api, days: object) -> None:
    status, err = api.call("POST", "/v1/access-keys", {"expires_in_days": days})
    assert status == 422 and err["error"]["details"]["field"] == "expires_in_days", err
    assert "expires_in_days" in err["error"]["message"]


def test_keys_expire_after_90_days_unless_asked_and_show_it(api: Api) -> None:
    token = bootstrap.get().tokens.create("ci")
    default = key_of(api, token)
    short = key_of(api, token, expires_in_days=1)
    longest = key_of(api, token, expires_in_days=365)
    status, listed = api.call("GET", "/v1/access-keys", token=token)
    assert status == 200, listed
    shown = {k["id"]: k for k in listed["access_keys"]}

    def days(key: dict[str, Any]) -> float:
        entry = shown[key["access_key"]]
        assert entry["expired"] is False
        made = datetime.fromisoformat(entry["created_at"])
        return (datetime.fromisoformat(entry["expires_at"]) - made) / timedelta(days=1)

    assert (round(days(default), 3), round(days(short), 3), round(days(longest), 3)) == (90, 1, 365)
    assert default["expires_at"] == shown[default["access_key"]]["expires_at"]


def test_an_expired_key_is_refused(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    token = bootstrap.get().tokens.create("ci")
    key = key_of(api, token, expires_in_days=1)
    later = time.time() + 2 * 86400  # two days on: the clock of the service and of the signer
    monkeypatch.setattr(access_keys, "time", SimpleNamespace(time=lambda: later, monotonic=time.monotonic))
    date = datetime.fromtimestamp(later, UTC).strftime(sdksign.DATE_FORMAT)
    bootstrap.get().access_keys._known.clear()  # noqa: SLF001
    status, err = send(api, "GET", "/v1/whoami", sign(key, "GET", "/v1/whoami", **{"X-Sdk-Date": date}))
    assert status == 401 and "expired" in err["error"]["message"], err
    status, listed = api.call("GET", "/v1/access-keys", token=token)
    assert status == 200 and listed["access_keys"][0]["expired"] is True, listed


def test_keys_are_seen_and_revoked_by_their_owner_and_admins_only(api: Api) -> None:
    tokens = bootstrap.get().tokens
    ci, other = tokens.create("ci"), tokens.create("other")
    key = key_of(api, ci)
    path = f"/v1/access-keys/{key['access_key']}"
    assert api.call("GET", "/v1/access-keys", token=other)[1]["access_keys"] == []
    assert api.call("GET", path, token=other)[0] == 404
    assert api.call("DELETE", path, token=other)[0] == 404
    assert whoami(api, key)[0] == 200
    assert api.call("GET", path)[0] == 200  # the admin sees it
    assert api.call("DELETE", path)[0] == 204  # and revokes it
    assert whoami(api, key)[0] == 401
    own = key_of(api, ci)
    assert api.call("DELETE", f"/v1/access-keys/{own['access_key']}", token=ci)[0] == 204
    assert whoami(api, own)[0] == 401


# ---------------------------------------------------------------- 27.4: the body and the host are always signed


def admin_key(api: Api) -> dict[str, Any]:
    return key_of(api, api.token)


def test_a_body_swapped_after_signing_is_refused(api: Api) -> None:
    """The finding: a signed ``PUT /v1/policies/p1`` carrying ``X-Sdk-Content-Sha256`` (any value: the SDK then signs
    that value instead of the body's hash) was accepted with another body."""
    key = admin_key(api)
    signed_body = json.dumps(POLICY).encode()
    swapped = json.dumps(WIDER).encode()
    for declared in ("UNSIGNED-PAYLOAD", hashlib.sha256(signed_body).hexdigest(), "anything"):
        headers = sign(key, "PUT", "/v1/policies/p1", signed_body, **{"X-Sdk-Content-Sha256": declared})
        status, err = send(api, "PUT", "/v1/policies/p1", headers, swapped)
        assert status == 401, (declared, err)
    assert api.call("GET", "/v1/policies/p1")[0] == 404  # nothing was written
    headers = sign(key, "PUT", "/v1/policies/p1", signed_body)  # the SDK's own way: the body's hash
    assert send(api, "PUT", "/v1/policies/p1", headers, swapped)[0] == 401
    status, created = send(api, "PUT", "/v1/policies/p1", sign(key, "PUT", "/v1/policies/p1", signed_body), signed_body)
    assert status == 201 and created["principals"] == ["token:ci"], created


def test_unsigned_payload_only_on_the_chart_uploads(api: Api) -> None:
    key = admin_key(api)
    ctype, form = multipart.encode([("content", tgz("signed", "1.0.0"), "c.tgz")], "b0undary")
    headers = sign(key, "POST", "/v2/charts", form, content_type=ctype)
    assert headers["X-Sdk-Content-Sha256"] == "UNSIGNED-PAYLOAD"  # the SDK does not hash a multipart body
    status, chart = send(api, "POST", "/v2/charts", headers, form)
    assert status == 201 and chart["name"] == "signed", chart
    ctype, form = multipart.encode([("content", tgz("signed", "1.0.1"), "c.tgz")], "b0undary")
    path = f"/v2/charts/{chart['id']}"
    status, updated = send(api, "PUT", path, sign(key, "PUT", path, form, content_type=ctype), form)
    assert status == 200 and updated["version"] == "1.0.1", updated
    headers = sign(key, "POST", "/v1/charts", form, content_type=ctype)  # not a CCE upload route
    status, err = send(api, "POST", "/v1/charts", headers, form)
    assert status == 401 and "UNSIGNED-PAYLOAD" in err["error"]["message"], err


def test_the_host_must_be_signed(api: Api) -> None:
    """A signature that leaves the host out (the SDK always signs it) is refused, though it is otherwise right."""
    key = admin_key(api)
    date = datetime.now(UTC).strftime(sdksign.DATE_FORMAT)
    headers = {"content-type": "application/json", "x-sdk-date": date, "host": "localhost"}
    covered = ("content-type", "x-sdk-date")
    req = sdksign.SignedRequest("GET", "/v1/whoami", (), headers, b"")
    mac = sdksign.signature(key["secret_key"], req, covered)
    auth = f"SDK-HMAC-SHA256 Access={key['access_key']}, SignedHeaders={';'.join(covered)}, Signature={mac}"
    status, err = send(api, "GET", "/v1/whoami", {**headers, "Authorization": auth})
    assert status == 401 and "Host must be one of the signed headers" in err["error"]["message"], err
