"""State-change events: each is one log line and, when a bus is configured, one EventBridge entry; publishing
never fails the operation it reports; events carry state, never values."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.adapters.bus import DRIFT, RECONCILED, SOURCE, STATE_CHANGE, Notifier
from chalicelib.domain.models import Action, Operation, OperationStatus, ReleaseRecord, ReleaseRef, ReleaseStatus

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


def operation(release: ReleaseRef = REF, **more: Any) -> Operation:
    op = Operation.new(Action.UPGRADE, release, {"chart": "https://x/demo.tgz"})
    return dataclasses.replace(op, **{"status": OperationStatus.SUCCEEDED, **more})


def logged(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage().removeprefix("event ")) for r in caplog.records if r.msg == "event %s"]


def test_without_a_bus_events_are_only_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    Notifier(None, "").operation_ended(operation(), record())
    (event,) = logged(caplog)
    assert event["source"] == SOURCE and event["detail-type"] == STATE_CHANGE
    detail = event["detail"]
    assert (detail["cluster"], detail["namespace"], detail["name"], detail["trigger"]) == (
        "prod",
        "apps",
        "web",
        "operation",
    )
    assert detail["version"] == "1" and detail["time"].endswith("Z")
    assert detail["operation"]["status"] == "succeeded" and detail["release"]["revision"] == 3
    assert "values_digest" not in json.dumps(detail)  # state, not values


def test_with_a_bus_the_entry_matches_the_log_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    bus = Bus()
    failed = operation(
        status=OperationStatus.FAILED, error={"code": "HelmError", "message": "boom", "details": {"x": 1}}
    )
    Notifier(bus, "charthouse-events").operation_ended(failed, None)
    (entry,) = bus.entries
    assert (entry["Source"], entry["DetailType"], entry["EventBusName"]) == (SOURCE, STATE_CHANGE, "charthouse-events")
    detail = json.loads(entry["Detail"])
    assert detail == logged(caplog)[0]["detail"]
    assert detail["operation"]["error"] == {"code": "HelmError", "message": "boom"} and detail["release"] is None


def test_a_diagnosed_failure_carries_its_summary_not_the_whole_diagnosis() -> None:
    bus = Bus()
    diagnosis = {"summary": "Deployment web: 0/2 available", "pods": [{"name": "web-1"}]}
    error = {"code": "HelmTimeout", "message": "timed out", "details": {"diagnosis": diagnosis}}
    Notifier(bus, "b").operation_ended(operation(status=OperationStatus.FAILED, error=error), None)
    detail = json.loads(bus.entries[0]["Detail"])
    assert detail["operation"]["error"] == {
        "code": "HelmTimeout",
        "message": "timed out",
        "summary": "Deployment web: 0/2 available",
    }


def test_a_cluster_wide_operation_reports_the_reconcile() -> None:
    bus = Bus()
    Notifier(bus, "b").operation_ended(operation(ReleaseRef.whole_cluster("prod"), result={"changed": []}), None)
    (entry,) = bus.entries
    detail = json.loads(entry["Detail"])
    assert entry["DetailType"] == RECONCILED and detail["cluster"] == "prod" and "release" not in detail


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
