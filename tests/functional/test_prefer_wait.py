"""``Prefer: wait=N`` (RFC 7240) on the mutating routes: the finished operation when it ended in time, else 202."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib import bootstrap
from chalicelib.domain.models import ReleaseRef
from tests import emulated
from tests.fakes import FakeHelm
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


# ---------------------------------------------------------------- run in the request (helm timeout fits the wait)


class Died(BaseException):
    """The API function's process ending mid-operation (killed, out of memory): nothing in it catches this."""


def _fail(code: str) -> Any:
    def raiser(*args: Any, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": code, "Message": "injected"}}, "Injected")

    return raiser


def queued_messages(api: Api) -> int:
    sqs = boto3.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=api.queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def test_each_verb_runs_in_the_request_when_its_timeout_fits(api: Api, helm: FakeHelm) -> None:
    api.register()
    status, headers, op = send(api, "POST", NS, {"name": "web", "chart": CHART, "timeout": 15}, Prefer="wait=20")
    assert status == 201 and op["status"] == "succeeded" and op["record"]["revision"] == 1, op
    assert headers["preference-applied"] == "wait=20" and headers["location"] == f"/v1/operations/{op['id']}"
    assert op["started_at"] and op["finished_at"]  # recorded as the worker records it: queued -> running -> done
    status, _, op = send(api, "PUT", f"{NS}/web", {"chart": CHART, "timeout": "15s"}, Prefer="wait=20")
    assert status == 200 and op["record"]["revision"] == 2, op
    status, _, op = send(api, "POST", f"{NS}/web/rollback", {"timeout": 15}, Prefer="wait=20")
    assert status == 200 and op["record"]["revision"] == 3, op
    status, _, op = send(api, "DELETE", f"{NS}/web?timeout=15", {}, Prefer="wait=20")
    assert status == 200 and op["record"]["status"] == "uninstalled", op
    assert queued_messages(api) == 0 and api.drain() == 0  # no message: the worker never saw them
    assert helm.calls.count("install") == helm.calls.count("upgrade") == 1
    _, released = api.call("GET", "/v1/operations?release=web")
    assert {o["status"] for o in released["operations"]} == {"succeeded"} and len(released["operations"]) == 4


def test_a_timeout_that_does_not_fit_goes_to_the_worker(api: Api, helm: FakeHelm) -> None:
    api.register()
    # helm's default timeout (300 s) cannot be honoured inside a 20 s answer: queued, waited for, 202
    status, _, op = send(api, "POST", NS, {"name": "web", "chart": CHART}, Prefer="wait=1")
    assert status == 202 and op["status"] == "queued" and queued_messages(api) == 1
    # a timeout of 16 s leaves less than the 5 s margins in a 20 s wait
    status, _, op = send(api, "POST", NS, {"name": "api", "chart": CHART, "timeout": 16}, Prefer="wait=20")
    assert status == 202 and queued_messages(api) == 2 and "install" not in helm.calls


def test_without_the_preference_a_short_timeout_changes_nothing(api: Api, helm: FakeHelm) -> None:
    api.register()
    status, _, op = send(api, "POST", NS, {"name": "web", "chart": CHART, "timeout": 5})
    assert status == 202 and op["status"] == "queued" and queued_messages(api) == 1 and not helm.calls


def test_a_replay_of_an_operation_run_in_the_request_answers_it_unchanged(api: Api, helm: FakeHelm) -> None:
    api.register()
    body = {"name": "web", "chart": CHART, "timeout": 10}
    s1, _, op1 = send(api, "POST", NS, body, Prefer="wait=20", Idempotency_Key="k1")
    s2, _, op2 = send(api, "POST", NS, body, Prefer="wait=20", Idempotency_Key="k1")
    s3, _, op3 = send(api, "POST", NS, body, Idempotency_Key="k1")
    assert (s1, s2, s3) == (201, 201, 202) and op1["id"] == op2["id"] == op3["id"]
    assert op3["status"] == "succeeded" and helm.calls.count("install") == 1
    status, _, err = send(api, "POST", NS, {**body, "timeout": 11}, Prefer="wait=20", Idempotency_Key="k1")
    assert status == 422 and "Idempotency-Key" in err["error"]["message"]


def test_a_failure_in_the_request_is_recorded_as_the_worker_records_it(api: Api) -> None:
    api.register()
    body = {"name": "web", "chart": "https://charts.example.com/missing-1.0.0.tgz", "timeout": 10}
    status, _, op = send(api, "POST", NS, body, Prefer="wait=20")
    assert status == 200 and op["status"] == "failed" and op["error"]["code"], op
    status, _, op = send(api, "POST", NS, {"name": "web", "chart": CHART, "timeout": 10}, Prefer="wait=20")
    assert status == 201, op  # the lease was freed


def test_a_locked_release_is_409_before_anything_runs(api: Api, helm: FakeHelm) -> None:
    api.register()
    send(api, "POST", NS, {"name": "web", "chart": CHART})
    api.drain()
    send(api, "PUT", f"{NS}/web", {"chart": CHART})  # queued: holds the lease
    status, _, err = send(api, "PUT", f"{NS}/web", {"chart": CHART, "timeout": 10}, Prefer="wait=20")
    assert status == 409 and err["error"]["code"] == "ReleaseLocked" and "upgrade" not in helm.calls


def test_secrets_manager_down_hands_the_operation_to_the_worker(api: Api) -> None:
    api.register()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bootstrap.get().registry._vault._sm, "get_secret_value", _fail("InternalServiceError"))
        status, headers, op = send(api, "POST", NS, {"name": "web", "chart": CHART, "timeout": 3}, Prefer="wait=8")
    assert status == 202 and op["status"] == "queued" and headers["location"] == f"/v1/operations/{op['id']}"
    assert queued_messages(api) == 1
    assert api.drain() == 1
    _, done = api.call("GET", f"/v1/operations/{op['id']}")
    assert done["status"] == "succeeded", done


