"""Reconcile, drift and state-change events end to end: helm run by hand against the real cluster, then the
service brings its store in line (POST /v1/clusters/{c}/reconcile and the scheduled handler), reports drift of
objects changed by hand, corrects it when the release opted in, and publishes every change to EventBridge (the
emulated bus copies it to a queue that the test reads) and to the workers' log.

Runs once per helm major (see conftest's ``helm_major``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import pytest

from devstack.stack import ROOT, Stack
from tests.e2e.conftest import Api, ChartServer, free_port, helm_cli

pytestmark = pytest.mark.e2e
CLUSTER = "/v1/clusters/local"
NS = "recon"
REL = f"{CLUSTER}/namespaces/{NS}/releases"


def reconcile(api: Api) -> dict[str, Any]:
    """POST .../reconcile and wait for it; a scheduled reconcile may hold the cluster: wait for that one first."""
    for _ in range(20):
        status, op = api.call("POST", f"{CLUSTER}/reconcile", {})
        if status == 202:
            done = api.wait(op)
            assert done["status"] == "succeeded", done
            return done
        assert status == 409, op
        api.wait({"id": op["error"]["details"]["operation_id"]})
    raise AssertionError("the cluster stayed locked")


def kube(stack: Stack) -> Any:
    from kubernetes import config

    return config.new_client_from_config(str(stack.cfg.state_dir / "kubeconfig"))


def read_configmap(stack: Stack, name: str) -> dict[str, str] | None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    with kube(stack) as api:
        try:
            return dict(client.CoreV1Api(api).read_namespaced_config_map(name, NS).data or {})
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise


def service_exists(stack: Stack, name: str) -> bool:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    with kube(stack) as api:
        try:
            client.CoreV1Api(api).read_namespaced_service(name, NS)
            return True
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise


def delete_service(core: Any, name: str) -> None:
    """Delete a Service by hand. The 1.20 API server answers with a Status the client cannot parse as a Service."""
    try:
        core.delete_namespaced_service(name, NS)
    except Exception as exc:  # noqa: BLE001 - only the client's parsing of the answer
        if "ValidationError" not in type(exc).__name__:
            raise


def published_events(stack: Stack, seconds: float = 3.0) -> list[dict[str, Any]]:
    """Drain the queue the emulated EventBridge rule copies every Charthouse event to."""
    sqs = stack.aws.client("sqs")
    url = sqs.get_queue_url(QueueName=stack.aws.events_queue)["QueueUrl"]
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        for m in msgs:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        if not msgs:
            time.sleep(0.3)
    return out


def by_hand(stack: Stack, verb: str, *args: str) -> str:
    """helm run by a person; helm 4 applies client-side here (the local 1.20 API server, see FACTS)."""
    v4 = "/v4/" in str(stack.cfg.helm_binary)
    return helm_cli(stack, verb, *args, *(["--server-side=false"] if v4 and verb != "uninstall" else []))


def history(api: Api, name: str) -> list[tuple[int, str]]:
    _, hist = api.call("GET", f"{REL}/{name}/history")
    return sorted((h["revision"], h["status"]) for h in hist["history"])


def helm_history(stack: Stack, name: str) -> list[tuple[int, str]]:
    return sorted(
        (h["revision"], h["status"]) for h in json.loads(helm_cli(stack, "history", name, "-n", NS, "-o", "json"))
    )


def test_out_of_band_changes_are_found_recorded_and_published(api: Api, stack: Stack, charts: ChartServer) -> None:
    chart1, chart2 = charts.url("demo-0.1.0.tgz"), charts.url("demo-0.2.0.tgz")
    published_events(stack, 0.5)  # start from an empty queue
    # installed and upgraded by hand: the store has never heard of it
    by_hand(stack, "install", "byhand", chart1, "-n", NS, "--create-namespace")
    by_hand(stack, "upgrade", "byhand", chart2, "-n", NS, "--set", "greeting=manual")
    # installed through the API, then rolled back... by hand; another one uninstalled by hand
    assert api.run("POST", REL, {"name": "managed", "chart": chart1})["status"] == "succeeded"
    assert api.run("PUT", f"{REL}/managed", {"chart": chart2})["status"] == "succeeded"
    assert api.run("POST", REL, {"name": "doomed", "chart": chart1})["status"] == "succeeded"
    by_hand(stack, "rollback", "managed", "1", "-n", NS)
    helm_cli(stack, "uninstall", "doomed", "-n", NS)

    done = reconcile(api)
    found = {(c["name"], c["kind"]) for c in done["result"]["changed"] if c["namespace"] == NS}
    assert {("byhand", "installed"), ("managed", "rolled-back"), ("doomed", "deleted")} <= found, done["result"]

    status, rel = api.call("GET", f"{REL}/byhand?info=events,values")
    assert status == 200, rel
    assert (rel["status"], rel["revision"], rel["chart_version"], rel["changed_out_of_band"]) == (
        "deployed",
        2,
        "0.2.0",
        True,
    )
    assert rel["values"] == {"greeting": "manual"}
    assert rel["events"][0]["kind"] == "installed" and rel["events"][0]["to"] == {"status": "deployed", "revision": 2}
    assert history(api, "byhand") == helm_history(stack, "byhand") == [(1, "superseded"), (2, "deployed")]

    _, rel = api.call("GET", f"{REL}/managed?info=events")
    assert (rel["revision"], rel["chart_version"], rel["changed_out_of_band"]) == (3, "0.1.0", True)
    assert rel["events"][0]["from"] == {"status": "deployed", "revision": 2}
    assert history(api, "managed") == helm_history(stack, "managed")
    _, rel = api.call("GET", f"{REL}/doomed?info=events")
    assert rel["status"] == "uninstalled" and rel["events"][0]["kind"] == "deleted"

    # a second reconcile finds nothing new; an operation through the API clears the out-of-band mark
    again = reconcile(api)
    assert not [c for c in again["result"]["changed"] if c["namespace"] == NS], again["result"]
    assert api.run("PUT", f"{REL}/managed", {"chart": chart2})["status"] == "succeeded"
    _, rel = api.call("GET", f"{REL}/managed")
    assert rel["changed_out_of_band"] is False and rel["revision"] == 4

    # every finding and every finished operation went to the bus
    events = published_events(stack)
    assert all(e["source"] == "charthouse" for e in events)
    changes = [
        e["detail"]
        for e in events
        if e["detail-type"] == "Helm Release State Change" and e["detail"]["namespace"] == NS
    ]
    assert {(d["name"], d["finding"]["kind"]) for d in changes if d["trigger"] == "reconcile"} >= {
        ("byhand", "installed"),
        ("managed", "rolled-back"),
        ("doomed", "deleted"),
    }
    ops = [d for d in changes if d["trigger"] == "operation"]
    assert {(d["name"], d["operation"]["action"], d["operation"]["status"]) for d in ops} >= {
        ("managed", "install", "succeeded"),
        ("managed", "upgrade", "succeeded"),
        ("doomed", "install", "succeeded"),
    }
    last = [d for d in ops if d["name"] == "managed"][-1]
    assert last["release"]["revision"] == 4 and last["release"]["status"] == "deployed"
    assert any(e["detail-type"] == "Helm Cluster Reconciled" and e["detail"]["cluster"] == "local" for e in events)
    # ... and to the stack's log (the workers write them)
    logged = "".join(p.read_text() for p in stack.logs.glob("worker-*.log"))
    assert '"detail-type": "Helm Release State Change"' in logged and '"trigger": "reconcile"' in logged


def test_a_lost_store_is_rebuilt_by_reconcile(api: Api, stack: Stack, charts: ChartServer) -> None:
    chart = charts.url("demo-0.1.0.tgz")
    for name in ("keep-a", "keep-b"):
        assert api.run("POST", REL, {"name": name, "chart": chart, "create_namespace": True})["status"] == "succeeded"
    assert api.run("PUT", f"{REL}/keep-b", {"chart": chart, "set": ["greeting=b"]})["status"] == "succeeded"
    before = {n: api.call("GET", f"{REL}/{n}")[1] for n in ("keep-a", "keep-b")}

    # lose every release item of the cluster: records, revisions, events (clusters and operations stay)
    ddb = stack.aws.client("dynamodb")
    lost = 0
    for page in ddb.get_paginator("scan").paginate(TableName=stack.aws.table):
        for item in page["Items"]:
            if item["pk"]["S"].startswith("REL#local#") and item["sk"]["S"] != "LEASE":
                ddb.delete_item(TableName=stack.aws.table, Key={"pk": item["pk"], "sk": item["sk"]})
                lost += 1
    assert lost >= 5
    assert api.call("GET", f"{REL}/keep-a")[0] == 404

    reconcile(api)
    for name in ("keep-a", "keep-b"):
        status, rel = api.call("GET", f"{REL}/{name}")
        assert status == 200, rel
        for field in (
            "status",
            "revision",
            "chart",
            "chart_version",
            "app_version",
            "first_deployed",
            "last_deployed",
            "values_digest",
        ):
            assert rel[field] == before[name][field], (name, field)
        assert rel["changed_out_of_band"] is True
        assert history(api, name) == helm_history(stack, name)
    _, page = api.call("GET", f"/v1/clusters/local/releases?namespace={NS}&search=keep-")
    assert sorted(r["name"] for r in page["releases"]) == ["keep-a", "keep-b"]


def test_the_schedule_reconciles_every_cluster_and_an_unreachable_one_fails_alone(api: Api, stack: Stack) -> None:
    dead = f"https://127.0.0.1:{free_port()}"
    status, _ = api.call(
        "PUT",
        "/v1/clusters/gone-recon",
        {"server": dead, "ca_data": stack.kube.ca_pem(), "token": "not-a-real-token-456"},
    )
    assert status in (200, 201)
    try:
        # the scheduled handler itself, as EventBridge (or the local scheduler) calls it
        code = (
            "import json, app; from chalicelib.api.events import reconcile_clusters; "
            "from devstack.scheduler import scheduled_event; from devstack.worker import LocalContext; "
            "print(json.dumps(reconcile_clusters(scheduled_event('test/reconcile'), LocalContext(60))))"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=stack.env(), capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout.strip().splitlines()[-1])
        assert not report["failed"], report
        ops = {}
        for op_id in report["queued"]:
            op = api.wait({"id": op_id})
            ops[op["release"]["cluster"]] = op
        assert ops["gone-recon"]["status"] == "failed", ops["gone-recon"]
        assert ops["gone-recon"]["error"]["code"] == "ClusterUnreachable"
        assert "not-a-real-token-456" not in json.dumps(ops["gone-recon"])
        if "local" in ops:  # else the stack's own schedule held it: it ran anyway
            assert ops["local"]["status"] == "succeeded", ops["local"]
            assert ops["local"]["release"] == {"cluster": "local", "namespace": "*", "name": "*"}
    finally:
        assert api.call("DELETE", "/v1/clusters/gone-recon?force=true")[0] == 204


def test_drift_is_reported_and_corrected_when_the_release_opted_in(api: Api, stack: Stack, charts: ChartServer) -> None:
    from kubernetes import client

    chart = charts.url("demo-0.1.0.tgz")
    assert (
        api.run(
            "POST",
            REL,
            {"name": "drifty", "chart": chart, "create_namespace": True, "values": {"greeting": "as-deployed"}},
        )["status"]
        == "succeeded"
    )
    status, rel = api.call("GET", f"{REL}/drifty?info=drift")
    assert status == 200, rel
    assert rel["drift"]["drifted"] is False, rel["drift"]
    assert {r["state"] for r in rel["drift"]["resources"]} == {"in-sync"}

    # changed and deleted by hand
    with kube(stack) as k:
        core = client.CoreV1Api(k)
        core.patch_namespaced_config_map("drifty-config", NS, {"data": {"greeting": "edited"}})
        delete_service(core, "drifty-svc")
    _, rel = api.call("GET", f"{REL}/drifty?info=drift")
    states = {r["kind"]: r for r in rel["drift"]["resources"]}
    assert rel["drift"]["drifted"] is True
    assert states["Service"]["state"] == "missing"
    assert states["ConfigMap"]["state"] == "changed"
    assert states["ConfigMap"]["differences"] == [
        {"path": "data.greeting", "expected": "as-deployed", "live": "edited"}
    ]

    # without opting in, reconcile reports nothing to correct; after opting in, it re-applies the revision
    done = reconcile(api)
    assert not [c for c in done["result"]["drift_corrections"] if c["name"] == "drifty"]
    assert (
        api.run("PUT", f"{REL}/drifty", {"chart": chart, "reuse_values": True, "drift_correction": True})["status"]
        == "succeeded"
    )
    _, rel = api.call("GET", f"{REL}/drifty")
    assert rel["drift_correction"] is True and rel["revision"] == 2
    with kube(stack) as k:
        client.CoreV1Api(k).patch_namespaced_config_map("drifty-config", NS, {"data": {"greeting": "edited-again"}})
        delete_service(client.CoreV1Api(k), "drifty-svc")
    done = reconcile(api)
    fixes = [c for c in done["result"]["drift_corrections"] if c["name"] == "drifty"]
    assert len(fixes) == 1 and fixes[0]["operation_id"], done["result"]
    fix = api.wait({"id": fixes[0]["operation_id"]})
    assert fix["status"] == "succeeded" and fix["action"] == "rollback", fix
    assert read_configmap(stack, "drifty-config") == {"greeting": "as-deployed", "replicas": "1"}
    assert service_exists(stack, "drifty-svc")
    _, rel = api.call("GET", f"{REL}/drifty?info=drift,events")
    assert rel["drift"]["drifted"] is False, rel["drift"]
    assert rel["revision"] == 3 and rel["drift_correction"] is True
    assert rel["events"][0]["kind"] == "drift"
    assert {(o["kind"], o["state"]) for o in rel["events"][0]["objects"]} == {
        ("ConfigMap", "changed"),
        ("Service", "missing"),
    }
