"""How far a running operation got and why a failed one failed, as the service reports them (``progress`` and
``error.details.diagnosis``), in words and short tables for people."""

from __future__ import annotations

from typing import Any

from . import output

MAX_ROWS = 8


def failure(op: dict[str, Any]) -> str:
    """The message of a failed operation: what failed, helm's error and, when the service diagnosed it, why."""
    rel = op.get("release") or {}
    target = "/".join(str(rel.get(k, "?")) for k in ("cluster", "namespace", "name"))
    error = op.get("error") or {}
    text = f"{op.get('action', 'operation')} {target} failed: {error.get('code', 'Error')}: "
    text += str(error.get("message", "no reason given"))
    diag = (error.get("details") or {}).get("diagnosis")
    if isinstance(diag, dict) and diag.get("summary"):
        text += f"\nwhy: {diag['summary']}"
    return text


def progress_line(progress: dict[str, Any] | None) -> str:
    """``waiting, 3/4 ready; Deployment web: 0/2 available; ...``: the phase, the count and the first object not
    ready (empty without progress)."""
    if not progress:
        return ""
    text = f"{progress.get('phase')}, {progress.get('ready')}/{progress.get('total')} ready"
    first = (progress.get("not_ready") or [None])[0]
    if first:
        text += f"; {first.get('kind')} {first.get('name')}: {first.get('message')}"
    return text


def progress_text(progress: dict[str, Any]) -> str:
    """The objects a running operation still waits for."""
    rows = [(r.get("kind"), r.get("name"), r.get("status"), r.get("message")) for r in progress.get("not_ready") or []]
    return output.table(("KIND", "NAME", "STATUS", "MESSAGE"), rows) if rows else ""


def diagnosis_text(diag: dict[str, Any]) -> str:
    """The summary, then what is not ready: objects, hooks, Pods (one row per container) and the latest Warning
    events, each table at most ``MAX_ROWS`` rows."""
    parts = [f"WHY:      {diag.get('summary')}\n"]
    if diag.get("error"):
        parts.append(f"NOTE:     {diag['error']}\n")
    objects = [r for r in diag.get("resources") or [] if r.get("status") != "Current"]
    objects += [
        {**h, "kind": f"{h.get('kind')} (hook)"}
        for h in diag.get("hooks") or []
        if h.get("phase") in ("Failed", "Running") or h.get("status") == "Failed"
    ]
    if objects:
        rows = [(r.get("kind"), r.get("name"), r.get("status"), r.get("message")) for r in objects[:MAX_ROWS]]
        parts.append("\n" + output.table(("KIND", "NAME", "STATUS", "MESSAGE"), rows))
    pods = list(diag.get("pods") or [])
    for h in diag.get("hooks") or []:
        pods += h.get("pods") or []
    pod_rows: list[tuple[object, ...]] = []
    for pod in pods:
        why = next((c for c in pod.get("conditions") or [] if c.get("type") == "PodScheduled"), None)
        for c in pod.get("containers") or [{}]:
            message = c.get("message") or (why or {}).get("message")
            pod_rows.append(
                (
                    pod.get("name"),
                    pod.get("phase"),
                    pod.get("node") or "-",
                    c.get("name"),
                    c.get("state"),
                    c.get("reason") or (why or {}).get("reason"),
                    c.get("exit_code"),
                    c.get("restarts"),
                    message,
                )
            )
    if pod_rows:
        headers = ("POD", "PHASE", "NODE", "CONTAINER", "STATE", "REASON", "EXIT", "RESTARTS", "MESSAGE")
        parts.append("\n" + output.table(headers, pod_rows[:MAX_ROWS]))
    events = diag.get("events") or []
    if events:
        event_rows = [(e.get("reason"), e.get("object"), e.get("count"), e.get("message")) for e in events[:MAX_ROWS]]
        parts.append("\n" + output.table(("EVENT", "OBJECT", "COUNT", "MESSAGE"), event_rows))
    return "".join(parts)
