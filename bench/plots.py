"""The plots of docs/PERFORMANCE.md, drawn from the benchmark's results files: ``make bench-plots``.

matplotlib is a benchmark-only extra (``requirements-bench.txt``): it is imported here only, never by the app, its
package or the tests. The pure part (which figures go into which bar) is ``overhead_segments``, ``scale_series``
and ``throughput_series``, tested in ``tests/unit/bench``.

    .venv/bin/python -m bench.plots [--overhead RESULTS.json ...] [--scale RESULTS.json] [--throughput RESULTS.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from devstack.stack import ROOT

RESULTS = ROOT / "bench" / "results"
DOCS = ROOT / "docs"
OVERHEAD_FILES = ("2026-11-28-helm4.json", "2026-11-28-helm3.json")
SCALE_FILE = "2026-11-28-helm4.json"  # the full run: 1,000 / 10,000 / 100,000 records
REAL_FILES = ("2026-11-28-helm4.json", "2026-11-21-helm4-real1000.json")  # helm's list on 101 and 1,001 releases
THROUGHPUT_FILE = "2026-11-28-helm4.json"
VERBS = ("install", "upgrade", "rollback", "uninstall")

SYNC_SEGMENTS = (
    ("request_to_start_s", "request -> started"),
    ("helm_verb_s", "helm verb"),
    ("helm_readback_s", "read-back"),
    ("run_other_s", "run other"),
    ("finish_to_answer_s", "finished -> answer"),
)
ASYNC_SEGMENTS = (
    ("request_to_202_s", "request -> 202"),
    ("queue_wait_s", "queue wait"),
    ("helm_verb_s", "helm verb"),
    ("helm_readback_s", "read-back"),
    ("worker_other_s", "worker other"),
    ("poll_lag_s", "poll lag"),
)


def overhead_segments(verb: dict[str, Any]) -> dict[str, list[tuple[str, float]]]:
    """Bars of one verb in ms: raw helm, sync and async, each as (label, ms) segments. The parts are separate
    medians, so a last segment ("unattributed") makes each bar reach its own median total (never negative)."""

    def bar(total_s: float, parts: dict[str, Any], segments: tuple[tuple[str, str], ...]) -> list[tuple[str, float]]:
        out = [(label, 1000 * float(parts[key]["p50_s"])) for key, label in segments if key in parts]
        rest = 1000 * total_s - sum(ms for _, ms in out)
        return [*out, ("unattributed", max(0.0, rest))]

    return {
        "raw helm": [("helm verb", 1000 * float(verb["helm"]["p50_s"]))],
        "sync": bar(float(verb["sync"]["p50_s"]), verb.get("sync_parts", {}), SYNC_SEGMENTS),
        "async": bar(float(verb["api"]["p50_s"]), verb.get("api_parts", {}), ASYNC_SEGMENTS),
    }


def scale_series(result: dict[str, Any]) -> tuple[list[int], dict[str, list[float]]]:
    """Record counts, and the API's p50 (ms) of each read at each count."""
    levels = result["scale"]["levels"]
    counts = [int(level["records"]) for level in levels]
    series: dict[str, list[float]] = {}
    for level in levels:
        for probe in level["probes"]:
            series.setdefault(probe["what"], []).append(1000 * float(probe["api"]["p50_s"]))
    return counts, series


def helm_list_points(results: list[dict[str, Any]]) -> dict[str, list[tuple[int, float]]]:
    """helm's own reads on the real cluster: (releases, p50 ms) per command, one point per results file."""
    points: dict[str, list[tuple[int, float]]] = {}
    for result in results:
        releases = int(result["scale"]["real"]["releases"])
        for read in result["scale"]["helm_reads"]:
            points.setdefault(read["what"], []).append((releases, 1000 * float(read["helm"]["p50_s"])))
    return points


def throughput_series(result: dict[str, Any]) -> tuple[list[int], dict[str, list[float]]]:
    """Workers, and operations per minute of each kind at each N."""
    rows = result["throughput"]
    workers = [int(row["workers"]) for row in rows]
    keys = {
        "API install": "api_install",
        "API uninstall": "api_uninstall",
        "raw helm install (N at a time)": "helm_install",
        "raw helm uninstall (N at a time)": "helm_uninstall",
    }
    return workers, {label: [float(row[key]["ops_per_min"]) for row in rows] for label, key in keys.items()}


