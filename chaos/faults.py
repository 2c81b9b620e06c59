"""The faults, one per round: each finds its target among the stack's live processes when it fires."""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable

from chaos.actions import Ledger, budget_request, send
from chaos.stackproc import StackProcess
from devstack.lifecycle import parent_of

STOP_LIMIT_S = 10.0  # a SIGTERMed stack must be gone within this long


def _signal(pid: int, sig: signal.Signals) -> bool:
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


def _first(find: Callable[[], list[int]], within_s: float) -> list[int]:
    """Poll ``find`` until it finds something, for up to ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while True:
        found = find()
        if found or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)


def kill_worker(stack: StackProcess, rng: random.Random, ledger: Ledger) -> str:
    """SIGKILL a worker, one running helm if there is one (as a Lambda timeout or an out-of-memory kill)."""
    busy = [p for h in _first(lambda: stack.pids_of("helm"), 3) if (p := parent_of(h)) in stack.pids_of("worker")]
    workers = busy or stack.pids_of("worker")
    if not workers:
        return "no worker"
    pid = rng.choice(workers)
    _signal(pid, signal.SIGKILL)
    return f"worker {pid}{' (running helm)' if busy else ''}"


def kill_helm(stack: StackProcess, rng: random.Random, ledger: Ledger) -> str:
    """SIGKILL a helm child mid-operation."""
    helms = _first(lambda: stack.pids_of("helm"), 5)
    if not helms:
        return "no helm running"
    pid = rng.choice(helms)
    _signal(pid, signal.SIGKILL)
    return f"helm {pid}"


def restart_stack(stack: StackProcess, rng: random.Random, ledger: Ledger) -> str:
    """SIGTERM the whole stack (as Ctrl-C), then start it again on the same state."""
    seconds = stack.stop(signal.SIGTERM, timeout=60)
    if seconds > STOP_LIMIT_S:
        ledger.slow_stops.append(seconds)
    leftovers = stack.leftovers()
    if leftovers:
        ledger.leftovers.extend(leftovers)
    stack.start()
    return f"stopped in {seconds:.1f} s, started again"


def freeze_aws(stack: StackProcess, rng: random.Random, ledger: Ledger) -> str:
    """SIGSTOP the AWS emulator and DynamoDB Local for a few seconds."""
    pids = stack.pids_of("aws")
    if not pids:
        return "no emulator"
    seconds = rng.uniform(2, 6)
    for pid in pids:
        _signal(pid, signal.SIGSTOP)
    try:
        time.sleep(seconds)
    finally:
        for pid in pids:
            _signal(pid, signal.SIGCONT)
    return f"emulator and DynamoDB Local frozen {seconds:.1f} s"


def restart_apiserver(stack: StackProcess, rng: random.Random, ledger: Ledger) -> str:
    """Stop the kube-apiserver; the stack starts it again (etcd keeps the objects)."""
    pids = stack.pids_of("kube-apiserver")
    if not pids:
        return "no kube-apiserver"
    _signal(pids[0], rng.choice((signal.SIGTERM, signal.SIGKILL)))
    return f"kube-apiserver {pids[0]}"


def exhaust_budget(stack: StackProcess, rng: random.Random, ledger: Ledger) -> str:
    """An operation whose helm timeout runs out: Pods that never become ready, waited for a few seconds."""
    req = budget_request(stack, rng)
    send(stack, req, ledger)
    return f"{req.verb} {req.release} wait timeout {req.body['timeout'] if req.body else '?'} s"


FAULTS: dict[str, Callable[[StackProcess, random.Random, Ledger], str]] = {
    "kill-worker": kill_worker,
    "kill-helm": kill_helm,
    "restart-stack": restart_stack,
    "freeze-aws": freeze_aws,
    "restart-apiserver": restart_apiserver,
    "exhaust-budget": exhaust_budget,
}
