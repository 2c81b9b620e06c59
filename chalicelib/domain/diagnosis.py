"""Why an operation failed and how far along a running one is, computed from what the cluster serves (pure).

The adapter (``adapters/kube/workloads.py``) reads an ``Observation``: the newest revision helm keeps of the release
(its manifest and hooks), the live objects they name, the namespace's Pods and its Warning events. From it:

* ``status_of`` gives each object a status in kstatus' words (``Current``, ``InProgress``, ``Failed``,
  ``NotFound``; the words helm 4 waits with) and a short message;
* ``progress`` is what a running operation shows: phase, ready/total by kind, the objects not ready yet;
* ``diagnose`` is what a failed operation carries in ``error.details.diagnosis``: a one-line ``summary``, the
  ``resources``, the not-ready ``pods`` (containers, the conditions that explain them), the latest Warning
  ``events`` about them and the ``hooks`` with their phase; bounded to ``MAX_BYTES`` by ``bound``.

Nothing here copies a spec: no Secret data, environment value or command line ever reaches a diagnosis; only names,
statuses, reasons, exit codes and the messages the cluster's components wrote.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.manifests import CLUSTER_SCOPED, documents

Json = dict[str, Any]
Key = tuple[str, str, str]  # kind, namespace ("" when cluster-scoped), name

CURRENT, IN_PROGRESS, FAILED, NOT_FOUND = "Current", "InProgress", "Failed", "NotFound"
STATUSES = (CURRENT, IN_PROGRESS, FAILED, NOT_FOUND)
PHASES = ("applying", "waiting", "hooks", "rolling back")
CONTAINER_STATES = ("waiting", "running", "terminated")  # a container status's state, as the kubelet writes it
MAX_BYTES = 64 * 1024
MAX_EVENTS = 20
MAX_PODS = 20
MAX_CONTAINERS = 10
MAX_NOT_READY = 10  # objects listed in a progress
MAX_MESSAGE = 300  # characters of any one message
WORKLOADS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "Pod"})


@dataclass(frozen=True)
class Wanted:
    """An object the release (or one of its hooks) creates, as its manifest names it."""

    api_version: str
    kind: str
    name: str
    namespace: str  # "" for a cluster-scoped kind
    hook: Json | None = None  # the hook as helm keeps it (name, kind, events, last_run), None: not a hook

    @property
    def key(self) -> Key:
        return (self.kind, self.namespace, self.name)


@dataclass(frozen=True)
class Observation:
    """What the cluster served at ``at`` (epoch seconds) about one release."""

    revision: Json | None  # the newest revision helm keeps (helm's release JSON), None: none
    objects: Mapping[Key, Json | None] = field(default_factory=dict)  # every ``wanted`` object; None: not found
    pods: Sequence[Json] = ()
    events: Sequence[Json] = ()
    at: float = 0.0
    gaps: tuple[str, ...] = ()  # what could not be read, and why (RBAC, transport)

    def number(self) -> int:
        return int((self.revision or {}).get("version") or 0)

    def release_status(self) -> str:
        return str(((self.revision or {}).get("info") or {}).get("status") or "")


# ---------------------------------------------------------------- what a revision creates


def wanted(revision: Json | None, namespace: str) -> list[Wanted]:
    """The objects of a revision's manifest, then its hooks' objects (each with its hook), in manifest order."""
    if not revision:
        return []
    out = [_wanted(doc, namespace) for doc in documents(str(revision.get("manifest") or ""))]
    for hook in revision.get("hooks") or []:
        if not isinstance(hook, dict):
            continue
        kept = {k: hook.get(k) for k in ("name", "kind", "events", "last_run")}  # never the hook's manifest
        for doc in documents(str(hook.get("manifest") or "")):
            found = _wanted(doc, namespace, kept)
            if found:
                out.append(found)
    return [w for w in out if w]


def _wanted(doc: Json, namespace: str, hook: Json | None = None) -> Wanted | None:
    meta, kind = doc.get("metadata"), str(doc.get("kind") or "")
    if not kind or not isinstance(meta, dict) or not meta.get("name"):
        return None
    ns = "" if kind in CLUSTER_SCOPED else str(meta.get("namespace") or namespace)
    return Wanted(str(doc.get("apiVersion") or "v1"), kind, str(meta["name"]), ns, hook)


# ---------------------------------------------------------------- status of one object (kstatus' rules, shortened)


def status_of(kind: str, obj: Json | None) -> tuple[str, str]:
    """(status, message) of a live object; ``obj`` None: it is not in the cluster."""
    if obj is None:
        return NOT_FOUND, "not found in the cluster"
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    if meta.get("deletionTimestamp"):
        return IN_PROGRESS, "being deleted"
    generation, observed = meta.get("generation"), status.get("observedGeneration")
    if kind in WORKLOADS - {"Pod", "Job"} and generation and observed is not None and observed < generation:
        return IN_PROGRESS, f"the controller has not seen generation {generation} yet"
    rule = _RULES.get(kind, _generic)
    return rule(obj)


def _cond(obj: Json, kind: str) -> Json:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == kind:
            return c
    return {}


def _n(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _replicas(obj: Json) -> int:
    spec = obj.get("spec") or {}
    return 1 if spec.get("replicas") is None else _n(spec.get("replicas"))


def _deployment(obj: Json) -> tuple[str, str]:
    st, want = obj.get("status") or {}, _replicas(obj)
    progressing = _cond(obj, "Progressing")
    if progressing.get("status") == "False" and progressing.get("reason") == "ProgressDeadlineExceeded":
        return FAILED, f"progress deadline exceeded: {_n(st.get('availableReplicas'))}/{want} available"
    updated, available = _n(st.get("updatedReplicas")), _n(st.get("availableReplicas"))
    if updated < want:
        return IN_PROGRESS, f"{updated}/{want} updated, {available}/{want} available"
    if _n(st.get("replicas")) > updated:
        return IN_PROGRESS, f"{updated}/{want} updated, {_n(st.get('replicas')) - updated} old still running"
    if available < want:
        return IN_PROGRESS, f"{available}/{want} available"
    return CURRENT, f"{available}/{want} available"


def _statefulset(obj: Json) -> tuple[str, str]:
    st, want = obj.get("status") or {}, _replicas(obj)
    ready = _n(st.get("readyReplicas"))
    if ready < want:
        return IN_PROGRESS, f"{ready}/{want} ready"
    strategy = ((obj.get("spec") or {}).get("updateStrategy") or {}).get("type") or "RollingUpdate"
    if strategy == "RollingUpdate" and st.get("updateRevision") and st.get("currentRevision") != st["updateRevision"]:
        return IN_PROGRESS, f"rolling update: {_n(st.get('updatedReplicas'))}/{want} updated"
    return CURRENT, f"{ready}/{want} ready"


def _daemonset(obj: Json) -> tuple[str, str]:
    st = obj.get("status") or {}
    want, updated = _n(st.get("desiredNumberScheduled")), _n(st.get("updatedNumberScheduled"))
    available = _n(st.get("numberAvailable"))
    if updated < want:
        return IN_PROGRESS, f"{updated}/{want} updated, {available}/{want} available"
    if available < want:
        return IN_PROGRESS, f"{available}/{want} available"
    return CURRENT, f"{available}/{want} available"


def _replicaset(obj: Json) -> tuple[str, str]:
    want, available = _replicas(obj), _n((obj.get("status") or {}).get("availableReplicas"))
    return (CURRENT if available >= want else IN_PROGRESS), f"{available}/{want} available"


def _job(obj: Json) -> tuple[str, str]:
    failed = _cond(obj, "Failed")
    if failed.get("status") == "True":
        reason = ": ".join(str(x) for x in (failed.get("reason"), failed.get("message")) if x)
        return FAILED, f"failed ({reason})" if reason else "failed"
    if _cond(obj, "Complete").get("status") == "True":
        return CURRENT, "completed"
    st = obj.get("status") or {}
    completions = _n((obj.get("spec") or {}).get("completions")) or 1
    done = f"{_n(st.get('succeeded'))}/{completions} succeeded"
    return IN_PROGRESS, f"running: {done}, {_n(st.get('active'))} active, {_n(st.get('failed'))} failed"


def _pod(obj: Json) -> tuple[str, str]:
    phase = str((obj.get("status") or {}).get("phase") or "Pending")
    if phase == "Succeeded":
        return CURRENT, "completed"
    if phase == "Failed":
        return FAILED, "failed" + _pod_reason(obj, " ")
    if _cond(obj, "Ready").get("status") == "True":
        return CURRENT, "ready"
    return IN_PROGRESS, f"{phase}, not ready" + _pod_reason(obj, ": ")


def _service(obj: Json) -> tuple[str, str]:
    if (obj.get("spec") or {}).get("type") == "LoadBalancer":
        if not ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
            return IN_PROGRESS, "waiting for a load balancer address"
    return CURRENT, "ready"


def _pvc(obj: Json) -> tuple[str, str]:
    phase = str((obj.get("status") or {}).get("phase") or "Pending")
    return (CURRENT, "bound") if phase == "Bound" else (IN_PROGRESS, f"{phase}: not bound to a volume")


def _generic(obj: Json) -> tuple[str, str]:
    """Any other kind: kstatus' generic conditions (``Stalled``/``Ready``), else current once it exists."""
    stalled, ready = _cond(obj, "Stalled"), _cond(obj, "Ready")
    if stalled.get("status") == "True":
        return FAILED, _clip(str(stalled.get("message") or stalled.get("reason") or "stalled"))
    if ready.get("status") == "False":
        return IN_PROGRESS, _clip(str(ready.get("message") or ready.get("reason") or "not ready"))
    return CURRENT, "exists"