# ---------------------------------------------------------------- drawing (matplotlib from here on)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


COLOURS = {
    "helm verb": "#4c72b0",
    "read-back": "#55a868",
    "request -> started": "#c44e52",
    "request -> 202": "#c44e52",
    "queue wait": "#8172b2",
    "run other": "#ccb974",
    "worker other": "#ccb974",
    "finished -> answer": "#64b5cd",
    "poll lag": "#64b5cd",
    "unattributed": "#bbbbbb",
}


def draw_overhead(results: list[dict[str, Any]], out: Path) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(results), figsize=(6.5 * len(results), 5.5), sharey=False, squeeze=False)
    seen: set[str] = set()
    for ax, result in zip(axes[0], results, strict=True):
        verbs = {v["verb"]: v for v in result["overhead"]["verbs"]}
        for i, name in enumerate(VERBS):
            for j, (side, segments) in enumerate(overhead_segments(verbs[name]).items()):
                x, bottom = i * 4 + j, 0.0
                for label, value in segments:
                    ax.bar(
                        x,
                        value,
                        bottom=bottom,
                        color=COLOURS[label],
                        label=label if label not in seen else None,
                        width=0.9,
                    )
                    seen.add(label)
                    bottom += value
                ax.text(x, bottom + 10, side, ha="center", va="bottom", fontsize=7, rotation=90)
        ax.set_xticks([i * 4 + 1 for i in range(len(VERBS))], VERBS)
        ax.set_title(f"helm {result['machine']['helm']}: p50 per verb (ms)")
        ax.set_ylabel("ms")
    fig.legend(loc="lower center", ncol=6, fontsize=7, frameon=False)
    fig.suptitle(
        "Where the time goes: raw helm | sync (Prefer: wait, run in the request) | async (202 + polling)", fontsize=10
    )
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.savefig(out, dpi=110)
    plt.close(fig)


def draw_scale(result: dict[str, Any], real: list[dict[str, Any]], out: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    counts, series = scale_series(result)
    for label, values in series.items():
        ax.plot(counts, values, marker="o", label=f"API: {label}")
    for label, points in helm_list_points(real).items():
        xs, ys = zip(*sorted(points), strict=True)
        ax.plot(xs, ys, marker="s", linestyle="--", label=f"{label} (real releases)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("records in the store (API) / releases on the cluster (helm)")
    ax.set_ylabel("p50 ms (log)")
    ax.set_title("List and history latency against record count (store on the moto emulator)")
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def draw_throughput(result: dict[str, Any], out: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    workers, series = throughput_series(result)
    for label, values in series.items():
        ax.plot(workers, values, marker="o", linestyle="--" if label.startswith("raw") else "-", label=label)
    ax.set_xticks(workers)
    ax.set_xlabel("workers (API) / helm processes at a time (raw)")
    ax.set_ylabel("operations per minute")
    ax.set_title("Throughput against workers (2 shared CPUs)")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.plots", description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--overhead", type=Path, nargs="*", default=[RESULTS / f for f in OVERHEAD_FILES])
    p.add_argument("--scale", type=Path, default=RESULTS / SCALE_FILE)
    p.add_argument("--real", type=Path, nargs="*", default=[RESULTS / f for f in REAL_FILES])
    p.add_argument("--throughput", type=Path, default=RESULTS / THROUGHPUT_FILE)
    p.add_argument("--out", type=Path, default=DOCS)
    a = p.parse_args(argv)

    def load(path: Path) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    a.out.mkdir(parents=True, exist_ok=True)
    draw_overhead([load(f) for f in a.overhead], a.out / "perf-overhead.png")
    draw_scale(load(a.scale), [load(f) for f in a.real], a.out / "perf-scale.png")
    draw_throughput(load(a.throughput), a.out / "perf-throughput.png")
    print(f"wrote {a.out / 'perf-overhead.png'}, perf-scale.png, perf-throughput.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
