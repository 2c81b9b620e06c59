"""What a kubelet would report for a Pod whose containers never run: a pure function of the Pod and the clock.

``desired_status(pod, started, now, placement, timings)`` returns the Pod ``status`` fields a kubelet owns (phase,
the Initialized/ContainersReady/Ready conditions, container statuses, IPs, start time) as they would be ``now``
for a Pod the node accepted at ``started``, and how many seconds until they next change (None: never). Nothing is
executed; the timeline follows the Pod's spec:

* ``timings.start`` after ``started`` the init containers have completed and the containers run (Pending ->
  Running). Until then they wait (``ContainerCreating``; ``PodInitializing`` behind init containers).
* A running container is ready at once, like a kubelet's without probes; with a readiness or startup probe it is
  ready ``timings.ready`` later (the probe's own delays are not waited out). Ready = every container ready and
  every ``readinessGates`` condition True. Deployments, ReplicaSets, StatefulSets and DaemonSets get their
  ready/available counts from these conditions through the real controllers.
* Containers of a Pod with ``restartPolicy`` Never or OnFailure finish ``timings.run`` after they started, with
  exit code 0 (Jobs, test Pods): the Pod ends ``Succeeded``, or ``Failed`` when a container exits non-zero under
  Never. A container that exits and is restarted (policy Always, or OnFailure with a non-zero code) is in a crash
  loop: waiting ``CrashLoopBackOff``, ``lastState.terminated`` with its code, ``restartCount`` one higher every
  ``timings.restart`` seconds; the Pod stays ``Running`` and not ready.

Failures on purpose (docs/LOCAL.md lists them):

* image tag ``fail`` (``nginx:fail``): the container exits with code 1 as soon as it starts (``CrashLoopBackOff``;
  ``Failed`` under restartPolicy Never). In an init container it holds the Pod in ``Pending`` the same way.
* image tag ``never-ready``: the container runs but never becomes ready.
* annotation ``charthouse.dev/exit-code: "N"`` on the Pod (set it in a Job's or Deployment's pod template): every
  container exits with code N after ``timings.run`` (N=1 makes a Job's Pod ``Failed``).
* annotation ``charthouse.dev/ready-after: "S"`` on the Pod: its containers become ready S seconds after they
  start (a slow start, to watch a rollout's progress), with or without a probe.

Timestamps are whole seconds (as the API stores them); the timeline itself keeps the precision of ``started``.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "EXIT_CODE_ANNOTATION",
    "READY_AFTER_ANNOTATION",
    "FAIL_TAG",
    "NEVER_READY_TAG",
    "Placement",
    "Timings",
    "desired_status",
    "image_tag",
    "owned_fields",
]

EXIT_CODE_ANNOTATION: Final = "charthouse.dev/exit-code"
READY_AFTER_ANNOTATION: Final = "charthouse.dev/ready-after"
FAIL_TAG: Final = "fail"
NEVER_READY_TAG: Final = "never-ready"
OWNED_CONDITIONS: Final = ("Initialized", "ContainersReady", "Ready")
RUNTIME: Final = "charthouse-simulated"

Json = dict[str, Any]


@dataclass(frozen=True)
class Timings:
    """Seconds between the simulated steps (all short: tests wait on them)."""

    start: float = 0.2  # accepted by the node -> containers running
    ready: float = 0.2  # running -> ready, for a container with a readiness or startup probe
    run: float = 0.3  # running -> exited, for a container that finishes
    restart: float = 1.0  # a crash-looping container's restartCount grows this often


@dataclass(frozen=True)
class Placement:
    """Where the Pod runs: its node's address and its own."""

    host_ip: str
    pod_ip: str


@dataclass(frozen=True)
class _Container:
    """One container's simulated life: when it first stops (None: never), with which code, whether it restarts
    then, and whether it ever becomes ready and after how long."""

    name: str
    image: str
    exits_after: float | None
    exit_code: int
    restarts: bool
    ready_after: float | None


