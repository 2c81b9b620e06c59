"""Operations, leases, idempotency keys and CloudFormation requests: every state change is a conditional write."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.adapters.store import IdempotentReplay, StaleRead, Store, operations
from chalicelib.domain.models import (
    Action,
    Idempotency,
    Operation,
    OperationStatus,
    ReleaseRecord,
    ReleaseRef,
    ReleaseStatus,
    Revision,
    now,
)
from chalicelib.errors import DependencyUnavailable, ReleaseLocked

REF = ReleaseRef("prod", "apps", "web")
OTHER = ReleaseRef("prod", "apps", "api")


def new_op(ref: ReleaseRef = REF, action: Action = Action.INSTALL) -> Operation:
    return Operation.new(action, ref, {"chart": "web"})


def ended(op: Operation, status: OperationStatus, **changes: Any) -> Operation:
    ts = now()
    return replace(op, status=status, updated_at=ts, finished_at=ts, **changes)


def record_for(op: Operation) -> ReleaseRecord:
    return ReleaseRecord(
        op.release,
        ReleaseStatus.DEPLOYED,
        1,
        "web",
        "1.0.0",
        "1",
        "",
        "",
        "",
        "",
        "",
        {},
        op.action.value,
        op.id,
        0,
        1.0,
    )


# ---------------------------------------------------------------- accept and the lease


def test_accept_records_a_queued_operation_and_takes_the_lease(store: Store) -> None:
    op = new_op()
    store.accept(op, lease_s=600)
    assert store.get_operation(op.id) == op
    lease = store.lease(REF)
    assert lease is not None and lease.operation_id == op.id and not lease.expired
    assert lease.expires_at == pytest.approx(now() + 600, abs=5)
    assert store.lease_holder(REF) == op.id and store.lease_holder(OTHER) is None


def test_a_second_operation_on_a_leased_release_is_refused_with_the_holder(store: Store) -> None:
    first, second = new_op(), new_op(action=Action.UPGRADE)
    store.accept(first, lease_s=600)
    with pytest.raises(ReleaseLocked) as err:
        store.accept(second, lease_s=600)
    assert err.value.details["operation_id"] == first.id
    assert store.get_operation(second.id) is None  # nothing of the refused one was written
    store.accept(new_op(OTHER), lease_s=600)  # another release is free


def test_an_accept_whose_reads_changed_writes_nothing(store: Store) -> None:
    """The accept's conditions: the record, the cluster and the repositories as the request's checks read them."""
    first = new_op()
    record = record_for(first)
    store.finish_operation(ended(first, OperationStatus.SUCCEEDED), record, [])
    as_read = (store.release_as_read(REF, record), store.repositories_as_read(0))
    op = new_op(action=Action.UPGRADE)
    store.accept(op, lease_s=600, conditions=as_read)  # all still so
    store.finish_operation(ended(op, OperationStatus.SUCCEEDED), replace(record, revision=2, updated_at=2.0), [])
    later = new_op(action=Action.UPGRADE)
    with pytest.raises(StaleRead):  # the record changed since it was read
        store.accept(later, lease_s=600, conditions=as_read)
    assert store.get_operation(later.id) is None and store.lease(REF) is None  # nothing written
    store.put_repository("charts", {"name": "charts"})
    with pytest.raises(StaleRead):  # a repository was written since version 0 was read
        store.accept(later, lease_s=600, conditions=(store.repositories_as_read(0),))
    assert store.repositories_version()[0] == 1
    store.accept(later, lease_s=600, conditions=(store.repositories_as_read(1), store.release_as_read(OTHER, None)))
    assert store.lease_holder(REF) == later.id


def test_an_uninstall_deletes_the_history_in_its_finish(store: Store) -> None:
    op = new_op()
    store.accept(op, lease_s=600)
    revs = [Revision(n, ReleaseStatus.SUPERSEDED, "web-1.0.0", "1", "", "") for n in (1, 2)]
    store.finish_operation(ended(op, OperationStatus.SUCCEEDED), replace(record_for(op), revision=2), revs)
    assert [r.revision for r in store.history(REF, 10)] == [2, 1]
    gone = new_op(action=Action.UNINSTALL)
    store.accept(gone, lease_s=600)
    uninstalled = replace(record_for(gone), revision=2, status=ReleaseStatus.UNINSTALLED)
    assert store.finish_operation(ended(gone, OperationStatus.SUCCEEDED), uninstalled, [])
    assert store.history(REF, 10) == []


def test_an_expired_lease_is_taken_over(store: Store) -> None:
    stale = new_op()
    store.accept(stale, lease_s=-1)  # expired at once: its worker is as good as lost
    lease = store.lease(REF)
    assert lease is not None and lease.expired and store.lease_holder(REF) is None
    fresh = new_op(action=Action.UNLOCK)
    store.accept(fresh, lease_s=600)
    assert store.lease_holder(REF) == fresh.id


def test_expired_leases_lists_only_the_expired_ones(store: Store) -> None:
    stale, live = new_op(), new_op(OTHER)
    store.accept(stale, lease_s=-1)
    store.accept(live, lease_s=600)
    assert [(lease.ref, lease.operation_id) for lease in store.expired_leases()] == [(REF, stale.id)]


def test_live_leases_lists_only_the_live_ones(store: Store) -> None:
    stale, live = new_op(), new_op(OTHER)
    store.accept(stale, lease_s=-1)
    store.accept(live, lease_s=600)
    assert [(lease.ref, lease.operation_id) for lease in store.live_leases()] == [(OTHER, live.id)]


def test_release_lease_frees_only_our_own_lease(store: Store) -> None:
    op = new_op()
    store.accept(op, lease_s=600)
    store.release_lease(REF, "op-someone-else")
    assert store.lease_holder(REF) == op.id
    store.release_lease(REF, op.id)
    assert store.lease(REF) is None
    store.release_lease(REF, op.id)  # already free: nothing to do, no error


def test_accept_with_dynamodb_down_is_dependency_unavailable(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def throttled(**kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "x"}}, "TransactWriteItems")

    monkeypatch.setattr(store.table.client, "transact_write_items", throttled)
    op = new_op()
    with pytest.raises(DependencyUnavailable):
        store.accept(op, lease_s=600)
    monkeypatch.undo()
    assert store.get_operation(op.id) is None and store.lease(REF) is None


# ---------------------------------------------------------------- idempotency keys


def test_an_idempotency_key_is_claimed_once(store: Store) -> None:
    idem = Idempotency("key-1", "hash-1")
    first = new_op()
    store.accept(first, lease_s=600, idem=idem)
    assert store.get_idempotency("key-1") == ("hash-1", first.id)
    twin = new_op(OTHER)  # another release: only the key can refuse it
    with pytest.raises(IdempotentReplay):
        store.accept(twin, lease_s=600, idem=Idempotency("key-1", "hash-2"))
    assert store.get_operation(twin.id) is None and store.lease(OTHER) is None
    assert store.get_idempotency("key-1") == ("hash-1", first.id)
    assert store.get_idempotency("key-2") is None


def test_an_expired_idempotency_key_counts_as_absent(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(operations, "IDEMPOTENCY_TTL_S", -10)  # remembered for less than no time
    store.accept(new_op(), lease_s=600, idem=Idempotency("key-1", "hash-1"))
    assert store.get_idempotency("key-1") is None
    again = new_op(OTHER)
    store.accept(again, lease_s=600, idem=Idempotency("key-1", "hash-2"))  # not a replay: the key was forgotten
    monkeypatch.undo()
    store.accept(new_op(ReleaseRef("prod", "apps", "db")), lease_s=600, idem=Idempotency("key-3", "h"))
    assert store.get_idempotency("key-3") is not None


# ---------------------------------------------------------------- running and ending


def test_start_operation_moves_queued_to_running_once(store: Store) -> None:
    op = new_op()
    store.accept(op, lease_s=600)
    assert store.start_operation(op.id)
    assert not store.start_operation(op.id)  # a redelivered message finds it running
    started = store.get_operation(op.id)
    assert started is not None and started.status is OperationStatus.RUNNING and started.started_at is not None


def test_finish_operation_records_the_outcome_and_frees_the_lease(store: Store) -> None:
    op = new_op()
    store.accept(op, lease_s=600)
    store.start_operation(op.id)
    done = ended(op, OperationStatus.SUCCEEDED, result={"status": "deployed", "revision": 1})
    assert store.finish_operation(done, record_for(op))
    assert store.get_operation(op.id) == done
    assert store.get_release(REF) == record_for(op)
    assert store.lease(REF) is None


def rev(n: int, status: ReleaseStatus) -> Revision:
    return Revision(n, status, "web-1.0.0", "1", f"2026-01-0{n % 9 + 1}", f"revision {n}")


def test_finish_operation_writes_helms_history_in_its_transaction(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The revisions helm keeps are written with the outcome (one TransactWriteItems, no Query, no batch), and the
    ones helm pruned just below its oldest are deleted."""
    for n in (1, 2, 3):
        store.sync_revisions(REF, [rev(n, ReleaseStatus.SUPERSEDED)])
    op = new_op(action=Action.UPGRADE)
    store.accept(op, lease_s=600)
    calls: list[str] = []
    client = store.table.client
    real = client.transact_write_items
    monkeypatch.setattr(client, "transact_write_items", lambda **kw: calls.append("transact") or real(**kw))
    monkeypatch.setattr(store.table, "query_all", lambda *a: calls.append("query") or iter(()))
    helm_keeps = [rev(3, ReleaseStatus.SUPERSEDED), rev(4, ReleaseStatus.DEPLOYED)]  # helm pruned 1 and 2
    assert store.finish_operation(ended(op, OperationStatus.SUCCEEDED, result={}), record_for(op), helm_keeps)
    assert calls == ["transact"]
    assert store.history(REF, 10) == [helm_keeps[1], helm_keeps[0]]


