"""The CloudFormation custom resource through the app, with moto and fake helm: the paths the end-to-end tests
cannot reach quickly (a worker lost under a custom resource, a handler that crashes)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.domain.models import ReleaseRef
from devstack.scheduler import scheduled_event
from tests import emulated
from tests.fakes import FakeHelm
from tests.functional.conftest import Api

CHART = "https://charts.example.com/demo-1.2.3.tgz"
URL = "https://cloudformation-custom-resource-response.s3.amazonaws.com/x?X-Amz-Signature=secret-signature"


class Sent:
    """Stands in for the PUT to the presigned URL."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, url: str, body: bytes) -> None:
        assert url == URL
        self.bodies.append(json.loads(body))


@pytest.fixture
def sent(api: Api) -> Sent:
    out = Sent()
    bootstrap.get().custom_resource.send = out
    return out


def cfn_event(
    request_type: str, name: str = "web", physical: str | None = None, request_id: str = "r-1", **props: Any
) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "RequestType": request_type,
        "ResponseURL": URL,
        "StackId": "arn:aws:cloudformation:s",
        "RequestId": request_id,
        "LogicalResourceId": "Web",
        "ResourceType": "Custom::HelmRelease",
        "ResourceProperties": {
            "ServiceToken": "arn:x",
            "Cluster": "prod",
            "Namespace": "apps",
            "Name": name,
            "Chart": CHART,
            **props,
        },
    }
    if physical:
        ev["PhysicalResourceId"] = physical
    return ev


def expire_lease(name: str) -> None:
    emulated.expire_lease(ReleaseRef("prod", "apps", name))


def test_create_is_answered_once_when_the_operation_ends(
    api: Api, sent: Sent, helm: FakeHelm, caplog: pytest.LogCaptureFixture
) -> None:
    api.register()
    caplog.set_level(logging.INFO)
    out = api.invoke("helm_release_resource", cfn_event("Create"))
    assert "operation_id" in out and sent.bodies == []  # nothing before the operation ends
    api.invoke("helm_release_resource", cfn_event("Create"))  # Lambda's retry of the same request
    assert api.drain() == 1  # one operation
    assert [(b["Status"], b["PhysicalResourceId"], b["RequestId"]) for b in sent.bodies] == [
        ("SUCCESS", "prod/apps/web", "r-1")
    ]
    api.drain()
    bootstrap.get().announcer.ended(out["operation_id"])  # announced again: still answered once
    assert len(sent.bodies) == 1
    assert "secret-signature" not in caplog.text


def test_a_lost_worker_still_answers_failed(api: Api, sent: Sent) -> None:
    api.register()
    out = api.invoke("helm_release_resource", cfn_event("Create"))
    expire_lease("web")  # the worker died (Lambda timeout past 15 minutes, out of memory...)
    api.invoke("sweep_stale_leases", scheduled_event("test/sweep"))
    assert len(sent.bodies) == 1
    answer = sent.bodies[0]
    assert answer["Status"] == "FAILED" and "WorkerLost" in answer["Reason"], answer
    assert answer["PhysicalResourceId"] == "prod/apps/web"  # CloudFormation's rollback uninstalls what is left
    api.drain()  # the message is delivered late: the operation has ended, nothing runs and nothing is sent
    assert len(sent.bodies) == 1
    _, op = api.call("GET", f"/v1/operations/{out['operation_id']}")
    assert op["error"]["code"] == "WorkerLost"


def test_a_crashing_handler_answers_failed_once_and_does_not_raise(
    api: Api, sent: Sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.register()

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(bootstrap.get().intake, "accept", boom)
    assert api.invoke("helm_release_resource", cfn_event("Create"))["status"] == "FAILED"
    assert [b["Status"] for b in sent.bodies] == ["FAILED"]
    assert "InternalError" in sent.bodies[0]["Reason"] and sent.bodies[0]["PhysicalResourceId"].startswith(
        "charthouse:none:"
    )


def test_refusals_and_deletes_of_nothing(api: Api, sent: Sent) -> None:
    api.register()
    api.invoke("helm_release_resource", cfn_event("Create", request_id="r-bad", Options={"Shell": "x"}))
    api.invoke("helm_release_resource", cfn_event("Delete", physical="charthouse:none:r-bad", request_id="r-del"))
    api.invoke("helm_release_resource", cfn_event("Delete", physical="prod/apps/never", request_id="r-never"))
    api.invoke("helm_release_resource", cfn_event("Delete", physical="unknown/apps/x", request_id="r-nocluster"))
    assert [(b["RequestId"], b["Status"]) for b in sent.bodies] == [
        ("r-bad", "FAILED"),
        ("r-del", "SUCCESS"),
        ("r-never", "SUCCESS"),
        ("r-nocluster", "SUCCESS"),
    ]
    assert "Options.shell" in sent.bodies[0]["Reason"]
