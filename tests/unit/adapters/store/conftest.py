from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.adapters.store import Store
from tests.emulated import emulated_store


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    with emulated_store(monkeypatch) as s:
        yield s
