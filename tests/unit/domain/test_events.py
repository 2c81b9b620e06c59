"""The events' shapes: an ended operation's detail (docs/EVENTS.md), and which change of an operation's status is its
ending (one per operation)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from chalicelib.domain.events import RECONCILED, SOURCE, STATE_CHANGE, ending, operation_ended, release_state
from chalicelib.domain.models import Action, Operation, OperationStatus, ReleaseRecord, ReleaseRef, ReleaseStatus

REF = ReleaseRef("prod", "apps", "web")


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
    return dataclasses.replace(op, **{"status": OperationStatus.SUCCEEDED, "finished_at": 1796682907.25, **more})


def test_an_ended_operation_on_a_release_is_a_state_change() -> None:
    op = operation(result={"status": "deployed", "revision": 3})
    event = operation_ended(op, release_state(record()))
    assert event.detail_type == STATE_CHANGE and event.to_json()["source"] == SOURCE
    detail = event.detail
    assert (detail["cluster"], detail["namespace"], detail["name"], detail["trigger"]) == (
        "prod",
        "apps",
        "web",
        "operation",
    )
    assert detail["version"] == "1" and detail["time"] == "2026-12-07T22:35:07.250Z"  # when it ended
    assert detail["event_id"] == op.id  # the same however often it is delivered
    assert detail["operation"] == {
        "id": op.id,
        "action": "upgrade",
        "status": "succeeded",
        "result": {"status": "deployed", "revision": 3},
        "error": None,
    }
    assert detail["release"] == {
        "status": "deployed",
        "revision": 3,
        "chart": "demo",
        "chart_version": "0.2.0",
        "app_version": "1.0",
        "changed_out_of_band": False,
    }
    assert "values_digest" not in json.dumps(detail) and "sha256" not in json.dumps(detail)  # state, not values


def test_a_failure_carries_code_message_and_the_diagnosis_summary_only() -> None:
    diagnosis = {"summary": "Deployment web: 0/2 available", "pods": [{"name": "web-1"}]}
    error = {"code": "HelmTimeout", "message": "timed out", "details": {"diagnosis": diagnosis}}
    detail = operation_ended(operation(status=OperationStatus.FAILED, error=error), None).detail
    assert detail["operation"]["error"] == {
        "code": "HelmTimeout",
        "message": "timed out",
        "summary": "Deployment web: 0/2 available",
    }
    assert detail["release"] is None
    plain = operation_ended(operation(status=OperationStatus.FAILED, error={"code": "X", "message": "m"}), None)
    assert plain.detail["operation"]["error"] == {"code": "X", "message": "m"}


def test_a_cluster_wide_operation_reports_the_reconcile() -> None:
    event = operation_ended(operation(ReleaseRef.whole_cluster("prod"), result={"changed": []}), None)
    assert event.detail_type == RECONCILED
    assert event.detail["cluster"] == "prod" and "release" not in event.detail and "namespace" not in event.detail
    assert event.detail["operation"]["result"] == {"changed": []}


@pytest.mark.parametrize(
    ("old", "new", "is_ending"),
    [
        ("running", "succeeded", True),
        ("running", "failed", True),
        ("queued", "failed", True),  # the sweep, a failed accept
        ("queued", "running", False),
        ("running", "queued", False),  # put back for the worker
        ("succeeded", "succeeded", False),  # written again after it ended
        ("failed", "failed", False),
        (None, "succeeded", False),  # created ended: a restored copy, not an operation ending
        ("running", None, False),  # deleted
        ("running", "exploded", False),
    ],
)
def test_only_the_change_from_unfinished_to_ended_is_an_ending(
    old: str | None, new: str | None, is_ending: bool
) -> None:
    assert ending(old, new) is is_ending
