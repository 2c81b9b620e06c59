"""Every operation that ends yields exactly one state-change event, made from the table's stream (DynamoDB Local's
stream -> the local stack's pipes, devstack/streams.py -> the emulated EventBridge bus -> the queue a rule copies every
event to), whether it ran in the request or in a worker, succeeded or failed, on a release or a whole cluster; and
the event says what the operation record says."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from devstack.charts import ChartServer
from devstack.stack import Stack
from tests.e2e.conftest import Api
from tests.e2e.test_prefer_wait import waiting

pytestmark = pytest.mark.e2e
NS = "e2e-events"
REL = f"/v1/clusters/local/namespaces/{NS}/releases"


def drain(stack: Stack, seconds: float) -> list[dict[str, Any]]:
    """Every event the bus copied to the stack's events queue within ``seconds``."""
    sqs = stack.aws.client("sqs")
    url = sqs.get_queue_url(QueueName=stack.aws.events_queue)["QueueUrl"]
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        for m in msgs:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


def of_operations(events: list[dict[str, Any]], ids: set[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for e in events:
        op = e["detail"].get("operation") or {}
        if e["detail"].get("trigger") == "operation" and op.get("id") in ids:
            found[op["id"]].append(e)
    return found


def test_every_operation_that_ends_yields_exactly_one_event(api: Api, stack: Stack, charts: ChartServer) -> None:
    chart1, chart2 = charts.url("demo-0.1.0.tgz"), charts.url("demo-0.2.0.tgz")
    drain(stack, 1.0)  # what earlier tests left
    ops: list[dict[str, Any]] = []
    # run in the request (Prefer: wait, a helm timeout that fits): the path the PutEvents left
    status, _, op = waiting(
        stack, api, "POST", REL, {"name": "ev", "chart": chart1, "create_namespace": True, "timeout": 15}
    )
    assert status == 201 and op["status"] == "succeeded", op
    ops.append(op)
    ops.append(api.run("PUT", f"{REL}/ev", {"chart": chart2}))  # in a worker
    status, _, op = waiting(stack, api, "POST", f"{REL}/ev/rollback", {"timeout": 15})
    assert status == 200 and op["status"] == "succeeded", op
    ops.append(op)
    status, _, op = waiting(stack, api, "POST", REL, {"name": "ev-broken", "chart": charts.url("nothing-9.9.9.tgz")})
    assert status == 200 and op["status"] == "failed", op  # a failed install: no release left
    ops.append(op)
    ops.append(api.run("DELETE", f"{REL}/ev"))
    status, reconcile = api.call("POST", "/v1/clusters/local/reconcile", {})
    assert status == 202, reconcile
    ops.append(api.wait(reconcile))
    assert [o["status"] for o in ops[:3] + ops[4:5]] == ["succeeded"] * 4, ops

    ids = {o["id"] for o in ops}
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(of_operations(events, ids).values()):
        events += drain(stack, 1.0)
    events += drain(stack, 3.0)  # a second event of any of them would have come by now
    found = of_operations(events, ids)
    assert {i: len(found[i]) for i in ids} == {i: 1 for i in ids}, events

    for op in ops:
        (event,) = found[op["id"]]
        _, stored = api.call("GET", f"/v1/operations/{op['id']}")
        detail = event["detail"]
        assert event["source"] == "charthouse" and detail["version"] == "1" and detail["event_id"] == op["id"]
        assert detail["operation"]["status"] == stored["status"] and detail["operation"]["action"] == stored["action"]
        assert detail["operation"]["result"] == stored["result"]
        if stored["error"]:
            assert detail["operation"]["error"]["code"] == stored["error"]["code"]
            assert detail["operation"]["error"]["message"] == stored["error"]["message"]
        else:
            assert detail["operation"]["error"] is None
        if op["action"] == "reconcile":
            assert event["detail-type"] == "Helm Cluster Reconciled" and detail["cluster"] == "local", event
            assert "release" not in detail
            continue
        assert event["detail-type"] == "Helm Release State Change", event
        assert (detail["cluster"], detail["namespace"], detail["name"]) == ("local", NS, stored["release"]["name"])
    # the release each left: as that operation left it, not as it is now
    install, upgrade, rollback, broken, uninstall = (found[o["id"]][0]["detail"]["release"] for o in ops[:5])
    assert (install["revision"], install["status"], install["chart_version"]) == (1, "deployed", "0.1.0")
    assert (upgrade["revision"], upgrade["chart_version"]) == (2, "0.2.0")
    assert (rollback["revision"], rollback["chart_version"]) == (3, "0.1.0")
    assert broken is None
    assert uninstall["status"] == "uninstalled"
    assert all(
        set(r) == {"status", "revision", "chart", "chart_version", "app_version", "changed_out_of_band"}
        for r in (install, upgrade, rollback, uninstall)
    )
    # and each was written to the stream reader's log, as the deployed enrichment writes it to CloudWatch
    logged = (stack.logs / "streams.log").read_text()
    assert all(f'"event_id": "{o["id"]}"' in logged for o in ops)