_RULES: dict[str, Callable[[Json], tuple[str, str]]] = {
    "Deployment": _deployment,
    "StatefulSet": _statefulset,
    "DaemonSet": _daemonset,
    "ReplicaSet": _replicaset,
    "Job": _job,
    "Pod": _pod,
    "Service": _service,
    "PersistentVolumeClaim": _pvc,
}


# ---------------------------------------------------------------- Pods


def selector_matches(selector: Json | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) against a Pod's labels; an empty or absent one matches
    nothing (as a workload's selector never is)."""
    if not selector:
        return False
    exprs = selector.get("matchExpressions") or []
    match = selector.get("matchLabels") or {}
    if not match and not exprs:
        return False
    if any(labels.get(k) != str(v) for k, v in match.items()):
        return False
    for e in exprs:
        key, op, values = str(e.get("key")), str(e.get("operator")), [str(v) for v in e.get("values") or []]
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }.get(op, False)
        if not ok:
            return False
    return True


def pods_of(kind: str, name: str, obj: Json | None, pods: Iterable[Json], namespace: str) -> list[Json]:
    """The Pods a workload object runs (by its selector; a Pod object is itself), not being deleted."""
    out = []
    selector = (obj or {}).get("spec", {}).get("selector") if kind in WORKLOADS - {"Pod"} else None
    for pod in pods:
        meta = pod.get("metadata") or {}
        if meta.get("namespace", namespace) != namespace or meta.get("deletionTimestamp"):
            continue
        if kind == "Pod" and meta.get("name") == name:
            out.append(pod)
        elif selector and selector_matches(selector, meta.get("labels") or {}):
            out.append(pod)
    return out


