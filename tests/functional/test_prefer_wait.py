"""``Prefer: wait=N`` (RFC 7240) on the mutating routes: the finished operation when it ended in time, else 202."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.functional.conftest import Api

CHART = "https://charts.example.com/demo-1.2.3.tgz"
NS = "/v1/clusters/prod/namespaces/apps/releases"


def send(api: Api, method: str, path: str, body: Any, **headers: str) -> tuple[int, dict[str, str], Any]:
    sent = {"Content-Type": "application/json", **api.auth, **{k.replace("_", "-"): v for k, v in headers.items()}}
    resp = getattr(api.c.http, method.lower())(path, headers=sent, body=json.dumps(body))
    return resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, resp.json_body


def test_without_the_preference_nothing_changes(api: Api) -> None:
    api.register()
    status, headers, op = send(api, "POST", NS, {"name": "web", "chart": CHART})
    assert status == 202 and op["status"] == "queued" and "preference-applied" not in headers
    assert "record" not in op


def test_an_operation_that_does_not_end_in_time_is_202_with_the_preference_applied(api: Api) -> None:
    api.register()
    status, headers, op = send(api, "POST", NS, {"name": "web", "chart": CHART}, Prefer="wait=1")
    assert status == 202 and op["status"] == "queued", op  # nothing runs the queue here
    assert headers["preference-applied"] == "wait=1" and headers["location"] == f"/v1/operations/{op['id']}"


def test_a_finished_install_is_201_with_the_operation_and_the_record(api: Api) -> None:
    api.register()
    body = {"name": "web", "chart": CHART}
    status, _, first = send(api, "POST", NS, body, Idempotency_Key="k-install")
    assert status == 202
    api.drain()
    # the same request again (its key) finds the operation finished: answered at once, as done
    status, headers, op = send(api, "POST", NS, body, Idempotency_Key="k-install", Prefer="respond-async, wait=999")
    assert status == 201, op
    assert op["id"] == first["id"] and op["status"] == "succeeded"
    assert op["record"]["status"] == "deployed" and op["record"]["revision"] == 1
    assert headers["preference-applied"] == "wait=25"  # at most 25 s: API Gateway answers within 29


def test_a_finished_upgrade_and_uninstall_are_200(api: Api) -> None:
    api.register()
    send(api, "POST", NS, {"name": "web", "chart": CHART})
    api.drain()
    body = {"chart": CHART, "values": {"a": 1}}
    send(api, "PUT", f"{NS}/web", body, Idempotency_Key="k-up")
    api.drain()
    status, _, op = send(api, "PUT", f"{NS}/web", body, Idempotency_Key="k-up", Prefer="wait=5")
    assert status == 200 and op["action"] == "upgrade" and op["record"]["revision"] == 2, op
    send(api, "DELETE", f"{NS}/web", {}, Idempotency_Key="k-del")
    api.drain()
    status, _, op = send(api, "DELETE", f"{NS}/web", {}, Idempotency_Key="k-del", Prefer="wait=5")
    assert status == 200 and op["status"] == "succeeded" and op["record"]["status"] == "uninstalled", op


@pytest.mark.parametrize("prefer", ["wait", "wait=soon", "handling=lenient", "wait=-1"])
def test_a_preference_that_cannot_be_read_is_ignored(api: Api, prefer: str) -> None:
    api.register()
    status, headers, op = send(api, "POST", NS, {"name": "web", "chart": CHART}, Prefer=prefer)
    assert status == 202 and "preference-applied" not in headers, (prefer, op)
