"""devstack.podstatus: the kubelet's part, as a pure timeline of the pod spec (no cluster needed)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from devstack.podstatus import (
    EXIT_CODE_ANNOTATION,
    READY_AFTER_ANNOTATION,
    Placement,
    Timings,
    desired_status,
    image_tag,
    owned_fields,
)

T0 = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.UTC)
PLACE = Placement(host_ip="172.30.0.10", pod_ip="10.101.0.2")
TIMINGS = Timings(start=0.2, ready=0.3, run=0.5, restart=1.0)


def pod(
    *images: str,
    policy: str | None = None,
    probe: bool = False,
    exit_code: str | None = None,
    inits: tuple[str, ...] = (),
    gates: tuple[str, ...] = (),
    status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [
            {"name": f"c{i}", "image": image, **({"readinessProbe": {"httpGet": {"port": 80}}} if probe else {})}
            for i, image in enumerate(images)
        ]
    }
    if policy:
        spec["restartPolicy"] = policy
    if inits:
        spec["initContainers"] = [{"name": f"init{i}", "image": image} for i, image in enumerate(inits)]
    if gates:
        spec["readinessGates"] = [{"conditionType": g} for g in gates]
    meta = {"annotations": {EXIT_CODE_ANNOTATION: exit_code}} if exit_code is not None else {}
    return {"metadata": meta, "spec": spec, "status": status or {}}


def at(p: dict[str, Any], seconds: float) -> tuple[dict[str, Any], float | None]:
    return desired_status(p, T0, T0 + datetime.timedelta(seconds=seconds), PLACE, TIMINGS)


def summary(status: dict[str, Any]) -> tuple[str, bool, list[str]]:
    """phase, Ready, and each container's state (waiting reasons by name)."""
    ready = next(c["status"] == "True" for c in status["conditions"] if c["type"] == "Ready")
    states = []
    for c in status["containerStatuses"]:
        ((kind, detail),) = c["state"].items()
        states.append(detail.get("reason", kind) if kind != "running" else "running")
    return status["phase"], ready, states


@pytest.mark.parametrize(
    ("p", "timeline"),
    [
        pytest.param(
            pod("nginx:1.25", probe=True),
            [
                (0.0, ("Pending", False, ["ContainerCreating"])),
                (0.25, ("Running", False, ["running"])),
                (0.6, ("Running", True, ["running"])),
                (60.0, ("Running", True, ["running"])),
            ],
            id="readiness probe: ready a moment after running",
        ),
        pytest.param(
            pod("nginx"),
            [(0.1, ("Pending", False, ["ContainerCreating"])), (0.2, ("Running", True, ["running"]))],
            id="no probe: ready when running, as a kubelet does",
        ),
        pytest.param(
            pod("busybox", policy="Never"),
            [(0.3, ("Running", True, ["running"])), (0.8, ("Succeeded", False, ["Completed"]))],
            id="restartPolicy Never: the container finishes, the pod succeeds",
        ),
        pytest.param(
            pod("busybox", policy="OnFailure"),
            [(0.8, ("Succeeded", False, ["Completed"]))],
            id="restartPolicy OnFailure, exit 0: succeeds",
        ),
        pytest.param(
            pod("busybox", policy="Never", exit_code="3"),
            [(0.3, ("Running", True, ["running"])), (0.8, ("Failed", False, ["Error"]))],
            id="exit-code annotation under Never: the pod fails",
        ),
        pytest.param(
            pod("busybox", policy="OnFailure", exit_code="2"),
            [(0.8, ("Running", False, ["CrashLoopBackOff"]))],
            id="exit-code annotation under OnFailure: restarted in place",
        ),
        pytest.param(
            pod("nginx:fail"),
            [(0.1, ("Pending", False, ["ContainerCreating"])), (0.2, ("Running", False, ["CrashLoopBackOff"]))],
            id=":fail under Always: crash loop",
        ),
        pytest.param(
            pod("nginx:fail", policy="Never"),
            [(0.2, ("Failed", False, ["Error"]))],
            id=":fail under Never: failed at once",
        ),
        pytest.param(
            pod("nginx:never-ready", probe=True),
            [(0.2, ("Running", False, ["running"])), (600.0, ("Running", False, ["running"]))],
            id=":never-ready: runs, never ready",
        ),
        pytest.param(
            pod("nginx", "sidecar:never-ready"),
            [(1.0, ("Running", False, ["running", "running"]))],
            id="one container not ready: the pod is not ready",
        ),
        pytest.param(
            pod("nginx", inits=("migrate",)),
            [(0.1, ("Pending", False, ["PodInitializing"])), (0.2, ("Running", True, ["running"]))],
            id="init containers complete when the containers start",
        ),
        pytest.param(
            pod("nginx", inits=("migrate:fail",)),
            [(0.5, ("Pending", False, ["PodInitializing"]))],
            id="a failing init container holds the pod in Pending",
        ),
        pytest.param(
            pod("nginx", inits=("migrate:fail",), policy="Never"),
            [(0.5, ("Failed", False, ["PodInitializing"]))],
            id="a failing init container under Never fails the pod",
        ),
        pytest.param(
            pod("nginx", gates=("example.com/lb",)),
            [(1.0, ("Running", False, ["running"]))],
            id="a readiness gate not yet True keeps the pod not ready",
        ),
        pytest.param(
            pod(
                "nginx",
                gates=("example.com/lb",),
                status={"conditions": [{"type": "example.com/lb", "status": "True"}]},
            ),
            [(1.0, ("Running", True, ["running"]))],
            id="a readiness gate set True by its controller: ready",
        ),
    ],
)
def test_timeline(p: dict[str, Any], timeline: list[tuple[float, tuple[str, bool, list[str]]]]) -> None:
    for seconds, expected in timeline:
        status, _ = at(p, seconds)
        assert summary(status) == expected, f"at {seconds} s"