def pod_ready(pod: Json) -> bool:
    return _cond(pod, "Ready").get("status") == "True"


def _clip(text: str, limit: int = MAX_MESSAGE) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def container_view(cs: Json, init: bool = False) -> Json:
    """One container status: name, ready, state (waiting|running|terminated), reason, exit code, restarts,
    message. A waiting container's exit code is its last run's."""
    states = cs.get("state") or {}
    state = next((s for s in CONTAINER_STATES if states.get(s)), "waiting")
    detail = states.get(state) or {}
    last = (cs.get("lastState") or {}).get("terminated") or {}
    exit_code = detail.get("exitCode") if state == "terminated" else last.get("exitCode")
    out: Json = {
        "name": str(cs.get("name") or ""),
        "ready": bool(cs.get("ready")),
        "state": state,
        "reason": detail.get("reason") or (last.get("reason") if state == "waiting" and last else None),
        "exit_code": exit_code,
        "restarts": _n(cs.get("restartCount")),
        "message": _clip(detail["message"]) if detail.get("message") else None,
    }
    if init:
        out["init"] = True
    return out


def pod_view(pod: Json) -> Json:
    """A Pod as a diagnosis shows it: name, phase, node, its containers, the conditions that are not True."""
    meta, spec, st = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    containers = [container_view(c, init=True) for c in st.get("initContainerStatuses") or [] if not c.get("ready")]
    containers += [container_view(c) for c in st.get("containerStatuses") or []]
    conditions = [
        {
            "type": c.get("type"),
            "status": c.get("status"),
            "reason": c.get("reason"),
            "message": _clip(c["message"]) if c.get("message") else None,
        }
        for c in st.get("conditions") or []
        if isinstance(c, dict) and c.get("status") != "True"
    ]
    return {
        "name": str(meta.get("name") or ""),
        "phase": str(st.get("phase") or "Pending"),
        "node": spec.get("nodeName") or None,
        "ready": pod_ready(pod),
        "containers": containers[:MAX_CONTAINERS],
        "conditions": conditions,
    }


