"""5. Fleet: many installs at a fixed concurrency, the service beside raw helm on the same stack.

One fresh isolated stack with N workers. Raw helm first: ``count`` ``helm install`` processes, ``CONCURRENCY`` at a
time (a warm HOME per thread, as a user's). Then the service: ``CONCURRENCY`` client threads submit the ``count``
installs (202 each: the accept rate is count / the time to accept all), then every operation is waited for (the
fleet's time is from the first request to the last ``finished_at``). Both in a namespace of their own, names
distinct. The ratio API/helm is the fleet target (≤ 1.5x); 100 by default, 1,000 with ``--fleet-large``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import fixture, throughput
from bench.bench_releases import log
from bench.report import block

CONCURRENCY = 10


def measure(
    state: Path,
    helm_binary: Path,
    major: int,
    workers: int,
    count: int,
    manifest_kb: int,
    api_processes: int = 1,
    helm_side: bool = True,
) -> dict[str, Any]:
    """The fleet on a fresh stack; ``helm_side`` False leaves out raw helm (the accept rate alone)."""
    with fixture.running(
        state, helm_binary, major, workers, manifest_kb, op_timeout=600.0, api_processes=api_processes
    ) as b:
        out: dict[str, Any] = {
            "workers": workers,
            "api_processes": api_processes,
            "count": count,
            "concurrency": CONCURRENCY,
        }
        raw = [b.helm.argv("install", f"fleet-h{i:04d}", b.chart_url, b.files["v1"]) for i in range(count)]
        out["helm"] = throughput.helm_batch(b, raw if helm_side else [], CONCURRENCY)
        calls = [
            ("POST", b.api.release_path(), {"name": f"fleet-s{i:04d}", "chart": b.chart_url, "values": b.values["v1"]})
            for i in range(count)
        ]
        previous = throughput.SUBMITTERS
        throughput.SUBMITTERS = CONCURRENCY
        try:
            out["api"] = throughput.api_batch(b, calls)
        finally:
            throughput.SUBMITTERS = previous
        api, helm = out["api"], out["helm"]
        out["accepts_per_s"] = count / api["submit_s"] if api["submit_s"] > 0 else 0.0
        out["ratio"] = api["seconds"] / helm["seconds"] if helm["seconds"] > 0 else 0.0
        log(
            f"fleet {count} at {CONCURRENCY}, {workers} workers: helm {helm['seconds']:.1f} s, service "
            f"{api['seconds']:.1f} s ({out['ratio']:.2f}x; accepted in {api['submit_s']:.1f} s = "
            f"{out['accepts_per_s']:.0f}/s), failed {api['failed']}+{helm['failed']}"
        )
        return out


def render(r: dict[str, Any], md: bool = False) -> str:
    api, helm = r["api"], r["helm"]
    header = [
        "installs",
        "workers",
        "helm -P 10 s",
        "service s",
        "service/helm",
        "accepted in s",
        "accepts/s",
        "202 p50 / p95 ms",
        "API CPU ms/accept",
        "API processes",
        "failed",
    ]
    rows = [
        [
            str(r["count"]),
            str(r["workers"]),
            f"{helm['seconds']:.1f}",
            f"{api['seconds']:.1f}",
            f"{r['ratio']:.2f}x" if helm["ops"] else "n/a",
            f"{api['submit_s']:.1f}",
            f"{r['accepts_per_s']:.0f}",
            f"{api.get('accept_ms_p50', 0):.0f} / {api.get('accept_ms_p95', 0):.0f}",
            f"{api.get('api_cpu_ms_per_accept', 0):.0f}",
            str(r.get("api_processes", 1)),
            f"{api['failed']} / {helm['failed']}",
        ]
    ]
    return block(
        f"5. Fleet: {r['count']} installs at concurrency {r['concurrency']}, service vs raw helm", header, rows, md
    )
