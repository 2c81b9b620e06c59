"""The HTTP client: no connection exits 5, a 503 is retried with the same idempotency key, names stay in their
path segment."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest

from charthouse_cli.main import main
from tests.unit.cli.fakeapi import FakeApi, op, run


def test_cannot_connect_exits_5(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out, err = io.StringIO(), io.StringIO()
    assert main(["--endpoint", f"http://127.0.0.1:{port}", "cluster", "list"], stdout=out, stderr=err) == 5
    assert "cannot connect" in err.getvalue()


def test_503_is_retried_with_the_same_idempotency_key(fake: FakeApi) -> None:
    busy = {"error": {"code": "DependencyUnavailable", "message": "busy", "details": {}}}
    fake.on("POST", "/v1/clusters/local/namespaces/default/releases", (503, busy), (202, op("queued")))
    code, _, err = run(fake, "release", "create", "web", "repo/web", "--no-wait")
    assert code == 0, err
    keys = [r["headers"]["Idempotency-Key"] for r in fake.requests]
    assert len(keys) == 2 and keys[0] == keys[1]
    # another invocation, another key
    fake.on("POST", "/v1/clusters/local/namespaces/default/releases", (202, op("queued")))
    run(fake, "release", "create", "web", "repo/web", "--no-wait")
    assert fake.requests[-1]["headers"]["Idempotency-Key"] != keys[0]


def test_names_cannot_escape_their_path_segment(fake: FakeApi) -> None:
    run(fake, "release", "show", "../../clusters")
    assert fake.requests[-1]["path"] == "/v1/clusters/local/namespaces/default/releases/..%2F..%2Fclusters"
