"""1. Overhead per verb: the API against the raw helm CLI, interleaved, on the same chart and the same cluster.

For each repetition i, three releases go through the same steps: ``api-<i>`` through the HTTP API answered
``202`` and polled (async), ``sync-<i>`` through the HTTP API with ``Prefer: wait=20`` (the answer is the finished
operation: one round trip), and ``raw-<i>`` through the helm binary run by hand (``bench_releases.HelmCli``: the
service's flags, a fresh HELM_*_HOME per call). Step by step the sides take turns (the first side rotates with i),
so drift on the shared machine hits them alike:

    install (values v1) -> upgrade (v2) -> rollback (to the previous revision) -> get -> history -> uninstall

A mutating verb through the API is timed from sending the request to seeing the operation ``succeeded`` (polled
every ``POLL_S``); ``get`` and ``history`` are one GET answered from the store, against ``helm status`` and
``helm history``. The API side of each operation is broken down with the client's clock, the operation record's
timestamps (``created_at``, ``started_at``, ``finished_at``; same machine, same clock) and the worker's helm log
lines (``workerlog.py``):

    request->202 | queue wait (202 -> started_at) | helm verb | helm read-back | worker other (store writes,
    credentials, work dirs) | poll lag (finished_at -> seen by the client: the worker's final transaction, written
    after it stamps finished_at, and the poll interval)
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bench import workerlog
from bench.bench_releases import NAMESPACE, Api, BenchError, HelmCli, log
from bench.report import Series, allowed_overhead, block, ms, ratio, verdict
from devstack.stack import _TOKENS

SYNC_WAIT_S = 20
SYNC_TIMEOUT_S = 15  # helm's --timeout on the sync side: fits in the wait, so the API runs the operation itself
ASYNC_RELATIVE, ASYNC_ABSOLUTE_S = 0.25, 0.150  # the asynchronous target: overhead <= max(25 %, 150 ms) at p50

POLL_S = 0.025
MUTATING = ("install", "upgrade", "rollback", "uninstall")
VERBS = (*MUTATING, "get", "history")
PARTS = ("request_to_202_s", "queue_wait_s", "helm_verb_s", "helm_readback_s", "worker_other_s", "poll_lag_s")
SYNC_PARTS = ("request_to_start_s", "helm_verb_s", "helm_readback_s", "run_other_s", "finish_to_answer_s")


def _ts(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso).timestamp() if iso else None


@dataclass
class VerbStats:
    """Samples of one verb: the API's total, helm's, and the API's parts (seconds)."""

    verb: str
    api: Series = field(default_factory=Series)
    helm: Series = field(default_factory=Series)
    sync: Series = field(default_factory=Series)
    parts: dict[str, Series] = field(default_factory=dict)
    sync_parts: dict[str, Series] = field(default_factory=dict)

    def add_part(self, name: str, seconds: float) -> None:
        self.parts.setdefault(name, Series()).add(seconds)

    def add_sync_part(self, name: str, seconds: float) -> None:
        self.sync_parts.setdefault(name, Series()).add(seconds)

    def to_json(self) -> dict[str, Any]:
        a, h = self.api.summary(), self.helm.summary()
        return {
            "verb": self.verb,
            "api": a,
            "helm": h,
            **verdict(a["p50_s"], h["p50_s"]),
            "sync": self.sync.summary(),
            "sync_verdict": verdict(self.sync.summary()["p50_s"], h["p50_s"]),
            "async_verdict": async_verdict(a["p50_s"], h["p50_s"]),
            "sync_samples_s": self.sync.samples,
            "api_samples_s": self.api.samples,
            "helm_samples_s": self.helm.samples,
            "api_parts": {k: v.summary() for k, v in self.parts.items()},
            "sync_parts": {k: v.summary() for k, v in self.sync_parts.items()},
        }


def async_verdict(api_p50_s: float, helm_p50_s: float) -> dict[str, Any]:
    """The asynchronous target (request -> client sees ``succeeded``): overhead <= max(25 %, 150 ms) at p50."""
    out = verdict(api_p50_s, helm_p50_s)
    if out["verdict"] != "-":
        out["allowed_s"] = max(ASYNC_RELATIVE * helm_p50_s, ASYNC_ABSOLUTE_S)
        out["verdict"] = "PASS" if out["overhead_s"] <= out["allowed_s"] else "MISS"
    return out