# ---------------------------------------------------------------- what is wrong with a Pod, in words

# a problem: (order, singular verb phrase, plural verb phrase); the lower order is the one a summary names first
Problem = tuple[int, str, str]


def _pod_problem(view: Json, final: bool = True) -> Problem | None:
    """What keeps a Pod from being ready; ``final``: said of an operation that failed (a container that runs but
    is not ready "never becomes ready"; while helm still waits it is "not ready yet")."""
    for c in view["conditions"]:
        if c["type"] == "PodScheduled" and c["status"] == "False":
            why = f": {c['message']}" if c.get("message") else f" ({c.get('reason') or 'Unschedulable'})"
            return (0, f"cannot be scheduled{why}", f"cannot be scheduled{why}")
    crashed = [c for c in view["containers"] if c["restarts"] > 0 or c["reason"] == "CrashLoopBackOff"]
    for c in crashed:
        code = f"exit code {c['exit_code']}, " if c["exit_code"] is not None else ""
        reason = c["reason"] or "restarting"
        return (1, f"crashes on start ({code}{reason})", f"crash on start ({code}{reason})")
    for c in view["containers"]:
        if c["state"] == "terminated" and c["exit_code"] not in (None, 0):
            what = f"exited with code {c['exit_code']}" + (f" ({c['reason']})" if c["reason"] else "")
            return (2, what, what)
    for c in view["containers"]:
        if c["state"] == "waiting" and c["reason"] and c["reason"] not in ("ContainerCreating", "PodInitializing"):
            why = f"{c['reason']}: {c['message']}" if c.get("message") else c["reason"]
            return (3, f"is waiting ({why})", f"are waiting ({why})")
    if view["phase"] == "Running" and any(c["state"] == "running" and not c["ready"] for c in view["containers"]):
        names = ", ".join(c["name"] for c in view["containers"] if c["state"] == "running" and not c["ready"])
        if final:
            return (4, f"runs but never becomes ready (container {names})", f"run but never become ready ({names})")
        return (4, f"runs, not ready yet (container {names})", f"run, not ready yet ({names})")
    if view["phase"] == "Pending":
        return (5, "is still starting", "are still starting")
    return None


