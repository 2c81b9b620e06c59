"""Credentials: a bearer token (given, or the local stack's for a loopback endpoint) never printed; SigV4 for
execute-api hosts."""

from __future__ import annotations

from pathlib import Path

import pytest

from charthouse_cli import auth
from charthouse_cli.errors import UsageError
from tests.unit.cli.fakeapi import FakeApi, run


def test_bearer_token_is_sent_and_never_printed(fake: FakeApi, tmp_path: Path) -> None:
    fake.on("GET", "/v1/clusters", (500, {"error": {"code": "InternalError", "message": "boom", "details": {}}}))
    code, out, err = run(fake, "cluster", "list", "--token", "tok-123")
    assert code == 1 and "tok-123" not in out + err
    assert fake.requests[-1]["headers"]["Authorization"] == "Bearer tok-123"
    # the local stack's token file, for a loopback endpoint only
    (tmp_path / ".local").mkdir()
    (tmp_path / ".local" / "token").write_text("local-tok\n")
    run(fake, "cluster", "list")
    assert fake.requests[-1]["headers"]["Authorization"] == "Bearer local-tok"
    assert isinstance(auth.resolve("https://api.example.com", auth.AuthOptions(), {}, tmp_path), auth.NoAuth)


def test_sigv4_is_automatic_for_execute_api_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    url = "https://abc123.execute-api.eu-west-1.amazonaws.com"
    signer = auth.resolve(url, auth.AuthOptions(), {})
    assert isinstance(signer, auth.SigV4Auth) and signer.region == "eu-west-1"
    headers = signer.headers("GET", url + "/api/v1/releases", {"Accept": "application/json"}, None)
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in headers["Authorization"]
    assert "X-Amz-Date" in headers
    with pytest.raises(UsageError):
        auth.resolve(url, auth.AuthOptions(token="t", sigv4=True), {})
    explicit = auth.resolve("https://api.example.com", auth.AuthOptions(sigv4=True, region="us-east-2"), {})
    assert isinstance(explicit, auth.SigV4Auth) and explicit.region == "us-east-2"