def test_an_empty_history_is_synced_whole_before_the_outcome(store: Store) -> None:
    store.sync_revisions(REF, [rev(1, ReleaseStatus.SUPERSEDED), rev(2, ReleaseStatus.DEPLOYED)])
    op = new_op(action=Action.UNINSTALL)
    store.accept(op, lease_s=600)
    assert store.finish_operation(ended(op, OperationStatus.SUCCEEDED, result={}), None, [])
    assert store.history(REF, 10) == [] and store.lease(REF) is None


def test_a_verdict_that_won_is_kept_but_helms_state_is_still_recorded(store: Store) -> None:
    op = new_op()
    store.accept(op, lease_s=600)
    store.start_operation(op.id)
    assert store.fail_operation(op.id, {"code": "WorkerLost", "message": "lost", "details": {"s": 1.5}})
    assert not store.fail_operation(op.id, {"code": "Again", "message": "", "details": {}})  # ended already
    assert not store.finish_operation(ended(op, OperationStatus.SUCCEEDED, result={}), record_for(op))
    stored = store.get_operation(op.id)
    assert stored is not None and stored.status is OperationStatus.FAILED
    assert stored.error == {"code": "WorkerLost", "message": "lost", "details": {"s": 1.5}}
    assert store.get_release(REF) == record_for(op) and store.lease(REF) is None


