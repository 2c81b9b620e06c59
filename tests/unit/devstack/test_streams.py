"""The local stand-in for the pipes: each pipe's filter and detail type, the enrichment's details put on the bus,
a batch tried again after a failed put never puts an event twice, and the reader resumes from its checkpoint."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.state_changes import StateChanges
from chalicelib.domain.models import ReleaseRef
from devstack.streams import Pipes, Reader, pipe_record
from tests.unit.adapters.test_stream import REF, not_endings, op_items, stream_record
from tests.unit.core.test_state_changes import Store


class Bus:
    def __init__(self, fail: int = 0) -> None:
        self.entries: list[dict[str, Any]] = []
        self.fail = fail

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 (boto3's name)
        if self.fail:
            self.fail -= 1
            return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "ThrottlingException"}]}
        self.entries.extend(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(len(self.entries))}]}


def handler(records: list[dict[str, Any]], context: Any) -> list[dict[str, Any]]:
    return StateChanges(Store(None)).details(records)  # type: ignore[arg-type]


def test_each_ending_is_put_once_with_its_pipes_detail_type() -> None:
    bus = Bus(fail=1)
    pipes = Pipes(handler, bus, "charthouse-events")
    release, cluster = op_items(REF), op_items(ReleaseRef.whole_cluster("prod"), with_release=False)
    batch = [*not_endings(), stream_record("MODIFY", *cluster), stream_record("MODIFY", *release)]
    with pytest.raises(RuntimeError):
        pipes.deliver(batch)  # the first put refused: the batch is tried again
    assert pipes.deliver(batch) == 2
    assert pipes.deliver(batch) == 0  # delivered again (a retry of the same records): nothing put twice
    assert [(e["DetailType"], json.loads(e["Detail"])["event_id"]) for e in bus.entries] == [
        ("Helm Release State Change", release[1]["id"]),
        ("Helm Cluster Reconciled", cluster[1]["id"]),
    ]
    assert {e["Source"] for e in bus.entries} == {"charthouse"}


def test_a_record_read_by_boto3_is_the_json_pipes_give() -> None:
    from datetime import datetime

    old, new = op_items()
    rec = stream_record("MODIFY", old, new)
    rec["dynamodb"]["ApproximateCreationDateTime"] = datetime(2026, 12, 7, tzinfo=UTC)
    rec["dynamodb"]["NewImage"]["request"] = {}  # DynamoDB Local's empty map, as boto3 reads it
    out = pipe_record(rec)
    assert out["dynamodb"]["ApproximateCreationDateTime"] == 1796601600.0
    assert out["dynamodb"]["NewImage"]["request"] == {"M": {}}


class Streams:
    """One shard, read two records at a time; open (more may come) or closed (read to its end)."""

    def __init__(self, records: list[dict[str, Any]], closed: bool = False) -> None:
        self.records = records
        self.closed = closed
        self.asked: list[dict[str, Any]] = []

    def list_streams(self, TableName: str) -> dict[str, Any]:  # noqa: N803
        return {"Streams": [{"StreamArn": "arn:stream/1"}]}

    def describe_stream(self, StreamArn: str) -> dict[str, Any]:  # noqa: N803
        return {"StreamDescription": {"Shards": [{"ShardId": "s-1"}]}}

    def get_shard_iterator(self, **kw: Any) -> dict[str, Any]:
        self.asked.append(kw)
        after = kw.get("SequenceNumber")
        start = 0 if after is None else [r["dynamodb"]["SequenceNumber"] for r in self.records].index(after) + 1
        return {"ShardIterator": str(start)}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:  # noqa: N803
        start = int(ShardIterator)
        end = min(start + 2, len(self.records))
        following = str(end) if end < len(self.records) or not self.closed else None
        return {"Records": self.records[start:end], **({"NextShardIterator": following} if following else {})}


def test_the_reader_resumes_after_what_it_delivered(tmp_path: Path) -> None:
    records = []
    for n in range(3):
        rec = stream_record("MODIFY", *op_items())
        rec["dynamodb"]["SequenceNumber"] = f"{n + 1:021d}"
        records.append(rec)
    seen: list[str] = []

    def deliver(batch: list[dict[str, Any]]) -> int:
        seen.extend(r["dynamodb"]["SequenceNumber"] for r in batch)
        return len(batch)

    checkpoint = tmp_path / "cp.json"
    reader = Reader(Streams(records[:2]), "charthouse", deliver, checkpoint)
    assert reader.poll() == 2 and reader.poll() == 0
    assert json.loads(checkpoint.read_text())["shards"] == {"s-1": f"{2:021d}"}
    # a new reader (the stack restarted) on the same stream, which got a third record, then closed the shard
    streams = Streams(records, closed=True)
    again = Reader(streams, "charthouse", deliver, checkpoint)
    assert again.poll() == 1 and again.poll() == 0 and "s-1" in again.closed
    assert seen == [f"{n:021d}" for n in (1, 2, 3)]  # nothing twice, nothing missed
    assert streams.asked[0]["ShardIteratorType"] == "AFTER_SEQUENCE_NUMBER"
