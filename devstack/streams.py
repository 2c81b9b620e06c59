"""The local stand-in for the EventBridge Pipes from the table's stream to the event bus (deploy/ creates one per
detail type): read DynamoDB Local's stream of the table, keep the records each pipe's filter keeps
(``adapters.stream.PIPES``, matched as EventBridge matches patterns), hand them to the enrichment function the pipes
call (``api/stream.py``, the same handler) and put what it answers on the bus with the pipe's detail type.

Run as ``python -m devstack.streams`` from the project directory with the stage's environment (the stream is reached
through ``AWS_ENDPOINT_URL_DYNAMODB_STREAMS``, the bus through ``AWS_ENDPOINT_URL``). Where it is in each shard is
kept in ``CHARTHOUSE_LOCAL_STREAM_CHECKPOINT`` (a file in the state dir), so a restart of the stack neither repeats
nor misses an event. As a pipe, it delivers at least once: a batch whose PutEvents failed is tried again from the
same place; events it already put (by ``event_id``) are not put again by this process.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from moto.events.models import EventPattern

from chalicelib.adapters.stream import PIPES
from chalicelib.domain.events import SOURCE

log = logging.getLogger("devstack.streams")
POLL_S = 0.2  # an idle shard is read five times a second (Pipes poll each shard about four times a second)
RESCAN_S = 5.0  # the stream's shards are listed again this often (a shard closes, a new one opens)
REMEMBERED = 10_000  # event ids already put, so a batch tried again does not put them twice
Handler = Callable[[list[dict[str, Any]], Any], list[dict[str, Any]]]


def _mended(value: Any) -> Any:
    """An attribute value as DynamoDB sends it: boto3 reads DynamoDB Local's empty map in a stream image as ``{}``."""
    if not isinstance(value, dict) or not value:
        return {"M": {}}
    if "M" in value:
        return {"M": {k: _mended(v) for k, v in value["M"].items()}}
    if "L" in value:
        return {"L": [_mended(v) for v in value["L"]]}
    return value


def pipe_record(record: dict[str, Any]) -> dict[str, Any]:
    """A record as boto3 reads it, in the JSON Pipes give a filter and the enrichment (times as epoch seconds)."""
    change = dict(record.get("dynamodb") or {})
    when = change.get("ApproximateCreationDateTime")
    if isinstance(when, datetime):
        change["ApproximateCreationDateTime"] = when.timestamp()
    for part in ("Keys", "OldImage", "NewImage"):
        if isinstance(change.get(part), dict):
            change[part] = {name: _mended(v) for name, v in change[part].items()}
    return {**record, "dynamodb": change}


