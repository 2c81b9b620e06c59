"""Plans in the table: kept with a TTL, read back whole, absent once expired (even before DynamoDB sweeps them)."""

from __future__ import annotations

import pytest

from chalicelib.adapters.store import Store
from chalicelib.adapters.store import plans as stored
from chalicelib.domain.models import ReleaseRef, now
from chalicelib.domain.plans import Facts, Plan
from tests.emulated import raw_items


def plan(expires_at: float) -> Plan:
    facts = Facts(2, "d" * 64, "sha256:v")
    return Plan("plan-1", ReleaseRef("c", "ns", "web"), "upgrade", {"values": {"x": 1.5}}, facts, 1.0, expires_at)


def test_a_plan_is_read_back_whole_with_a_ttl(store: Store) -> None:
    kept = plan(now() + 60)
    store.put_plan(kept)
    assert store.get_plan("plan-1") == kept
    assert store.get_plan("plan-2") is None
    item = next(i for i in raw_items() if i["pk"]["S"] == "PLAN#plan-1")
    assert int(item["ttl"]["N"]) >= int(kept.expires_at)


def test_an_expired_plan_is_absent(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.put_plan(plan(now() + 60))
    later = now() + 61
    monkeypatch.setattr(stored, "now", lambda: later)
    assert store.get_plan("plan-1") is None
