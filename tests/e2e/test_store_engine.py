"""The store on AWS's own DynamoDB Local, the local stack's DynamoDB: transactions isolated as DynamoDB isolates them.

moto's DynamoDB restored a copy of the table when a transaction was cancelled, undoing what other writers wrote
meanwhile, so the local stack used to serve it one request at a time. These tests hold the real semantics under
concurrency, with the service's own ``Store`` and many threads: transactions on different releases all succeed, and
a cancelled transaction (a release already leased: ``ReleaseLocked``) undoes nothing anybody else wrote.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from chalicelib.adapters.store import StaleRead, Store, table_definition
from chalicelib.domain.models import Action, Operation, OperationStatus, ReleaseRef, now
from chalicelib.errors import ReleaseLocked
from devstack.dynamodb import LocalDynamo
from devstack.stack import free_port

pytestmark = pytest.mark.e2e
THREADS = 8
LEASE_S = 600


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    logs = tmp_path_factory.mktemp("dynamodb")
    engine = LocalDynamo(free_port(), None, logs / "dynamodb.log")
    engine.start()
    try:
        engine.client().create_table(**table_definition("charthouse"))
        resource = boto3.resource(
            "dynamodb",
            endpoint_url=engine.endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(max_pool_connections=THREADS * 2, retries={"max_attempts": 1}),
        )
        yield Store(resource, "charthouse")
    finally:
        engine.stop()


def accept(store: Store, ref: ReleaseRef) -> Operation:
    return store.accept(Operation.new(Action.INSTALL, ref, {"chart": "web"}), LEASE_S)


def test_concurrent_transactions_on_different_releases_all_succeed(store: Store) -> None:
    refs = [ReleaseRef("engine", "many", f"r{i}") for i in range(80)]
    with ThreadPoolExecutor(THREADS) as pool:
        ops = list(pool.map(lambda ref: accept(store, ref), refs))
    for ref, op in zip(refs, ops, strict=True):
        stored = store.get_operation(op.id)
        assert stored is not None and stored.status is OperationStatus.QUEUED
        assert store.lease_holder(ref) == op.id


def test_a_cancelled_transaction_undoes_nothing_another_writer_did(store: Store) -> None:
    """One thread keeps trying a leased release (every try a cancelled transaction) while the others accept and
    finish operations on releases of their own: every one of their writes is still there afterwards."""
    busy = ReleaseRef("engine", "cancel", "held")
    holder = accept(store, busy)
    stop = threading.Event()
    refused: list[str | None] = []

    def hammer() -> None:
        while not stop.is_set():
            try:
                accept(store, busy)
            except ReleaseLocked as exc:
                refused.append(exc.operation_id)
            else:
                raise AssertionError("a leased release was accepted twice")

    def one(i: int) -> Operation:
        ref = ReleaseRef("engine", "cancel", f"free{i}")
        op = accept(store, ref)
        if i % 2:  # half of them also finish, in a transaction of their own (operation, lease freed)
            ts = now()
            done = replace(op, status=OperationStatus.SUCCEEDED, updated_at=ts, finished_at=ts)
            assert store.finish_operation(done, None)
        return op

    hammers = [threading.Thread(target=hammer) for _ in range(2)]
    for t in hammers:
        t.start()
    try:
        with ThreadPoolExecutor(THREADS - 2) as pool:
            ops = list(pool.map(one, range(60)))
    finally:
        stop.set()
        for t in hammers:
            t.join()
    assert refused and set(refused) == {holder.id}  # every try was cancelled, naming the holder
    for i, op in enumerate(ops):
        stored = store.get_operation(op.id)
        assert stored is not None, f"operation {i} vanished"
        want = OperationStatus.SUCCEEDED if i % 2 else OperationStatus.QUEUED
        assert stored.status is want, (i, stored.status)
        assert store.lease_holder(op.release) == (None if i % 2 else op.id)
    assert store.lease_holder(busy) == holder.id  # and the holder's own items are untouched


def test_the_engine_keeps_its_table_on_disk_across_a_restart(tmp_path: Path) -> None:
    """``make run``'s table (``-dbPath`` under .local/) survives a stop and a start without any snapshot."""
    engine = LocalDynamo(free_port(), tmp_path / "data", tmp_path / "dynamodb.log")
    engine.start()
    try:
        engine.client().create_table(**table_definition("charthouse"))
        engine.client().put_item(TableName="charthouse", Item={"pk": {"S": "K"}, "sk": {"S": "META"}})
    finally:
        engine.stop()
    engine.start()
    try:
        got = engine.client().get_item(TableName="charthouse", Key={"pk": {"S": "K"}, "sk": {"S": "META"}})
        assert got.get("Item") == {"pk": {"S": "K"}, "sk": {"S": "META"}}
    finally:
        engine.stop()


def test_an_accept_conditioned_on_stale_reads_is_cancelled_whole(store: Store) -> None:
    """The accept's conditions (what the request's checks read) on the real engine: the repositories' version a
    repository write bumps, a release record that must still be absent; a failed one cancels the accept whole."""
    ref = ReleaseRef("engine", "stale", "web")
    version, _ = store.repositories_version()
    store.put_repository("engine-stale", {"name": "engine-stale"})
    assert store.repositories_version()[0] == version + 1
    op = Operation.new(Action.INSTALL, ref, {"chart": "web"})
    with pytest.raises(StaleRead):
        store.accept(op, LEASE_S, conditions=(store.repositories_as_read(version),))
    assert store.get_operation(op.id) is None and store.lease(ref) is None
    fresh = (store.repositories_as_read(version + 1), store.release_as_read(ref, None))
    assert store.accept(op, LEASE_S, conditions=fresh).id == op.id and store.lease_holder(ref) == op.id