def _pods_phrase(views: Sequence[Json], final: bool = True) -> str:
    """'both Pods crash on start (exit code 1, CrashLoopBackOff)': the most telling problem of a workload's
    not-ready Pods, and how many of them have it."""
    problems = [p for p in (_pod_problem(v, final) for v in views) if p]
    if not problems:
        return ""
    worst = min(problems, key=lambda p: p[0])
    count, total = sum(1 for p in problems if p[0] == worst[0] and p[1] == worst[1]), len(views)
    if total == 1:
        return f"its Pod {worst[1]}"
    subject = (
        "both Pods" if count == total == 2 else f"all {total} Pods" if count == total else f"{count} of {total} Pods"
    )
    return f"{subject} {worst[1] if count == 1 else worst[2]}"


def _pod_reason(pod: Json, sep: str) -> str:
    problem = _pod_problem(pod_view(pod))
    return f"{sep}{problem[1]}" if problem else ""


# ---------------------------------------------------------------- events


def event_view(ev: Json) -> Json:
    inv, series = ev.get("involvedObject") or ev.get("regarding") or {}, ev.get("series") or {}
    last = (
        ev.get("lastTimestamp")
        or series.get("lastObservedTime")
        or ev.get("eventTime")
        or (ev.get("metadata") or {}).get("creationTimestamp")
    )
    return {
        "reason": str(ev.get("reason") or ""),
        "message": _clip(str(ev.get("message") or ev.get("note") or "")),
        "object": f"{inv.get('kind')}/{inv.get('name')}",
        "count": _n(ev.get("count") or series.get("count")) or 1,
        "last_seen": str(last) if last else None,
    }


def warning_events(events: Iterable[Json], about: set[tuple[str, str]], owners: set[str]) -> list[Json]:
    """The latest Warning events (at most ``MAX_EVENTS``, newest first) about ``about`` ((kind, name) pairs), or
    about a ReplicaSet of one of the Deployments in ``owners`` (named ``<deployment>-<hash>``)."""
    picked = []
    for ev in events:
        if ev.get("type") != "Warning":
            continue
        inv = ev.get("involvedObject") or ev.get("regarding") or {}
        kind, name = str(inv.get("kind")), str(inv.get("name"))
        replica_set = kind == "ReplicaSet" and any(name.startswith(f"{o}-") for o in owners)
        if (kind, name) in about or replica_set:
            picked.append(event_view(ev))
    picked.sort(key=lambda e: e["last_seen"] or "", reverse=True)
    return picked[:MAX_EVENTS]


# ---------------------------------------------------------------- progress of a running operation


def resource_view(w: Wanted, obs: Observation, final: bool = True) -> Json:
    """One object: kind, name, namespace, status, message (with its Pods' problem for a workload not ready)."""
    obj = obs.objects.get(w.key)
    status, message = status_of(w.kind, obj)
    if status in (IN_PROGRESS, FAILED) and w.kind in WORKLOADS - {"Pod"}:
        stuck = [pod_view(p) for p in pods_of(w.kind, w.name, obj, obs.pods, w.namespace) if _stuck(p)]
        phrase = _pods_phrase(stuck, final)
        message = f"{message}; {phrase}" if phrase else message
    out: Json = {"kind": w.kind, "name": w.name, "status": status, "message": _clip(message)}
    if w.namespace:
        out["namespace"] = w.namespace
    return out


def _stuck(pod: Json) -> bool:
    return not pod_ready(pod) and (pod.get("status") or {}).get("phase") != "Succeeded"


def phase_of(action: str, atomic: bool, wait: bool, obs: Observation, baseline: int, namespace: str = "") -> str:
    """What helm is doing: ``applying`` (rendering, creating objects), ``waiting`` (for them to be ready),
    ``hooks`` (running hooks; a test's whole run) or ``rolling back`` (atomic, after a failure). ``baseline`` is
    the newest revision before the operation started (0: none)."""
    if action == "test":
        return "hooks"
    status, number = obs.release_status(), obs.number()
    if number <= baseline:
        return "applying"  # helm has not recorded its revision yet
    if status == "uninstalling" or (status == "pending-rollback" and action != "rollback"):
        return "rolling back"
    if status == "failed":
        return "rolling back" if atomic else "waiting"
    hooks = [h for h in (obs.revision or {}).get("hooks") or [] if isinstance(h, dict)]
    if any(((h.get("last_run") or {}).get("phase")) == "Running" for h in hooks):
        return "hooks"
    if not wait:
        return "applying"
    missing = any(obs.objects.get(w.key) is None for w in wanted(obs.revision, namespace) if w.hook is None)
    return "applying" if missing else "waiting"


