"""4. Throughput: concurrent operations on distinct releases, with N workers.

For each N, a fresh stack with N worker processes: ``count`` installs of distinct releases are submitted at once
(``SUBMITTERS`` client threads), then, when all have ended, ``count`` uninstalls the same way. Operations per minute
= operations that succeeded / (the last ``finished_at`` - the first request) x 60. Beside it, the raw helm CLI doing
the same installs and uninstalls N at a time on the same cluster: the machine's own ceiling for that N.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import fixture
from bench.bench_releases import BenchError, log
from bench.report import block, ms

SUBMITTERS = 4
POLL_S = 0.2


def _ts(iso: str | None) -> float:
    return datetime.fromisoformat(iso).timestamp() if iso else 0.0


def cpu_seconds(pid: int | None) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` and its children (Linux ``/proc``; 0 elsewhere)."""
    if pid is None:
        return 0.0
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def api_batch(b: fixture.Bench, calls: list[tuple[str, str, Any]]) -> dict[str, Any]:
    """Submit every call concurrently, wait for every operation; (ops/min and what it is made of). The API
    processes' CPU while accepting is counted too (nothing else calls the API then)."""
    api_pid = b.stack.pid("api")
    cpu_before = cpu_seconds(api_pid)
    first = time.time()
    with ThreadPoolExecutor(SUBMITTERS) as pool:
        submitted = list(pool.map(lambda c: _submit(b, c), calls))
    accepted = time.time()
    api_cpu_s = cpu_seconds(api_pid) - cpu_before
    deadline = time.monotonic() + 600 + 10 * len(calls)
    finished: list[float] = []
    failed, errors = 0, list[str]()
    accept_ms = sorted(1000 * took for _op, _err, took in submitted)
    for op_id, err, _took in submitted:
        if not op_id:
            failed, errors = failed + 1, errors + [err]
            continue
        try:
            op = b.api.wait(op_id, POLL_S, deadline)
            finished.append(_ts(op.get("finished_at")))
        except BenchError as exc:
            failed, errors = failed + 1, errors + [str(exc)[:200]]
    span = (max(finished) if finished else time.time()) - first
    ok = len(calls) - failed
    return {
        "ops": len(calls),
        "succeeded": ok,
        "failed": failed,
        "seconds": span,
        "submit_s": accepted - first,
        "api_cpu_ms_per_accept": 1000 * api_cpu_s / len(calls) if calls else 0.0,
        "accept_ms_p50": accept_ms[len(accept_ms) // 2] if accept_ms else 0.0,
        "accept_ms_p95": accept_ms[min(len(accept_ms) - 1, int(len(accept_ms) * 0.95))] if accept_ms else 0.0,
        "ops_per_min": ok / span * 60 if span > 0 else 0.0,
        "retries_503": b.api.retries,
        "errors": errors[:3],
    }


def _submit(b: fixture.Bench, call: tuple[str, str, Any]) -> tuple[str | None, str, float]:
    """(operation id or None, the error, seconds to the answer)."""
    started = time.perf_counter()
    try:
        return b.api.submit(*call), "", time.perf_counter() - started
    except (BenchError, OSError) as exc:
        return None, str(exc)[:200], time.perf_counter() - started


def helm_batch(b: fixture.Bench, argvs: list[list[str]], parallel: int) -> dict[str, Any]:
    started = time.perf_counter()
    errors: list[str] = []

    def one(argv: list[str]) -> None:
        try:
            b.helm.run(argv)
        except (BenchError, OSError) as exc:
            errors.append(str(exc)[:200])

    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(one, argvs))
    span = time.perf_counter() - started
    ok = len(argvs) - len(errors)
    return {
        "ops": len(argvs),
        "succeeded": ok,
        "failed": len(errors),
        "seconds": span,
        "ops_per_min": ok / span * 60 if span > 0 else 0.0,
        "errors": errors[:3],
    }


def one_n(state: Path, helm_binary: Path, major: int, workers: int, count: int, manifest_kb: int) -> dict[str, Any]:
    with fixture.running(state, helm_binary, major, workers, manifest_kb) as b:
        names = [f"tp-{i:04d}" for i in range(count)]
        install = [
            ("POST", b.api.release_path(), {"name": n, "chart": b.chart_url, "values": b.values["v1"]}) for n in names
        ]
        out: dict[str, Any] = {"workers": workers, "count": count}
        out["api_install"] = api_batch(b, install)
        out["api_uninstall"] = api_batch(b, [("DELETE", b.api.release_path(n), None) for n in names])
        raw = [f"tpraw-{i:04d}" for i in range(count)]
        out["helm_install"] = helm_batch(
            b, [b.helm.argv("install", n, b.chart_url, b.files["v1"]) for n in raw], workers
        )
        out["helm_uninstall"] = helm_batch(b, [b.helm.argv("uninstall", n) for n in raw], workers)
    for key in ("api_install", "api_uninstall", "helm_install", "helm_uninstall"):
        r = out[key]
        log(
            f"throughput N={workers} {key}: {r['succeeded']}/{r['ops']} in {r['seconds']:.1f} s = "
            f"{r['ops_per_min']:.0f}/min"
        )
    return out


def measure(
    tmp: Path, helm_binary: Path, major: int, worker_counts: list[int], count: int, manifest_kb: int
) -> list[dict[str, Any]]:
    return [one_n(tmp / f"throughput-{n}", helm_binary, major, n, count, manifest_kb) for n in worker_counts]


def _combined(r: dict[str, Any], side: str) -> float:
    a, b = r[f"{side}_install"], r[f"{side}_uninstall"]
    seconds = a["seconds"] + b["seconds"]
    return (a["succeeded"] + b["succeeded"]) / seconds * 60 if seconds > 0 else 0.0


def render(results: list[dict[str, Any]], md: bool = False) -> str:
    header = [
        "N",
        "ops",
        "API install/min",
        "API uninstall/min",
        "API all/min",
        "x vs N=1",
        "helm -P N install/min",
        "helm -P N uninstall/min",
        "helm all/min",
        "API/helm",
        "failed",
        "503 retried",
        "submit all ms",
    ]
    rows = []
    base = _combined(results[0], "api") if results else 0.0
    for r in results:
        api_all, helm_all = _combined(r, "api"), _combined(r, "helm")
        rows.append(
            [
                str(r["workers"]),
                str(2 * r["count"]),
                f"{r['api_install']['ops_per_min']:.0f}",
                f"{r['api_uninstall']['ops_per_min']:.0f}",
                f"{api_all:.0f}",
                f"{api_all / base:.2f}x" if base else "-",
                f"{r['helm_install']['ops_per_min']:.0f}",
                f"{r['helm_uninstall']['ops_per_min']:.0f}",
                f"{helm_all:.0f}",
                f"{api_all / helm_all:.2f}" if helm_all else "-",
                str(r["api_install"]["failed"] + r["api_uninstall"]["failed"]),
                str(r["api_uninstall"]["retries_503"]),
                ms(r["api_install"]["submit_s"]),
            ]
        )
    return block(
        "4. Throughput: concurrent operations on distinct releases, N workers (fresh stack per N) vs raw "
        "helm N at a time",
        header,
        rows,
        md,
    )