def test_next_change_is_the_next_step_and_none_when_settled() -> None:
    web = pod("nginx", probe=True)
    assert at(web, 0.0)[1] == pytest.approx(0.2)  # -> running
    assert at(web, 0.2)[1] == pytest.approx(0.3)  # -> ready
    assert at(web, 0.6)[1] is None  # settled: nothing more to write
    job = pod("busybox", policy="Never")
    assert at(job, 0.3)[1] == pytest.approx(0.4)  # -> finished
    assert at(job, 0.8)[1] is None  # terminal


def test_crash_loop_restart_count_grows_and_keeps_the_last_exit() -> None:
    crashing = pod("nginx:fail")
    counts = []
    for seconds in (0.3, 1.3, 2.3, 5.3):
        status, next_change = at(crashing, seconds)
        container = status["containerStatuses"][0]
        assert container["lastState"]["terminated"]["exitCode"] == 1
        assert container["ready"] is False
        assert next_change is not None and 0 < next_change <= TIMINGS.restart
        counts.append(container["restartCount"])
    assert counts == sorted(counts) and counts[0] < counts[-1]
    assert counts[-1] - counts[0] == 5  # one restart per `restart` seconds


def test_exit_code_is_reported_in_the_terminated_state() -> None:
    status, _ = at(pod("busybox", policy="Never", exit_code="7"), 1.0)
    terminated = status["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (7, "Error")


def test_ready_after_annotation_delays_readiness() -> None:
    slow = pod("nginx")
    slow["metadata"] = {"annotations": {READY_AFTER_ANNOTATION: "2.5"}}
    assert summary(at(slow, 0.3)[0]) == ("Running", False, ["running"])
    assert at(slow, 0.3)[1] == pytest.approx(2.4)  # started at 0.2, ready at 2.7
    assert summary(at(slow, 2.8)[0]) == ("Running", True, ["running"])


def test_addresses_and_start_time() -> None:
    pending, _ = at(pod("nginx"), 0.0)
    assert pending["hostIP"] == "172.30.0.10" and "podIP" not in pending  # no sandbox yet
    running, _ = at(pod("nginx"), 0.5)
    assert running["podIP"] == "10.101.0.2" and running["podIPs"] == [{"ip": "10.101.0.2"}]
    assert running["startTime"] == "2026-01-01T12:00:00Z"


def test_transition_time_moves_only_when_the_condition_does() -> None:
    ready, _ = at(pod("nginx"), 5.0)
    earlier = "2026-01-01T12:00:01Z"
    conditions = [{**c, "lastTransitionTime": earlier} for c in ready["conditions"]]
    again, _ = at(pod("nginx", status={**ready, "conditions": conditions}), 9.0)
    assert {c["type"]: c["lastTransitionTime"] for c in again["conditions"]}["Ready"] == earlier
    flipped, _ = at(pod("nginx:never-ready", status={**ready, "conditions": conditions}), 9.0)
    assert {c["type"]: c["lastTransitionTime"] for c in flipped["conditions"]}["Ready"] == "2026-01-01T12:00:09Z"


def test_a_written_status_compares_equal_so_the_agent_writes_once() -> None:
    desired, _ = at(pod("nginx", probe=True), 1.0)
    # What the API server returns after the patch: the scheduler's condition, qosClass, nulls dropped or kept.
    stored = {
        **desired,
        "qosClass": "BestEffort",
        "conditions": [*desired["conditions"], {"type": "PodScheduled", "status": "True"}],
    }
    assert owned_fields(stored) == owned_fields(desired)
    later, _ = at(pod("nginx", probe=True, status=stored), 2.0)
    assert owned_fields(later) == owned_fields(stored)
    assert owned_fields(at(pod("nginx", probe=True), 0.3)[0]) != owned_fields(stored)


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("nginx", ""),
        ("nginx:fail", "fail"),
        ("registry:5000/team/app:never-ready", "never-ready"),
        ("registry:5000/team/app", ""),
        ("app:1.2@sha256:abcd", "1.2"),
        ("app@sha256:abcd", ""),
    ],
)
def test_image_tag(image: str, tag: str) -> None:
    assert image_tag(image) == tag
