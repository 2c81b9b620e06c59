"""After each verb the worker reads helm's record back from its release Secrets (one Kubernetes API call), not by
running helm again: what it stored must equal what helm's own CLI reports for the same release, and the worker's
log must say where each operation's read-back came from. Runs once per helm major."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from devstack.stack import Stack
from tests.e2e.conftest import Api, ChartServer, helm_cli

pytestmark = pytest.mark.e2e
NS = "/v1/clusters/local/namespaces/readback/releases"


def _worker_lines(stack: Stack, op_id: str) -> list[str]:
    return [
        line
        for log in sorted(stack.logs.glob("worker*.log"))
        for line in log.read_text(errors="replace").splitlines()
        if f"operation {op_id}: read back" in line
    ]


def test_the_stored_release_is_what_helm_reports(api: Api, stack: Stack, charts: ChartServer) -> None:
    chart1, chart2 = charts.url("demo-0.1.0.tgz"), charts.url("demo-0.2.0.tgz")
    body = {"name": "rb", "chart": chart1, "create_namespace": True, "values": {"greeting": "one"}}
    ops = [api.run("POST", NS, body)]
    ops.append(api.run("PUT", f"{NS}/rb", {"chart": chart2, "values": {"greeting": "two"}}))
    ops.append(api.run("POST", f"{NS}/rb/rollback", {"revision": 1}))
    assert [op["status"] for op in ops] == ["succeeded"] * 3, ops

    helm_history = json.loads(helm_cli(stack, "history", "rb", "-n", "readback", "-o", "json"))
    status, stored = api.call("GET", f"{NS}/rb/history")
    assert status == 200
    fields = ("revision", "status", "chart", "app_version", "updated", "description")
    assert [{k: r[k] for k in fields} for r in stored["history"]] == [
        {k: h.get(k, "") for k in fields} for h in reversed(helm_history)
    ]
    status, rel = api.call("GET", f"{NS}/rb")
    meta: dict[str, Any] = json.loads(helm_cli(stack, "get", "metadata", "rb", "-n", "readback", "-o", "json"))
    assert (rel["revision"], rel["status"], rel["chart"], rel["chart_version"], rel["app_version"]) == (
        meta["revision"],
        meta["status"],
        meta["chart"],
        meta["version"],
        meta["appVersion"],
    )
    notes = helm_cli(stack, "get", "notes", "rb", "-n", "readback").removeprefix("NOTES:\n")
    assert rel["notes"] == notes and "rb says one" in notes  # the rollback brought revision 1's values back

    for op in ops:  # each operation says where its read-back came from: the Secrets, here
        lines = _worker_lines(stack, op["id"])
        assert len(lines) == 1 and re.search(r"read back from \d+ release Secrets", lines[0]), lines
