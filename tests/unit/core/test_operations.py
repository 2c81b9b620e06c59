"""The operation pipeline through its public methods: ``Intake`` (accept, replay, get, list), ``Executor``
(execute) and the ``Announcer`` that tells listeners of every operation that ended. The store is the real one on an emulated table; helm and the
queue are the fakes of tests/fakes.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from chalicelib.adapters.store import Store
from chalicelib.core.diagnosis import Watcher
from chalicelib.core.operations import Announcer, Executor, Intake, fits_inline
from chalicelib.core.service import ReleaseService
from chalicelib.domain.models import (
    Action,
    Idempotency,
    InstallSpec,
    Limits,
    Operation,
    OperationQuery,
    OperationStatus,
    ReconcileSpec,
    ReleaseRecord,
    ReleaseRef,
    ReleaseStatus,
    RollbackSpec,
    Spec,
    UninstallSpec,
    UpgradeSpec,
    now,
)
from chalicelib.errors import (
    Conflict,
    DependencyUnavailable,
    HelmTimeout,
    InvalidInput,
    OperationNotFound,
    ReleaseLocked,
)
from tests.emulated import emulated_store, registry_with
from tests.fakes import FakeHelm, FakeQueue

LIMITS = Limits(max_timeout_s=3600, default_timeout_s=300, default_max_history=10, allow_http_charts=False)
CHART = "https://charts.example.com/demo-1.2.3.tgz"
REF = ReleaseRef("prod", "apps", "web")


def shown(op: Operation | None) -> Any:
    """An operation as the API shows it (JSON: a tuple in the request summary comes back from the table a list)."""
    return json.loads(json.dumps(op.to_json())) if op is not None else None


@dataclass
class World:
    store: Store
    helm: FakeHelm
    queue: FakeQueue
    service: ReleaseService
    announcer: Announcer
    intake: Intake
    executor: Executor
    ended: list[Operation] = field(default_factory=list)
    records: list[ReleaseRecord | None] = field(default_factory=list)  # as each ending was announced with it

    def heard(self, op: Operation, record: ReleaseRecord | None) -> None:
        self.ended.append(op)
        self.records.append(record)

    def install(self, ref: ReleaseRef = REF, chart: str = CHART, idem: Idempotency | None = None) -> Operation:
        spec, _ = InstallSpec.from_json({"name": ref.name, "chart": chart}, LIMITS)
        return self.intake.accept(Action.INSTALL, ref, spec, idem)

    def run_next(self, remaining_s: float | None = None) -> Operation | None:
        return self.executor.execute(self.queue.take(), remaining_s)

    def run(self, action: Action, spec: Spec, ref: ReleaseRef = REF) -> Operation:
        self.intake.accept(action, ref, spec)
        done = self.run_next()
        assert done is not None
        return done


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with emulated_store(monkeypatch) as store:
        helm, queue = FakeHelm(), FakeQueue()
        service = ReleaseService(store, registry_with(store, "prod"), helm)
        announcer = Announcer(store)
        intake = Intake(store, queue, lease_grace_s=60, announcer=announcer)  # type: ignore[arg-type]
        executor = Executor(store, service, announcer, reconcile=_no_reconcile)
        w = World(store, helm, queue, service, announcer, intake, executor)
        announcer.subscribe(w.heard)
        yield w


def _no_reconcile(kubeconfig: str, op: Operation, spec: ReconcileSpec) -> dict[str, Any]:
    raise AssertionError("no cluster-wide operation is queued in these tests")


# ---------------------------------------------------------------- accept


def test_accept_records_a_queued_operation_takes_the_lease_and_sends_one_message(world: World) -> None:
    op = world.install()
    assert op.status is OperationStatus.QUEUED and op.action is Action.INSTALL and op.release == REF
    assert shown(world.store.get_operation(op.id)) == shown(op)
    assert world.store.lease_holder(REF) == op.id
    assert [group for group, _ in world.queue.bodies] == [op.id]
    message = world.queue.take()
    assert message.operation_id == op.id and message.action is Action.INSTALL
    assert isinstance(message.spec, InstallSpec) and message.spec.chart == CHART


def test_the_lease_outlives_helms_timeout(world: World) -> None:
    op = world.install()
    lease = world.store.lease(REF)
    assert lease is not None and lease.expires_at - op.created_at > LIMITS.default_timeout_s + 60


def test_a_second_operation_on_a_busy_release_is_refused_and_not_sent(world: World) -> None:
    first = world.install()
    spec = UpgradeSpec.from_json({"chart": CHART}, LIMITS)
    with pytest.raises(ReleaseLocked) as err:
        world.intake.accept(Action.UPGRADE, REF, spec)
    assert err.value.details["operation_id"] == first.id
    assert len(world.queue.bodies) == 1


def test_every_operation_is_sent_in_a_message_group_of_its_own(world: World) -> None:
    """A lost worker's message (in flight for the visibility timeout) must block no later operation, an unlock
    included; the lease keeps the order on a release."""
    op = world.intake.accept(Action.UNLOCK, REF, UninstallSpec.from_json({}, LIMITS))
    assert [group for group, _ in world.queue.bodies] == [op.id]


def test_when_the_queue_is_down_the_operation_fails_and_frees_the_lease(world: World) -> None:
    world.queue.down = True
    with pytest.raises(DependencyUnavailable):
        world.install()
    assert world.store.lease(REF) is None
    [failed] = world.ended
    assert failed.status is OperationStatus.FAILED and failed.error is not None
    assert failed.error["code"] == "DependencyUnavailable"
    assert world.store.get_operation(failed.id) == failed
    world.queue.down = False
    assert world.install().status is OperationStatus.QUEUED  # the release is not left locked


# ---------------------------------------------------------------- reading operations


def test_get_an_operation_and_refuse_ids_never_given_out(world: World) -> None:
    op = world.install()
    assert shown(world.intake.get(op.id)) == shown(op)
    for unknown in ("op-0000", "not-an-operation-id", "op-" + "0" * 100):
        with pytest.raises(OperationNotFound):
            world.intake.get(unknown)


def test_list_operations_newest_first_filtered_and_paged(world: World) -> None:
    first = world.install()
    started = now()
    while now() == started:  # operations of one millisecond would sort by their random ids
        pass
    second = world.install(ReleaseRef("prod", "apps", "api"))
    world.run_next()  # the first one succeeds
    ops, token = world.intake.list(OperationQuery())
    assert [o.id for o in ops] == [second.id, first.id] and token is None
    queued, _ = world.intake.list(OperationQuery(status="queued"))
    assert [o.id for o in queued] == [second.id]
    page, token = world.intake.list(OperationQuery(limit=1))
    rest, end = world.intake.list(OperationQuery(limit=1, next_token=token))
    assert [o.id for o in page + rest] == [second.id, first.id] and end is None


# ---------------------------------------------------------------- idempotency


def test_a_replayed_request_gets_the_operation_it_created(world: World) -> None:
    idem = Idempotency("key-1", "hash-of-the-request")
    op = world.install(idem=idem)
    assert shown(world.intake.replay(idem)) == shown(op)
    assert world.intake.replay(None) is None
    assert world.intake.replay(Idempotency("unused", "h")) is None


def test_a_key_reused_with_another_request_is_invalid_input(world: World) -> None:
    world.install(idem=Idempotency("key-1", "hash-a"))
    with pytest.raises(InvalidInput) as err:
        world.intake.replay(Idempotency("key-1", "hash-b"))
    assert err.value.details["field"] == "Idempotency-Key"


def test_a_concurrent_twin_is_answered_with_the_winners_operation(world: World) -> None:
    idem = Idempotency("key-1", "hash-a")
    winner = world.install(idem=idem)
    twin = world.install(ReleaseRef("prod", "apps", "api"), idem=idem)  # lost the race for the key
    assert shown(twin) == shown(winner) and len(world.queue.bodies) == 1


def test_a_twin_whose_winner_cannot_be_read_is_a_conflict(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    idem = Idempotency("key-1", "hash-a")
    world.install(idem=idem)
    monkeypatch.setattr(world.store, "get_idempotency", lambda key: None)  # the winner's key is not visible yet
    with pytest.raises(Conflict):
        world.install(ReleaseRef("prod", "apps", "api"), idem=idem)


# ---------------------------------------------------------------- execute


def test_execute_runs_helm_and_records_the_outcome(world: World) -> None:
    op = world.install()
    done = world.run_next()
    assert done is not None and done.id == op.id and done.status is OperationStatus.SUCCEEDED
    assert done.result == {"status": "deployed", "revision": 1}
    assert world.store.get_operation(op.id) == done and world.ended == [done]
    record = world.store.get_release(REF)
    assert record is not None and record.status is ReleaseStatus.DEPLOYED and record.revision == 1
    assert record.chart_name == "demo" and record.last_operation_id == op.id and record.last_action == "install"
    assert [r.revision for r in world.store.history(REF, 10)] == [1]
    assert world.store.lease(REF) is None
    assert "install" in world.helm.calls


def test_a_redelivered_message_does_nothing(world: World) -> None:
    world.install()
    message = world.queue.take()
    assert world.executor.execute(message) is not None
    calls = list(world.helm.calls)
    assert world.executor.execute(message) is None
    assert world.helm.calls == calls and len(world.ended) == 1


def test_upgrade_rollback_and_uninstall_each_record_helms_state(world: World) -> None:
    world.install()
    world.run_next()
    upgraded = world.run(Action.UPGRADE, UpgradeSpec.from_json({"chart": CHART, "values": {"a": 1}}, LIMITS))
    assert upgraded.result == {"status": "deployed", "revision": 2}
    rolled = world.run(Action.ROLLBACK, RollbackSpec.from_json({"revision": 1}, LIMITS))
    assert rolled.result == {"status": "deployed", "revision": 3}
    assert [(r.revision, r.status) for r in world.store.history(REF, 10)] == [
        (3, ReleaseStatus.DEPLOYED),
        (2, ReleaseStatus.SUPERSEDED),
        (1, ReleaseStatus.SUPERSEDED),
    ]
    gone = world.run(Action.UNINSTALL, UninstallSpec.from_json({}, LIMITS))
    assert gone.status is OperationStatus.SUCCEEDED and gone.result == {"status": "uninstalled", "revision": 3}
    record = world.store.get_release(REF)
    assert record is not None and record.status is ReleaseStatus.UNINSTALLED and record.last_action == "uninstall"
    assert world.store.history(REF, 10) == [] and world.store.lease(REF) is None


def test_a_helm_failure_ends_the_operation_failed_with_helms_reason(world: World) -> None:
    op = world.install(chart="https://charts.example.com/missing-1.0.0.tgz")
    done = world.run_next()
    assert done is not None and done.status is OperationStatus.FAILED and done.error is not None
    assert done.error["code"] == "ChartNotFound" and "404" in done.error["message"]
    assert world.store.get_operation(op.id) == done
    assert world.store.get_release(REF) is None  # helm left nothing behind: there is nothing to record
    assert world.store.lease(REF) is None


def test_an_unreachable_cluster_fails_the_operation_without_touching_the_record(world: World) -> None:
    world.install()
    world.run_next()
    before = world.store.get_release(REF)
    world.helm.unreachable = True
    done = world.run(Action.UPGRADE, UpgradeSpec.from_json({"chart": CHART}, LIMITS))
    assert done.status is OperationStatus.FAILED and done.error is not None
    assert done.error["code"] == "ClusterUnreachable"
    assert world.store.get_release(REF) == before and world.store.lease(REF) is None


def test_too_little_time_left_fails_before_helm_runs(world: World) -> None:
    world.install()
    done = world.run_next(remaining_s=10)
    assert done is not None and done.status is OperationStatus.FAILED and done.error is not None
    assert done.error["code"] == "WorkerTimeBudget"
    assert world.helm.calls == [] and world.store.lease(REF) is None


def test_a_cluster_deleted_after_accept_fails_the_operation(world: World) -> None:
    world.install()
    world.service.registry.delete("prod")
    done = world.run_next()
    assert done is not None and done.status is OperationStatus.FAILED and done.error is not None
    assert done.error["code"] == "ClusterNotFound" and world.helm.calls == []


def test_credentials_unavailable_leaves_the_operation_queued_for_a_retry(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    op = world.install()
    message = world.queue.take()

    def down(*args: object) -> None:
        raise DependencyUnavailable("Secrets Manager is unavailable")

    monkeypatch.setattr(world.service.registry, "credentials", down)
    with pytest.raises(DependencyUnavailable):
        world.executor.execute(message)
    stored = world.store.get_operation(op.id)
    assert stored is not None and stored.status is OperationStatus.QUEUED and world.store.lease_holder(REF) == op.id
    monkeypatch.undo()
    done = world.executor.execute(message)  # the queue's redelivery
    assert done is not None and done.status is OperationStatus.SUCCEEDED


def test_an_operation_ended_meanwhile_is_not_run(world: World) -> None:
    op = world.install()
    assert world.store.fail_operation(op.id, {"code": "WorkerLost", "message": "lost", "details": {}})
    assert world.run_next() is None and world.helm.calls == []


def test_a_failing_listener_does_not_undo_the_operation(world: World) -> None:
    def broken(op: Operation, record: ReleaseRecord | None) -> None:
        raise RuntimeError("the event bus is down")

    later: list[Operation] = []
    world.announcer.subscribe(broken)
    world.announcer.subscribe(lambda op, _: later.append(op))
    world.install()
    done = world.run_next()
    assert done is not None and done.status is OperationStatus.SUCCEEDED
    assert world.ended == later == [done]  # told before and after the one that failed


def test_a_malformed_message_body_is_dropped(world: World) -> None:
    assert world.executor.execute_body("{not json") is None
    assert world.executor.execute_body('{"operation_id": "op-1", "action": "no-such-action", "spec": {}}') is None
    op = world.install()
    group, body = world.queue.bodies.pop(0)
    done = world.executor.execute_body(body)
    assert done is not None and done.id == op.id and done.status is OperationStatus.SUCCEEDED


@pytest.mark.parametrize(
    ("action", "timeout_s", "wait_s", "fits"),
    [
        (Action.INSTALL, 15, 20, True),  # 15 + 2 (stop helm) + 3 (record) = 20
        (Action.INSTALL, 16, 20, False),
        (Action.UPGRADE, 300, 25, False),  # helm's default timeout never fits a request
        (Action.UNINSTALL, 1, 6, True),
        (Action.UNLOCK, 1, 25, False),  # recovery and reconcile always go to the worker
        (Action.RECONCILE, 1, 25, False),
    ],
)
def test_fits_inline(action: Action, timeout_s: int, wait_s: float, fits: bool) -> None:
    assert fits_inline(action, UninstallSpec(timeout_s=timeout_s), wait_s) is fits


def test_listeners_see_the_verdict_that_won_when_the_worker_lost_its_race(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The executor announces its own outcome without reading it back only when its write won."""
    op = world.install()
    install = world.helm.install

    def swept_meanwhile(*args: Any) -> Any:
        released = install(*args)
        assert world.store.fail_operation(op.id, {"code": "WorkerLost", "message": "lost", "details": {}})
        return released

    monkeypatch.setattr(world.helm, "install", swept_meanwhile)
    done = world.run_next()
    assert done is not None and done.status is OperationStatus.SUCCEEDED  # what this worker saw
    [announced] = world.ended
    assert announced.status is OperationStatus.FAILED and announced.error is not None
    assert announced.error["code"] == "WorkerLost"


