"""Recovery on purpose: ``unlock`` of one release (refused while its lease is live), the scheduled ``sweep`` of
expired leases and of releases stuck pending without a lease, and ``interrupted`` for the operations a stopped
local stack cut off. The store is the real one on an emulated table; the queue is the fake of tests/fakes.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from chalicelib.adapters.queue import Message
from chalicelib.adapters.store import Store
from chalicelib.core.operations import Announcer, Intake
from chalicelib.core.recovery import Recovery
from chalicelib.domain.models import (
    Action,
    Limits,
    Operation,
    OperationStatus,
    ReleaseRecord,
    ReleaseRef,
    ReleaseStatus,
    UninstallSpec,
    UnlockSpec,
)
from chalicelib.errors import ReleaseLocked, ReleaseNotFound
from tests.emulated import emulated_store, expire_lease
from tests.fakes import FakeQueue

LIMITS = Limits(max_timeout_s=3600, default_timeout_s=300, default_max_history=10, allow_http_charts=False)
REF = ReleaseRef("prod", "apps", "web")
OTHER = ReleaseRef("prod", "apps", "api")


@dataclass
class World:
    store: Store
    queue: FakeQueue
    intake: Intake
    recovery: Recovery
    ended: list[str] = field(default_factory=list)

    def start(self, ref: ReleaseRef = REF) -> Operation:
        """An operation accepted (holding the release's lease) whose worker then vanished."""
        return self.intake.accept(Action.UNINSTALL, ref, UninstallSpec(timeout_s=30))

    def queued(self) -> list[Message]:
        return [Message.from_body(body) for _, body in self.queue.bodies]

    def record(self, ref: ReleaseRef, status: ReleaseStatus) -> None:
        self.store.put_releases([_record(ref, status)])


def _record(ref: ReleaseRef, status: ReleaseStatus) -> ReleaseRecord:
    return ReleaseRecord(
        ref=ref,
        status=status,
        revision=2,
        chart_name="demo",
        chart_version="1.2.3",
        app_version="1.0",
        first_deployed="2026-01-01T00:00:00Z",
        last_deployed="2026-01-01T00:00:00Z",
        description="",
        notes="",
        values_digest="",
        labels={},
        last_action="upgrade",
        last_operation_id="op-old",
        failures=0,
        updated_at=time.time(),
    )


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with emulated_store(monkeypatch) as store:
        queue = FakeQueue()
        announcer = Announcer(store)
        intake = Intake(store, queue, lease_grace_s=60, announcer=announcer)  # type: ignore[arg-type]
        w = World(store, queue, intake, Recovery(store, intake, LIMITS, "mark-failed"))
        announcer.subscribe(lambda op, record: w.ended.append(op.id))
        yield w


def _status(world: World, op_id: str) -> OperationStatus:
    op = world.store.get_operation(op_id)
    assert op is not None
    return op.status


def test_unlock_of_a_release_nobody_knows_is_not_found(world: World) -> None:
    with pytest.raises(ReleaseNotFound):
        world.recovery.unlock(REF, UnlockSpec())
    assert world.queue.bodies == []


def test_unlock_is_refused_while_the_lease_is_live(world: World) -> None:
    op = world.start()
    with pytest.raises(ReleaseLocked) as err:
        world.recovery.unlock(REF, UnlockSpec())
    assert err.value.operation_id == op.id and "can be unlocked after that" in str(err.value)
    assert _status(world, op.id) is OperationStatus.QUEUED  # its worker may still be running: left alone


def test_unlock_after_the_lease_expired_fails_the_lost_operation_and_queues_recovery(world: World) -> None:
    lost = world.start()
    expire_lease(REF)
    unlock = world.recovery.unlock(REF, UnlockSpec(policy="rollback"))
    failed = world.store.get_operation(lost.id)
    assert failed is not None and failed.status is OperationStatus.FAILED
    assert failed.error is not None and failed.error["code"] == "WorkerLost"
    assert world.ended == [lost.id]  # announced: events, and a custom resource's answer
    assert unlock.action is Action.UNLOCK and world.store.lease_holder(REF) == unlock.id
    assert world.queued()[-1].operation_id == unlock.id


def test_unlock_of_a_recorded_release_without_a_lease(world: World) -> None:
    world.record(REF, ReleaseStatus.PENDING_UPGRADE)
    op = world.recovery.unlock(REF, UnlockSpec())
    assert op.action is Action.UNLOCK and world.ended == []


def test_the_sweep_recovers_expired_leases_and_pending_releases_without_one(world: World) -> None:
    lost = world.start(REF)
    expire_lease(REF)
    world.record(OTHER, ReleaseStatus.PENDING_INSTALL)  # helm was killed, the worker recorded it, no lease
    world.record(ReleaseRef("prod", "apps", "fine"), ReleaseStatus.DEPLOYED)
    busy = world.start(ReleaseRef("prod", "apps", "busy"))
    world.record(ReleaseRef("prod", "apps", "busy"), ReleaseStatus.PENDING_UPGRADE)  # its worker is on it
    report = world.recovery.sweep()
    assert report.leases_expired == 1 and report.operations_failed == [lost.id]
    unlocked = {m.operation_id: m for m in world.queued()}
    assert set(report.unlocks_queued) <= set(unlocked) and len(report.unlocks_queued) == 2
    refs = {world.store.get_operation(i).release.key for i in report.unlocks_queued}  # type: ignore[union-attr]
    assert refs == {REF.key, OTHER.key}
    assert all(unlocked[i].spec == UnlockSpec(policy="mark-failed", timeout_s=300) for i in report.unlocks_queued)
    assert _status(world, busy.id) is OperationStatus.QUEUED
    again = world.recovery.sweep()  # the unlocks now hold the leases: nothing to do twice
    assert again.leases_expired == 0 and again.unlocks_queued == []


def test_a_lost_cluster_wide_operation_frees_its_lease_and_queues_no_unlock(world: World) -> None:
    ref = ReleaseRef("prod", "*", "*")
    assert ref.cluster_wide
    op = world.start(ref)
    expire_lease(ref)
    report = world.recovery.sweep()
    assert report.operations_failed == [op.id] and report.unlocks_queued == []
    assert world.store.lease(ref) is None


def test_operations_cut_off_by_a_stopped_stack_are_recovered_at_restart(world: World) -> None:
    old = world.start(REF)
    restart = time.time() + 1
    report = world.recovery.interrupted(before=restart)
    op = world.store.get_operation(old.id)
    assert op is not None and op.error is not None and op.error["code"] == "Interrupted"
    assert report.operations_failed == [old.id] and world.ended == [old.id]
    assert len(report.unlocks_queued) == 1 and world.store.lease_holder(REF) == report.unlocks_queued[0]


def test_operations_accepted_since_the_restart_are_left_to_their_message(world: World) -> None:
    before = time.time() - 3600
    fresh = world.start(REF)
    report = world.recovery.interrupted(before=before)
    assert report.operations_failed == [] and report.unlocks_queued == []
    assert _status(world, fresh.id) is OperationStatus.QUEUED


def test_an_unlock_that_finds_the_release_taken_is_skipped(world: World) -> None:
    world.record(OTHER, ReleaseStatus.PENDING_INSTALL)
    original = world.intake.accept

    def taken(*args: object, **kwargs: object) -> Operation:
        raise ReleaseLocked("someone else took it", operation_id="op-x")

    world.intake.accept = taken  # type: ignore[method-assign]
    try:
        report = world.recovery.sweep()
    finally:
        world.intake.accept = original  # type: ignore[method-assign]
    assert report.unlocks_queued == [] and world.queue.bodies == []
