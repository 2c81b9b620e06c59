"""Where a request's CPU goes: cProfile of the app **in this process** on a real local stack, per request kind.

    .venv/bin/python -m bench.profile                         # 10 rounds, helm 4, top 20 per kind
    .venv/bin/python -m bench.profile --rounds 30 --top 30 --dump /tmp/prof   # .pstats files too (snakeviz, pstats)

The stack is the benchmark's (``bench/fixture.py``: ``StackConfig.isolated``, DynamoDB Local, moto, the real
kube-apiserver and helm binary) started **without workers**; the app runs here as the cost phase runs it
(``bench/cost.py``: Chalice's test client for HTTP, the Lambda handlers called directly), so what is profiled is the
code a Lambda container runs, not ``chalice local``'s HTTP server. The profiler's clock is ``time.thread_time``:
the figures are the **CPU** time of the thread that runs the request, which other people's load on the machine
changes much less than wall time; the time spent waiting for DynamoDB, moto or helm is not in them (it is in the
wall column). The whole process's CPU (``time.process_time``) is reported beside it: it also holds the benchmark
chart server's thread, which runs in this process and serves the chart downloads. helm's own CPU (the children's,
``RUSAGE_CHILDREN``) is reported apart.

Request kinds, each round (the first round warms the container and is not counted; the counted rounds alternate
between the profiler, whose tables are printed, and plain runs, whose CPU and wall figures are printed: the
profiler's own overhead makes call-heavy code such as botocore two to four times slower):

* ``accept``: ``POST .../releases`` without ``Prefer: wait`` (the 202 path: checks, accept transaction, queue);
* ``worker``: the ``execute_operations`` handler running that queued install (the SQS event as the trigger hands
  it: the message is received and deleted outside the measurement; then helm and the finish);
* ``sync``: ``POST .../releases`` with ``Prefer: wait`` and a 15 s timeout (accept, run and finish in the request);
* ``get``: ``GET .../releases/{name}``.

Printed per kind: CPU and wall ms per request, helm's CPU, then the top functions by own CPU time (``tottime``) and
by cumulative CPU time restricted to the service's code (``chalicelib/``, ``app.py``) and by library (the module
that owns each function's own time), all per request.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import cost, fixture
from bench.bench_releases import HELMS, NAMESPACE, log

KINDS = ("accept", "worker", "sync", "get")
SYNC_TIMEOUT_S = 15


@dataclass
class Kind:
    """One request kind over the counted rounds: every other one under the profiler (its tables, with the
    profiler's own overhead), the others plain (the CPU and wall figures: cProfile inflates call-heavy code such as
    botocore two to four times)."""

    profile: cProfile.Profile = field(default_factory=lambda: cProfile.Profile(time.thread_time))
    n: int = 0  # profiled rounds
    plain_n: int = 0  # rounds without the profiler
    cpu_s: float = 0.0  # the request's thread, plain rounds
    profiled_cpu_s: float = 0.0  # the same under the profiler
    process_cpu_s: float = 0.0  # the whole process (the chart server's thread too), plain rounds
    wall_s: float = 0.0  # plain rounds
    child_cpu_s: float = 0.0  # helm's processes, plain rounds

    @contextmanager
    def measured(self, counted: bool, profiled: bool = True) -> Iterator[None]:
        if not counted:
            yield
            return
        cpu, process, wall, child = time.thread_time(), time.process_time(), time.perf_counter(), _children_cpu()
        if profiled:
            self.profile.enable()
        try:
            yield
        finally:
            if profiled:
                self.profile.disable()
                self.n += 1
                self.profiled_cpu_s += time.thread_time() - cpu
            else:
                self.plain_n += 1
                self.cpu_s += time.thread_time() - cpu
                self.process_cpu_s += time.process_time() - process
                self.wall_s += time.perf_counter() - wall
                self.child_cpu_s += _children_cpu() - child


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def where(filename: str) -> str:
    """The owner of a function's file: ``chalicelib/<layer>/<module>``, ``app.py``, a library's top package,
    the standard library's module, or ``~`` (built-ins)."""
    if filename == "~" or filename.startswith("<"):
        return "~builtins"
    parts = Path(filename).parts
    if "chalicelib" in parts:
        i = parts.index("chalicelib")
        return "/".join(parts[i : i + 3]).removesuffix(".py")
    if "site-packages" in parts:
        i = parts.index("site-packages")
        return parts[i + 1].removesuffix(".py") if i + 1 < len(parts) else filename
    if parts and parts[-1] == "app.py":
        return "app.py"
    if "lib" in parts:  # the standard library: its module
        i = len(parts) - 1 - parts[::-1].index("lib")
        return "stdlib:" + "/".join(parts[i + 2 :]).removesuffix(".py")
    return filename


