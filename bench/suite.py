"""The benchmark suite, one command: ``.venv/bin/python -m bench [--quick] [--helm 3|4] [--out FILE]``.

Phases, in this order, each on a fresh stack (a failed phase is retried once, its error recorded, and the next
one still runs; the results file is rewritten after each phase):

3. cold start and size (no stack: ``coldstart.py``), first, while the machine carries none of our own load;
1. overhead per verb, API against raw helm, interleaved (``overhead.py``);
2. list and history at scale (``scale.py``; its own stack: seeded records would slow every write of the other
   phases, since the emulator's transactions copy the whole table);
4. throughput with N workers (``throughput.py``), a fresh stack per N;
5. what each operation would be billed for (``cost.py``: the app in this process on a stack without workers).

Results: JSON (machine, versions, options, every figure with its samples) to ``--out`` (default
``bench/results/<UTC date>-helm<major>[-quick].json``), the printed tables to stdout, and the same tables in
Markdown beside the JSON (``.md``) for docs/PERFORMANCE.md. No figure is asserted; target misses are reported.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import coldstart, cost, fixture, fleet, overhead, scale, throughput, workerlog
from bench.bench_releases import HELMS, log
from bench.machine import describe, other_load
from devstack.stack import ROOT

PHASES = ("coldstart", "overhead", "scale", "throughput", "fleet", "cost")


@dataclass(frozen=True)
class Options:
    quick: bool
    helm: int
    out: Path
    phases: tuple[str, ...]
    repetitions: int
    samples: int
    levels: tuple[int, ...]
    real: int
    parallel: int
    workers: int
    worker_counts: tuple[int, ...]
    throughput_ops: int
    import_runs: int
    manifest_kb: int
    keep: bool
    fleet_ops: int = 100
    api_processes: int = 1
    fleet_helm: bool = True


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def parse_args(argv: list[str] | None = None) -> Options:
    p = argparse.ArgumentParser(prog="python -m bench", description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small counts, few repetitions (a smoke run: ~5 min)")
    p.add_argument("--helm", type=int, choices=sorted(HELMS), default=4, help="helm major (default 4)")
    p.add_argument("--out", type=Path, default=None, help="results JSON (default bench/results/<date>-helm<N>.json)")
    p.add_argument("--only", default=",".join(PHASES), help=f"comma-separated phases (default all: {','.join(PHASES)})")
    p.add_argument("--repetitions", type=int, help="interleaved lifecycles per side (default 10; quick 2)")
    p.add_argument("--samples", type=int, help="samples per read and level (default 10; quick 3)")
    p.add_argument("--levels", type=_ints, help="seeded record counts (default 1000,10000,100000; quick 200,1000)")
    p.add_argument("--real", type=int, help="real releases for helm list/history (default 100; quick 10; try 1000)")
    p.add_argument("--parallel", type=int, default=2, help="parallel raw helm installs for the real releases")
    p.add_argument("--workers", type=int, default=2, help="workers of the overhead/scale stack (default 2)")
    p.add_argument("--worker-counts", type=_ints, help="N for the throughput phase (default 1,2,4; quick 1,2)")
    p.add_argument("--throughput-ops", type=int, help="installs (then uninstalls) per N (default 24; quick 4)")
    p.add_argument("--import-runs", type=int, help="fresh interpreters per import path (default 7; quick 2)")
    p.add_argument("--manifest-kb", type=int, default=60, help="rendered size of the benchmark chart (default 60)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (stack logs)")
    p.add_argument("--fleet-large", action="store_true", help="the fleet phase with 1,000 installs (default 100)")
    p.add_argument("--fleet-ops", type=int, help="installs of the fleet phase (default 100; quick 30)")
    p.add_argument(
        "--api-processes",
        type=int,
        default=1,
        help="processes serving the stacks' API (devstack/api.py; default 1; 0: chalice local itself)",
    )
    p.add_argument("--fleet-api-only", action="store_true", help="the fleet phase without its raw helm side")
    a = p.parse_args(argv)
    q = a.quick

    def pick(value: Any, full: Any, quick: Any) -> Any:
        return value if value is not None else (quick if q else full)

    phases = tuple(x for x in a.only.split(",") if x)
    unknown = set(phases) - set(PHASES)
    if unknown:
        p.error(f"unknown phase(s): {', '.join(sorted(unknown))}")
    date = time.strftime("%Y-%m-%d", time.gmtime())
    out = a.out or ROOT / "bench" / "results" / f"{date}-helm{a.helm}{'-quick' if q else ''}.json"
    return Options(
        quick=q,
        helm=a.helm,
        out=out,
        phases=phases,
        repetitions=max(1, pick(a.repetitions, 10, 2)),
        samples=max(1, pick(a.samples, 10, 3)),
        levels=pick(a.levels, (1000, 10000, 100000), (200, 1000)),
        real=max(0, pick(a.real, 100, 10)),
        parallel=max(1, a.parallel),
        workers=max(1, a.workers),
        worker_counts=pick(a.worker_counts, (1, 2, 4), (1, 2)),
        throughput_ops=max(1, pick(a.throughput_ops, 24, 4)),
        import_runs=max(1, pick(a.import_runs, 7, 2)),
        manifest_kb=max(1, a.manifest_kb),
        keep=a.keep,
        fleet_ops=max(1, 1000 if a.fleet_large else pick(a.fleet_ops, 100, 30)),
        api_processes=max(0, a.api_processes),
        fleet_helm=not a.fleet_api_only,
    )


def _phase(
    results: dict[str, Any], name: str, fn: Callable[[], Any], save: Callable[[], None], attempts: int = 2
) -> None:
    """Run one phase (on its own stack); record its result, duration and any error, then save the results file.
    A failed attempt is retried once on a fresh stack (on the shared machine, a stack's processes have been seen
    killed from outside); every failed attempt is recorded."""
    started = time.perf_counter()
    for attempt in range(1, attempts + 1):
        log(f"phase {name}: start (attempt {attempt})")
        try:
            results[name] = fn()
            results.get("errors", {}).pop(name, None)
            break
        except Exception as exc:  # noqa: BLE001 - a benchmark reports what broke and measures the rest
            message = f"{type(exc).__name__}: {exc}"
            results.setdefault("errors", {})[name] = message
            results.setdefault("failed_attempts", []).append({"phase": name, "attempt": attempt, "error": message})
            log(f"phase {name} failed: {exc}\n{traceback.format_exc()}")
    results.setdefault("phase_seconds", {})[name] = time.perf_counter() - started
    log(f"phase {name}: {results['phase_seconds'][name]:.0f} s")
    save()


def run_overhead(opts: Options, state: Path) -> dict[str, Any]:
    with fixture.running(
        state, HELMS[opts.helm], opts.helm, opts.workers, opts.manifest_kb, api_processes=opts.api_processes
    ) as b:
        ctx = overhead.Context(b.api, b.helm, b.chart_url, b.values, b.files, workerlog.LogTail(b.stack.logs))
        return {
            "verbs": [s.to_json() for s in overhead.measure(ctx, opts.repetitions, opts.workers)],
            "readback": overhead.readback_variants(ctx, opts.repetitions),
        }


def run_cost(opts: Options, state: Path) -> dict[str, Any]:
    with fixture.running(state, HELMS[opts.helm], opts.helm, 0, opts.manifest_kb) as b:
        env = {k: v for k, v in b.stack.env().items() if k.startswith(("AWS_", "CHARTHOUSE_"))}
        return cost.measure(env, b.stack.token, b.api.cluster, b.chart_url, b.values, max(1, opts.repetitions // 2))


def run_scale(opts: Options, state: Path) -> dict[str, Any]:
    with fixture.running(state, HELMS[opts.helm], opts.helm, opts.workers, opts.manifest_kb) as b:
        return scale.measure(
            b.api,
            b.helm,
            b.chart_url,
            b.files,
            b.stack.aws.dynamo.endpoint,
            "charthouse",
            list(opts.levels),
            opts.samples,
            opts.real,
            opts.parallel,
        )


def render(results: dict[str, Any], md: bool = False) -> str:
    m = results["machine"]
    head = (
        f"Charthouse benchmark {m['date_utc']}: helm {m['helm']}, kube-apiserver {m['kube_apiserver']}, "
        f"Python {m['python']}, {m['nproc']} CPUs ({m['cpu']}), {m['memory_mib']:,} MiB, commit "
        f"{m['git_commit'][:10]}{' (dirty tree)' if m['git_worktree_dirty'] else ''}; load average "
        f"{m['load_at_start']['loadavg_1_5_15'][0]:.1f} at start, {results['load_at_end']['loadavg_1_5_15'][0]:.1f}"
        f" at end; {results['total_s'] / 60:.1f} min"
    )
    out = [head]
    renderers: dict[str, Callable[[Any, bool], str]] = {
        "coldstart": coldstart.render,
        "overhead": overhead.render,
        "scale": scale.render,
        "throughput": throughput.render,
        "fleet": fleet.render,
        "cost": cost.render,
    }
    for name in ("overhead", "scale", "coldstart", "throughput", "fleet", "cost"):
        if name in results:
            try:
                out.append(renderers[name](results[name], md))
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                out.append(f"({name}: could not render: {exc})")
    for name, err in results.get("errors", {}).items():
        out.append(f"PHASE {name} FAILED: {err}")
    return "\n\n".join(out)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    binary = HELMS[opts.helm]
    if not binary.exists():
        print(f"{binary} is missing: run layers/helm/build.sh (make setup does)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    results: dict[str, Any] = {
        "machine": describe(binary),
        "options": asdict(opts),
        "notes": ["the emulated AWS disk snapshot is off and the sweep runs hourly (bench/fixture.py)"],
    }
    tmp = Path(tempfile.mkdtemp(prefix="charthouse-bench-"))

    def save() -> None:
        opts.out.parent.mkdir(parents=True, exist_ok=True)
        results["total_s"] = time.perf_counter() - started
        results["load_at_end"] = other_load()
        opts.out.write_text(json.dumps(_json_safe(results), indent=1) + "\n")

    attempt = iter(range(1_000_000))  # a fresh state directory for every attempt of a phase
    phases: dict[str, Callable[[], Any]] = {
        "coldstart": lambda: coldstart.measure(opts.import_runs),
        "overhead": lambda: run_overhead(opts, tmp / f"overhead-{next(attempt)}"),
        "scale": lambda: run_scale(opts, tmp / f"scale-{next(attempt)}"),
        "cost": lambda: run_cost(opts, tmp / f"cost-{next(attempt)}"),
        "fleet": lambda: fleet.measure(
            tmp / f"fleet-{next(attempt)}",
            binary,
            opts.helm,
            opts.workers,
            opts.fleet_ops,
            opts.manifest_kb,
            api_processes=opts.api_processes,
            helm_side=opts.fleet_helm,
        ),
        "throughput": lambda: throughput.measure(
            tmp / f"throughput-{next(attempt)}",
            binary,
            opts.helm,
            list(opts.worker_counts),
            opts.throughput_ops,
            opts.manifest_kb,
        ),
    }
    try:
        for name in PHASES:
            if name in opts.phases:
                _phase(results, name, phases[name], save)
    except KeyboardInterrupt:
        results.setdefault("errors", {})["interrupted"] = "stopped by Ctrl-C; the phases before it are complete"
    finally:
        if opts.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    save()
    print(render(results), flush=True)
    opts.out.with_suffix(".md").write_text(render(results, md=True) + "\n")
    log(f"results: {opts.out} (+ .md)")
    return 1 if results.get("errors") else 0
