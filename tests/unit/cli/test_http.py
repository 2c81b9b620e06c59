"""The HTTP client: no connection exits 5, a 503 is retried with the same idempotency key, a POST the service
cannot replay is never retried, names stay in their path segment."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest

from charthouse_cli.errors import ConnectError
from charthouse_cli.http import ApiClient, Reply
from charthouse_cli.main import main
from tests.unit.cli.fakeapi import FakeApi, chart_archive, op, run


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


BUSY = {"error": {"code": "DependencyUnavailable", "message": "busy", "details": {}}}


@pytest.mark.parametrize(
    ("argv", "method", "route", "files"),
    [
        (("token", "create", "ci"), "POST", "/v1/tokens", {}),
        (("chart", "upload", "demo-1.0.0.tgz"), "POST", "/v1/charts", {"demo-1.0.0.tgz": chart_archive()}),
    ],
)
def test_a_post_the_service_cannot_replay_is_sent_once(
    fake: FakeApi, argv: tuple[str, ...], method: str, route: str, files: dict[str, bytes]
) -> None:
    """Token create and chart upload have no Idempotency-Key on the service: a retry after a lost reply would
    answer 409 and lose the token, so the CLI reports the failure instead of trying again."""
    for name, data in files.items():
        Path(name).write_bytes(data)
    fake.on(method, route, (503, BUSY), (201, {"name": "ci", "token": "cht_x"}))
    code, _, err = run(fake, *argv)
    assert code != 0 and "busy" in err
    assert [(r["method"], r["path"]) for r in fake.requests] == [(method, route)]


def test_a_lost_connection_is_not_retried_for_a_post_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, dict[str, str]]] = []

    def send(self: ApiClient, method: str, url: str, headers: dict[str, str], data: bytes | None) -> Reply:
        calls.append((method, dict(headers)))
        if len(calls) == 1:
            raise ConnectError("cannot connect: timed out")
        return Reply(200, {}, {})

    monkeypatch.setattr(ApiClient, "_send", send)
    client = ApiClient("http://api.example", sleep=lambda s: None)
    with pytest.raises(ConnectError):
        client.call("POST", "/v1/tokens", body={"name": "ci"})
    assert len(calls) == 1
    calls.clear()  # with a key the service honours, and for idempotent methods, a retry is safe
    assert client.call("POST", "/v1/x", body={}, idempotency_key="k").status == 200 and len(calls) == 2
    for method in ("GET", "PUT", "DELETE"):
        calls.clear()
        assert client.call(method, "/v1/x").status == 200 and len(calls) == 2
    calls.clear()
    assert client.call("POST", "/v1/repositories/r/refresh", retry=True).status == 200 and len(calls) == 2
