"""The CLI's words for a running operation's progress and a failed one's diagnosis."""

from __future__ import annotations

from charthouse_cli import diagnosis, waiting

DIAG = {
    "summary": "Deployment web: 0/2 available; both Pods crash on start (exit code 1, CrashLoopBackOff)",
    "resources": [
        {"kind": "ConfigMap", "name": "web", "status": "Current", "message": "exists"},
        {"kind": "Deployment", "name": "web", "status": "InProgress", "message": "0/2 available"},
    ],
    "pods": [
        {
            "name": "web-1",
            "phase": "Running",
            "node": "node-1",
            "conditions": [],
            "containers": [
                {"name": "web", "state": "waiting", "reason": "CrashLoopBackOff", "exit_code": 1, "restarts": 4}
            ],
        },
        {
            "name": "web-2",
            "phase": "Pending",
            "node": None,
            "containers": [],
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3"}],
        },
    ],
    "events": [{"reason": "BackOff", "object": "Pod/web-1", "count": 3, "message": "back-off"}],
    "hooks": [{"kind": "Job", "name": "migrate", "phase": "Succeeded", "status": "Current", "message": "completed"}],
}
OP = {
    "id": "op-1",
    "action": "install",
    "status": "failed",
    "release": {"cluster": "c", "namespace": "n", "name": "web"},
    "error": {"code": "HelmTimeout", "message": "timed out", "details": {"diagnosis": DIAG}},
}


def test_diagnosis_text_lists_only_what_is_not_ready() -> None:
    text = diagnosis.diagnosis_text(DIAG)
    lines = text.splitlines()
    assert lines[0] == f"WHY:      {DIAG['summary']}"
    assert any(line.split() == ["Deployment", "web", "InProgress", "0/2", "available"] for line in lines)
    assert not any(line.startswith("ConfigMap") or line.startswith("Job") for line in lines)
    assert any(
        line.split()[:8] == ["web-1", "Running", "node-1", "web", "waiting", "CrashLoopBackOff", "1", "4"]
        for line in lines
    )
    assert any(line.split()[:4] == ["web-2", "Pending", "-", "Unschedulable"] for line in lines)
    assert any(line.split() == ["BackOff", "Pod/web-1", "3", "back-off"] for line in lines)


def test_failure_message_ends_with_why() -> None:
    assert diagnosis.failure(OP) == f"install c/n/web failed: HelmTimeout: timed out\nwhy: {DIAG['summary']}"
    plain = {**OP, "error": {"code": "HelmError", "message": "boom"}}
    assert diagnosis.failure(plain) == "install c/n/web failed: HelmError: boom"


def test_a_running_operation_shows_its_progress() -> None:
    progress = {
        "phase": "waiting",
        "ready": 2,
        "total": 3,
        "not_ready": [{"kind": "Deployment", "name": "web", "status": "InProgress", "message": "1/2 available"}],
    }
    op = {"status": "running", "progress": progress}
    assert waiting.state(op) == "running (waiting, 2/3 ready; Deployment web: 1/2 available)"
    assert waiting.state(op, width=20) == "running (waiting, 2…"
    assert waiting.state({"status": "queued"}) == "queued"
    assert diagnosis.progress_text(progress).splitlines()[1].split()[:3] == ["Deployment", "web", "InProgress"]