def label(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    owner = where(filename)
    return f"{owner}:{line}({name})" if owner != "~builtins" else name


def summary(kind: Kind, top: int) -> dict[str, Any]:
    """Per-request figures of one kind: totals, top own-time functions, top cumulative service functions, and
    own time by owner."""
    n, plain = max(1, kind.n), max(1, kind.plain_n)
    stats = pstats.Stats(kind.profile)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    rows = [(func, nc, tt, ct) for func, (_cc, nc, tt, ct, _callers) in raw.items()]
    by_own = sorted(rows, key=lambda r: -r[2])[:top]
    ours = [r for r in rows if where(r[0][0]).startswith(("chalicelib/", "app.py"))]
    by_cum = sorted(ours, key=lambda r: -r[3])[:top]
    owners: dict[str, float] = defaultdict(float)
    for func, _nc, tt, _ct in rows:
        owners[where(func[0])] += tt
    return {
        "n": kind.n,
        "plain_n": kind.plain_n,
        "cpu_ms": 1000 * kind.cpu_s / plain,
        "profiled_cpu_ms": 1000 * kind.profiled_cpu_s / n,
        "process_cpu_ms": 1000 * kind.process_cpu_s / plain,
        "wall_ms": 1000 * kind.wall_s / plain,
        "helm_cpu_ms": 1000 * kind.child_cpu_s / plain,
        "own": [(label(f), nc / n, 1000 * tt / n) for f, nc, tt, _ct in by_own],
        "cumulative": [(label(f), nc / n, 1000 * ct / n) for f, nc, _tt, ct in by_cum],
        "owners": sorted(((o, 1000 * t / n) for o, t in owners.items()), key=lambda r: -r[1])[:top],
    }


def render(results: dict[str, dict[str, Any]]) -> str:
    out: list[str] = []
    for name, r in results.items():
        out += [
            "",
            f"== {name}: {r['cpu_ms']:.1f} ms CPU (the process: {r['process_cpu_ms']:.1f}), {r['wall_ms']:.1f} ms "
            f"wall per request (helm's CPU {r['helm_cpu_ms']:.1f} ms), n = {r['plain_n']}; under the profiler "
            f"{r['profiled_cpu_ms']:.1f} ms CPU, n = {r['n']} (the tables below)",
            "",
            "  own CPU ms  calls  function (by own time)",
        ]
        out += [f"  {ms:10.2f} {calls:6.0f}  {fn}" for fn, calls, ms in r["own"]]
        out += ["", "  cum CPU ms  calls  service function (by cumulative time)"]
        out += [f"  {ms:10.2f} {calls:6.0f}  {fn}" for fn, calls, ms in r["cumulative"]]
        out += ["", "  own CPU ms  owner"]
        out += [f"  {ms:10.2f}  {owner}" for owner, ms in r["owners"]]
    return "\n".join(out)


def queued_event(app: cost.InProcess) -> Any:
    """The one message the accept queued, as the SQS event the worker function gets (received and deleted here)."""
    import boto3

    sqs = boto3.client("sqs")
    msgs = sqs.receive_message(QueueUrl=app.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=5).get("Messages", [])
    if len(msgs) != 1:
        raise RuntimeError(f"{len(msgs)} messages queued, not 1")
    sqs.delete_message(QueueUrl=app.queue_url, ReceiptHandle=msgs[0]["ReceiptHandle"])
    return app.client.events.generate_sqs_event(queue_name="q", message_bodies=[msgs[0]["Body"]])


def must(status: int, data: Any, ok: tuple[int, ...], what: str) -> Any:
    if status not in ok:
        raise RuntimeError(f"{what}: HTTP {status}: {str(data)[:300]}")
    return data


def run(app: cost.InProcess, chart: str, values: dict[str, Any], rounds: int) -> dict[str, Kind]:
    """``rounds`` + 1 rounds of every kind (the first not counted), on distinct release names."""
    kinds = {k: Kind() for k in KINDS}
    base = f"/v1/clusters/{app.cluster}/namespaces/{NAMESPACE}/releases"
    scratch = cost.Usage()
    for i in range(rounds + 1):
        counted, profiled = i > 0, i % 2 == 1
        body: dict[str, Any] = {"name": f"prof-a{i:03d}", "chart": chart, "values": values}
        with kinds["accept"].measured(counted, profiled):
            status, op = app.http(scratch, "POST", base, body)
        must(status, op, (202,), "accept")
        event = queued_event(app)  # taken off the queue as the SQS trigger does: not the function's work
        with kinds["worker"].measured(counted, profiled):
            app.handler(scratch, "execute_operations", event)
        body = {"name": f"prof-s{i:03d}", "chart": chart, "values": values, "timeout": SYNC_TIMEOUT_S}
        with kinds["sync"].measured(counted, profiled):
            status, op = app.http(scratch, "POST", base, body, wait=True)
        must(status, op, (200, 201), "sync install")
        if op.get("status") != "succeeded":
            raise RuntimeError(f"sync install ended {op.get('status')}: {op}")
        with kinds["get"].measured(counted, profiled):
            status, data = app.http(scratch, "GET", f"{base}/prof-s{i:03d}")
        must(status, data, (200,), "get")
        log(f"profile: round {i + 1}/{rounds + 1} done")
    return kinds


def measure(state: Path, helm: int, rounds: int, top: int, manifest_kb: int) -> dict[str, dict[str, Any]]:
    with fixture.running(state, HELMS[helm], helm, 0, manifest_kb) as b:
        env = {k: v for k, v in b.stack.env().items() if k.startswith(("AWS_", "CHARTHOUSE_"))}
        with cost.in_process(env, b.stack.token, b.api.cluster, cost.Meter()) as app:  # the meter not installed
            kinds = run(app, b.chart_url, b.values["v1"], rounds)
    return {name: {**summary(k, top), "profile": k.profile} for name, k in kinds.items()}


def main(argv: list[str] | None = None, measure_fn: Callable[..., dict[str, dict[str, Any]]] = measure) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    p.add_argument("--helm", type=int, choices=sorted(HELMS), default=4, help="helm major (default 4)")
    p.add_argument("--rounds", type=int, default=10, help="counted rounds of each kind, half profiled (default 10)")
    p.add_argument("--top", type=int, default=20, help="rows per table (default 20)")
    p.add_argument("--manifest-kb", type=int, default=60, help="rendered size of the benchmark chart (default 60)")
    p.add_argument("--dump", type=Path, help="write <kind>.pstats here (pstats, snakeviz)")
    p.add_argument("--json", type=Path, help="write the tables as JSON here")
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="charthouse-profile-") as tmp:
        results = measure_fn(Path(tmp), a.helm, max(1, a.rounds), a.top, a.manifest_kb)
    if a.dump:
        a.dump.mkdir(parents=True, exist_ok=True)
        for name, r in results.items():
            r["profile"].dump_stats(str(a.dump / f"{name}.pstats"))
    tables = {name: {k: v for k, v in r.items() if k != "profile"} for name, r in results.items()}
    if a.json:
        a.json.write_text(json.dumps(tables, indent=1))
    print(render(tables))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