def test_execute_here_runs_without_a_message_and_stops_helm_by_the_deadline(world: World) -> None:
    spec, _ = InstallSpec.from_json({"name": REF.name, "chart": CHART, "timeout": 10}, LIMITS)
    op = world.intake.accept(Action.INSTALL, REF, spec, enqueue=False)
    assert world.queue.bodies == []  # nothing for the worker
    finished = world.executor.execute_here(op, spec, 15)
    assert finished is not None
    done = finished.op
    assert done.status is OperationStatus.SUCCEEDED and world.ended == [done]
    assert world.store.get_operation(op.id) == done and world.store.lease(REF) is None
    # the answer and the listeners get the record the run wrote, as stored, without reading it back
    assert finished.record is not None and finished.record == world.store.get_release(REF) == world.records[0]
    assert world.executor.execute_here(op, spec, 15) is None  # already run: never twice


def test_an_operation_run_here_is_accepted_running_in_the_accept_transaction(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One store call accepts it running (no separate queued -> running mark), and only this container runs it."""
    spec, _ = InstallSpec.from_json({"name": REF.name, "chart": CHART, "timeout": 10}, LIMITS)
    op = world.intake.accept(Action.INSTALL, REF, spec, enqueue=False)
    stored = world.store.get_operation(op.id)
    assert stored is not None and stored.status is OperationStatus.RUNNING and stored.started_at is not None
    assert world.store.lease_holder(REF) == op.id
    assert world.intake.runs_here(op) and not world.intake.runs_here(replace(stored, id="op-x"))
    started: list[str] = []
    monkeypatch.setattr(world.store, "start_operation", lambda op_id: started.append(op_id) or True)
    finished = world.executor.execute_here(op, spec, 15)
    assert finished is not None and finished.op.status is OperationStatus.SUCCEEDED and started == []
    assert not world.intake.runs_here(op)  # taken: a replay of its key is only waited for


def test_an_operation_that_cannot_start_here_is_put_back_to_queued_for_the_worker(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, _ = InstallSpec.from_json({"name": REF.name, "chart": CHART, "timeout": 10}, LIMITS)
    op = world.intake.accept(Action.INSTALL, REF, spec, enqueue=False)

    def down(*args: object) -> None:
        raise DependencyUnavailable("Secrets Manager is unavailable")

    monkeypatch.setattr(world.service.registry, "credentials", down)
    with pytest.raises(DependencyUnavailable):
        world.executor.execute_here(op, spec, 15)
    stored = world.store.get_operation(op.id)
    assert stored is not None and stored.status is OperationStatus.QUEUED and stored.started_at is None
    assert world.store.lease_holder(REF) == op.id
    monkeypatch.undo()
    world.intake.enqueue(stored, spec)  # what the caller does then
    done = world.executor.execute(world.queue.take())
    assert done is not None and done.status is OperationStatus.SUCCEEDED


def test_helms_state_is_read_back_once_the_cluster_answers_again(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by the chaos harness (seed 17, kube-apiserver restarted): helm installed, the read-back met the API
    server restarting, and the operation ended failed with the store unlike helm. The read-back is retried."""
    import chalicelib.core.operations as operations
    from chalicelib.errors import ClusterUnreachable

    monkeypatch.setattr(operations.time, "sleep", lambda s: None)
    real = world.service.read_back
    calls = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) < 3:
            raise ClusterUnreachable("connection refused")
        return real(*args, **kwargs)

    monkeypatch.setattr(world.service, "read_back", flaky)
    world.install()
    done = world.run_next()
    assert done is not None and done.status is OperationStatus.SUCCEEDED, done
    record = world.store.get_release(REF)
    assert record is not None and record.revision == 1 and len(calls) == 3


