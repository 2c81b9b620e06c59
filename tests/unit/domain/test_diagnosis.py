"""Diagnosis and progress from what the cluster serves: kstatus-like statuses, Pods in words, summaries, bounds."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.domain import diagnosis as dx

NS = "apps"

MANIFEST = """---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {GREETING: hello}
---
apiVersion: v1
kind: Secret
metadata: {name: web-secret}
stringData: {apiKey: s3cret-value}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:fail
        command: ["sh", "-c", "secret-command-line"]
        env: [{name: TOKEN, value: env-secret-value}]
"""

HOOK = {
    "name": "web-migrate",
    "kind": "Job",
    "events": ["pre-install"],
    "last_run": {"phase": "Failed"},
    "manifest": "apiVersion: batch/v1\nkind: Job\nmetadata: {name: web-migrate}\nspec: {template: {}}\n",
}


def deployment(replicas: int = 2, available: int = 0, updated: int | None = None, **extra: Any) -> dict[str, Any]:
    status = {"replicas": replicas, "updatedReplicas": replicas if updated is None else updated}
    status.update(availableReplicas=available, observedGeneration=1, **extra)
    return {
        "metadata": {"name": "web", "generation": 1},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}},
        "status": status,
    }


def crashing_pod(name: str, node: str = "node-1", restarts: int = 3) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": NS, "labels": {"app": "web", "pod-template-hash": "abc"}},
        "spec": {"nodeName": node},
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": "PodScheduled", "status": "True"},
                {"type": "Ready", "status": "False", "reason": "ContainersNotReady"},
            ],
            "containerStatuses": [
                {
                    "name": "web",
                    "ready": False,
                    "restartCount": restarts,
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off restarting"}},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
                }
            ],
        },
    }


def pending_pod(name: str) -> dict[str, Any]:
    message = "0/3 nodes are available: 3 Insufficient cpu."
    return {
        "metadata": {"name": name, "namespace": NS, "labels": {"app": "web"}},
        "spec": {},
        "status": {
            "phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}],
        },
    }


def idle_pod(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": NS, "labels": {"app": "web"}},
        "spec": {"nodeName": "node-2"},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
            "containerStatuses": [
                {"name": "web", "ready": False, "restartCount": 0, "state": {"running": {"startedAt": "t"}}}
            ],
        },
    }


def revision(status: str = "failed", hooks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"version": 1, "info": {"status": status}, "manifest": MANIFEST, "hooks": hooks or []}


def observation(dep: dict[str, Any] | None, pods: list[dict[str, Any]], **kw: Any) -> dx.Observation:
    objects: dict[dx.Key, dict[str, Any] | None] = {
        ("ConfigMap", NS, "web-config"): {"metadata": {"name": "web-config"}},
        ("Secret", NS, "web-secret"): {"metadata": {"name": "web-secret"}},
        ("Deployment", NS, "web"): dep,
    }
    objects.update(kw.pop("objects", {}))
    return dx.Observation(kw.pop("revision", revision()), objects, pods, kw.pop("events", ()), 1.0, **kw)


# ---------------------------------------------------------------- statuses


@pytest.mark.parametrize(
    ("kind", "obj", "status", "message"),
    [
        ("Deployment", None, "NotFound", "not found in the cluster"),
        ("Deployment", deployment(available=0), "InProgress", "0/2 available"),
        ("Deployment", deployment(available=2), "Current", "2/2 available"),
        ("Deployment", deployment(available=1, updated=1), "InProgress", "1/2 updated, 1/2 available"),
        (
            "Deployment",
            {**deployment(1, 1), "status": {"replicas": 2, "updatedReplicas": 1}},
            "InProgress",
            "1/1 updated, 1 old still running",
        ),
        (
            "Deployment",
            deployment(conditions=[{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]),
            "Failed",
            "progress deadline exceeded: 0/2 available",
        ),
        (
            "Deployment",
            {"metadata": {"generation": 3}, "spec": {}, "status": {"observedGeneration": 2}},
            "InProgress",
            "the controller has not seen generation 3 yet",
        ),
        ("StatefulSet", {"spec": {"replicas": 2}, "status": {"readyReplicas": 1}}, "InProgress", "1/2 ready"),
        (
            "DaemonSet",
            {"status": {"desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 3}},
            "Current",
            "3/3 available",
        ),
        (
            "Job",
            {"status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}},
            "Failed",
            "failed (BackoffLimitExceeded)",
        ),
        ("Job", {"status": {"conditions": [{"type": "Complete", "status": "True"}]}}, "Current", "completed"),
        ("Job", {"status": {"active": 1}}, "InProgress", "running: 0/1 succeeded, 1 active, 0 failed"),
        ("Pod", {"status": {"phase": "Succeeded"}}, "Current", "completed"),
        (
            "Service",
            {"spec": {"type": "LoadBalancer"}, "status": {}},
            "InProgress",
            "waiting for a load balancer address",
        ),
        ("Service", {"spec": {"type": "ClusterIP"}}, "Current", "ready"),
        ("PersistentVolumeClaim", {"status": {"phase": "Pending"}}, "InProgress", "Pending: not bound to a volume"),
        ("ConfigMap", {"metadata": {}}, "Current", "exists"),
        (
            "Widget",
            {"status": {"conditions": [{"type": "Ready", "status": "False", "message": "no"}]}},
            "InProgress",
            "no",
        ),
        ("Widget", {"status": {"conditions": [{"type": "Stalled", "status": "True", "reason": "X"}]}}, "Failed", "X"),
        ("ConfigMap", {"metadata": {"deletionTimestamp": "t"}}, "InProgress", "being deleted"),
    ],
)
def test_status_of(kind: str, obj: dict[str, Any] | None, status: str, message: str) -> None:
    assert dx.status_of(kind, obj) == (status, message)


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        ({"matchLabels": {"app": "web"}}, {"app": "web", "x": "y"}, True),
        ({"matchLabels": {"app": "web"}}, {"app": "db"}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}, {"tier": "b"}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["a"]}]}, {"tier": "a"}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, {}, True),
        ({}, {"app": "web"}, False),
        (None, {"app": "web"}, False),
    ],
)
def test_selector_matches(selector: dict[str, Any] | None, labels: dict[str, str], matches: bool) -> None:
    assert dx.selector_matches(selector, labels) is matches


# ---------------------------------------------------------------- Pods and summaries


def test_container_view_of_a_crash_loop_carries_the_last_exit_code() -> None:
    view = dx.pod_view(crashing_pod("web-1"))
    assert view["name"] == "web-1" and view["phase"] == "Running" and view["node"] == "node-1"
    assert view["containers"] == [
        {
            "name": "web",
            "ready": False,
            "state": "waiting",
            "reason": "CrashLoopBackOff",
            "exit_code": 1,
            "restarts": 3,
            "message": "back-off restarting",
        }
    ]
    assert [c["type"] for c in view["conditions"]] == ["Ready"]  # only the conditions that are not True


@pytest.mark.parametrize(
    ("pods", "summary"),
    [
        (
            [crashing_pod("web-1"), crashing_pod("web-2")],
            "Deployment web: 0/2 available; both Pods crash on start (exit code 1, CrashLoopBackOff)",
        ),
        (
            [crashing_pod("web-1"), idle_pod("web-2")],
            "Deployment web: 0/2 available; 1 of 2 Pods crashes on start (exit code 1, CrashLoopBackOff)",
        ),
        (
            [pending_pod("web-1")],
            "Deployment web: 0/2 available; its Pod cannot be scheduled: 0/3 nodes are available: 3 Insufficient cpu.",
        ),
        (
            [idle_pod("web-1"), idle_pod("web-2"), idle_pod("web-3")],
            "Deployment web: 0/2 available; all 3 Pods run but never become ready (web)",
        ),
        ([], "Deployment web: 0/2 available"),
    ],
)
def test_summary_names_the_object_and_what_its_pods_do(pods: list[dict[str, Any]], summary: str) -> None:
    diag = dx.diagnose(observation(deployment(), pods), NS, "context deadline exceeded")
    assert diag["summary"] == summary
    assert [(r["kind"], r["status"]) for r in diag["resources"]] == [
        ("ConfigMap", "Current"),
        ("Secret", "Current"),
        ("Deployment", "InProgress"),
    ]
    assert [p["name"] for p in diag["pods"]] == [p["metadata"]["name"] for p in pods]
    assert all(p["owner"] == "Deployment/web" for p in diag["pods"])


def test_summary_when_everything_is_ready_or_gone() -> None:
    ready = dx.diagnose(observation(deployment(available=2), []), NS, "something else")
    assert ready["summary"] == "all 3 objects of the release are ready; helm: something else"
    gone = dx.diagnose(dx.Observation(None), NS, "timed out")
    assert gone["summary"] == "no object of the release is in the cluster; helm: timed out"
    assert gone["revision"] is None and gone["resources"] == []


def test_a_failed_hook_comes_first_with_its_jobs_pods() -> None:
    job = {"metadata": {"name": "web-migrate"}, "spec": {"selector": {"matchLabels": {"job-name": "web-migrate"}}}}
    job["status"] = {
        "failed": 1,
        "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}],
    }
    pod = {
        "metadata": {"name": "web-migrate-x1", "namespace": NS, "labels": {"job-name": "web-migrate"}},
        "spec": {"nodeName": "node-3"},
        "status": {
            "phase": "Failed",
            "containerStatuses": [
                {"name": "task", "ready": False, "state": {"terminated": {"exitCode": 3, "reason": "Error"}}}
            ],
        },
    }
    obs = observation(None, [pod], revision=revision(hooks=[HOOK]), objects={("Job", NS, "web-migrate"): job})
    diag = dx.diagnose(obs, NS)
    assert diag["summary"] == "pre-install hook Job web-migrate failed: its Pod exited with code 3 (Error)"
    (hook,) = diag["hooks"]
    assert (hook["name"], hook["phase"], hook["status"], hook["events"]) == (
        "web-migrate",
        "Failed",
        "Failed",
        ["pre-install"],
    )
    assert hook["pods"][0]["containers"][0]["exit_code"] == 3
    assert "web-migrate" not in {r["name"] for r in diag["resources"]}  # hooks are not the release's resources


def test_events_are_warnings_about_the_release_newest_first_at_most_20() -> None:
    def event(n: int, kind: str = "Pod", name: str = "web-1", kind_of: str = "Warning") -> dict[str, Any]:
        return {
            "type": kind_of,
            "reason": f"R{n}",
            "message": f"m{n}",
            "count": n,
            "involvedObject": {"kind": kind, "name": name},
            "lastTimestamp": f"2026-12-07T10:00:{n:02d}Z",
        }

    events = [event(n) for n in range(1, 26)]
    events += [event(40, "ReplicaSet", "web-6d9f"), event(41, name="other"), event(42, kind_of="Normal")]
    diag = dx.diagnose(observation(deployment(), [crashing_pod("web-1")], events=events), NS)
    assert len(diag["events"]) == 20
    assert diag["events"][0] == {
        "reason": "R40",
        "message": "m40",
        "object": "ReplicaSet/web-6d9f",
        "count": 40,
        "last_seen": "2026-12-07T10:00:40Z",
    }
    assert [e["reason"] for e in diag["events"][1:3]] == ["R25", "R24"]


def test_no_secret_data_env_value_or_command_line_in_a_diagnosis() -> None:
    obs = observation(deployment(), [crashing_pod("web-1")], revision=revision(hooks=[HOOK]))
    text = json.dumps([dx.diagnose(obs, NS), dx.progress(obs, NS, "waiting")])
    for secret in ("s3cret-value", "env-secret-value", "secret-command-line", "GREETING"):
        assert secret not in text


def test_unreadable_parts_are_named_in_error() -> None:
    diag = dx.diagnose(observation(deployment(), [], gaps=("Pods: HTTP 403 Forbidden",)), NS)
    assert diag["error"] == "could not read Pods: HTTP 403 Forbidden"


# ---------------------------------------------------------------- progress


def test_progress_counts_ready_by_kind_and_lists_what_is_not_ready() -> None:
    got = dx.progress(observation(deployment(available=1), [crashing_pod("web-2")]), NS, "waiting")
    assert got == {
        "phase": "waiting",
        "revision": 1,
        "ready": 2,
        "total": 3,
        "by_kind": {
            "ConfigMap": {"ready": 1, "total": 1},
            "Secret": {"ready": 1, "total": 1},
            "Deployment": {"ready": 0, "total": 1},
        },
        "not_ready": [
            {
                "kind": "Deployment",
                "name": "web",
                "namespace": NS,
                "status": "InProgress",
                "message": "1/2 available; its Pod crashes on start (exit code 1, CrashLoopBackOff)",
            }
        ],
    }


@pytest.mark.parametrize(
    ("action", "atomic", "wait", "status", "version", "baseline", "hooks", "phase"),
    [
        ("install", False, True, "", 0, 0, [], "applying"),  # helm has not written its revision yet
        ("install", False, True, "pending-install", 1, 0, [], "waiting"),
        ("install", False, False, "pending-install", 1, 0, [], "applying"),
        ("install", False, True, "pending-install", 1, 0, [HOOK | {"last_run": {"phase": "Running"}}], "hooks"),
        ("install", True, True, "uninstalling", 1, 0, [], "rolling back"),
        ("install", True, True, "failed", 1, 0, [], "rolling back"),
        ("upgrade", True, True, "pending-rollback", 3, 1, [], "rolling back"),
        ("rollback", False, True, "pending-rollback", 3, 2, [], "waiting"),
        ("upgrade", False, True, "deployed", 2, 2, [], "applying"),
        ("test", False, False, "deployed", 2, 2, [], "hooks"),
    ],
)
def test_phase_of(
    action: str, atomic: bool, wait: bool, status: str, version: int, baseline: int, hooks: list[Any], phase: str
) -> None:
    rev = {"version": version, "info": {"status": status}, "manifest": "", "hooks": hooks} if version else None
    assert dx.phase_of(action, atomic, wait, dx.Observation(rev), baseline) == phase


def test_phase_is_applying_while_objects_are_still_missing() -> None:
    obs = observation(None, [], revision=revision("pending-install"))
    assert dx.phase_of("install", False, True, obs, 0, NS) == "applying"
    obs = observation(deployment(), [], revision=revision("pending-install"))
    assert dx.phase_of("install", False, True, obs, 0, NS) == "waiting"


# ---------------------------------------------------------------- bounds


def test_bound_keeps_a_diagnosis_within_its_size() -> None:
    pods = [crashing_pod(f"web-{i}") for i in range(200)]
    for pod in pods:
        pod["status"]["containerStatuses"][0]["state"]["waiting"]["message"] = "x" * 5000
    events = [
        {
            "type": "Warning",
            "reason": "BackOff",
            "message": "y" * 5000,
            "involvedObject": {"kind": "Pod", "name": f"web-{i}"},
        }
        for i in range(200)
    ]
    diag = dx.diagnose(observation(deployment(), pods, events=events), NS)
    bounded = dx.bound(diag, 8 * 1024)
    assert dx.size(bounded) <= 8 * 1024
    assert bounded["truncated"] is True and bounded["summary"] == diag["summary"]
    assert len(diag["pods"]) == dx.MAX_PODS and len(diag["events"]) == dx.MAX_EVENTS
    assert all(len(c["message"]) <= dx.MAX_MESSAGE for p in diag["pods"] for c in p["containers"])
    small = dx.diagnose(observation(deployment(), []), NS)
    assert dx.bound(small) == small  # within the bound: unchanged, not marked


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (None, ""),
        ({"message": "timed out"}, "timed out"),
        (
            {"message": "timed out", "details": {"diagnosis": {"summary": "Pod x: crashes"}}},
            "timed out (why: Pod x: crashes)",
        ),
        ({"details": {"diagnosis": {"summary": "Pod x: crashes"}}}, "Pod x: crashes"),
    ],
)
def test_error_text_carries_the_summary(error: dict[str, Any] | None, text: str) -> None:
    assert dx.error_text(error) == text
