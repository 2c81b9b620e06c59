"""Reconcile's events: each is one log line and, when a bus is configured, one EventBridge entry; publishing never
fails the operation it reports; events carry state, never values. (An operation's end: tests/unit/domain/test_events.py
and tests/unit/core/test_state_changes.py.)"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.adapters.bus import DRIFT, RECONCILED, SOURCE, STATE_CHANGE, Notifier
from chalicelib.domain.models import ReleaseRecord, ReleaseRef, ReleaseStatus

REF = ReleaseRef("prod", "apps", "web")


class Bus:
    """An EventBridge client that records its entries and answers as told."""

    def __init__(self, answer: dict[str, Any] | None = None, error: Exception | None = None) -> None:
        self.entries: list[dict[str, Any]] = []
        self.answer = answer or {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}]}
        self.error = error

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 (boto3's name)
        if self.error:
            raise self.error
        self.entries.extend(Entries)
        return self.answer


def record() -> ReleaseRecord:
    return ReleaseRecord(
        REF,
        ReleaseStatus.DEPLOYED,
        3,
        "demo",
        "0.2.0",
        "1.0",
        "",
        "",
        "Upgrade complete",
        "",
        "sha256:" + "0" * 64,
        {},
        "upgrade",
        "op-1",
        0,
        0.0,
    )


def logged(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage().removeprefix("event ")) for r in caplog.records if r.msg == "event %s"]


def test_a_finding_is_logged_and_published_as_one_entry(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    bus = Bus()
    Notifier(bus, "charthouse-events").reconcile_finding(record(), {"kind": "upgraded"})
    (entry,) = bus.entries
    assert (entry["Source"], entry["DetailType"], entry["EventBusName"]) == (SOURCE, STATE_CHANGE, "charthouse-events")
    detail = json.loads(entry["Detail"])
    assert detail == logged(caplog)[0]["detail"]
    assert detail["trigger"] == "reconcile" and detail["finding"] == {"kind": "upgraded"}
    assert detail["release"]["revision"] == 3 and detail["version"] == "1" and detail["time"].endswith("Z")
    Notifier(None, "").reconcile_finding(record(), {"kind": "upgraded"})  # no bus: only the log line
    assert len(logged(caplog)) == 2 and len(bus.entries) == 1


def test_an_event_whose_line_was_written_is_published_without_another(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    bus = Bus()
    Notifier(bus, "b").publish(RECONCILED, {"version": "1", "time": "2026-12-07T00:00:00.000Z", "x": 1}, logged=True)
    assert logged(caplog) == [] and json.loads(bus.entries[0]["Detail"])["time"] == "2026-12-07T00:00:00.000Z"


def test_drift_lists_only_objects_out_of_sync() -> None:
    bus = Bus()
    drift = {
        "resources": [
            {"api_version": "v1", "kind": "ConfigMap", "name": "a", "namespace": "apps", "state": "drifted", "x": 1},
            {"api_version": "v1", "kind": "Service", "name": "b", "namespace": "apps", "state": "in-sync"},
        ]
    }
    Notifier(bus, "b").drift_found(record(), drift, "op-9")
    detail = json.loads(bus.entries[0]["Detail"])
    assert bus.entries[0]["DetailType"] == DRIFT and detail["correction_operation_id"] == "op-9"
    assert detail["objects"] == [
        {"api_version": "v1", "kind": "ConfigMap", "name": "a", "namespace": "apps", "state": "drifted"}
    ]


@pytest.mark.parametrize(
    "bus",
    [
        Bus(error=ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "PutEvents")),
        Bus(answer={"FailedEntryCount": 1, "Entries": [{"ErrorCode": "ThrottlingException"}]}),
    ],
)
def test_a_publishing_failure_is_logged_never_raised(bus: Bus, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    Notifier(bus, "b").reconcile_finding(record(), {"kind": "rolled-back"})
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "not published" in warnings[0]
    assert len(logged(caplog)) == 1  # the log line is written either way
