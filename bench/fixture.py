"""What every phase stands on: a local stack started as the e2e tests start it, and the benchmark chart served.

Two changes to the stack as ``tests/e2e/conftest.py`` starts it, both for the measurement's sake and both said in
the results: the disk snapshot of the emulated AWS state is off (it scans the whole table every 5 s and on stop,
which at 100,000 records would hold the one-request-at-a-time emulator for seconds; a benchmark's stack is thrown
away anyway), and the stale-lease sweep runs hourly instead of every minute (it is a Query the emulator answers by
walking every item).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import devstack.stack as devstack_stack
from bench import chart as bench_chart
from bench.bench_releases import Api, HelmCli, log
from devstack.charts import ChartServer
from devstack.stack import Stack, StackConfig, free_port

SWEEP_EVERY_S = 3600.0
NO_SNAPSHOT_S = 1e9


@dataclass
class Bench:
    """A running stack with both clients and the chart."""

    stack: Stack
    api: Api
    helm: HelmCli
    chart_url: str
    values: dict[str, dict[str, Any]]  # "v1" (install), "v2" (upgrade)
    files: dict[str, Path]
    archive: Path


def dead(stack: Stack) -> list[str]:
    """Components of the stack that exited (the emulated AWS servers are not among ``Stack.dead``'s children)."""
    return stack.dead() + stack.aws.dead()


@contextmanager
def running(
    state: Path,
    helm_binary: Path,
    major: int,
    workers: int,
    manifest_kb: int,
    op_timeout: float = 180.0,
    api_processes: int = 1,
) -> Iterator[Bench]:
    """Start an isolated stack with ``workers`` workers and ``api_processes`` API processes, serve the benchmark
    chart, yield; stop everything."""
    devstack_stack.SNAPSHOT_EVERY_S = NO_SNAPSHOT_S
    cfg = StackConfig.isolated(
        state / "stack", helm_binary, workers=workers, sweep_every_s=SWEEP_EVERY_S, api_processes=api_processes
    )
    stack = Stack(cfg)
    stack.aws.save = lambda: None  # type: ignore[method-assign]  # no snapshot: see the module docstring
    started = time.perf_counter()
    with stack:
        log(
            f"stack up ({workers} workers, {api_processes} API processes) in {time.perf_counter() - started:.1f} s; logs in {stack.logs}"
        )
        server = ChartServer(state / "www", helm_binary, free_port())
        try:
            url = server.package(bench_chart.write_chart(state / "src", manifest_kb))
            values = {"v1": bench_chart.values("initial"), "v2": bench_chart.values("upgraded", greeting="bonjour")}
            files = {}
            for key, data in values.items():
                files[key] = state / f"values-{key}.json"
                files[key].write_text(json.dumps(data))
            helm = HelmCli(helm_binary, major, cfg.state_dir / "kubeconfig", state / "helm-homes")
            api = Api(stack.api, cfg.cluster, op_timeout)
            api.dead = lambda: dead(stack)
            yield Bench(stack, api, helm, url, values, files, state / "www" / url.rsplit("/", 1)[1])
        finally:
            server.close()
