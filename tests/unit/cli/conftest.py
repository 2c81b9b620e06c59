"""The ``fake`` fixture: a fake API on loopback, with no CHARTHOUSE_* settings from the environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.cli.fakeapi import FakeApi


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeApi]:
    for var in ("CHARTHOUSE_ENDPOINT", "CHARTHOUSE_TOKEN", "CHARTHOUSE_CLUSTER", "CHARTHOUSE_NAMESPACE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no .local/token from the work tree
    api = FakeApi()
    yield api
    api.close()