@dataclass
class Context:
    api: Api
    helm: HelmCli
    chart_url: str
    values: dict[str, dict[str, Any]]
    files: dict[str, Any]
    tail: workerlog.LogTail


def api_op(ctx: Context, method: str, path: str, body: Any) -> tuple[float, dict[str, float]]:
    """One mutating call through the API: (seconds to seeing it succeeded, its breakdown)."""
    ctx.tail.read()  # forget earlier lines: what follows is this operation's
    t0_wall, t0 = time.time(), time.perf_counter()
    op_id = ctx.api.submit(method, path, body)
    t202_wall = time.time()
    op = ctx.api.wait(op_id, POLL_S, time.monotonic() + ctx.api.op_timeout)
    seen_wall, total = time.time(), time.perf_counter() - t0
    started, finished = _ts(op.get("started_at")), _ts(op.get("finished_at"))
    calls = workerlog.parse(ctx.tail.read())
    parts = {"request_to_202_s": t202_wall - t0_wall}
    if started and finished:
        helm = workerlog.split(calls)
        parts.update(
            queue_wait_s=max(0.0, started - t202_wall),
            poll_lag_s=max(0.0, seen_wall - finished),
            worker_run_s=finished - started,
            **helm,
            worker_other_s=(finished - started) - helm["helm_verb_s"] - helm["helm_readback_s"],
        )
    parts["helm_calls"] = float(len(calls))
    return total, parts


