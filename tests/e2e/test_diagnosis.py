"""Why an operation failed, and how far a running one is, on the local cluster with both helm majors: each failure
on purpose (README, "Workloads on the local cluster") ends with ``error.details.diagnosis`` naming the object, the
reason and the exit code or the scheduler's message, read from the real controllers, scheduler and simulated
nodes; a running ``wait`` shows ``progress`` changing as Pods become ready. Through the API (every answer checked
against the OpenAPI document), and once through the CLI. Helm timeouts are a few seconds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.charts import ChartServer
from devstack.stack import Stack
from tests.e2e.conftest import Api, free_port
from tests.e2e.test_cli import charthouse

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).parent / "charts"
ONE = {"replicaCount": 1, "autoscaling": {"enabled": False}}


@pytest.fixture(scope="module")
def chart_urls(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    server = ChartServer(tmp_path_factory.mktemp("diag-charts"), stack.cfg.helm_binary, free_port())
    urls = {name: server.package(FIXTURES / name) for name in ("hooks", "datastore")}
    urls["webapp"] = stack.example_charts["webapp"]
    yield urls
    server.close()


def releases(ns: str) -> str:
    return f"/v1/clusters/local/namespaces/{ns}/releases"


def follow(api: Api, op: dict[str, Any], timeout: float = 120) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The operation once it ended, and every distinct ``progress`` it showed while it ran."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, data = api.call("GET", f"/v1/operations/{op['id']}")
        assert status == 200, data
        if data["status"] in ("succeeded", "failed"):
            return data, seen
        progress = data.get("progress")
        if progress and (not seen or {**progress, "observed_at": 0} != {**seen[-1], "observed_at": 0}):
            seen.append(progress)
        time.sleep(0.2)
    raise AssertionError(f"operation {op['id']} did not end within {timeout} s")


def install(api: Api, ns: str, name: str, chart: str, values: dict[str, Any], **opts: Any) -> dict[str, Any]:
    body = {"name": name, "chart": chart, "create_namespace": True, "values": values, "wait": True, **opts}
    status, op = api.call("POST", releases(ns), body)
    assert status == 202, op
    return op


def diagnosis_of(op: dict[str, Any]) -> dict[str, Any]:
    assert op["status"] == "failed", json.dumps(op, indent=2)
    diag: dict[str, Any] = op["error"]["details"]["diagnosis"]
    assert "error" not in diag, diag  # the cluster was read
    assert len(json.dumps(diag)) <= 64 * 1024
    return diag


def uninstall(api: Api, ns: str, name: str) -> None:
    status, op = api.call("DELETE", f"{releases(ns)}/{name}?timeout=30")
    assert status == 202, op
    assert api.wait(op)["status"] == "succeeded"


def test_crash_loop_is_diagnosed_with_exit_code_and_progress_shows_it(api: Api, chart_urls: dict[str, str]) -> None:
    ns = "dx-crash"
    values = {"image": {"tag": "fail"}, "replicaCount": 2, "autoscaling": {"enabled": False}}
    op, seen = follow(api, install(api, ns, "crash", chart_urls["webapp"], values, timeout=6))
    diag = diagnosis_of(op)
    assert op["error"]["code"] == "HelmTimeout"  # helm's own error stays the operation's error
    assert diag["summary"] == (
        "Deployment crash-webapp: 0/2 available; both Pods crash on start (exit code 1, CrashLoopBackOff)"
    ), diag
    kinds = {r["kind"]: r for r in diag["resources"]}
    assert kinds["Deployment"]["status"] == "InProgress" and kinds["Deployment"]["namespace"] == ns
    assert kinds["ConfigMap"]["status"] == kinds["Service"]["status"] == "Current"
    assert len(diag["pods"]) == 2
    for pod in diag["pods"]:
        assert pod["owner"] == "Deployment/crash-webapp" and pod["node"].startswith("node-")
        (web,) = pod["containers"]
        assert (web["name"], web["state"], web["reason"], web["exit_code"]) == ("web", "waiting", "CrashLoopBackOff", 1)
        assert web["restarts"] >= 1 and web["ready"] is False
    assert diag["release_status"] == "failed" and diag["revision"] == 1
    # the nodes record the kubelet's BackOff warning for each crash-looping container
    back_off = [e for e in diag["events"] if e["reason"] == "BackOff"]
    assert {e["object"] for e in back_off} == {f"Pod/{p['name']}" for p in diag["pods"]}, diag["events"]
    assert all(e["count"] >= 1 and "Back-off restarting failed container web" in e["message"] for e in back_off)
    # while helm waited, the operation showed what it waited for
    waiting = [p for p in seen if p["phase"] == "waiting"]
    assert waiting, seen
    (deployment,) = [r for r in waiting[-1]["not_ready"] if r["kind"] == "Deployment"]
    assert "crash on start (exit code 1, CrashLoopBackOff)" in deployment["message"]
    assert waiting[-1]["by_kind"]["Deployment"] == {"ready": 0, "total": 1}
    uninstall(api, ns, "crash")


def test_never_ready_after_atomic_rollback_is_diagnosed_as_seen_before_it(api: Api, chart_urls: dict[str, str]) -> None:
    ns = "dx-idle"
    values = {**ONE, "image": {"tag": "never-ready"}}
    op, _ = follow(api, install(api, ns, "idle", chart_urls["webapp"], values, atomic=True, timeout=5))
    diag = diagnosis_of(op)
    assert "uninstalled due to" in op["error"]["message"]  # atomic removed it: the diagnosis is from before
    assert diag["summary"] == (
        "Deployment idle-webapp: 0/1 available; its Pod runs but never becomes ready (container web)"
    ), diag
    assert diag["note"] == "as seen before helm rolled the failed operation back"
    (pod,) = diag["pods"]
    assert pod["phase"] == "Running" and pod["ready"] is False
    assert pod["containers"][0]["state"] == "running" and pod["containers"][0]["restarts"] == 0
    assert {"type": "Ready", "status": "False"}.items() <= next(
        c for c in pod["conditions"] if c["type"] == "Ready"
    ).items()


def test_failed_upgrade_names_the_new_pod_that_crashes(api: Api, chart_urls: dict[str, str]) -> None:
    ns = "dx-upgrade"
    op, _ = follow(api, install(api, ns, "up", chart_urls["webapp"], ONE, timeout=60))
    assert op["status"] == "succeeded", op
    status, op = api.call(
        "PUT",
        f"{releases(ns)}/up",
        {"chart": chart_urls["webapp"], "values": {**ONE, "image": {"tag": "fail"}}, "wait": True, "timeout": 4},
    )
    assert status == 202, op
    diag = diagnosis_of(follow(api, op)[0])
    assert diag["revision"] == 2 and diag["release_status"] == "failed"
    assert diag["summary"] == (
        "Deployment up-webapp: 1/1 updated, 1 old still running; its Pod crashes on start (exit code 1, CrashLoopBackOff)"
    ), diag
    (pod,) = diag["pods"]  # the old Pod is ready: only the new one is listed
    assert pod["containers"][0]["reason"] == "CrashLoopBackOff" and pod["containers"][0]["exit_code"] == 1
    uninstall(api, ns, "up")


def test_unschedulable_pod_carries_the_schedulers_message(api: Api, chart_urls: dict[str, str]) -> None:
    ns = "dx-big"
    values = {**ONE, "resources": {"requests": {"cpu": "64", "memory": "32Mi"}}}  # each node has 8 CPUs
    op, _ = follow(api, install(api, ns, "big", chart_urls["webapp"], values, timeout=4))
    diag = diagnosis_of(op)
    assert diag["summary"].startswith("Deployment big-webapp: 0/1 available; its Pod cannot be scheduled: 0/3 nodes")
    assert "Insufficient cpu" in diag["summary"], diag
    (pod,) = diag["pods"]
    assert pod["phase"] == "Pending" and pod["node"] is None
    (scheduled,) = [c for c in pod["conditions"] if c["type"] == "PodScheduled"]
    assert scheduled["status"] == "False" and scheduled["reason"] == "Unschedulable"
    assert "Insufficient cpu" in scheduled["message"]
    failed = [e for e in diag["events"] if e["reason"] == "FailedScheduling"]
    assert failed and failed[0]["object"] == f"Pod/{pod['name']}" and "Insufficient cpu" in failed[0]["message"]
    assert failed[0]["count"] >= 1 and failed[0]["last_seen"]
    uninstall(api, ns, "big")


def test_failed_pre_install_hook_names_the_job_and_its_exit_code(api: Api, chart_urls: dict[str, str]) -> None:
    ns = "dx-hook"
    op, _ = follow(api, install(api, ns, "h", chart_urls["hooks"], {"preInstall": {"exitCode": "3"}}, timeout=20))
    diag = diagnosis_of(op)
    assert "pre-install" in op["error"]["message"]
    assert diag["summary"] == "pre-install hook Job h-db-init failed: its Pod exited with code 3 (Error)", diag
    hooks = {h["name"]: h for h in diag["hooks"]}
    assert hooks["h-hook-settings"]["phase"] == "Succeeded"  # weight -10 ran first
    failed = hooks["h-db-init"]
    assert (failed["kind"], failed["phase"], failed["status"], failed["events"]) == (
        "Job",
        "Failed",
        "Failed",
        ["pre-install"],
    )
    (pod,) = failed["pods"]
    assert pod["phase"] == "Failed" and pod["containers"][0]["exit_code"] == 3
    assert pod["containers"][0]["state"] == "terminated"
    assert hooks["h-smoke"]["phase"] == "NotRun"  # post-install never ran
    # nothing of the release itself was applied
    assert {r["status"] for r in diag["resources"]} == {"NotFound"}
    assert any(e["object"] == "Job/h-db-init" for e in diag["events"]), diag["events"]


def test_progress_changes_as_pods_become_ready(api: Api, chart_urls: dict[str, str]) -> None:
    ns = "dx-slow"
    values = {"database": {"podAnnotations": {"charthouse.dev/ready-after": "3"}}}  # one Pod after the other
    op, seen = follow(api, install(api, ns, "d", chart_urls["datastore"], values, timeout=60))
    assert op["status"] == "succeeded", op
    assert "progress" not in op  # a finished operation shows its result
    messages = [
        r["message"] for p in seen if p["phase"] == "waiting" for r in p["not_ready"] if r["kind"] == "StatefulSet"
    ]
    assert any(m.startswith("0/2 ready") for m in messages), seen
    assert "1/2 ready; its Pod runs, not ready yet (container postgres)" in messages, seen
    ready = [p["by_kind"].get("StatefulSet", {}).get("ready") for p in seen]
    assert 0 in ready, seen
    uninstall(api, ns, "d")


def test_the_cli_prints_the_summary_and_what_is_not_ready(
    stack: Stack, chart_urls: dict[str, str], tmp_path: Path
) -> None:
    args = ["release", "create", "clicrash", chart_urls["webapp"], "-n", "dx-cli", "--create-namespace"]
    args += ["--set", "image.tag=fail", "--set", "replicaCount=1", "--set", "autoscaling.enabled=false"]
    done = charthouse(stack, *args, "--wait-ready", "--timeout", "4s", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    summary = "Deployment clicrash-webapp: 0/1 available; its Pod crashes on start (exit code 1, CrashLoopBackOff)"
    assert f"why: {summary}" in done.stderr
    assert f"WHY:      {summary}" in done.stdout
    lines = done.stdout.splitlines()
    header = next(line for line in lines if line.startswith("POD "))
    assert header.split() == ["POD", "PHASE", "NODE", "CONTAINER", "STATE", "REASON", "EXIT", "RESTARTS", "MESSAGE"]
    row = lines[lines.index(header) + 1].split()
    assert row[0].startswith("clicrash-webapp-") and row[3:7] == ["web", "waiting", "CrashLoopBackOff", "1"]
    assert any(line.split()[:3] == ["Deployment", "clicrash-webapp", "InProgress"] for line in lines), done.stdout