def progress(obs: Observation, namespace: str, phase: str) -> Json:
    """A running operation's ``progress``: phase, revision, ready/total (overall and by kind), the objects not ready
    (at most ``MAX_NOT_READY``, with their message). Hooks count only while they run."""
    items = wanted(obs.revision, namespace)
    views = [resource_view(w, obs, final=False) for w in items if w.hook is None]
    if phase == "hooks":
        views += [
            {**resource_view(w, obs, final=False), "hook": _hook_events(w.hook)}
            for w in items
            if w.hook and (w.hook.get("last_run") or {}).get("phase") == "Running"
        ]
    by_kind: dict[str, Json] = {}
    for v in views:
        entry = by_kind.setdefault(v["kind"], {"ready": 0, "total": 0})
        entry["total"] += 1
        entry["ready"] += v["status"] == CURRENT
    not_ready = [v for v in views if v["status"] != CURRENT]
    return {
        "phase": phase,
        "revision": obs.number() or None,
        "ready": sum(e["ready"] for e in by_kind.values()),
        "total": sum(e["total"] for e in by_kind.values()),
        "by_kind": by_kind,
        "not_ready": not_ready[:MAX_NOT_READY],
    }


def _hook_events(hook: Json | None) -> str:
    return ",".join(str(e) for e in (hook or {}).get("events") or [])


# ---------------------------------------------------------------- diagnosis of a failed operation


def diagnose(obs: Observation, namespace: str, helm_message: str = "") -> Json:
    """The diagnosis of a failed operation from what the cluster served: summary, resources, pods, events, hooks
    (not yet bounded: see ``bound``)."""
    items = wanted(obs.revision, namespace)
    resources: list[Json] = []
    pods: list[Json] = []
    about: set[tuple[str, str]] = set()
    owners: set[str] = set()
    for w in items:
        if w.hook is not None:
            continue
        view = resource_view(w, obs)
        resources.append(view)
        about.add((w.kind, w.name))
        if view["status"] == CURRENT or w.kind not in WORKLOADS:
            continue
        owners.add(w.name)
        for pod in pods_of(w.kind, w.name, obs.objects.get(w.key), obs.pods, w.namespace):
            if _stuck(pod) and len(pods) < MAX_PODS:
                pods.append({**pod_view(pod), "owner": f"{w.kind}/{w.name}"})
    hooks = [_hook_view(w, obs) for w in items if w.hook is not None]
    for h in hooks:
        about.add((h["kind"], h["name"]))
        about.update(("Pod", p["name"]) for p in h.get("pods") or [])
    about.update(("Pod", p["name"]) for p in pods)
    events = warning_events(obs.events, about, owners)
    out: Json = {
        "summary": "",
        "revision": obs.number() or None,
        "release_status": obs.release_status() or None,
        "resources": resources,
        "pods": pods,
        "events": events,
        "hooks": hooks,
    }
    out["summary"] = summary(out, helm_message)
    if obs.gaps:
        out["error"] = _clip("could not read " + "; ".join(obs.gaps), 1000)
    return out


def _hook_view(w: Wanted, obs: Observation) -> Json:
    hook = w.hook or {}
    obj = obs.objects.get(w.key)
    status, message = status_of(w.kind, obj)
    last = hook.get("last_run") or {}
    phase = str(last.get("phase") or "") or ("Unknown" if obj is not None else "NotRun")
    out: Json = {
        "kind": w.kind,
        "name": w.name,
        "events": [str(e) for e in hook.get("events") or []],
        "phase": phase,
        "status": status,
        "message": _clip(message),
    }
    if phase in ("Failed", "Running") or status == FAILED:
        views = [pod_view(p) for p in pods_of(w.kind, w.name, obj, obs.pods, w.namespace) if _stuck(p)]
        out["pods"] = views[:MAX_PODS]
    return out