def image_tag(image: str) -> str:
    """The tag of an image reference (``""`` when it has none): ``reg:5000/app:1.2@sha256:..`` -> ``1.2``."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else ""


def desired_status(
    pod: Mapping[str, Any],
    started: datetime.datetime,
    now: datetime.datetime,
    placement: Placement,
    timings: Timings,
) -> tuple[Json, float | None]:
    """The kubelet-owned status fields of ``pod`` at ``now`` and the seconds until they next change (None: final).

    ``started`` is when the node accepted the Pod (timezone-aware, like ``now``). The result is meant for a
    strategic-merge patch of the status subresource: the conditions it lists are merged by type, so the
    scheduler's PodScheduled and other writers' conditions are kept.
    """
    spec: Mapping[str, Any] = pod.get("spec") or {}
    current: Mapping[str, Any] = pod.get("status") or {}
    annotations: Mapping[str, str] = (pod.get("metadata") or {}).get("annotations") or {}
    policy = str(spec.get("restartPolicy") or "Always")
    elapsed = max(0.0, (now - started).total_seconds())
    begins = timings.start  # when the sandbox is up: init containers have finished, containers start
    changes: list[float] = [begins]

    inits = [_init_container(c, policy, timings) for c in spec.get("initContainers") or []]
    containers = [_container(c, policy, annotations, timings) for c in spec.get("containers") or []]
    init_statuses = [_status(c, elapsed, 0.0, started, timings, changes) for c in inits]
    init_failed = elapsed >= begins and any(c.exit_code != 0 for c in inits)
    if elapsed < begins:
        waiting_reason = "PodInitializing" if inits else "ContainerCreating"
        statuses = [_waiting(c, waiting_reason) for c in containers]
    elif init_failed:
        statuses = [_waiting(c, "PodInitializing") for c in containers]
    else:
        statuses = [_status(c, elapsed, begins, started, timings, changes) for c in containers]

    phase = _phase(policy, elapsed >= begins, init_failed, statuses)
    all_ready = phase == "Running" and bool(statuses) and all(s["ready"] for s in statuses)
    gates = [str(g.get("conditionType")) for g in spec.get("readinessGates") or []]
    gates_true = all(_condition(current, gate).get("status") == "True" for gate in gates)
    initialised = not inits or (elapsed >= begins and not init_failed)
    now_stamp = _timestamp(now)
    conditions = [
        _owned_condition(current, "Initialized", initialised, "ContainersNotInitialized", phase, now_stamp),
        _owned_condition(current, "ContainersReady", all_ready, "ContainersNotReady", phase, now_stamp),
        _owned_condition(current, "Ready", all_ready and gates_true, "ContainersNotReady", phase, now_stamp),
    ]
    status: Json = {
        "phase": phase,
        "conditions": conditions,
        "hostIP": placement.host_ip,
        "startTime": _timestamp(started),
        "containerStatuses": statuses,
    }
    if elapsed >= begins:  # the sandbox has its address
        status["podIP"] = placement.pod_ip
        status["podIPs"] = [{"ip": placement.pod_ip}]
    if inits:
        status["initContainerStatuses"] = init_statuses
    if phase in ("Succeeded", "Failed"):
        return status, None
    upcoming = [t - elapsed for t in changes if t > elapsed]
    return status, (min(upcoming) if upcoming else None)


def owned_fields(status: Mapping[str, Any]) -> Json:
    """The part of a Pod ``status`` that ``desired_status`` writes, without null fields: equal for two statuses
    exactly when a patch would change nothing."""
    conditions = [c for c in status.get("conditions") or [] if c.get("type") in OWNED_CONDITIONS]
    picked = {
        "phase": status.get("phase"),
        "conditions": sorted(conditions, key=lambda c: str(c.get("type"))),
        "hostIP": status.get("hostIP"),
        "podIP": status.get("podIP"),
        "podIPs": status.get("podIPs"),
        "startTime": status.get("startTime"),
        "containerStatuses": status.get("containerStatuses"),
        "initContainerStatuses": status.get("initContainerStatuses"),
    }
    cleaned = _without_nulls(picked)
    assert isinstance(cleaned, dict)
    return cleaned


# --- containers ---------------------------------------------------------------------------------------------


def _container(spec: Mapping[str, Any], policy: str, annotations: Mapping[str, str], timings: Timings) -> _Container:
    image = str(spec.get("image") or "")
    tag = image_tag(image)
    annotated = _exit_code(annotations)
    if tag == FAIL_TAG:
        exits_after: float | None = 0.0
        code = 1 if annotated is None or annotated == 0 else annotated
    elif annotated is not None:
        exits_after, code = timings.run, annotated
    elif policy in ("Never", "OnFailure"):
        exits_after, code = timings.run, 0
    else:
        exits_after, code = None, 0
    restarts = policy == "Always" or (policy == "OnFailure" and code != 0)
    probed = bool(spec.get("readinessProbe") or spec.get("startupProbe"))
    slow = _seconds(annotations.get(READY_AFTER_ANNOTATION))
    ready_after = None if tag == NEVER_READY_TAG else slow if slow is not None else (timings.ready if probed else 0.0)
    return _Container(str(spec.get("name")), image, exits_after, code, restarts, ready_after)


def _init_container(spec: Mapping[str, Any], policy: str, timings: Timings) -> _Container:
    """Init containers run together from the Pod's acceptance and complete when its containers start, unless one
    is tagged ``fail``: then it exits with code 1 at that moment (and is restarted, except under Never)."""
    image = str(spec.get("image") or "")
    code = 1 if image_tag(image) == FAIL_TAG else 0
    restarts = code != 0 and policy != "Never"
    return _Container(str(spec.get("name")), image, timings.start, code, restarts, None)


def _seconds(raw: object) -> float | None:
    try:
        return max(0.0, float(str(raw).strip())) if raw is not None else None
    except ValueError:
        return None


def _exit_code(annotations: Mapping[str, str]) -> int | None:
    raw = annotations.get(EXIT_CODE_ANNOTATION)
    if raw is None:
        return None
    try:
        return int(str(raw).strip())
    except ValueError:
        return 1  # a malformed code still means "this container fails"


def _status(
    c: _Container,
    elapsed: float,
    begins: float,
    started: datetime.datetime,
    timings: Timings,
    changes: list[float],
) -> Json:
    """The container status at ``elapsed``, for a container that first runs at ``begins``; appends to ``changes``
    every future moment at which it will differ."""
    since = elapsed - begins
    started_at = _timestamp(started + datetime.timedelta(seconds=begins))
    if c.exits_after is None or since < c.exits_after:
        if c.exits_after is not None:
            changes.append(begins + c.exits_after)
        ready = c.ready_after is not None and since >= c.ready_after
        if c.ready_after is not None and not ready:
            changes.append(begins + c.ready_after)
        return _base(c, ready, 0, {"running": {"startedAt": started_at}}, started=True)
    exited_at = begins + c.exits_after
    terminated = {
        "exitCode": c.exit_code,
        "reason": "Completed" if c.exit_code == 0 else "Error",
        "startedAt": started_at,
        "finishedAt": _timestamp(started + datetime.timedelta(seconds=exited_at)),
        "containerID": _container_id(c, 0),
    }
    if not c.restarts:
        return _base(c, False, 0, {"terminated": terminated}, started=False)
    restarts = 1 + math.floor((elapsed - exited_at) / timings.restart)
    changes.append(exited_at + restarts * timings.restart)
    waiting = {
        "waiting": {
            "reason": "CrashLoopBackOff",
            "message": f"back-off restarting failed container {c.name} (simulated: no container runs)",
        }
    }
    status = _base(c, False, restarts, waiting, started=False)
    status["lastState"] = {"terminated": {**terminated, "containerID": _container_id(c, restarts - 1)}}
    return status


def _waiting(c: _Container, reason: str) -> Json:
    status = _base(c, False, 0, {"waiting": {"reason": reason}}, started=False)
    status.pop("containerID")
    status.pop("imageID")
    return status


def _base(c: _Container, ready: bool, restarts: int, state: Json, started: bool) -> Json:
    return {
        "name": c.name,
        "state": state,
        "lastState": {},
        "ready": ready,
        "restartCount": restarts,
        "image": c.image,
        "imageID": f"{RUNTIME}://{c.image}",
        "containerID": _container_id(c, restarts),
        "started": started,
    }


def _container_id(c: _Container, attempt: int) -> str:
    return f"{RUNTIME}://{c.name}-{attempt}"


# --- pod ------------------------------------------------------------------------------------------------------


def _phase(policy: str, sandbox_up: bool, init_failed: bool, statuses: Sequence[Json]) -> str:
    if init_failed:
        return "Failed" if policy == "Never" else "Pending"
    if not sandbox_up or not statuses:
        return "Pending"
    terminated = [s["state"].get("terminated") for s in statuses]
    if all(t is not None for t in terminated):
        return "Succeeded" if all(t["exitCode"] == 0 for t in terminated) else "Failed"
    return "Running"


def _owned_condition(
    current: Mapping[str, Any], kind: str, true: bool, reason: str, phase: str, transition_at: str
) -> Json:
    status = "True" if true else "False"
    if not true and phase in ("Succeeded", "Failed") and kind != "Initialized":
        reason = "PodCompleted"
    condition: Json = {"type": kind, "status": status, "lastProbeTime": None}
    previous = _condition(current, kind)
    # A condition's transition time moves only when its status does (minReadySeconds is counted from it).
    condition["lastTransitionTime"] = (
        previous.get("lastTransitionTime") if previous.get("status") == status else transition_at
    ) or transition_at
    if not true:
        condition["reason"] = reason
    return condition


def _condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    for condition in status.get("conditions") or []:
        if condition.get("type") == kind:
            found: Mapping[str, Any] = condition
            return found
    return {}


def _timestamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value
