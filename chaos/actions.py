"""The random client: one verb on one release of the pool, with or without ``wait``, sync (``Prefer: wait``) or
async, with or without an Idempotency-Key (replayed later: it must answer with the same operation)."""

from __future__ import annotations

import random
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from chaos.stackproc import StackProcess

NS = "chaos"
RELEASES_PATH = f"/v1/clusters/local/namespaces/{NS}/releases"
POOL = ("c0", "c1", "c2")
VERBS = ("install", "upgrade", "rollback", "uninstall")
OP_TIMEOUT_S = 15  # helm's --timeout for the harness's operations: a lost worker's lease ends 46 s later
SYNC_WAIT_S = 20  # Prefer: wait=N of a sync call


@dataclass(frozen=True)
class Request:
    """One mutating call as sent (so that it can be sent again with its key)."""

    verb: str
    release: str
    method: str
    path: str
    body: dict[str, Any] | None
    sync: bool
    key: str | None

    def headers(self) -> dict[str, str]:
        return {
            **({"Prefer": f"wait={SYNC_WAIT_S}"} if self.sync else {}),
            **({"Idempotency-Key": self.key} if self.key else {}),
        }


@dataclass
class Ledger:
    """What the client saw: accepted operations (by id) and, per Idempotency-Key, every operation id answered."""

    accepted: dict[str, Request] = field(default_factory=dict)
    by_key: dict[str, list[str]] = field(default_factory=dict)
    keyed: dict[str, Request] = field(default_factory=dict)
    answers: dict[int, int] = field(default_factory=dict)  # HTTP status -> count (0: no answer)
    slow_stops: list[float] = field(default_factory=list)  # stack stops that took longer than the limit
    leftovers: list[int] = field(default_factory=list)  # processes that outlived a stopped stack
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, req: Request, status: int, body: Any) -> None:
        with self._lock:
            self.answers[status] = self.answers.get(status, 0) + 1
            op_id = body.get("id") if isinstance(body, dict) and status in (200, 201, 202) else None
            if not isinstance(op_id, str):
                return
            self.accepted.setdefault(op_id, req)
            if req.key:
                self.by_key.setdefault(req.key, []).append(op_id)
                self.keyed[req.key] = req


def chart_body(stack: StackProcess, rng: random.Random, wait: bool) -> dict[str, Any]:
    """A chart and values: hello (a ConfigMap: quick) or webapp (Pods on the simulated nodes: slow with wait)."""
    if rng.random() < 0.5:
        return {"chart": stack.chart_url("hello", "0.1.0"), "set": {"greeting": f"g{rng.randrange(1000)}"}}
    return {
        "chart": stack.chart_url("webapp", "0.1.0"),
        "set": {"config": {"greeting": f"g{rng.randrange(1000)}"}, "replicaCount": rng.randint(1, 2)},
    }


def random_request(stack: StackProcess, rng: random.Random) -> Request:
    verb = rng.choice(VERBS)
    release = rng.choice(POOL)
    wait = rng.random() < 0.5
    sync = rng.random() < 0.4
    key = f"chaos-{uuid.UUID(int=rng.getrandbits(128)).hex[:16]}" if rng.random() < 0.4 else None
    common: dict[str, Any] = {"timeout": OP_TIMEOUT_S}
    path = f"{RELEASES_PATH}/{release}"
    match verb:
        case "install":
            body = {"name": release, **chart_body(stack, rng, wait), "wait": wait, "create_namespace": True, **common}
            return Request(verb, release, "POST", RELEASES_PATH, body, sync, key)
        case "upgrade":
            body = {**chart_body(stack, rng, wait), "wait": wait, **common}
            return Request(verb, release, "PUT", path, body, sync, key)
        case "rollback":
            return Request(verb, release, "POST", f"{path}/rollback", {"wait": wait, **common}, sync, key)
        case _:
            # with helm's default timeout (300 s) a lost worker's uninstall would hold its lease 331 s, past the
            # settle window (found by seed 23, round 2)
            return Request(verb, release, "DELETE", path, {"wait": wait, **common}, sync, key)


def budget_request(stack: StackProcess, rng: random.Random) -> Request:
    """The time-budget fault: an install or upgrade whose Pods never become ready, waited for with a short timeout,
    so that helm's budget runs out mid-operation."""
    release = rng.choice(POOL)
    body: dict[str, Any] = {
        "chart": stack.chart_url("webapp", "0.1.0"),
        "set": {"image": {"tag": "never-ready"}},
        "wait": True,
        "timeout": rng.randint(2, 5),
    }
    if rng.random() < 0.5:
        body |= {"name": release, "create_namespace": True}
        return Request("install", release, "POST", RELEASES_PATH, body, False, None)
    return Request("upgrade", release, "PUT", f"{RELEASES_PATH}/{release}", body, False, None)


def send(stack: StackProcess, req: Request, ledger: Ledger) -> None:
    """Send one request; a connection that fails (the stack restarting) is an answer of 0."""
    try:
        status, body = stack.call(req.method, req.path, req.body, req.headers(), timeout=SYNC_WAIT_S + 30)
    except OSError:
        status, body = 0, None
    ledger.record(req, status, body)
