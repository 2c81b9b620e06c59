"""Plans in the table: kept with a TTL, read back whole, absent once expired (even before DynamoDB sweeps them)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.adapters.store import Store
from chalicelib.adapters.store import plans as stored
from chalicelib.domain.models import ReleaseRef, now
from chalicelib.domain.plans import Facts, Plan, RuntimePlan, StepFacts
from tests.emulated import raw_items


def plan(expires_at: float) -> Plan:
    facts = Facts(2, "d" * 64, "sha256:v")
    request = {"values": {"x": 1.5, "password": "hunter2"}}
    return Plan("plan-1", ReleaseRef("c", "ns", "web"), "upgrade", request, facts, 1.0, expires_at, "sha256:r")


def test_a_plan_is_read_back_with_a_ttl_and_without_its_request(store: Store) -> None:
    kept = plan(now() + 60)
    store.put_plan(kept)
    assert store.get_plan("plan-1") == replace(kept, request={})  # the request is kept elsewhere (core/plans.py)
    assert store.get_plan("plan-2") is None
    item = next(i for i in raw_items() if i["pk"]["S"] == "PLAN#plan-1")
    assert int(item["ttl"]["N"]) >= int(kept.expires_at)
    assert "hunter2" not in str(item) and "1.5" not in str(item)  # no value of the request in the table


def test_a_runtime_plan_is_read_back_and_is_no_release_plan(store: Store) -> None:
    kept = RuntimePlan(
        "plan-3", "shop", "abc", (StepFacts("ns/web", "install", 0, "c" * 64, "sha256:a"),), 1.0, now() + 60
    )
    store.put_runtime_plan(kept)
    assert store.get_runtime_plan("plan-3") == kept
    assert store.get_plan("plan-3") is None
    store.put_plan(plan(now() + 60))
    assert store.get_runtime_plan("plan-1") is None


def test_an_expired_plan_is_absent(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.put_plan(plan(now() + 60))
    later = now() + 61
    monkeypatch.setattr(stored, "now", lambda: later)
    assert store.get_plan("plan-1") is None