def test_queue_down_when_handing_over_fails_the_operation(api: Api) -> None:
    api.register()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bootstrap.get().registry._vault._sm, "get_secret_value", _fail("InternalServiceError"))
        patch.setattr(bootstrap.get().intake.queue._sqs, "send_message", _fail("ServiceUnavailable"))
        status, _, err = send(api, "POST", NS, {"name": "web", "chart": CHART, "timeout": 3}, Prefer="wait=8")
    assert status == 503 and err["error"]["code"] == "DependencyUnavailable"
    _, ops = api.call("GET", "/v1/operations?release=web")
    assert ops["operations"][0]["status"] == "failed"  # and the lease is free:
    assert send(api, "POST", NS, {"name": "web", "chart": CHART, "timeout": 3}, Prefer="wait=8")[0] == 201


def test_an_api_function_lost_mid_operation_is_recovered_like_a_lost_worker(api: Api, helm: FakeHelm) -> None:
    api.register()
    assert send(api, "POST", NS, {"name": "web", "chart": CHART, "timeout": 10}, Prefer="wait=20")[0] == 201
    first = helm.releases["prod/apps/web"][0]

    def dies(*args: Any) -> None:  # helm marked the release pending-upgrade, then the function was killed
        helm.releases["prod/apps/web"].append(
            {**first, "version": 2, "info": {**first["info"], "status": "pending-upgrade"}}
        )
        raise Died

    with pytest.MonkeyPatch.context() as patch, pytest.raises(Died):
        patch.setattr(helm, "upgrade", dies)
        send(api, "PUT", f"{NS}/web", {"chart": CHART, "timeout": 10}, Prefer="wait=20")
    _, ops = api.call("GET", "/v1/operations?release=web&action=upgrade")
    lost = ops["operations"][0]
    assert lost["status"] == "running" and queued_messages(api) == 0
    status, _, err = send(api, "PUT", f"{NS}/web", {"chart": CHART}, Prefer="wait=20")
    assert status == 409  # its lease is live until it expires, as a worker's is
    emulated.expire_lease(ReleaseRef("prod", "apps", "web"))
    event = api.c.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    report = api.invoke("sweep_stale_leases", event)
    assert report["operations_failed"] == [lost["id"]] and len(report["unlocks_queued"]) == 1
    api.drain()
    _, unlock = api.call("GET", f"/v1/operations/{report['unlocks_queued'][0]}")
    assert unlock["status"] == "succeeded" and unlock["result"]["recovery"] == "rolled-back", unlock
    _, failed = api.call("GET", f"/v1/operations/{lost['id']}")
    assert failed["error"]["code"] == "WorkerLost"
