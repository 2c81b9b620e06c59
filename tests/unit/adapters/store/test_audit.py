"""Audit entries: written with a TTL, listed newest first from a time, filtered, paged."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.store import Store
from chalicelib.errors import InvalidInput
from tests.emulated import raw_items

T0 = 1_700_000_000.0


def entry(n: int, **fields: Any) -> dict[str, Any]:
    return {"id": f"au-{n:04d}", "at": T0 + n + 0.25, "principal": "token:ci", "status": 202, "result": "ok", **fields}


@pytest.fixture
def audited(store: Store) -> Store:
    for n in range(6):
        store.put_audit(entry(n, cluster="prod" if n % 2 else "dev"), ttl_epoch=int(T0) + 86400)
    return store


def test_entries_come_back_newest_first_as_they_were_written(audited: Store) -> None:
    items, token = audited.list_audit(T0, {}, 10, None)
    assert [i["id"] for i in items] == [f"au-{n:04d}" for n in reversed(range(6))] and token is None
    assert items[0] == entry(5, cluster="prod")  # no key, index key or ttl attribute; numbers as numbers


def test_since_leaves_older_entries_out(audited: Store) -> None:
    items, _ = audited.list_audit(T0 + 4, {}, 10, None)
    assert [i["id"] for i in items] == ["au-0005", "au-0004"]


def test_filters_are_exact_matches(audited: Store) -> None:
    items, _ = audited.list_audit(T0, {"cluster": "prod", "result": "ok"}, 10, None)
    assert [i["id"] for i in items] == ["au-0005", "au-0003", "au-0001"]
    assert audited.list_audit(T0, {"cluster": "pro"}, 10, None) == ([], None)


def test_pages_continue_with_next_token(audited: Store) -> None:
    seen: list[str] = []
    token: str | None = None
    while True:
        items, token = audited.list_audit(T0, {"cluster": "dev"}, 2, token)
        seen += [i["id"] for i in items]
        if token is None:
            break
    assert seen == ["au-0004", "au-0002", "au-0000"]
    with pytest.raises(InvalidInput):
        audited.list_audit(T0, {}, 2, "garbage!")


def test_an_entry_expires_at_its_ttl(audited: Store) -> None:
    assert {int(i["ttl"]["N"]) for i in raw_items()} == {int(T0) + 86400}
