"""The harness's loop: ``python -m chaos --seed N [--rounds R] [--minutes M] [--state-dir DIR]``.

Each round sends a few random calls (``actions.py``) on a pool of three releases, fires one fault of a random kind
(``faults.py``) at a random moment among them, replays the Idempotency-Keys, waits for the round to settle (the
sweep and restart recovery only: the harness never calls unlock), then checks the invariants (``invariants.py``)
and uses every name again. Every choice comes from ``--seed``: a failure prints the seed and round to replay.
Exit status 0 when no invariant was violated.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from chaos import invariants
from chaos.actions import POOL, Ledger, Request, random_request, send
from chaos.faults import FAULTS
from chaos.stackproc import StackProcess

SETTLE_WINDOW_S = 150.0  # a lost worker's lease (15 s + 30 s + 1 s), the sweep, the unlock, and slack
CALLS_PER_ROUND = (2, 5)
FAULT_AT_S = (0.3, 5.0)


@dataclass
class Report:
    seed: int
    rounds: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    missed: Counter[str] = field(default_factory=Counter)  # faults that found no target (no helm running, ...)
    operations: Counter[str] = field(default_factory=Counter)  # terminal status (and error code) -> count
    answers: Counter[int] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "seed": self.seed,
            "rounds": self.rounds,
            "faults": dict(self.faults),
            "faults_without_target": dict(self.missed),
            "operations": dict(self.operations),
            "answers": {str(k): v for k, v in sorted(self.answers.items())},
            "violations": self.violations,
            "seconds": round(self.seconds, 1),
        }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=None, help="stop after this many rounds")
    parser.add_argument("--minutes", type=float, default=None, help="stop starting rounds after this long")
    parser.add_argument("--faults", default=",".join(FAULTS), help="the fault kinds to draw from (comma-separated)")
    parser.add_argument("--state-dir", type=Path, default=None, help="the stack's state (default: a temp dir)")
    parser.add_argument("--report", type=Path, default=None, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    if args.rounds is None and args.minutes is None:
        args.rounds = 5
    unknown = set(args.faults.split(",")) - set(FAULTS)
    if unknown:
        parser.error(f"--faults: unknown kind(s) {', '.join(sorted(unknown))}; known: {', '.join(FAULTS)}")
    return args


def one_round(stack: StackProcess, rng: random.Random, kinds: list[str], report: Report, number: int) -> list[str]:
    """One round: calls, one fault, replays, settle, invariants, reuse. Returns its violations."""
    ledger = Ledger()
    calls = [random_request(stack, rng) for _ in range(rng.randint(*CALLS_PER_ROUND))]
    offsets = sorted(rng.uniform(0, FAULT_AT_S[1]) for _ in calls)
    kind = rng.choice(kinds)
    fault_at = rng.uniform(*FAULT_AT_S)
    started = time.monotonic()
    threads = []
    for req, offset in zip(calls, offsets, strict=True):

        def later(req: Request = req, offset: float = offset) -> None:
            time.sleep(max(0.0, started + offset - time.monotonic()))
            send(stack, req, ledger)

        threads.append(threading.Thread(target=later, daemon=True))
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, started + fault_at - time.monotonic()))
    what = FAULTS[kind](stack, rng, ledger)
    report.faults[kind] += 1
    if what.startswith("no "):
        report.missed[kind] += 1
    print(
        f"round {number}: {len(calls)} calls ({', '.join(f'{c.verb} {c.release}' for c in calls)}); "
        f"fault {kind} at {fault_at:.1f} s: {what}",
        flush=True,
    )
    for thread in threads:
        thread.join(timeout=180)
    invariants.replay_keys(stack, ledger)
    bad = [f"a stack stop took {s:.1f} s" for s in ledger.slow_stops]
    bad += [f"process {pid} outlived the stopped stack" for pid in ledger.leftovers]
    settled = invariants.settle(stack, SETTLE_WINDOW_S)
    if settled is None:
        bad.append(f"the round did not settle within {SETTLE_WINDOW_S:.0f} s (operations running or helm pending)")
        settled = invariants.Settled(invariants.operations(stack), {r: invariants.helm_history(stack, r) for r in POOL})
    bad += invariants.check(stack, ledger, settled)
    if not bad:
        bad += invariants.reuse(stack, ledger, settled)
    for op_id in ledger.accepted:
        op = next((o for o in settled.operations if o["id"] == op_id), None)
        if op is not None:
            code = (op.get("error") or {}).get("code")
            report.operations[op["status"] + (f" ({code})" if code else "")] += 1
    report.answers.update(ledger.answers)
    return bad


def run(args: argparse.Namespace) -> Report:
    report = Report(seed=args.seed)
    kinds = args.faults.split(",")
    temp = None if args.state_dir else Path(tempfile.mkdtemp(prefix="chaos-"))
    state = args.state_dir or temp
    assert state is not None
    stack = StackProcess(state / "stack")
    started = time.monotonic()
    try:
        stack.start()
        number = 0
        while True:
            if args.rounds is not None and number >= args.rounds:
                break
            if args.minutes is not None and time.monotonic() - started > args.minutes * 60:
                break
            number += 1
            rng = random.Random(f"{args.seed}/{number}")  # a round replays alone: same seed, same number
            try:
                bad = []
                if stack.proc is not None and stack.proc.poll() is not None:
                    bad.append(f"the stack exited on its own ({stack.proc.returncode}); started again")
                    stack.start()
                bad += one_round(stack, rng, kinds, report, number)
            except Exception as exc:  # noqa: BLE001 - the harness itself failing is reported, with the seed
                bad = [f"the round failed: {type(exc).__name__}: {exc}"]
            report.rounds = number
            for line in bad:
                report.violations.append(f"round {number}: {line}")
                print(f"VIOLATION seed {args.seed} round {number}: {line}", flush=True)
            if bad:
                print(f"replay: python -m chaos --seed {args.seed} --rounds {number}", flush=True)
    finally:
        stack.close()
        report.seconds = time.monotonic() - started
        if temp is not None and not report.violations:
            shutil.rmtree(temp, ignore_errors=True)
        elif temp is not None:
            print(f"the stack's state and logs are kept in {temp}", flush=True)
    return report


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM as Ctrl-C: the stack is stopped on the way out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
    report = run(args)
    figures = report.to_json()
    print(json.dumps(figures, indent=2), flush=True)
    if args.report:
        args.report.write_text(json.dumps(figures, indent=2) + "\n")
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
