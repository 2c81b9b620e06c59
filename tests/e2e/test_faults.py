"""Fault injection on the real stack: helm killed mid-install and mid-upgrade, a worker killed mid-operation (as a
Lambda timeout would), and the AWS emulator frozen. Each ends with the release recovered and the records true."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.stack import Stack, StackConfig, request
from tests.e2e.conftest import HELMS, helm_cli

pytestmark = pytest.mark.e2e
NS = "/v1/clusters/local/namespaces/faults/releases"
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-app
spec:
  replicas: 1
  selector: {matchLabels: {app: {{ .Release.Name }}}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}}}
    spec:
      containers:
      - name: app
        image: "registry.invalid/app-{{ .Values.tag }}:never-ready"
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    cfg = StackConfig.isolated(
        tmp_path_factory.mktemp("faults"),
        HELMS["helm4"],
        workers=2,
        sweep_every_s=1,
        lease_grace_s=1,
        extra_env=(("CHARTHOUSE_AWS_TIMEOUT", "2"),),
    )
    with Stack(cfg) as running:
        yield running


@pytest.fixture(scope="module")
def slow_chart(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Deployment that never becomes ready (its image is tagged ``:never-ready`` for the simulated nodes): with
    ``wait`` helm blocks until killed."""
    src = tmp_path_factory.mktemp("slow") / "slow"
    (src / "templates").mkdir(parents=True)
    (src / "Chart.yaml").write_text("apiVersion: v2\nname: slow\nversion: 1.0.0\n")
    (src / "values.yaml").write_text("tag: v1\n")
    (src / "templates" / "deployment.yaml").write_text(DEPLOYMENT)
    assert stack.charts is not None
    return stack.charts.package(src)


def call(stack: Stack, method: str, path: str, body: object = None) -> tuple[int, dict]:
    status, data = request(method, stack.api + path, body)
    return status, data


