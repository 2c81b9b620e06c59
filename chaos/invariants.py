"""What must hold once a round has settled, read from both sides: the service's API and helm itself.

- every accepted operation reached exactly one terminal state; an Idempotency-Key always answered one operation;
- no operation ran twice: the revisions of a release's succeeded install/upgrade/rollback operations (since its last
  uninstall) are distinct, and none is beyond helm's;
- no release is ``pending-*`` in helm;
- the store equals helm for every release: status, revision, chart and version, history length (a release helm
  no longer has is absent from the store or recorded ``uninstalled``);
- every name can be used again by the verb that should work on it (install when helm has no such release, upgrade
  otherwise): checked by doing it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from chaos.actions import NS, POOL, RELEASES_PATH, Ledger, Request, send
from chaos.stackproc import StackProcess

TERMINAL = ("succeeded", "failed")
REVISION_VERBS = ("install", "upgrade", "rollback")


@dataclass
class Settled:
    """The state both sides agreed on when the round settled."""

    operations: list[dict[str, Any]] = field(default_factory=list)
    helm: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # release -> helm history (oldest first)


def operations(stack: StackProcess) -> list[dict[str, Any]]:
    """Every operation on the namespace, newest first."""
    out: list[dict[str, Any]] = []
    token = ""
    while True:
        status, page = stack.get(f"/v1/operations?namespace={NS}&limit=100" + (f"&next_token={token}" if token else ""))
        if status != 200:
            raise RuntimeError(f"listing operations answered {status}")
        out += page["operations"]
        token = page.get("next_token") or ""
        if not token:
            return out


def helm_history(stack: StackProcess, release: str) -> list[dict[str, Any]]:
    rc, out = stack.helm("history", release, "-n", NS, "-o", "json", "--max", "1000")
    if rc != 0:
        if "not found" in out:
            return []
        raise RuntimeError(f"helm history {release}: {out.strip()[:200]}")
    return list(json.loads(out))


def settle(stack: StackProcess, window_s: float) -> Settled | None:
    """Wait, up to ``window_s``, for every operation to end and helm to hold nothing pending, twice in a row a few
    seconds apart (an unlock the sweep queues in between is seen). None if it did not settle in time."""
    deadline = time.monotonic() + window_s
    calm = 0
    while time.monotonic() < deadline:
        try:
            ops = operations(stack)
            helm = {r: helm_history(stack, r) for r in POOL}
        except (OSError, RuntimeError):
            ops, helm = [], {}
            calm = -1
        done = calm >= 0 and all(o["status"] in TERMINAL for o in ops)
        pending = any(h and str(h[-1]["status"]).startswith("pending") for h in helm.values())
        calm = calm + 1 if done and not pending else 0
        if calm >= 2:
            return Settled(ops, helm)
        time.sleep(2)
    return None


def check(stack: StackProcess, ledger: Ledger, settled: Settled) -> list[str]:
    """The violations of the invariants, as lines (empty: all hold)."""
    bad: list[str] = []
    by_id = {o["id"]: o for o in settled.operations}
    for op_id, req in ledger.accepted.items():
        op = by_id.get(op_id)
        if op is None:
            bad.append(f"accepted operation {op_id} ({req.verb} {req.release}) is unknown to the service")
        elif op["status"] not in TERMINAL:
            bad.append(f"operation {op_id} ({op['action']} {req.release}) is {op['status']}, not terminal")
    for key, ids in ledger.by_key.items():
        if len(set(ids)) != 1:
            bad.append(f"Idempotency-Key {key} answered several operations: {sorted(set(ids))}")
    for release in POOL:
        bad += _release(stack, release, settled)
    return bad


def _release(stack: StackProcess, release: str, settled: Settled) -> list[str]:
    bad: list[str] = []
    history = settled.helm.get(release, [])
    last = history[-1] if history else None
    if last and str(last["status"]).startswith("pending"):
        bad.append(f"{release}: helm holds it {last['status']}")
    status, record = stack.get(f"{RELEASES_PATH}/{release}")
    if last is None or last["status"] == "uninstalled":
        gone = status == 404 or (status == 200 and record["status"] == "uninstalled")  # the record stays, uninstalled
        if not gone:
            bad.append(f"{release}: helm has no release but the store answers {status} {_brief(record)}")
    elif status != 200:
        bad.append(f"{release}: helm has revision {last['revision']} ({last['status']}) but the store answers {status}")
    else:
        stored = (record["status"], record["revision"], f"{record['chart']}-{record['chart_version']}")
        helms = (last["status"], last["revision"], last["chart"])
        if stored != helms:
            bad.append(f"{release}: store {stored} != helm {helms}")
        _, hist = stack.get(f"{RELEASES_PATH}/{release}/history?max=1000")
        if len(hist["history"]) != len(history):
            bad.append(f"{release}: store history {len(hist['history'])} revisions, helm {len(history)}")
    bad += _ran_once(release, settled, history)
    return bad


def _ran_once(release: str, settled: Settled, history: list[dict[str, Any]]) -> list[str]:
    """Succeeded revision-making operations since the release's history last began (an uninstall, whatever its
    outcome, or an install at revision 1) have distinct revisions, none beyond helm's newest. (Found wrong by a
    30-minute run: an uninstall cut off by a stopped stack after helm finished ends failed, yet the history is
    gone.)"""
    since: list[dict[str, Any]] = []
    everything = sorted(
        (o for o in settled.operations if o["release"]["name"] == release), key=lambda o: str(o["finished_at"])
    )
    for op in everything:
        fresh = op["action"] == "install" and int((op.get("result") or {}).get("revision") or 0) == 1
        if op["action"] == "uninstall" or fresh:
            # a new history: an uninstall may have removed the release though it ended failed (cut off after helm
            # finished: Interrupted, WorkerLost), and an install at revision 1 starts one anyway
            since = []
        if op["status"] == "succeeded" and op["action"] in REVISION_VERBS:
            since.append(op)
    revisions = [int((o.get("result") or {}).get("revision") or 0) for o in since]
    bad = []
    if len(set(revisions)) != len(revisions):
        bad.append(f"{release}: two succeeded operations report the same revision: {revisions}")
    newest = int(history[-1]["revision"]) if history else 0
    if revisions and max(revisions) > newest:
        bad.append(f"{release}: an operation reports revision {max(revisions)}, helm's newest is {newest}")
    return bad


def reuse(stack: StackProcess, ledger: Ledger, settled: Settled) -> list[str]:
    """Use every name again with the verb that should work on it, and wait for the operation: it must succeed."""
    bad: list[str] = []
    for release in POOL:
        history = settled.helm.get(release, [])
        exists = bool(history) and history[-1]["status"] != "uninstalled"
        chart = {"chart": stack.chart_url("hello", "0.1.0"), "set": {"greeting": "reuse"}, "timeout": 30}
        req = (
            Request("upgrade", release, "PUT", f"{RELEASES_PATH}/{release}", chart, True, None)
            if exists
            else Request(
                "install",
                release,
                "POST",
                RELEASES_PATH,
                {"name": release, "create_namespace": True, **chart},
                True,
                None,
            )
        )
        status, body = stack.call(req.method, req.path, req.body, req.headers(), timeout=90)
        ledger.record(req, status, body)
        if status not in (200, 201, 202):
            bad.append(f"{release}: {req.verb} to reuse it answered {status} {_brief(body)}")
            continue
        op = _wait(stack, body["id"], 90)
        if op.get("status") != "succeeded":
            bad.append(f"{release}: {req.verb} to reuse it ended {op.get('status')} {_brief(op.get('error'))}")
    return bad


def replay_keys(stack: StackProcess, ledger: Ledger) -> None:
    """Send every keyed request once more: the answers join the ledger (they must name the same operation)."""
    for req in list(ledger.keyed.values()):
        send(stack, req, ledger)


def _wait(stack: StackProcess, op_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        _, op = stack.get(f"/v1/operations/{op_id}")
        if op.get("status") in TERMINAL or time.monotonic() > deadline:
            return dict(op)
        time.sleep(0.5)


def _brief(value: Any) -> str:
    return json.dumps(value)[:200]