def summary(diag: Json, helm_message: str = "") -> str:
    """One line a person can act on: the failed hook, else the first object not ready (failed first, then the one
    whose Pods say most), its Pods' problem, and how many other objects are not ready."""
    for h in diag["hooks"]:
        if h["phase"] == "Failed" or h["status"] == FAILED or h["phase"] == "Running":
            when = h["events"][0] if h["events"] else "hook"
            verb = "failed" if h["phase"] == "Failed" or h["status"] == FAILED else "did not complete"
            phrase = _pods_phrase(h.get("pods") or [])
            detail = phrase or h["message"]
            return _clip(f"{when} hook {h['kind']} {h['name']} {verb}: {detail}")
    bad = [r for r in diag["resources"] if r["status"] != CURRENT]
    if not bad:
        said = f"; helm: {helm_message}" if helm_message else ""
        if not diag["resources"]:
            return _clip(f"no object of the release is in the cluster{said}")
        return _clip(f"all {len(diag['resources'])} objects of the release are ready{said}")
    rank = {FAILED: 0, IN_PROGRESS: 1, NOT_FOUND: 2}
    first = min(bad, key=lambda r: (rank[r["status"]], ";" not in r["message"]))
    more = len(bad) - 1
    tail = f" (and {more} more not ready)" if more else ""
    return _clip(f"{first['kind']} {first['name']}: {first['message']}{tail}")


# ---------------------------------------------------------------- the error text other surfaces show


def summary_of(error: Mapping[str, Any] | None) -> str:
    """The diagnosis' summary carried by an operation's error (``details.diagnosis.summary``), or ""."""
    diag = ((error or {}).get("details") or {}).get("diagnosis")
    return str(diag.get("summary") or "") if isinstance(diag, dict) else ""


def error_text(error: Mapping[str, Any] | None) -> str:
    """An operation's error as one text, for the surfaces that have only a message (CCE's error_msg, helm-engine's
    error, a custom resource's failure reason): helm's message, then why, when the failure was diagnosed."""
    message = str((error or {}).get("message") or "")
    why = summary_of(error)
    return f"{message} (why: {why})" if why and message else why or message


# ---------------------------------------------------------------- bounding


def _fewer_hook_pods(diag: Json) -> None:
    for hook in diag["hooks"]:
        if hook.get("pods"):
            hook["pods"] = hook["pods"][:2]


def size(data: Json) -> int:
    return len(json.dumps(data, separators=(",", ":"), default=str).encode())


def bound(diag: Json, limit: int = MAX_BYTES) -> Json:
    """``diag`` cut down until it serializes within ``limit`` bytes: the objects that are ready go first, then
    events, Pods and hooks' Pods beyond a few, then whatever list is longest; ``truncated`` says it was cut."""
    out: Json = json.loads(json.dumps(diag, default=str))
    steps: list[Callable[[Json], None]] = [
        lambda d: d.update(resources=[r for r in d["resources"] if r["status"] != CURRENT][:50]),
        lambda d: d.update(events=d["events"][:5], pods=d["pods"][:5]),
        _fewer_hook_pods,
        lambda d: d.update(resources=d["resources"][:10], hooks=d["hooks"][:10], pods=d["pods"][:2]),
        lambda d: d.update(events=d["events"][:1], pods=d["pods"][:1], hooks=d["hooks"][:2]),
        lambda d: d.update(resources=d["resources"][:1], pods=[], events=[], hooks=[]),
    ]
    for step in steps:
        if size(out) <= limit:
            return out
        step(out)
        out["truncated"] = True
    return out if size(out) <= limit else {"summary": _clip(str(out.get("summary") or "")), "truncated": True}