def test_read_back_retries_stop_at_the_requests_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """An operation run inside a request retries its read-back only while the answer can still be on time."""
    import time

    import chalicelib.core.operations as operations
    from chalicelib.errors import ClusterUnreachable

    slept: list[float] = []
    monkeypatch.setattr(operations.time, "sleep", slept.append)
    calls: list[int] = []

    def unreachable() -> Any:
        calls.append(1)
        raise ClusterUnreachable("connection refused")

    with pytest.raises(ClusterUnreachable):
        operations._patiently(unreachable, deadline=time.monotonic() + 3.5)
    assert slept == [1.0, 2.0] and len(calls) == 3


def test_a_watched_operation_shows_progress_while_helm_runs_and_a_diagnosis_when_it_fails(world: World) -> None:
    from tests.unit.core.test_diagnosis import FakeReader, obs

    reader = FakeReader([obs("pending-install", 0)])
    world.executor.watcher = Watcher(world.store, reader.open, poll_s=0.01)
    seen: list[Operation | None] = []

    def install(kubeconfig: str, ref: ReleaseRef, spec: InstallSpec) -> dict[str, Any]:
        assert reader.polled.wait(5)
        seen.append(world.store.get_operation(op.id))
        raise HelmTimeout("INSTALLATION FAILED: context deadline exceeded", returncode=1)

    world.helm.install = install  # type: ignore[method-assign]
    op = world.install(REF)
    done = world.run_next()
    running = seen[0]
    assert running is not None and running.status is OperationStatus.RUNNING and running.progress is not None
    assert running.progress["phase"] == "applying" and running.progress["total"] == 1
    assert done is not None and done.error is not None and done.error["code"] == "HelmTimeout"
    assert done.error["details"]["diagnosis"]["summary"] == "Deployment web: 0/1 available"
    stored = world.store.get_operation(op.id)
    assert stored is not None and stored.progress is None  # a finished operation keeps its outcome, not its progress
    assert stored.error == done.error