def wait_for(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def operation(stack: Stack, op_id: str) -> dict:
    return call(stack, "GET", f"/v1/operations/{op_id}")[1]


def finished(stack: Stack, op_id: str, timeout: float = 120) -> dict:
    return wait_for(
        lambda: (op := operation(stack, op_id))["status"] in ("succeeded", "failed") and op,
        timeout,
        f"operation {op_id}",
    )


def helm_pid(stack: Stack, verb: str, name: str) -> int | None:
    """The pid of the worker's helm process running ``verb`` on release ``name``."""
    binary = str(stack.cfg.helm_binary)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        args = [a.decode() for a in argv if a]
        if args and args[0] == binary and args[1:2] == [verb] and name in args:
            return int(entry.name)
    return None


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def helm_status(stack: Stack, name: str) -> str:
    try:
        return str(json.loads(helm_cli(stack, "status", name, "-n", "faults", "-o", "json"))["info"]["status"])
    except AssertionError:
        return "absent"


def test_helm_killed_mid_install_is_marked_failed_and_the_name_reusable(stack: Stack, slow_chart: str) -> None:
    status, op = call(
        stack,
        "POST",
        NS,
        {"name": "crash-install", "chart": slow_chart, "wait": True, "timeout": 120, "create_namespace": True},
    )
    assert status == 202, op
    pid = wait_for(lambda: helm_pid(stack, "install", "crash-install"), 30, "helm install to start")
    wait_for(lambda: helm_status(stack, "crash-install") == "pending-install", 30, "pending-install")
    os.kill(pid, signal.SIGKILL)
    done = finished(stack, op["id"])
    assert done["status"] == "failed" and done["error"]["code"] == "HelmError", done
    # the sweep finds the record pending without a lease and recovers it: no earlier revision, so marked failed
    rel = wait_for(
        lambda: (r := call(stack, "GET", f"{NS}/crash-install")[1]).get("status") == "failed" and r,
        60,
        "recovery to mark the release failed",
    )
    assert rel["last_action"] == "unlock"
    assert helm_status(stack, "crash-install") == "failed"  # helm itself agrees, so it accepts new operations
    unlock = operation(stack, rel["last_operation_id"])
    assert unlock["result"]["recovery"] == "marked-failed" and unlock["result"]["from_status"] == "pending-install"
    status, op = call(stack, "DELETE", f"{NS}/crash-install")
    assert status == 202 and finished(stack, op["id"])["status"] == "succeeded"
    status, op = call(stack, "POST", NS, {"name": "crash-install", "chart": slow_chart})
    assert status == 202 and finished(stack, op["id"])["status"] == "succeeded"


def test_helm_killed_mid_upgrade_is_rolled_back(stack: Stack, slow_chart: str) -> None:
    status, op = call(stack, "POST", NS, {"name": "crash-upgrade", "chart": slow_chart, "create_namespace": True})
    assert status == 202 and finished(stack, op["id"])["status"] == "succeeded"
    status, op = call(
        stack, "PUT", f"{NS}/crash-upgrade", {"chart": slow_chart, "wait": True, "timeout": 120, "set": {"tag": "v2"}}
    )
    assert status == 202, op
    pid = wait_for(lambda: helm_pid(stack, "upgrade", "crash-upgrade"), 30, "helm upgrade to start")
    wait_for(lambda: helm_status(stack, "crash-upgrade") == "pending-upgrade", 30, "pending-upgrade")
    os.kill(pid, signal.SIGKILL)
    assert finished(stack, op["id"])["status"] == "failed"
    rel = wait_for(
        lambda: (r := call(stack, "GET", f"{NS}/crash-upgrade")[1]).get("last_action") == "unlock" and r, 60, "recovery"
    )
    assert (rel["status"], rel["revision"]) == ("deployed", 3)
    unlock = operation(stack, rel["last_operation_id"])
    assert unlock["result"]["recovery"] == "rolled-back" and unlock["result"]["to_revision"] == 1
    history = json.loads(helm_cli(stack, "history", "crash-upgrade", "-n", "faults", "-o", "json"))
    assert [(h["revision"], h["status"]) for h in history] == [(1, "superseded"), (2, "failed"), (3, "deployed")]
    _, stored = call(stack, "GET", f"{NS}/crash-upgrade/history")
    assert sorted((h["revision"], h["status"]) for h in stored["history"]) == [
        (1, "superseded"),
        (2, "failed"),
        (3, "deployed"),
    ]


def test_worker_killed_mid_operation_fails_it_after_the_lease_and_recovers(stack: Stack, slow_chart: str) -> None:
    status, op = call(
        stack,
        "POST",
        NS,
        {"name": "lost-worker", "chart": slow_chart, "wait": True, "timeout": 5, "create_namespace": True},
    )
    assert status == 202, op
    pid = wait_for(lambda: helm_pid(stack, "install", "lost-worker"), 30, "helm install to start")
    wait_for(lambda: helm_status(stack, "lost-worker") == "pending-install", 30, "pending-install")
    worker = parent_of(pid)
    os.kill(worker, signal.SIGKILL)  # a Lambda timeout ends the whole sandbox: the worker and its helm
    os.kill(pid, signal.SIGKILL)
    assert operation(stack, op["id"])["status"] == "running"
    status, err = call(stack, "POST", f"{NS}/lost-worker/unlock", {})
    assert status == 409 and err["error"]["details"]["operation_id"] == op["id"]  # not before the lease expires
    # lease = timeout 5 s + kill margin 30 s + grace 1 s; then the sweep (every second) ends it and recovers
    done = finished(stack, op["id"], timeout=90)
    assert done["status"] == "failed" and done["error"]["code"] == "WorkerLost", done
    rel = wait_for(
        lambda: (r := call(stack, "GET", f"{NS}/lost-worker")[1]).get("last_action") == "unlock" and r, 60, "recovery"
    )
    assert rel["status"] == "failed" and helm_status(stack, "lost-worker") == "failed"


def test_frozen_aws_gives_503_then_the_retry_with_the_same_key_runs_once(stack: Stack) -> None:
    chart = stack.example_charts["hello"]
    body = json.dumps({"name": "frozen", "chart": chart, "create_namespace": True}).encode()
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": "frozen-1",
        "Authorization": f"Bearer {stack.token}",
    }

    def post() -> tuple[int, dict]:
        import urllib.error
        import urllib.request

        req = urllib.request.Request(stack.api + NS, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=90) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    assert stack.aws.pid is not None and stack.aws.dynamo.pid is not None
    frozen = (stack.aws.pid, stack.aws.dynamo.pid)  # moto (the queue) and DynamoDB Local (the table)
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    try:
        status, err = post()
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    assert status == 503 and err["error"]["code"] == "DependencyUnavailable", err
    status, op = post()
    assert status == 202, op
    again_status, again = post()
    assert again_status == 202 and again["id"] == op["id"]
    assert finished(stack, op["id"])["status"] == "succeeded"
    _, ops = call(stack, "GET", "/v1/operations?cluster=local&namespace=faults&release=frozen")
    assert [o["id"] for o in ops["operations"]] == [op["id"]]  # the refused attempt left nothing behind
