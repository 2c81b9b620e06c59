"""Stream records of the table: which are an operation ending, what they say, and the pipes' filters, which keep
exactly those records (checked with an EventBridge pattern matcher) and split them by detail type."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from moto.events.models import EventPattern

from chalicelib.adapters.store import keys
from chalicelib.adapters.store.operations import RELEASE_AFTER, operation_item
from chalicelib.adapters.stream import PIPES, ended, image
from chalicelib.domain.events import operation_ended
from chalicelib.domain.models import Action, Operation, OperationStatus, ReleaseRef
from tests.unit.domain.test_events import record

REF = ReleaseRef("prod", "apps", "web")
_SER = TypeSerializer()


def typed(item: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if item is None else {k: _SER.serialize(v) for k, v in item.items()}


def stream_record(name: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    """A record as Pipes and Lambda give it (NEW_AND_OLD_IMAGES)."""
    some = new or old
    assert some is not None
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": 1796682907.0,
        "Keys": typed({"pk": some["pk"], "sk": some["sk"]}),
        "SequenceNumber": "000000000000000000002",
        "SizeBytes": 64,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if old is not None:
        change["OldImage"] = typed(old)
    if new is not None:
        change["NewImage"] = typed(new)
    return {
        "eventID": "e-1",
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "dynamodb": change,
    }


def op_items(
    ref: ReleaseRef = REF, status: OperationStatus = OperationStatus.SUCCEEDED, with_release: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An operation's item running, and ended (with the release it left, or without)."""
    running = dataclasses.replace(Operation.new(Action.UPGRADE, ref, {}), status=OperationStatus.RUNNING)
    done = dataclasses.replace(running, status=status, finished_at=running.created_at + 1, result={"revision": 3})
    return operation_item(running), operation_item(done, record() if with_release else None)


def test_an_operation_ending_is_read_with_the_release_it_left() -> None:
    old, new = op_items()
    end = ended(stream_record("MODIFY", old, new))
    assert end is not None and end.known
    assert (end.op.id, end.op.status, end.op.result) == (new["id"], OperationStatus.SUCCEEDED, {"revision": 3})
    assert end.release == {
        "status": "deployed",
        "revision": 3,
        "chart": "demo",
        "chart_version": "0.2.0",
        "app_version": "1.0",
        "changed_out_of_band": False,
    }
    old, new = op_items(status=OperationStatus.FAILED, with_release=False)
    end = ended(stream_record("MODIFY", old, new))
    assert end is not None and not end.known and end.release is None and RELEASE_AFTER not in new


def not_endings() -> list[dict[str, Any]]:
    old, new = op_items()
    queued = {**old, "status": "queued"}
    release = {**keys.release(REF), "status": "deployed"}
    return [
        stream_record("INSERT", None, new),  # created ended (a snapshot loaded into a new table)
        stream_record("INSERT", None, queued),  # accepted
        stream_record("MODIFY", queued, old),  # started
        stream_record("MODIFY", new, {**new, "error": {"code": "X"}}),  # rewritten after it ended
        stream_record("REMOVE", new, None),
        stream_record("MODIFY", {**release, "status": "pending-upgrade"}, release),  # another item
        stream_record("MODIFY", {**old, "sk": "CFN"}, {**new, "sk": "CFN"}),  # an attachment of the operation
    ]


@pytest.mark.parametrize("rec", not_endings())
def test_no_other_record_is_an_ending(rec: dict[str, Any]) -> None:
    assert ended(rec) is None


def matching(rec: dict[str, Any]) -> list[str]:
    return [p.name for p in PIPES if EventPattern(p.filter, p.pattern).matches_event(rec)]  # type: ignore[arg-type]


def test_the_pipes_keep_exactly_the_endings_each_with_its_detail_type() -> None:
    for ref in (REF, ReleaseRef.whole_cluster("prod")):
        for status in (OperationStatus.SUCCEEDED, OperationStatus.FAILED):
            for queued in (False, True):
                old, new = op_items(ref, status, with_release=not ref.cluster_wide)
                if queued:
                    old = {**old, "status": "queued"}
                rec = stream_record("MODIFY", old, new)
                (pipe,) = [p for p in PIPES if p.name in matching(rec)]  # one pipe, never both
                end = ended(rec)
                assert end is not None and operation_ended(end.op, end.release).detail_type == pipe.detail_type
    for rec in not_endings():
        assert matching(rec) == [], rec["eventName"]


def test_an_image_reads_as_the_item() -> None:
    old, _ = op_items()
    assert image(typed(old)) == old and image(None) is None
