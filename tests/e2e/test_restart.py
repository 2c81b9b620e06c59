"""Stopping the local stack and starting it again keeps clusters, releases and history (README command 1)."""

from __future__ import annotations

import pytest

from devstack.stack import Stack, StackConfig, request
from tests.e2e.conftest import HELMS

pytestmark = pytest.mark.e2e


def wait_op(base: str, op_id: str) -> dict:
    import time

    for _ in range(600):
        status, op = request("GET", f"{base}/v1/operations/{op_id}")
        if op["status"] in ("succeeded", "failed"):
            return op
        time.sleep(0.2)
    raise AssertionError("operation did not finish")


def test_stop_and_start_keeps_state(tmp_path: object) -> None:
    from pathlib import Path

    cfg = StackConfig.isolated(Path(str(tmp_path)) / "state", HELMS["helm4"], workers=1)
    rel = "/v1/clusters/local/namespaces/default/releases"
    with Stack(cfg) as stack:
        chart = stack.example_charts["hello"]
        status, op = request("POST", stack.api + rel, {"name": "keep", "chart": chart})
        assert status == 202, op
        assert wait_op(stack.api, op["id"])["status"] == "succeeded"
        status, op = request("PUT", f"{stack.api}{rel}/keep", {"chart": chart, "set": {"greeting": "again"}})
        assert wait_op(stack.api, op["id"])["status"] == "succeeded"

    with Stack(cfg) as stack:
        status, cluster = request("GET", f"{stack.api}/v1/clusters/local")
        assert status == 200 and cluster["reachable"] is True
        status, got = request("GET", f"{stack.api}{rel}/keep?info=values")
        assert status == 200, got
        assert (got["status"], got["revision"], got["values"]) == ("deployed", 2, {"greeting": "again"})
        status, hist = request("GET", f"{stack.api}{rel}/keep/history")
        assert [h["revision"] for h in hist["history"]] == [2, 1]
        status, op = request("GET", f"{stack.api}/v1/operations/{got['last_operation_id']}")
        assert status == 200 and op["status"] == "succeeded"