class Pipes:
    """What the pipes do with a batch of records: filter per pipe, enrich, put each detail on the bus."""

    def __init__(self, handler: Handler, events: Any, bus: str) -> None:
        self.handler = handler
        self.events = events
        self.bus = bus
        self.patterns = [(p, EventPattern(p.filter, p.pattern)) for p in PIPES]
        self.sent: OrderedDict[str, None] = OrderedDict()

    def deliver(self, records: list[dict[str, Any]]) -> int:
        """Put the events of ``records`` on the bus; raises when one could not be put (the batch is tried again)."""
        batch = [pipe_record(r) for r in records]
        put = 0
        for pipe, pattern in self.patterns:
            kept = [r for r in batch if pattern.matches_event(r)]  # type: ignore[arg-type]
            details = self.handler(kept, None) if kept else []
            for detail in details:
                key = str(detail.get("event_id", ""))
                if key and key in self.sent:
                    continue
                self._put(pipe.detail_type, detail)
                put += 1
                if key:
                    self.sent[key] = None
                    while len(self.sent) > REMEMBERED:
                        self.sent.popitem(last=False)
        return put

    def _put(self, detail_type: str, detail: dict[str, Any]) -> None:
        if not self.bus:
            return  # no bus configured: the enrichment's log line is all there is
        entry = {"Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail), "EventBusName": self.bus}
        resp = self.events.put_events(Entries=[entry])
        if resp.get("FailedEntryCount"):
            raise RuntimeError(f"PutEvents refused the event: {resp.get('Entries')}")


class Reader:
    """Reads every shard of the table's stream in order, from its checkpoint (or the shard's start)."""

    def __init__(self, streams: Any, table: str, deliver: Callable[[list[dict[str, Any]]], int], checkpoint: Path):
        self.streams = streams
        self.table = table
        self.deliver = deliver
        self.checkpoint = checkpoint
        self.arn: str | None = None
        self.done: dict[str, str] = {}  # shard id -> the last sequence number delivered ("" : none yet)
        self.closed: set[str] = set()
        self.iterators: dict[str, str] = {}
        self._listed = 0.0

    def _load(self, arn: str) -> None:
        try:
            saved = json.loads(self.checkpoint.read_text())
        except (OSError, ValueError):
            saved = {}
        same = isinstance(saved, dict) and saved.get("stream") == arn
        self.done = {str(k): str(v) for k, v in saved.get("shards", {}).items()} if same else {}
        self.closed = set(saved.get("closed", [])) if same else set()

    def _save(self) -> None:
        tmp = self.checkpoint.with_suffix(".tmp")
        tmp.write_text(json.dumps({"stream": self.arn, "shards": self.done, "closed": sorted(self.closed)}))
        tmp.replace(self.checkpoint)

    def _list(self) -> None:
        streams = self.streams.list_streams(TableName=self.table).get("Streams", [])
        if not streams:
            return
        arn = streams[-1]["StreamArn"]
        if arn != self.arn:
            self.arn = arn
            self.iterators.clear()
            self._load(arn)
        start: dict[str, Any] = {}
        while True:
            desc = self.streams.describe_stream(StreamArn=arn, **start)["StreamDescription"]
            for shard in desc.get("Shards", []):
                self.done.setdefault(shard["ShardId"], "")
            if not desc.get("LastEvaluatedShardId"):
                break
            start = {"ExclusiveStartShardId": desc["LastEvaluatedShardId"]}

    def _iterator(self, shard: str) -> str:
        assert self.arn is not None
        after = self.done.get(shard, "")
        where = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
            if after
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        return str(self.streams.get_shard_iterator(StreamArn=self.arn, ShardId=shard, **where)["ShardIterator"])

    def poll(self) -> int:
        """One read of every open shard; the number of records read."""
        if self.arn is None or time.monotonic() - self._listed > RESCAN_S:
            self._list()
            self._listed = time.monotonic()
        read = 0
        for shard in [s for s in self.done if s not in self.closed]:
            try:
                iterator = self.iterators.get(shard) or self._iterator(shard)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TrimmedDataAccessException":
                    raise
                log.warning("shard %s: records after the checkpoint are gone (older than 24 h); from its start", shard)
                self.done[shard] = ""
                iterator = self._iterator(shard)
            resp = self.streams.get_records(ShardIterator=iterator, Limit=100)
            records = resp.get("Records", [])
            if records:
                self.deliver(records)  # raises: the same records are read again next time
                self.done[shard] = records[-1]["dynamodb"]["SequenceNumber"]
                read += len(records)
            following = resp.get("NextShardIterator")
            if following:
                self.iterators[shard] = following
            else:
                self.closed.add(shard)
                self.iterators.pop(shard, None)
            if records or not following:
                self._save()
        return read


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="streams %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    sys.path.insert(0, os.getcwd())
    importlib.import_module("app")  # registers the blueprints: the enrichment function among them
    import boto3

    from chalicelib.api.stream import state_change_events
    from chalicelib.config import settings

    cfg = settings()
    pipes = Pipes(state_change_events, boto3.client("events", region_name=cfg.region), cfg.event_bus)
    checkpoint = Path(os.environ.get("CHARTHOUSE_LOCAL_STREAM_CHECKPOINT", "streams-checkpoint.json"))
    reader = Reader(boto3.client("dynamodbstreams", region_name=cfg.region), cfg.table_name, pipes.deliver, checkpoint)
    log.info("reading the stream of table %s into bus %s", cfg.table_name, cfg.event_bus or "(none)")
    while not stop.is_set():
        try:
            read = reader.poll()
        except (BotoCoreError, ClientError, RuntimeError) as exc:
            log.warning("reading or delivering failed (%s); trying again", exc)
            reader.iterators.clear()  # an iterator may have expired: start again from the checkpoint
            read = 0
            stop.wait(1.0)
        except Exception:  # noqa: BLE001 - as a pipe whose enrichment failed: the batch is tried again
            log.exception("the enrichment failed; trying the batch again")
            reader.iterators.clear()  # an iterator may have expired: start again from the checkpoint
            read = 0
            stop.wait(1.0)
        if not read:
            stop.wait(POLL_S)
    return 0


if __name__ == "__main__":
    sys.exit(main())
