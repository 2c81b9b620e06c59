"""The ``fake`` fixture: a fake API on loopback, with no CHARTHOUSE_* settings from the environment; and for every
CLI test, a configuration directory and a cache of its own (never the user's)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.cli.fakeapi import FakeApi

SETTINGS = (
    "CHARTHOUSE_ENDPOINT",
    "CHARTHOUSE_TOKEN",
    "CHARTHOUSE_CLUSTER",
    "CHARTHOUSE_NAMESPACE",
    "CHARTHOUSE_CONTEXT",
    "CHARTHOUSE_CONFIG",
    "NO_COLOR",
)


@pytest.fixture(autouse=True)
def own_config(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    for var in SETTINGS:
        monkeypatch.delenv(var, raising=False)
    return home / "config"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeApi]:
    monkeypatch.chdir(tmp_path)  # no .local/token from the work tree
    api = FakeApi()
    yield api
    api.close()
