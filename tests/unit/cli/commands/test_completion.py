"""``charthouse completion``: argcomplete's shell code for bash, zsh and fish; completers that read real names
from the API, cache them briefly, and give up quickly on an endpoint that does not answer."""

from __future__ import annotations

import argparse
import io
import socket
from pathlib import Path

import pytest

from charthouse_cli import completers
from charthouse_cli.main import build_parser, main
from tests.unit.cli.fakeapi import FakeApi


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash", "complete -o nospace"), ("zsh", "#compdef charthouse"), ("fish", "complete --command charthouse")],
)
def test_completion_scripts_for_each_shell(shell: str, marker: str) -> None:
    out = io.StringIO()
    assert main(["completion", shell], stdout=out) == 0
    assert marker in out.getvalue() and "_ARGCOMPLETE" in out.getvalue()


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "cache"


def parsed(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def test_names_come_from_the_api_and_are_cached(fake: FakeApi, cache: Path) -> None:
    fake.on(
        "GET", "/v1/clusters/local/namespaces/shop/releases", (200, {"releases": [{"name": "web"}, {"name": "db"}]})
    )
    args = parsed("release", "show", "x", "-n", "shop", "--endpoint", fake.url)
    assert completers.releases("w", args) == ["web"]
    assert completers.releases("", args) == ["db", "web"]
    assert len(fake.requests) == 1  # the second answer came from the cache
    assert list((cache / "charthouse" / "completion").glob("*.json"))
    fake.on("GET", "/v1/clusters", (200, {"clusters": [{"name": "local"}, {"name": "prod"}]}))
    assert completers.clusters("p", parsed("cluster", "list", "--endpoint", fake.url)) == ["prod"]
    fake.on(
        "GET",
        "/v1/clusters/local/namespaces/default/releases/web/history",
        (200, {"history": [{"revision": 2}, {"revision": 1}]}),
    )
    assert completers.revisions("", parsed("release", "rollback", "web", "--endpoint", fake.url)) == ["2", "1"]


def test_an_endpoint_that_does_not_answer_completes_nothing(
    fake: FakeApi, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(completers, "TIME_LIMIT_S", 0.3)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection, never answers
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        assert completers.clusters("", parsed("cluster", "list", "--endpoint", url)) == []
    finally:
        silent.close()
    assert completers.clusters("", parsed("cluster", "list", "--endpoint", "http://127.0.0.1:1")) == []
