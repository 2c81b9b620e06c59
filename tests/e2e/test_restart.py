"""Stopping the local stack and starting it again keeps clusters, releases and history (README command 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaos.stackproc import StackProcess
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


# ---------------------------------------------------------------- Ctrl-C with an operation in flight (issue 17)


def _helm_status(stack: StackProcess, name: str) -> str:
    rc, out = stack.helm("status", name, "-n", "default", "-o", "json")
    return str(json.loads(out)["info"]["status"]) if rc == 0 else "absent"


def _until(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_ctrl_c_mid_install_is_recovered_on_restart_without_any_call(tmp_path: object) -> None:
    """`make run`, install with wait, Ctrl-C while helm waits, `make run` again: the operation ends Interrupted,
    the release is recovered (failed in helm, recorded, name reusable) with no unlock call; the stop is prompt and
    leaves no process behind."""
    stack = StackProcess(Path(str(tmp_path)) / "state", workers=1, sweep_every_s=60, lease_grace_s=120)
    rel = "/v1/clusters/local/namespaces/default/releases"
    try:
        stack.start()
        chart = stack.chart_url("webapp", "0.1.0")
        body = {"name": "cut", "chart": chart, "wait": True, "timeout": 300, "set": {"image": {"tag": "never-ready"}}}
        status, op = stack.call("POST", rel, body)
        assert status == 202, op
        _until(lambda: _helm_status(stack, "cut") == "pending-install", 120, "helm to hold pending-install")
        below = set(stack.processes())
        seconds = stack.stop()  # SIGINT, as Ctrl-C in the terminal
        assert seconds < 10, f"the stack took {seconds:.1f} s to stop"
        alive = [pid for pid in below if Path(f"/proc/{pid}").exists()]
        assert not alive, f"processes outlived the stack: {alive}"
        assert _helm_status(stack, "cut") == "absent"  # the cluster is down with the stack

        stack.start()
        done = _until(lambda: (o := stack.get(f"/v1/operations/{op['id']}")[1])["status"] == "failed" and o, 60, "op")
        assert done["error"]["code"] == "Interrupted"
        got = _until(lambda: (r := stack.get(f"{rel}/cut"))[0] == 200 and r[1]["status"] == "failed" and r[1], 120, "r")
        assert got["revision"] == 1
        assert _helm_status(stack, "cut") == "failed"
        status, ops = stack.get("/v1/operations?release=cut")
        unlocks = [o for o in ops["operations"] if o["action"] == "unlock"]
        assert [u["status"] for u in unlocks] == ["succeeded"], unlocks
        # the name is usable again, by the verb that should work on a failed release
        status, op = stack.call("PUT", f"{rel}/cut", {"chart": chart, "set": {"image": {"tag": "1.25"}}})
        assert status == 202, op
        ended = _until(
            lambda: (o := stack.get(f"/v1/operations/{op['id']}")[1])["status"] != "queued"
            and o["status"] != "running"
            and o,
            180,
            "upgrade",
        )
        assert ended["status"] == "succeeded", ended
        assert _helm_status(stack, "cut") == "deployed"
    finally:
        stack.close()
