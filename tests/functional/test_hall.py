"""The hall (``core/releases.py``) through every door: /v1, CCE, helm-engine, Cloudpods, runtimes' sync, Nautes and
the CloudFormation custom resource each apply the same upgrade check (a release that does not exist is upgraded only
as an upsert), the same chart-source check (a repository that is not registered is refused before anything is
accepted) and the same masking rules (the cluster's added keys joined to the operation when it is accepted)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.compat import cce
from tests.emulated import KUBECONFIG
from tests.fakes import FakeGit
from tests.functional.conftest import Api
from tests.functional.test_compat_cce import call as cce_call
from tests.functional.test_compat_cce import upload
from tests.functional.test_custom_resource import Sent, cfn_event

CHART = "https://charts.example.com/demo-1.2.3.tgz"
UNREGISTERED = "nowhere/demo"  # a chart from a repository nobody registered: the catalog's rules refuse it
V1 = "/v1/clusters/prod/namespaces/apps/releases"
ENGINE = "/api/namespaces/apps/releases"
DSN = "postgres://app:very-secret-password@db/app"


@pytest.fixture
def hall(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """A cluster whose masking rules add the key ``dsn``; the worker runs while a request waits (as in the stack)."""
    status, out = api.call("PUT", "/v1/clusters/prod", {"kubeconfig": KUBECONFIG, "masking": {"keys": ["dsn"]}})
    assert status == 201, out
    intake = bootstrap.get().intake
    original = intake.wait

    def wait(op_id: str, seconds: float) -> Any:
        api.drain()
        return original(op_id, 0)

    monkeypatch.setattr(intake, "wait", wait)
    monkeypatch.setattr(cce, "WAIT_S", 1)
    yield api


def operations(api: Api, name: str) -> list[dict[str, Any]]:
    status, out = api.call("GET", f"/v1/operations?cluster=prod&release={name}")
    assert status == 200, out
    return list(out["operations"])


def masked_by_the_cluster(api: Api, name: str) -> None:
    """The release's operation carries the cluster's rules (joined when accepted) and its values read masked."""
    ops = operations(api, name)
    assert ops and all("dsn" in op["request"]["sensitive_keys"] for op in ops), ops
    assert ops[0]["status"] == "succeeded", ops[0]
    status, shown = api.call("GET", f"{V1}/{name}?info=values")
    assert status == 200 and DSN not in json.dumps(shown), shown


# ---------------------------------------------------------------- /v1


def test_v1(hall: Api) -> None:
    status, err = hall.call("PUT", f"{V1}/web", {"chart": CHART})
    assert status == 404 and err["error"]["code"] == "ReleaseNotFound", err
    status, err = hall.call("POST", V1, {"name": "web", "chart": UNREGISTERED})
    assert status == 422 and err["error"]["details"]["field"] == "chart", err
    assert operations(hall, "web") == []  # refused before anything was accepted
    status, dry = hall.call("POST", V1, {"name": "web", "chart": CHART, "values": {"dsn": DSN}, "dry_run": True})
    assert status == 200 and DSN not in json.dumps(dry), dry
    status, op = hall.call("PUT", f"{V1}/web", {"chart": CHART, "install": True, "values": {"dsn": DSN}})
    assert status == 202, op
    hall.drain()
    masked_by_the_cluster(hall, "web")


# ---------------------------------------------------------------- CCE


def test_cce(hall: Api) -> None:
    rel = "/cce/cam/v3/clusters/prod/namespace/apps/releases"
    status, chart = upload(hall)
    assert status == 201, chart
    status, err = cce_call(hall, "PUT", f"{rel}/web", {"action": "upgrade", "chart_id": chart["id"]})
    assert status == 404 and err["error"]["code"] == "ReleaseNotFound", err
    body = {"name": "web", "namespace": "apps", "chart_id": chart["id"], "values": {"dsn": DSN}}
    status, dry = cce_call(
        hall, "POST", "/cce/cam/v3/clusters/prod/releases", {**body, "parameters": {"dry_run": True}}
    )
    assert status == 201 and DSN not in json.dumps(dry), dry  # the dry run is masked by the cluster's rules too
    assert operations(hall, "web") == [] and hall.call("GET", f"{V1}/web")[0] == 404
    status, created = cce_call(hall, "POST", "/cce/cam/v3/clusters/prod/releases", body)
    assert status == 201, created
    masked_by_the_cluster(hall, "web")
    status, err = cce_call(hall, "POST", "/cce/cam/v3/clusters/prod/releases", body)
    assert status == 409 and err["error"]["code"] == "ReleaseExists", err  # the install check


# ---------------------------------------------------------------- helm-engine


def test_helm_engine(hall: Api) -> None:
    out = hall.call("PUT", f"{ENGINE}/web?chart={CHART}", {})[1]
    assert out["code"] == 1 and "not found" in out["error"], out
    out = hall.call("POST", f"{ENGINE}/web?chart={UNREGISTERED}", {})[1]
    assert out["code"] == 1 and "repository nowhere is not registered" in out["error"], out
    assert operations(hall, "web") == []
    out = hall.call("PUT", f"{ENGINE}/web?chart={CHART}", {"install": True})[1]
    assert out["code"] == 0, out
    masked_by_the_cluster(hall, "web")


# ---------------------------------------------------------------- Cloudpods


def test_cloudpods(hall: Api) -> None:
    status, err = hall.call("PUT", "/api/releases/web?cluster=prod&namespace=apps", {"chart_name": CHART})
    assert status == 404 and err["error"]["code"] == "ReleaseNotFound", err
    create = {"release_name": "web", "cluster": "prod", "namespace": "apps", "values_json": {"dsn": DSN}}
    status, err = hall.call("POST", "/api/releases", {**create, "chart_name": UNREGISTERED})
    assert status == 422 and err["error"]["details"]["field"] == "chart", err
    assert operations(hall, "web") == []
    status, out = hall.call("POST", "/api/releases", {**create, "chart_name": CHART})
    assert status == 200 and DSN not in json.dumps(out), out
    masked_by_the_cluster(hall, "web")


# ---------------------------------------------------------------- runtimes' sync


def settle(api: Api) -> None:
    while api.drain():
        pass


def synced(api: Api, name: str) -> dict[str, Any]:
    status, out = api.call("POST", f"/v1/runtimes/{name}/sync")
    assert status == 202, out
    settle(api)
    status, out = api.call("GET", f"/v1/runtimes/{name}")
    assert status == 200, out
    return dict(out["status"])


def test_runtime_sync(hall: Api) -> None:
    declared = {"destination": {"cluster": "prod", "namespaces": ["apps"]}}
    bad = {"source": {"inline": {"releases": [{"name": "web", "chart": UNREGISTERED}]}}, **declared}
    assert hall.call("PUT", "/v1/runtimes/shop", bad)[0] == 201
    status = synced(hall, "shop")
    assert status["phase"] == "failed" and status["last_error"]["code"] == "InvalidInput", status
    assert status["last_error"]["operation_id"] is None and "nowhere" in status["last_error"]["message"]
    assert operations(hall, "web") == []  # refused by the chart-source check before an operation existed
    good = {"source": {"inline": {"releases": [{"name": "web", "chart": CHART, "values": [{"dsn": DSN}]}]}}, **declared}
    assert hall.call("PUT", "/v1/runtimes/shop", good)[0] == 200
    assert synced(hall, "shop")["phase"] == "synced"
    op = operations(hall, "web")[0]
    assert op["action"] == "upgrade" and op["request"]["install"] is True  # an upsert: the upgrade check lets it in
    masked_by_the_cluster(hall, "web")


# ---------------------------------------------------------------- Nautes


def test_nautes(hall: Api, git: FakeGit) -> None:
    url = "https://git.example.com/nautes/api-server.git"
    assert hall.call("PUT", "/v1/git-repositories/api-server", {"url": url})[0] == 201
    seed = {
        "manifest_source": {"code_repo": "api-server", "target_revision": "HEAD", "path": "deploy"},
        "destination": {"environment": "prod", "namespaces": ["apps"]},
    }
    git.commit(url, {"deploy/releases.yaml": f"releases:\n- name: web\n  chart: {UNREGISTERED}\n"})
    status, out = hall.call("POST", "/api/v1/products/shop/deploymentruntimes/dev", seed)
    assert status == 200, out
    settle(hall)
    status = hall.call("GET", "/v1/runtimes/shop-dev")[1]["status"]
    assert status["phase"] == "failed" and status["last_error"]["operation_id"] is None, status
    assert status["last_error"]["code"] == "InvalidInput" and operations(hall, "web") == []
    git.commit(url, {"deploy/releases.yaml": f"releases:\n- name: web\n  chart: {CHART}\n"})
    assert hall.call("POST", "/api/v1/products/shop/deploymentruntimes/dev", seed)[0] == 200
    settle(hall)
    assert hall.call("GET", "/v1/runtimes/shop-dev")[1]["status"]["phase"] == "synced"
    masked_by_the_cluster(hall, "web")


# ---------------------------------------------------------------- the CloudFormation custom resource


def test_custom_resource(hall: Api) -> None:
    sent = Sent()
    bootstrap.get().custom_resource.send = sent
    hall.invoke("helm_release_resource", cfn_event("Create", Chart=UNREGISTERED, request_id="r-0"))
    assert sent.bodies[-1]["Status"] == "FAILED" and "InvalidInput" in sent.bodies[-1]["Reason"], sent.bodies
    assert operations(hall, "web") == []
    event = cfn_event("Update", physical="prod/apps/web", request_id="r-1", Values={"dsn": DSN})
    event["OldResourceProperties"] = event["ResourceProperties"]
    out = hall.invoke("helm_release_resource", event)  # an upsert: the upgrade check lets it in
    assert "operation_id" in out, out
    hall.drain()
    assert sent.bodies[-1]["Status"] == "SUCCESS", sent.bodies
    masked_by_the_cluster(hall, "web")
    hall.invoke("helm_release_resource", cfn_event("Create", request_id="r-2"))
    assert sent.bodies[-1]["Status"] == "FAILED" and "ReleaseExists" in sent.bodies[-1]["Reason"]  # the install check
