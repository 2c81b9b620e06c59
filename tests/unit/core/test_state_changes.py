"""From stream records to events: one per operation ending, in order, logged; the release the operation left is on
its record, else it is read from the store (never for a reconcile)."""

from __future__ import annotations

import json
import logging

import pytest

from chalicelib.core.state_changes import StateChanges
from chalicelib.domain.events import RECONCILED, STATE_CHANGE
from chalicelib.domain.models import OperationStatus, ReleaseRecord, ReleaseRef
from tests.unit.adapters.test_stream import REF, not_endings, op_items, stream_record
from tests.unit.domain.test_events import record


class Store:
    def __init__(self, stored: ReleaseRecord | None) -> None:
        self.stored = stored
        self.reads: list[ReleaseRef] = []

    def get_release(self, ref: ReleaseRef) -> ReleaseRecord | None:
        self.reads.append(ref)
        return self.stored


def test_each_ending_gives_one_event_and_nothing_else_gives_any(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    store = Store(None)
    first, second = op_items(), op_items(status=OperationStatus.FAILED)
    records = [*not_endings(), stream_record("MODIFY", *first), *not_endings(), stream_record("MODIFY", *second)]
    events = StateChanges(store).events(records)  # type: ignore[arg-type]
    assert [(e.detail_type, e.detail["operation"]["id"], e.detail["operation"]["status"]) for e in events] == [
        (STATE_CHANGE, first[1]["id"], "succeeded"),
        (STATE_CHANGE, second[1]["id"], "failed"),
    ]
    assert store.reads == []  # both carried the release they left
    logged = [json.loads(r.getMessage().removeprefix("event ")) for r in caplog.records if r.msg == "event %s"]
    assert logged == [e.to_json() for e in events]


def test_without_the_release_on_the_record_the_stored_one_is_read() -> None:
    store = Store(record())
    (event,) = StateChanges(store).events([stream_record("MODIFY", *op_items(with_release=False))])  # type: ignore[arg-type]
    assert store.reads == [REF] and event.detail["release"]["revision"] == 3
    store = Store(None)
    (event,) = StateChanges(store).events([stream_record("MODIFY", *op_items(with_release=False))])  # type: ignore[arg-type]
    assert event.detail["release"] is None  # no release left


def test_a_reconcile_reads_nothing_and_the_enrichment_answers_details() -> None:
    store = Store(record())
    rec = stream_record("MODIFY", *op_items(ReleaseRef.whole_cluster("prod"), with_release=False))
    changes = StateChanges(store)  # type: ignore[arg-type]
    (event,) = changes.events([rec])
    assert event.detail_type == RECONCILED and store.reads == []
    assert changes.details([rec]) == [event.detail] and changes.details(not_endings()) == []