def test_finishing_does_not_free_a_lease_taken_over_by_another_operation(store: Store) -> None:
    lost = new_op()
    store.accept(lost, lease_s=-1)
    recovery = new_op(action=Action.UNLOCK)
    store.accept(recovery, lease_s=600)
    store.finish_operation(ended(lost, OperationStatus.FAILED, error={"code": "X"}), None)
    assert store.lease_holder(REF) == recovery.id


def test_fail_operation_ends_a_queued_one(store: Store) -> None:
    op = new_op()
    store.accept(op, lease_s=600)
    assert store.fail_operation(op.id, {"code": "X", "message": "m", "details": {}})
    assert not store.start_operation(op.id)


# ---------------------------------------------------------------- listing


def test_list_operations_newest_first_with_filters_and_pages(store: Store) -> None:
    ops = []
    for i, ref in enumerate([REF, OTHER, ReleaseRef("dev", "apps", "web"), REF]):
        op = replace(new_op(ref), created_at=1_700_000_000.0 + i, updated_at=1_700_000_000.0 + i)
        store.accept(op, lease_s=-1)  # expired leases: each can be replaced by the next
        ops.append(op)
    every, _ = store.list_operations(None, None, None, None, None, 10, None)
    assert [o.id for o in every] == [o.id for o in reversed(ops)]
    prod, _ = store.list_operations("prod", None, None, None, None, 10, None)
    assert [o.id for o in prod] == [ops[3].id, ops[1].id, ops[0].id]
    web, _ = store.list_operations("prod", "apps", "web", "queued", "install", 10, None)
    assert [o.id for o in web] == [ops[3].id, ops[0].id]
    assert store.list_operations(None, None, None, "running", None, 10, None) == ([], None)
    first, token = store.list_operations(None, None, None, None, None, 3, None)
    rest, end = store.list_operations(None, None, None, None, None, 3, token)
    assert [o.id for o in first + rest] == [o.id for o in reversed(ops)] and end is None


