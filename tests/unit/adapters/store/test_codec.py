"""Models to DynamoDB attributes and back: round trips in memory and through the emulated table."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from chalicelib.adapters.store import Store, codec, keys
from chalicelib.domain.models import (
    Action,
    ClusterInfo,
    Lease,
    Operation,
    OperationStatus,
    ReleaseRecord,
    ReleaseRef,
    ReleaseStatus,
    Revision,
)

REF = ReleaseRef("prod", "apps", "web")
RECORD = ReleaseRecord(
    ref=REF,
    status=ReleaseStatus.DEPLOYED,
    revision=3,
    chart_name="web",
    chart_version="1.2.3",
    app_version="2.0",
    first_deployed="2026-01-01T00:00:00Z",
    last_deployed="2026-01-02T00:00:00Z",
    description="Upgrade complete",
    notes="hello",
    values_digest="sha256:00",
    labels={"team": "a"},
    last_action="upgrade",
    last_operation_id="op-3",
    failures=1,
    updated_at=1_700_000_000.123,
    changed_out_of_band=True,
    drift_correction=True,
    sensitive_paths=(("db", "password"), ("list", 0)),
)
OPERATION = Operation(
    id="op-1",
    action=Action.UPGRADE,
    status=OperationStatus.FAILED,
    release=REF,
    created_at=1_700_000_000.5,
    updated_at=1_700_000_001.25,
    request={"chart": "web", "timeout": 300, "ratio": 0.5, "nested": [{"x": 1.5}]},
    started_at=1_700_000_000.75,
    finished_at=1_700_000_001.25,
    result=None,
    error={"code": "HelmError", "message": "boom", "details": {"returncode": 1}},
)
CLUSTERS = [
    ClusterInfo("prod", "kubeconfig", "https://k:6443", "sec/prod", "", 1.5, 2.5),
    ClusterInfo("eks", "eks", "", "sec/eks", "an EKS cluster", 10.0, 20.0, {"name": "e", "region": "eu-west-1"}),
]


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        (Decimal("3"), 3),
        (Decimal("3.25"), 3.25),
        ({"a": [Decimal("1"), {"b": Decimal("0.5")}]}, {"a": [1, {"b": 0.5}]}),
        ("text", "text"),
        (True, True),
    ],
)
def test_plain_turns_decimals_back_into_numbers(raw: Any, plain: Any) -> None:
    out = codec.plain(raw)
    assert out == plain and type(out) is type(plain)


def test_dynamo_safe_turns_floats_into_decimals_and_keeps_the_rest() -> None:
    safe = codec.dynamo_safe({"f": 0.1, "i": 2, "l": [1.5, "s"], "b": True})
    assert safe == {"f": Decimal("0.1"), "i": 2, "l": [Decimal("1.5"), "s"], "b": True}
    assert codec.plain(safe) == {"f": 0.1, "i": 2, "l": [1.5, "s"], "b": True}


def test_a_document_round_trips() -> None:
    doc = {"name": "x", "n": [1, 2], "nested": {"a": None}}
    assert codec.from_doc(codec.to_doc(doc)) == doc


def test_a_release_record_round_trips() -> None:
    assert codec.release_from_item(codec.release_attributes(RECORD)) == RECORD


def test_a_release_record_with_defaults_reads_from_a_sparse_item() -> None:
    record = codec.release_from_item({"cluster": "c", "namespace": "n", "name": "r", "status": "no-such-status"})
    assert record.status is ReleaseStatus.UNKNOWN and record.revision == 0 and record.sensitive_paths == ()


def test_an_operation_round_trips() -> None:
    assert codec.operation_from_item(codec.operation_attributes(OPERATION)) == OPERATION


def test_a_queued_operation_stores_no_times_it_does_not_have() -> None:
    queued = Operation("op-2", Action.INSTALL, OperationStatus.QUEUED, REF, 1.0, 1.0)
    attrs = codec.operation_attributes(queued)
    assert not {"started_at", "finished_at", "result", "error"} & set(attrs)
    assert codec.operation_from_item(attrs) == queued


@pytest.mark.parametrize("info", CLUSTERS, ids=lambda c: c.auth)
def test_a_cluster_round_trips(info: ClusterInfo) -> None:
    assert codec.cluster_from_item(codec.cluster_attributes(info)) == info


def test_a_lease_round_trips() -> None:
    lease = Lease(REF, "op-1", 1_700_000_600.125)
    assert codec.lease_from_item(codec.lease_attributes(lease, 1_700_000_000.0)) == lease


def test_a_revision_round_trips() -> None:
    rev = Revision(2, ReleaseStatus.SUPERSEDED, "web-1.2.3", "2.0", "2026-01-01T00:00:00Z", "Upgrade complete")
    assert codec.revision_from_item(codec.revision_attributes(rev)) == rev


def test_records_round_trip_through_the_table(store: Store) -> None:
    store.table.put({**keys.release(REF), **codec.release_attributes(RECORD)})
    store.table.put({**keys.operation(OPERATION.id), **codec.operation_attributes(OPERATION)})
    for info in CLUSTERS:
        store.table.put({**keys.cluster(info.name), **codec.cluster_attributes(info)})
    assert codec.release_from_item(store.table.get(keys.release(REF)) or {}) == RECORD
    assert codec.operation_from_item(store.table.get(keys.operation(OPERATION.id)) or {}) == OPERATION
    assert [codec.cluster_from_item(store.table.get(keys.cluster(c.name)) or {}) for c in CLUSTERS] == CLUSTERS
