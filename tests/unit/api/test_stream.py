"""The pipes' enrichment function: the batch of stream records goes to the state-change use case as it came, and
the function answers the details it gives (a list: empty delivers nothing)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from chalice.test import Client

from chalicelib import bootstrap


class FakeStateChanges:
    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []

    def details(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.batches.append(records)
        return [{"event_id": r["eventID"]} for r in records if r.get("eventName") == "MODIFY"]


def test_the_batch_reaches_the_use_case_and_its_details_are_the_answer() -> None:
    from app import app

    changes = FakeStateChanges()
    bootstrap.override(SimpleNamespace(state_changes=changes))  # type: ignore[arg-type]
    try:
        batch = [{"eventID": "1", "eventName": "MODIFY"}, {"eventID": "2", "eventName": "INSERT"}]
        with Client(app) as client:
            answer = client.lambda_.invoke("state_change_events", batch).payload
            single = client.lambda_.invoke("state_change_events", batch[0]).payload
    finally:
        bootstrap.override(None)
    assert answer == [{"event_id": "1"}] and single == [{"event_id": "1"}]
    assert changes.batches == [batch, [batch[0]]]