def test_unfinished_operations_are_the_queued_and_running_ones(store: Store) -> None:
    queued, running, done = new_op(), new_op(OTHER), new_op(ReleaseRef("prod", "apps", "db"))
    for op in (queued, running, done):
        store.accept(op, lease_s=600, attachments=(store.cfn_reply_item({"request_id": op.id}),))
    store.start_operation(running.id)
    store.finish_operation(ended(done, OperationStatus.SUCCEEDED, result={}), None)
    assert sorted(o.id for o in store.unfinished_operations()) == sorted([queued.id, running.id])


# ---------------------------------------------------------------- CloudFormation requests


def test_a_cloudformation_request_is_stored_with_its_operation_and_taken_once(store: Store) -> None:
    reply = {"response_url": "https://s3.example/presigned?sig=x", "request_id": "r1"}
    attachment = store.cfn_reply_item(reply)
    op = replace(new_op(), attachments=(attachment["sk"],))
    store.accept(op, lease_s=600, attachments=(attachment,))
    assert store.get_operation(op.id) == op  # the attachment is not the operation record; its kind is kept
    assert store.take_cfn_reply(op) == reply
    assert store.take_cfn_reply(op) is None
    assert store.take_cfn_reply(replace(op, id="op-without-one")) is None
    assert store.take_cfn_reply(replace(op, attachments=None)) is None  # kinds unknown: read, already taken


def test_an_operation_known_to_have_no_attachment_is_not_read(store: Store) -> None:
    op = new_op()
    assert op.attachments == ()
    store.accept(op, lease_s=600, attachments=(store.cfn_reply_item({"request_id": "r3"}),))  # not declared
    assert store.take_cfn_reply(op) is None  # never looked for
    assert store.take_cfn_reply(replace(op, attachments=None)) == {"request_id": "r3"}  # stored before kinds were kept


def test_an_attachment_is_written_only_with_its_operation(store: Store) -> None:
    store.accept(new_op(), lease_s=600)
    attachment = store.cfn_reply_item({"request_id": "r2"})
    refused = replace(new_op(), attachments=(attachment["sk"],))
    with pytest.raises(ReleaseLocked):
        store.accept(refused, lease_s=600, attachments=(attachment,))
    assert store.take_cfn_reply(refused) is None


def test_a_cloudformation_request_expires(store: Store) -> None:
    item = store.cfn_reply_item({"request_id": "r"})
    assert int(item["ttl"]) == pytest.approx(now() + operations.CFN_REPLY_TTL_S, abs=5)