def _prefer_wait(base: str, method: str, path: str, body: Any) -> tuple[int, Any]:
    """One request with ``Prefer: wait=SYNC_WAIT_S`` and the stack's admin token (devstack's client sends no
    extra headers)."""
    token = next((t for b, t in _TOKENS.items() if base.startswith(b)), "")
    headers = {"Content-Type": "application/json", "Prefer": f"wait={SYNC_WAIT_S}"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=SYNC_WAIT_S + 30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")[:300]


def sync_op(ctx: Context, method: str, path: str, body: Any) -> tuple[float, dict[str, float]]:
    """One mutating call answered when done (``Prefer: wait``, helm's timeout ``SYNC_TIMEOUT_S``, so the API runs
    it itself): seconds until the answer, which must be the finished operation (200/201); a 202 (it did not end in
    time) or a failure stops the run. Its breakdown, from the client's clock, the operation's timestamps and the
    helm lines of the API's log:

        request -> started_at (authorization, checks, the accept transaction, credentials, queued -> running) |
        helm verb | read-back | run other (store reads/writes, chart download, work dirs) |
        finished_at -> answer (the final transaction, the record read, the response)
    """
    ctx.tail.read()
    t0_wall, started = time.time(), time.perf_counter()
    status, data = _prefer_wait(ctx.api.base, method, path, {**(body or {}), "timeout": SYNC_TIMEOUT_S})
    seconds, answered_wall = time.perf_counter() - started, time.time()
    if status not in (200, 201) or not isinstance(data, dict) or data.get("status") != "succeeded":
        raise BenchError(f"{method} {path} with Prefer: wait answered {status}: {str(data)[:300]}")
    begun, finished = _ts(data.get("started_at")), _ts(data.get("finished_at"))
    calls = workerlog.parse(ctx.tail.read())
    parts: dict[str, float] = {"helm_calls": float(len(calls))}
    if begun and finished:
        helm = workerlog.split(calls)
        parts.update(
            request_to_start_s=max(0.0, begun - t0_wall),
            **helm,
            run_other_s=(finished - begun) - helm["helm_verb_s"] - helm["helm_readback_s"],
            finish_to_answer_s=max(0.0, answered_wall - finished),
        )
    return seconds, parts


def sync_steps(ctx: Context, name: str) -> dict[str, Any]:
    """The mutating steps in one round trip each (``get`` and ``history`` are the same GET as the async side)."""
    path = ctx.api.release_path(name)
    return {
        "install": lambda: sync_op(
            ctx, "POST", ctx.api.release_path(), {"name": name, "chart": ctx.chart_url, "values": ctx.values["v1"]}
        ),
        "upgrade": lambda: sync_op(ctx, "PUT", path, {"chart": ctx.chart_url, "values": ctx.values["v2"]}),
        "rollback": lambda: sync_op(ctx, "POST", f"{path}/rollback", {}),
        "uninstall": lambda: sync_op(ctx, "DELETE", path, None),
    }


def api_steps(ctx: Context, name: str) -> dict[str, Any]:
    """The API side of each step, as callables (so the two sides can be interleaved)."""
    path = ctx.api.release_path(name)
    return {
        "install": lambda: api_op(
            ctx, "POST", ctx.api.release_path(), {"name": name, "chart": ctx.chart_url, "values": ctx.values["v1"]}
        ),
        "upgrade": lambda: api_op(ctx, "PUT", path, {"chart": ctx.chart_url, "values": ctx.values["v2"]}),
        "rollback": lambda: api_op(ctx, "POST", f"{path}/rollback", {}),
        "get": lambda: (ctx.api.timed_get(path)[0], {}),
        "history": lambda: (ctx.api.timed_get(f"{path}/history")[0], {}),
        "uninstall": lambda: api_op(ctx, "DELETE", path, None),
    }


def helm_steps(ctx: Context, name: str) -> dict[str, Any]:
    """The raw helm side of each step."""
    h, ns = ctx.helm, ["--namespace", NAMESPACE]
    return {
        "install": lambda: h.run(h.argv("install", name, ctx.chart_url, ctx.files["v1"]))[0],
        "upgrade": lambda: h.run(h.argv("upgrade", name, ctx.chart_url, ctx.files["v2"]))[0],
        "rollback": lambda: h.run(h.argv("rollback", name))[0],
        "get": lambda: h.run(["status", *ns, "--output", "json", "--", name])[0],
        "history": lambda: h.run(["history", *ns, "--output", "json", "--", name])[0],
        "uninstall": lambda: h.run(h.argv("uninstall", name))[0],
    }


def warm_up(ctx: Context, workers: int) -> None:
    """Install and uninstall ``2 x workers`` releases concurrently, unmeasured, so that every worker has paid its
    one-off costs (``helm version``, credentials, boto3 clients) before the first measured operation."""
    names = [f"warm-{i}" for i in range(2 * workers)]
    calls = [
        ("POST", ctx.api.release_path(), {"name": n, "chart": ctx.chart_url, "values": ctx.values["v1"]}) for n in names
    ]
    for batch in (calls, [("DELETE", ctx.api.release_path(n), None) for n in names]):
        with ThreadPoolExecutor(len(batch)) as pool:
            ids = list(pool.map(lambda c: ctx.api.submit(*c), batch))
        for op_id in ids:
            ctx.api.wait(op_id, 0.2, time.monotonic() + ctx.api.op_timeout)
    ctx.helm.run(ctx.helm.argv("install", "warm-raw", ctx.chart_url, ctx.files["v1"]))
    ctx.helm.run(ctx.helm.argv("uninstall", "warm-raw"))
    log(f"overhead: warmed up {workers} workers")


def measure(ctx: Context, repetitions: int, workers: int = 2, prefix: str = "ovh") -> list[VerbStats]:
    """``repetitions`` interleaved lifecycles after a warm-up; a failed step stops the run (BenchError)."""
    warm_up(ctx, workers)
    stats = {verb: VerbStats(verb) for verb in VERBS}
    order = ("install", "upgrade", "rollback", "get", "history", "uninstall")
    for i in range(repetitions):
        api, raw = api_steps(ctx, f"{prefix}-api-{i}"), helm_steps(ctx, f"{prefix}-raw-{i}")
        sync = sync_steps(ctx, f"{prefix}-sync-{i}")
        for verb in order:
            sides = ("api", "sync", "helm")[i % 3 :] + ("api", "sync", "helm")[: i % 3]
            for side in sides:
                if side == "sync":
                    if verb in sync:
                        seconds, parts = sync[verb]()
                        stats[verb].sync.add(seconds)
                        for key, value in parts.items():
                            stats[verb].add_sync_part(key, value)
                elif side == "api":
                    seconds, parts = api[verb]()
                    stats[verb].api.add(seconds)
                    for key, value in parts.items():
                        stats[verb].add_part(key, value)
                else:
                    stats[verb].helm.add(raw[verb]())
        log(f"overhead: repetition {i + 1}/{repetitions} done")
    return [stats[v] for v in VERBS]


# ---------------------------------------------------------------- the worker's read-back, and cheaper ones


def readback_variants(ctx: Context, samples: int, name: str = "ovh-readback") -> list[dict[str, Any]]:
    """After each verb the worker reads helm's state back (``service.snapshot``: history, status, get metadata,
    and get values after a rollback). Measured here with the raw CLI on a release with 3 revisions, interleaved:
    that sequence as the worker runs it, without ``status``, and as concurrent processes; what each would save."""
    h, ns = ctx.helm, ["--namespace", NAMESPACE]
    h.run(h.argv("install", name, ctx.chart_url, ctx.files["v1"]))
    h.run(h.argv("upgrade", name, ctx.chart_url, ctx.files["v2"]))
    h.run(h.argv("upgrade", name, ctx.chart_url, ctx.files["v1"]))
    cmd = {
        "history": ["history", *ns, "--max", "1000000", "--output", "json", "--", name],
        "status": ["status", *ns, "--output", "json", "--", name],
        "get metadata": ["get", "metadata", *ns, "--output", "json", "--", name],
        "get values": ["get", "values", *ns, "--output", "json", "--", name],
    }
    variants: dict[str, tuple[list[str], bool]] = {
        "history + status + get metadata, one after another (the worker after install/upgrade)": (
            ["history", "status", "get metadata"],
            False,
        ),
        "history + get metadata (no status: install/upgrade already print the release as JSON)": (
            ["history", "get metadata"],
            False,
        ),
        "history + status + get metadata, three processes at once": (["history", "status", "get metadata"], True),
        "history alone": (["history"], False),
        "status alone": (["status"], False),
        "get metadata alone": (["get metadata"], False),
        "get values alone (after rollback)": (["get values"], False),
    }
    series = {label: Series() for label in variants}
    for _ in range(samples):
        for label, (names, concurrent) in variants.items():
            started = time.perf_counter()
            if concurrent:
                with ThreadPoolExecutor(len(names)) as pool:
                    list(pool.map(lambda n: h.run(cmd[n]), names))
            else:
                for n in names:
                    h.run(cmd[n])
            series[label].add(time.perf_counter() - started)
    h.run(h.argv("uninstall", name))
    return [{"variant": label, **s.summary()} for label, s in series.items()]


# ---------------------------------------------------------------- tables


def overhead_rows(stats: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    header = ["verb", "API p50", "API p95", "helm p50", "helm p95", "n", "ratio p50", "overhead", "allowed", "target"]
    rows = []
    for s in stats:
        a, h = s["api"], s["helm"]
        rows.append(
            [
                s["verb"],
                ms(a["p50_s"]),
                ms(a["p95_s"]),
                ms(h["p50_s"]),
                ms(h["p95_s"]),
                str(a["n"]),
                ratio(s["ratio"]),
                ms(s["overhead_s"]),
                ms(allowed_overhead(h["p50_s"])) if h["n"] else "-",
                s["verdict"],
            ]
        )
    return header, rows


def _mmm(summary: dict[str, Any]) -> str:
    """min / median / max in ms."""
    if not summary.get("n"):
        return "-"
    return f"{ms(summary['min_s'])} / {ms(summary['p50_s'])} / {ms(summary['max_s'])}"


def sync_async_rows(stats: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    header = [
        "verb",
        "sync min/median/max",
        "async min/median/max",
        "helm min/median/max",
        "n",
        "sync overhead",
        "allowed",
        "sync target",
        "async overhead",
        "allowed",
        "async target",
    ]
    rows = []
    for s in stats:
        if "sync" not in s or s["verb"] not in ("install", "upgrade", "rollback", "uninstall"):
            continue
        sv, av = s["sync_verdict"], s["async_verdict"]
        rows.append(
            [
                s["verb"],
                _mmm(s["sync"]),
                _mmm(s["api"]),
                _mmm(s["helm"]),
                str(s["sync"]["n"]),
                ms(sv["overhead_s"]),
                ms(sv["allowed_s"]),
                sv["verdict"],
                ms(av["overhead_s"]),
                ms(av["allowed_s"]),
                av["verdict"],
            ]
        )
    return header, rows


def breakdown_rows(stats: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    header = [
        "verb",
        "total",
        "request->202",
        "queue wait",
        "helm verb",
        "helm read-back",
        "worker other",
        "poll lag",
        "helm calls",
        "read-back detail (p50 ms each)",
    ]
    rows = []
    for s in stats:
        parts = s["api_parts"]
        if "helm_verb_s" not in parts:
            continue

        def p50(key: str, parts: dict[str, Any] = parts) -> float:
            return float(parts[key]["p50_s"]) if key in parts else float("nan")

        detail = ", ".join(
            f"{k.removeprefix('helm ')} {ms(v['p50_s'])}"
            for k, v in parts.items()
            if k.startswith("helm ") and k.removeprefix("helm ") != s["verb"]
        )
        rows.append(
            [
                s["verb"],
                ms(s["api"]["p50_s"]),
                ms(p50("request_to_202_s")),
                ms(p50("queue_wait_s")),
                ms(p50("helm_verb_s")),
                ms(p50("helm_readback_s")),
                ms(p50("worker_other_s")),
                ms(p50("poll_lag_s")),
                f"{p50('helm_calls'):.0f}",
                detail,
            ]
        )
    return header, rows


def sync_breakdown_rows(stats: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    header = [
        "verb",
        "sync total",
        "helm (raw)",
        "request->started",
        "helm verb",
        "read-back",
        "run other",
        "finished->answer",
        "helm calls",
    ]
    rows = []
    for s in stats:
        parts = s.get("sync_parts") or {}
        if "helm_verb_s" not in parts:
            continue

        def p50(key: str, parts: dict[str, Any] = parts) -> str:
            return ms(float(parts[key]["p50_s"])) if key in parts else "-"

        rows.append(
            [
                s["verb"],
                ms(s["sync"]["p50_s"]),
                ms(s["helm"]["p50_s"]),
                p50("request_to_start_s"),
                p50("helm_verb_s"),
                p50("helm_readback_s"),
                p50("run_other_s"),
                p50("finish_to_answer_s"),
                f"{float(parts['helm_calls']['p50_s']):.0f}",
            ]
        )
    return header, rows


def render(result: dict[str, Any], md: bool = False) -> str:
    stats = result["verbs"]
    h3, r3 = sync_breakdown_rows(stats)
    h1, r1 = overhead_rows(stats)
    h2, r2 = breakdown_rows(stats)
    h0, r0 = sync_async_rows(stats)
    variants = [[v["variant"], ms(v["p50_s"]), ms(v["p95_s"]), str(v["n"])] for v in result.get("readback", [])]
    return "\n\n".join(
        [
            block(
                f"1a. Sync (Prefer: wait={SYNC_WAIT_S}: one round trip) and async (202, then polled every "
                f"{POLL_S * 1000:.0f} ms) against raw helm, per verb (ms); targets at the median: sync overhead <= "
                "max(10%, 50 ms), async <= max(25%, 150 ms)",
                h0,
                r0,
                md,
            ),
            block(
                "1d. Where the sync answer's time goes (p50 ms of each part; the API runs the operation itself)",
                h3,
                r3,
                md,
            ),
            block(
                "1. Overhead per verb (ms): API call -> operation succeeded vs raw helm; target: overhead <= "
                "max(10%, 50 ms) at p50",
                h1,
                r1,
                md,
            ),
            block(
                "1b. Where the API's time goes (p50 ms of each part; parts are separate medians and need not add up)",
                h2,
                r2,
                md,
            ),
            block(
                "1c. The worker's read-back after a verb, and cheaper alternatives (raw helm, release with 3 revisions, "
                "ms)",
                ["read-back", "p50", "p95", "n"],
                variants,
                md,
            ),
        ]
    )
