"""``Prefer: wait=N`` end to end: one round trip per verb when the operation is quick (real helm, real cluster).

Runs once per helm major (see conftest's ``helm_major``).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from devstack.stack import Stack
from tests.e2e.conftest import Api, ChartServer

pytestmark = pytest.mark.e2e
NS = "/v1/clusters/local/namespaces/e2e-prefer/releases"


def waiting(
    stack: Stack, api: Api, method: str, path: str, body: Any, wait: int = 20
) -> tuple[int, dict[str, str], Any]:
    """One request with ``Prefer: wait=N``; the answer is checked against the OpenAPI document like any other."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {stack.token}", "Prefer": f"wait={wait}"}
    req = urllib.request.Request(stack.api + path, data=json.dumps(body).encode(), method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=wait + 30) as resp:
            status, head, data = resp.status, dict(resp.headers.items()), json.loads(resp.read())
    except urllib.error.HTTPError as err:
        status, head, data = err.code, dict(err.headers.items()), json.loads(err.read())
    api.checker.check(method, path, status, data)
    return status, {k.lower(): v for k, v in head.items()}, data


def test_each_verb_answers_when_done(api: Api, stack: Stack, charts: ChartServer) -> None:
    chart1, chart2 = charts.url("demo-0.1.0.tgz"), charts.url("demo-0.2.0.tgz")
    body = {"name": "quick", "chart": chart1, "create_namespace": True}
    status, headers, op = waiting(stack, api, "POST", NS, body)
    assert status == 201 and op["status"] == "succeeded", op
    assert op["record"]["status"] == "deployed" and op["record"]["revision"] == 1
    assert headers["preference-applied"] == "wait=20" and headers["location"] == f"/v1/operations/{op['id']}"

    status, _, op = waiting(stack, api, "PUT", f"{NS}/quick", {"chart": chart2})
    assert status == 200 and op["status"] == "succeeded" and op["record"]["revision"] == 2, op
    assert op["record"]["chart_version"] == "0.2.0"

    status, _, op = waiting(stack, api, "POST", f"{NS}/quick/rollback", {})
    assert status == 200 and op["record"]["revision"] == 3 and op["record"]["chart_version"] == "0.1.0", op

    status, _, op = waiting(stack, api, "DELETE", f"{NS}/quick", {})
    assert status == 200 and op["status"] == "succeeded" and op["record"]["status"] == "uninstalled", op


def test_a_failed_install_is_answered_200_not_201(api: Api, stack: Stack, charts: ChartServer) -> None:
    body = {"name": "broken", "chart": charts.url("nothing-9.9.9.tgz"), "create_namespace": True}
    status, headers, op = waiting(stack, api, "POST", NS, body)
    assert status == 200 and op["status"] == "failed" and op["error"]["code"] == "ChartNotFound", op
    assert op["record"] is None and headers["preference-applied"] == "wait=20"


def test_each_verb_runs_in_the_request_when_its_timeout_fits(api: Api, stack: Stack, charts: ChartServer) -> None:
    """helm's timeout (15 s) fits in the wait (20 s): the API function runs each verb itself; no worker sees it."""
    chart1, chart2 = charts.url("demo-0.1.0.tgz"), charts.url("demo-0.2.0.tgz")
    body = {"name": "inline", "chart": chart1, "create_namespace": True, "timeout": 15}
    status, headers, op = waiting(stack, api, "POST", NS, body)
    assert status == 201 and op["status"] == "succeeded" and op["record"]["revision"] == 1, op
    assert headers["location"] == f"/v1/operations/{op['id']}"
    status, _, op = waiting(stack, api, "PUT", f"{NS}/inline", {"chart": chart2, "timeout": "15s"})
    assert status == 200 and op["record"]["revision"] == 2 and op["record"]["chart_version"] == "0.2.0", op
    status, _, op = waiting(stack, api, "POST", f"{NS}/inline/rollback", {"timeout": 15})
    assert status == 200 and op["record"]["revision"] == 3 and op["record"]["chart_version"] == "0.1.0", op
    _, history = api.call("GET", f"{NS}/inline/history")
    assert [r["revision"] for r in history["history"]] == [3, 2, 1], history
    status, _, op = waiting(stack, api, "DELETE", f"{NS}/inline", {"timeout": 15})
    assert status == 200 and op["record"]["status"] == "uninstalled", op
    logged = (stack.logs / "api.log").read_text()
    assert f"accepted {op['id']} uninstall for local/e2e-prefer/inline, to run in this request" in logged
