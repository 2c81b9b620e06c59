"""Leases, idempotency, lost workers, the sweep and dependency failures, through the app with moto and fake helm."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib import bootstrap
from chalicelib.adapters.store import keys
from chalicelib.domain.models import ReleaseRef
from tests import emulated
from tests.fakes import FakeHelm
from tests.functional.conftest import Api

CHART = "https://charts.example.com/demo-1.2.3.tgz"
NS = "/v1/clusters/prod/namespaces/apps/releases"


def table_items() -> list[dict[str, Any]]:
    """Everything but the audit log (a refused or failed call is audited: that is the point of it)."""
    items = boto3.client("dynamodb").scan(TableName="charthouse")["Items"]
    return [i for i in items if not i["pk"]["S"].startswith("AUDIT#")]


def expire_lease(name: str) -> None:
    emulated.expire_lease(ReleaseRef("prod", "apps", name))


def post(api: Api, path: str, body: Any, key: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", **api.auth}
    if key:
        headers["Idempotency-Key"] = key
    resp = api.c.http.post(path, body=json.dumps(body), headers=headers)
    return resp.status_code, resp.json_body


def sweep(api: Api) -> dict[str, Any]:
    event = api.c.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    result: dict[str, Any] = api.invoke("sweep_stale_leases", event)
    return result


def test_same_idempotency_key_and_body_return_the_same_operation_once(api: Api, helm: FakeHelm) -> None:
    api.register()
    body = {"name": "web", "chart": CHART}
    s1, op1 = post(api, NS, body, key="deploy-42")
    s2, op2 = post(api, NS, body, key="deploy-42")
    assert (s1, s2) == (202, 202) and op1["id"] == op2["id"]
    assert api.drain() == 1  # one message, so helm ran once
    s3, op3 = post(api, NS, body, key="deploy-42")  # even after it ran (no 409 ReleaseExists)
    assert s3 == 202 and op3["id"] == op1["id"] and op3["status"] == "succeeded"
    assert helm.calls.count("install") == 1


def test_same_key_with_another_body_is_422(api: Api) -> None:
    api.register()
    assert post(api, NS, {"name": "web", "chart": CHART}, key="k1")[0] == 202
    status, err = post(api, NS, {"name": "web2", "chart": CHART}, key="k1")
    assert status == 422 and err["error"]["details"]["field"] == "Idempotency-Key"


def test_bad_idempotency_key_is_422(api: Api) -> None:
    api.register()
    status, err = post(api, NS, {"name": "web", "chart": CHART}, key="no spaces allowed")
    assert status == 422 and err["error"]["details"]["field"] == "Idempotency-Key"


def test_redelivered_message_never_runs_helm_twice(api: Api, helm: FakeHelm) -> None:
    api.register()
    post(api, NS, {"name": "web", "chart": CHART})
    sqs = boto3.client("sqs")
    body = sqs.receive_message(QueueUrl=api.queue_url)["Messages"][0]["Body"]
    for _ in range(3):  # SQS delivers at least once: simulate redeliveries
        api.invoke("execute_operations", api.c.events.generate_sqs_event(queue_name="q", message_bodies=[body]))
    assert helm.calls.count("install") == 1


def test_unlock_waits_for_the_lease_then_recovers(api: Api, helm: FakeHelm) -> None:
    api.register()
    post(api, NS, {"name": "web", "chart": CHART})
    api.drain()
    status, op = api.call("PUT", f"{NS}/web", {"chart": CHART})
    assert status == 202
    # the worker "dies" after helm marked the release pending-upgrade
    first = helm.releases["prod/apps/web"][0]
    helm.releases["prod/apps/web"].append(
        {**first, "version": 2, "info": {**first["info"], "status": "pending-upgrade"}}
    )
    status, err = post(api, f"{NS}/web/unlock", {})
    assert status == 409 and err["error"]["details"]["operation_id"] == op["id"]
    expire_lease("web")
    status, unlock = post(api, f"{NS}/web/unlock", {})
    assert status == 202 and unlock["action"] == "unlock"
    _, lost = api.call("GET", f"/v1/operations/{op['id']}")
    assert lost["status"] == "failed" and lost["error"]["code"] == "WorkerLost"
    api.drain()  # the upgrade's own message is skipped (no longer queued); the unlock runs
    _, done = api.call("GET", f"/v1/operations/{unlock['id']}")
    assert done["status"] == "succeeded", done
    assert done["result"]["recovery"] == "rolled-back" and done["result"]["to_revision"] == 1
    _, rel = api.call("GET", f"{NS}/web")
    assert rel["status"] == "deployed" and rel["revision"] == 3
    assert "upgrade" not in helm.calls  # the lost upgrade was never run by a redelivery


def test_sweep_fails_lost_operations_and_queues_recovery(api: Api) -> None:
    api.register()
    _, op = post(api, NS, {"name": "web", "chart": CHART})
    bootstrap.get().store.start_operation(op["id"])  # a worker took it ...
    assert sweep(api)["leases_expired"] == 0  # ... and its lease is live: nothing to do
    expire_lease("web")  # ... and died
    report = sweep(api)
    assert report["operations_failed"] == [op["id"]] and len(report["unlocks_queued"]) == 1
    api.drain()
    _, unlock = api.call("GET", f"/v1/operations/{report['unlocks_queued'][0]}")
    assert unlock["status"] == "succeeded" and unlock["result"]["recovery"] == "none"
    assert sweep(api) == {"leases_expired": 0, "operations_failed": [], "unlocks_queued": []}


def test_sweep_recovers_pending_records_without_a_lease(api: Api, helm: FakeHelm) -> None:
    api.register()
    post(api, NS, {"name": "web", "chart": CHART})
    api.drain()
    api.call("PUT", f"{NS}/web", {"chart": CHART})
    api.drain()
    # helm was killed mid-upgrade but the worker lived and recorded pending-upgrade
    helm.releases["prod/apps/web"][-1]["info"]["status"] = "pending-upgrade"
    boto3.client("dynamodb").update_item(
        TableName="charthouse",
        Key=emulated.typed(keys.release(ReleaseRef("prod", "apps", "web"))),
        UpdateExpression="SET #s = :p",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":p": {"S": "pending-upgrade"}},
    )
    report = sweep(api)
    assert len(report["unlocks_queued"]) == 1
    api.drain()
    _, rel = api.call("GET", f"{NS}/web")
    assert rel["status"] == "deployed" and rel["last_action"] == "unlock"


def test_operations_cut_off_by_a_stopped_stack_get_the_lost_workers_recovery(api: Api, helm: FakeHelm) -> None:
    """Issue 17: install running, stack stopped (the queue's messages gone), helm left pending-install. On restart
    ``interrupted`` ends it Interrupted and queues the unlock; nothing accepted since the restart is touched."""
    import time

    api.register()
    _, op = post(api, NS, {"name": "web", "chart": CHART})
    api.drain()  # the fake runs it; then it is made to look cut off mid-install: running, helm pending-install
    boto3.client("dynamodb").update_item(
        TableName="charthouse",
        Key=emulated.typed(keys.operation(op["id"])),
        UpdateExpression="SET #s = :r",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":r": {"S": "running"}},
    )
    bootstrap.get().store.table.delete(keys.release(ReleaseRef("prod", "apps", "web")))
    helm.releases["prod/apps/web"][-1]["info"]["status"] = "pending-install"
    restarted = time.time()
    _, other = post(api, NS, {"name": "other", "chart": CHART})  # accepted after the restart: left alone
    report = bootstrap.get().recovery.interrupted(restarted)
    assert report.operations_failed == [op["id"]] and len(report.unlocks_queued) == 1
    _, ended = api.call("GET", f"/v1/operations/{op['id']}")
    assert ended["status"] == "failed" and ended["error"]["code"] == "Interrupted"
    assert api.call("GET", f"/v1/operations/{other['id']}")[1]["status"] == "queued"
    api.drain()
    _, rel = api.call("GET", f"{NS}/web")
    assert rel["status"] == "failed" and rel["last_action"] == "unlock"
    assert bootstrap.get().recovery.interrupted(restarted).operations_failed == []  # once only


def test_a_lost_workers_message_does_not_block_the_next_operation_on_its_release(api: Api) -> None:
    """Found by the chaos harness (seed 3, kill-worker): the lost worker's message stays in flight (invisible for
    the queue's visibility timeout, 960 s); with one FIFO message group per release, every later operation on that
    release waited behind it until the sweep failed it WorkerLost too. The lease already keeps one operation per
    release at a time, so each message has a group of its own."""
    api.register()
    _, lost = post(api, NS, {"name": "web", "chart": CHART})
    sqs = boto3.client("sqs")
    taken = sqs.receive_message(QueueUrl=api.queue_url, VisibilityTimeout=960)["Messages"]  # the worker that died
    assert json.loads(taken[0]["Body"])["operation_id"] == lost["id"]
    expire_lease("web")
    sweep(api)  # WorkerLost, and an unlock queued
    api.drain()
    status, op = post(api, NS, {"name": "web", "chart": CHART})
    assert status == 202, op
    api.drain()
    _, ended = api.call("GET", f"/v1/operations/{op['id']}")
    assert ended["status"] == "succeeded", ended


def _fail(code: str) -> Any:
    def raiser(*args: Any, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": code, "Message": "injected"}}, "Injected")

    return raiser


def test_dynamodb_down_on_accept_is_503_and_writes_nothing(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    api.register()
    before = table_items()
    monkeypatch.setattr(bootstrap.get().store.table.client, "transact_write_items", _fail("ThrottlingException"))
    status, err = post(api, NS, {"name": "web", "chart": CHART})
    assert status == 503 and err["error"]["code"] == "DependencyUnavailable"
    assert table_items() == before


def test_queue_down_fails_the_operation_and_frees_the_lease(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    api.register()
    queue = bootstrap.get().intake.queue
    monkeypatch.setattr(queue._sqs, "send_message", _fail("ServiceUnavailable"))
    status, err = post(api, NS, {"name": "web", "chart": CHART})
    assert status == 503
    monkeypatch.undo()
    _, ops = api.call("GET", "/v1/operations?release=web")
    assert ops["operations"][0]["status"] == "failed"
    assert ops["operations"][0]["error"]["code"] == "DependencyUnavailable"
    assert post(api, NS, {"name": "web", "chart": CHART})[0] == 202  # not locked


def test_secrets_manager_down_in_the_worker_retries_later(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    api.register()
    _, op = post(api, NS, {"name": "web", "chart": CHART})
    registry = bootstrap.get().registry
    monkeypatch.setattr(registry._vault._sm, "get_secret_value", _fail("InternalServiceError"))
    body = boto3.client("sqs").receive_message(QueueUrl=api.queue_url)["Messages"][0]["Body"]
    event = api.c.events.generate_sqs_event(queue_name="q", message_bodies=[body])
    with pytest.raises(Exception, match="Secrets Manager"):
        api.invoke("execute_operations", event)  # Lambda reports the failure: SQS will redeliver
    _, still = api.call("GET", f"/v1/operations/{op['id']}")
    assert still["status"] == "queued"
    monkeypatch.undo()
    api.invoke("execute_operations", event)  # the redelivery
    _, done = api.call("GET", f"/v1/operations/{op['id']}")
    assert done["status"] == "succeeded"


def test_worker_with_too_little_time_refuses_cleanly(api: Api, helm: FakeHelm) -> None:
    api.register()
    _, op = post(api, NS, {"name": "web", "chart": CHART, "timeout": 600})
    body = boto3.client("sqs").receive_message(QueueUrl=api.queue_url)["Messages"][0]["Body"]
    api.invoke("execute_operations", api.c.events.generate_sqs_event(queue_name="q", message_bodies=[body]), 120)
    _, done = api.call("GET", f"/v1/operations/{op['id']}")
    assert done["status"] == "failed" and done["error"]["code"] == "WorkerTimeBudget"
    assert "install" not in helm.calls
    assert post(api, NS, {"name": "web", "chart": CHART})[0] == 202  # lease freed


def test_an_expired_idempotency_key_can_be_used_again(api: Api) -> None:
    api.register()
    _, first = post(api, NS, {"name": "web", "chart": CHART}, key="old-key")
    api.drain()
    boto3.client("dynamodb").update_item(
        TableName="charthouse",
        Key=emulated.typed(keys.idempotency("old-key")),
        UpdateExpression="SET #t = :past",
        ExpressionAttributeNames={"#t": "ttl"},
        ExpressionAttributeValues={":past": {"N": "1"}},
    )
    status, second = post(api, NS, {"name": "web2", "chart": CHART}, key="old-key")
    assert status == 202 and second["id"] != first["id"]


def test_a_key_reused_on_another_release_is_422(api: Api) -> None:
    api.register()
    post(api, NS, {"name": "a", "chart": CHART})
    post(api, NS, {"name": "b", "chart": CHART})
    api.drain()
    for name in ("a", "b"):  # a revision to roll back to (else 409 NoPreviousRevision)
        api.call("PUT", f"{NS}/{name}", {"chart": CHART})
    api.drain()
    assert post(api, f"{NS}/a/rollback", {}, key="rb")[0] == 202
    status, err = post(api, f"{NS}/b/rollback", {}, key="rb")  # same body, another release
    assert status == 422 and err["error"]["details"]["field"] == "Idempotency-Key"


def test_same_key_with_another_query_is_422(api: Api) -> None:
    """The key names the whole request, its query string included (not only what the query changes in the body)."""
    api.register()
    body = json.dumps({"name": "web", "chart": CHART})
    headers = {"Content-Type": "application/json", "Idempotency-Key": "q-1", **api.auth}
    assert api.c.http.post(NS, body=body, headers=headers).status_code == 202
    resp = api.c.http.post(f"{NS}?trace=1", body=body, headers=headers)
    assert resp.status_code == 422 and resp.json_body["error"]["details"]["field"] == "Idempotency-Key"
    assert api.c.http.post(NS, body=body, headers=headers).status_code == 202  # the same request: replayed
