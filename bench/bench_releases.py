"""Release latency, read latency and fill throughput: the Charthouse API next to the raw helm CLI.

Starts one local stack (real kube-apiserver, emulated AWS, ``chalice local``, workers) on free loopback ports in a
temp dir, serves a realistic chart (``bench/chart.py``, ~60 KiB rendered) and measures, side by side:

1. one release lifecycle (install, upgrade, rollback, uninstall): from sending the request to seeing the operation
   ``succeeded`` (polled every 50 ms), versus the same helm binary run by hand with the same chart, values file and
   flags (``--server-side=false`` on helm 4, as the local stages use) and a fresh ``HELM_*_HOME`` per call;
2. reads (get release, history, list everything) from DynamoDB through the API versus ``helm status``,
   ``helm history`` and ``helm list -A --max 0``, at a small fill and after filling to ``--fill`` releases, some
   with several revisions;
3. fill throughput: concurrent installs (and upgrades) through the API versus parallel raw ``helm install``;
4. sizes: the helm layer zip, the chart, the rendered manifest and helm's release Secrets.

Run: ``.venv/bin/python -m bench.bench_releases [--helm 3] [--fill 200] [--json out.json]``. No timing is asserted.

Read the API figures as the *local* stack's: DynamoDB and SQS are moto, a single Python process whose
TransactWriteItems copies the whole table (so it slows as operations accumulate) and is not thread-safe (concurrent
writes sometimes answer 500, which the API turns into 503 ``DependencyUnavailable``; submissions are retried with
backoff and counted, failures are counted, neither stops the run). The 1-minute load average is printed: the
machine may be shared.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench import chart as bench_chart
from bench.report import Row, Series, kv_table, latency_table, median_ms
from devstack.charts import ChartServer
from devstack.stack import ROOT, Stack, StackConfig, free_port, request

BUILD = ROOT / "layers" / "helm" / "build"
HELMS = {3: BUILD / "v3" / "helm", 4: BUILD / "v4" / "helm"}
LAYERS = {3: BUILD / "helm3-layer.zip", 4: BUILD / "helm-layer.zip"}
KUBECTL = BUILD / "kubectl"
NAMESPACE = "default"
POLL_S = 0.05  # how often a lifecycle operation is polled
FILL_POLL_S = 0.2  # how often a fill operation is polled (hundreds of them: spare the 2-core machine)
HELM_TIMEOUT = "300s"  # the service's default --timeout, passed to the raw CLI too
SUBMIT_ATTEMPTS = 6  # a 503 (DependencyUnavailable) is retried this many times in all, with backoff
VERBS = ("install", "upgrade", "rollback", "uninstall")


class BenchError(RuntimeError):
    """Something the benchmark needs did not work (an operation failed, a call was refused)."""


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the tables."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- options


@dataclass(frozen=True)
class Options:
    """The knobs (see ``parse_args``)."""

    helm: int
    iterations: int
    reads: int
    small_fill: int
    fill: int
    raw_fill: int
    revisions: int
    multi_every: int
    manifest_kb: int
    parallel: int
    workers: int
    post_concurrency: int
    op_timeout: float
    json_path: Path | None
    keep: bool


def parse_args(argv: list[str] | None = None) -> Options:
    """Command-line knobs; the defaults take about 5 minutes on an otherwise idle 2-core machine."""
    p = argparse.ArgumentParser(prog="python -m bench.bench_releases", description=__doc__.split("\n\n")[0])
    p.add_argument("--helm", type=int, choices=sorted(HELMS), default=4, help="helm major (default 4)")
    p.add_argument("--iterations", type=int, default=10, help="lifecycles per side (default 10)")
    p.add_argument("--reads", type=int, default=10, help="samples per read metric and fill level (default 10)")
    p.add_argument("--small-fill", type=int, default=10, help="releases at the small fill (default 10)")
    p.add_argument("--fill", type=int, default=200, help="releases at the large fill (default 200)")
    p.add_argument(
        "--raw-fill",
        type=int,
        default=50,
        help="raw helm installs for the throughput figure, capped at fill - small fill (default 50)",
    )
    p.add_argument("--revisions", type=int, default=3, help="revisions of the multi-revision releases (default 3)")
    p.add_argument("--multi-every", type=int, default=10, help="every k-th fill release gets --revisions (default 10)")
    p.add_argument("--manifest-kb", type=int, default=60, help="rendered manifest size in KiB (default 60)")
    p.add_argument("--parallel", type=int, default=2, help="parallel raw helm processes in the fill (default 2)")
    p.add_argument("--workers", type=int, default=2, help="the stack's worker processes (default 2)")
    p.add_argument(
        "--post-concurrency",
        type=int,
        default=2,
        help="concurrent POSTs in the API fill (default 2; 8 makes the emulator answer 500s at 200 releases)",
    )
    p.add_argument("--op-timeout", type=float, default=120.0, help="seconds one operation may take (default 120)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (stack logs, kube and AWS state)")
    a = p.parse_args(argv)
    small = max(1, min(a.small_fill, a.fill))
    raw = max(0, min(a.raw_fill, a.fill - small))
    return Options(
        helm=a.helm,
        iterations=max(1, a.iterations),
        reads=max(1, a.reads),
        small_fill=small,
        fill=max(small, a.fill),
        raw_fill=raw,
        revisions=max(1, a.revisions),
        multi_every=max(1, a.multi_every),
        manifest_kb=max(1, a.manifest_kb),
        parallel=max(1, a.parallel),
        workers=max(1, a.workers),
        post_concurrency=max(1, a.post_concurrency),
        op_timeout=a.op_timeout,
        json_path=a.json,
        keep=a.keep,
    )


# ---------------------------------------------------------------- the raw helm CLI


class HelmCli:
    """The helm binary run by hand against the stack's cluster, as a user would, with the service's flags."""

    def __init__(self, binary: Path, major: int, kubeconfig: Path, scratch: Path) -> None:
        self.binary = binary
        self.major = major
        self.kubeconfig = kubeconfig
        self.scratch = scratch
        scratch.mkdir(parents=True, exist_ok=True)
        # a user's helm keeps the cluster's API discovery in ~/.kube/cache between calls, as the service's does
        self.kube_cache = scratch / "kube-cache"
        self.kube_cache.mkdir(mode=0o700, exist_ok=True)

    def run(self, args: list[str], timeout: float = 330.0) -> tuple[float, str]:
        """Run helm with a fresh HOME/HELM_*_HOME and the kept discovery cache; returns (seconds of the helm
        process alone, stdout)."""
        with tempfile.TemporaryDirectory(dir=self.scratch) as home:
            env = {
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "HOME": home,
                "KUBECONFIG": str(self.kubeconfig),
                "HELM_CACHE_HOME": f"{home}/cache",
                "HELM_CONFIG_HOME": f"{home}/config",
                "HELM_DATA_HOME": f"{home}/data",
                "KUBECACHEDIR": str(self.kube_cache),
                "TMPDIR": home,
            }
            started = time.perf_counter()
            done = subprocess.run(
                [str(self.binary), *args],
                env=env,
                cwd=home,
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
            seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise BenchError(f"helm {' '.join(args[:1])} failed: {done.stderr.strip()[:500]}")
        return seconds, done.stdout

    def _apply(self) -> list[str]:
        return ["--server-side=false"] if self.major >= 4 else []

    def argv(self, verb: str, name: str, chart: str = "", values_file: Path | None = None) -> list[str]:
        """The argv the service builds (chalicelib/adapters/helm) for ``verb`` with its defaults."""
        ns = ["--namespace", NAMESPACE]
        if verb == "install":
            return [
                "install",
                *ns,
                "--values",
                str(values_file),
                *self._apply(),
                "--timeout",
                HELM_TIMEOUT,
                "--output",
                "json",
                "--",
                name,
                chart,
            ]
        if verb == "upgrade":
            return [
                "upgrade",
                *ns,
                "--values",
                str(values_file),
                *self._apply(),
                "--timeout",
                HELM_TIMEOUT,
                "--history-max",
                "10",
                "--output",
                "json",
                "--",
                name,
                chart,
            ]
        if verb == "rollback":
            return ["rollback", *ns, "--timeout", HELM_TIMEOUT, "--history-max", "10", *self._apply(), "--", name]
        if verb == "uninstall":
            return ["uninstall", *ns, "--timeout", HELM_TIMEOUT, "--cascade", "background", "--", name]
        raise ValueError(verb)

    def version(self) -> str:
        return self.run(["version", "--template", "{{.Version}}"])[1].strip()


# ---------------------------------------------------------------- the API


def _ts(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso).timestamp() if iso else None


@dataclass(frozen=True)
class Timed:
    """One operation seen from the client: total latency, the request's own (until 202), and the worker's part
    (the operation's ``started_at`` to ``finished_at``: helm and the records)."""

    seconds: float
    accept_seconds: float
    worker_seconds: float | None


class Api:
    """The Charthouse HTTP API of the running stack."""

    def __init__(self, base: str, cluster: str, op_timeout: float) -> None:
        self.base = base
        self.cluster = cluster
        self.op_timeout = op_timeout
        self.dead: Callable[[], list[str]] = list  # the stack's exited components (set by bench/fixture.py)
        self.retries = 0  # 503 answers retried, as a well-behaved client would
        self._lock = threading.Lock()

    def release_path(self, name: str = "") -> str:
        path = f"/v1/clusters/{self.cluster}/namespaces/{NAMESPACE}/releases"
        return f"{path}/{name}" if name else path

    def submit(self, method: str, path: str, body: Any, attempts: int = SUBMIT_ATTEMPTS) -> str:
        """A mutating call that must answer 202 (a 503 is retried with backoff); returns the operation id."""
        for attempt in range(attempts):
            status, data = request(method, self.base + path, body)
            if status != 503 or attempt == attempts - 1:
                break
            with self._lock:
                self.retries += 1
            time.sleep(min(2.0, 0.1 * 2**attempt))
        if status != 202 or not isinstance(data, dict):
            raise BenchError(f"{method} {path} answered {status}: {str(data)[:300]}")
        return str(data["id"])

    def wait(self, op_id: str, poll_s: float, deadline: float) -> dict[str, Any]:
        """Poll the operation until it is terminal; raise if it failed or the deadline passes."""
        while time.monotonic() < deadline:
            if self.dead():
                raise BenchError(f"stack component(s) exited: {', '.join(self.dead())}; operation {op_id} unfinished")
            status, data = request("GET", f"{self.base}/v1/operations/{op_id}")
            if status == 200 and data["status"] == "succeeded":
                return dict(data)
            if status == 200 and data["status"] == "failed":
                raise BenchError(f"operation {op_id} ({data['action']}) failed: {data.get('error')}")
            time.sleep(poll_s)
        raise BenchError(f"operation {op_id} did not finish in time")

    def timed_op(self, method: str, path: str, body: Any) -> Timed:
        """POST/PUT/DELETE, then poll every 50 ms: seconds from the request to seeing ``succeeded``."""
        started = time.perf_counter()
        op_id = self.submit(method, path, body)
        accepted = time.perf_counter() - started
        op = self.wait(op_id, POLL_S, time.monotonic() + self.op_timeout)
        seconds = time.perf_counter() - started
        run_start, run_end = _ts(op.get("started_at")), _ts(op.get("finished_at"))
        return Timed(seconds, accepted, run_end - run_start if run_start and run_end else None)

    def timed_get(self, path: str) -> tuple[float, Any]:
        """One GET that must answer 200: (seconds, body)."""
        started = time.perf_counter()
        status, data = request("GET", self.base + path)
        seconds = time.perf_counter() - started
        if status != 200:
            raise BenchError(f"GET {path} answered {status}: {str(data)[:300]}")
        return seconds, data

    def timed_list_all(self, max_pages: int = 100) -> tuple[float, int]:
        """Every release of the cluster, 1000 a page, following ``next_token``: (seconds, releases)."""
        started, count, token = time.perf_counter(), 0, None
        for _ in range(max_pages):
            query = "?limit=1000" + (f"&next_token={token}" if token else "")
            _, page = self.timed_get(f"/v1/clusters/{self.cluster}/releases{query}")
            count += len(page["releases"])
            token = page.get("next_token")
            if not token:
                break
        return time.perf_counter() - started, count


# ---------------------------------------------------------------- 1. lifecycle


@dataclass
class Setup:
    """What every phase needs: the two clients, the chart URL and the values (as objects and as files)."""

    api: Api
    helm: HelmCli
    chart_url: str
    values: dict[str, dict[str, Any]]  # "v1" (install), "v2" (upgrade)
    files: dict[str, Path]


def api_lifecycle(s: Setup, name: str) -> dict[str, Timed]:
    """install (v1), upgrade (v2), rollback (to 1), uninstall through the API."""
    path = s.api.release_path(name)
    return {
        "install": s.api.timed_op(
            "POST", s.api.release_path(), {"name": name, "chart": s.chart_url, "values": s.values["v1"]}
        ),
        "upgrade": s.api.timed_op("PUT", path, {"chart": s.chart_url, "values": s.values["v2"]}),
        "rollback": s.api.timed_op("POST", f"{path}/rollback", {}),
        "uninstall": s.api.timed_op("DELETE", path, None),
    }


def helm_lifecycle(s: Setup, name: str) -> dict[str, float]:
    """The same four verbs with the raw helm CLI."""
    h = s.helm
    return {
        "install": h.run(h.argv("install", name, s.chart_url, s.files["v1"]))[0],
        "upgrade": h.run(h.argv("upgrade", name, s.chart_url, s.files["v2"]))[0],
        "rollback": h.run(h.argv("rollback", name))[0],
        "uninstall": h.run(h.argv("uninstall", name))[0],
    }


def measure_lifecycle(s: Setup, iterations: int) -> list[Row]:
    """One discarded warm-up, then ``iterations`` lifecycles per side, alternating which side goes first."""
    api_lifecycle(s, "warm-api")
    helm_lifecycle(s, "warm-cli")
    rows = {verb: Row(verb) for verb in VERBS}
    for i in range(iterations):
        sides: list[Callable[[], None]] = [
            partial(_record_api, s, f"life-api-{i}", rows),
            partial(_record_helm, s, f"life-cli-{i}", rows),
        ]
        for side in sides if i % 2 == 0 else reversed(sides):
            side()
        log(f"lifecycle {i + 1}/{iterations} done")
    for row in rows.values():
        row.note = (
            f"API medians: request->202 {median_ms(row.part('accept'))} ms, worker {median_ms(row.part('worker'))} ms"
        )
    return list(rows.values())


def _record_api(s: Setup, name: str, rows: dict[str, Row]) -> None:
    for verb, timed in api_lifecycle(s, name).items():
        rows[verb].api.add(timed.seconds)
        rows[verb].part("accept").add(timed.accept_seconds)
        if timed.worker_seconds is not None:
            rows[verb].part("worker").add(timed.worker_seconds)


def _record_helm(s: Setup, name: str, rows: dict[str, Row]) -> None:
    for verb, seconds in helm_lifecycle(s, name).items():
        rows[verb].helm.add(seconds)


# ---------------------------------------------------------------- 2. reads


def read_targets(api: Api, count: int = 10) -> list[str]:
    """Up to ``count`` fill releases the store knows, most revisions first (so history has something to read)."""
    _, page = api.timed_get(f"{api.release_path()}?limit=1000&search=fill-")
    ranked = sorted(page["releases"], key=lambda r: (-int(r.get("revision") or 0), r["name"]))
    if not ranked:
        raise BenchError("no fill release was recorded: nothing to read")
    return [r["name"] for r in ranked[:count]]


def measure_reads(s: Setup, targets: list[str], samples: int, label: str) -> list[Row]:
    """get / history / list-all through the API (DynamoDB) and through helm (the cluster's Secrets)."""
    get, hist, lst = Row(f"get release @{label}"), Row(f"history @{label}"), Row(f"list all @{label}")
    counts: dict[str, int] = {}
    for i in range(samples):
        name = targets[i % len(targets)]
        get.api.add(s.api.timed_get(s.api.release_path(name))[0])
        hist.api.add(s.api.timed_get(s.api.release_path(name) + "/history")[0])
        seconds, counts["api"] = s.api.timed_list_all()
        lst.api.add(seconds)
        get.helm.add(s.helm.run(["status", "--namespace", NAMESPACE, "--output", "json", "--", name])[0])
        hist.helm.add(s.helm.run(["history", "--namespace", NAMESPACE, "--output", "json", "--", name])[0])
        seconds, out = s.helm.run(["list", "--all-namespaces", "--output", "json", "--max", "0"])
        lst.helm.add(seconds)
        counts["helm"] = len(json.loads(out or "[]"))
    lst.note = f"items: API {counts['api']}, helm {counts['helm']}"
    log(f"reads @{label} done")
    return [get, hist, lst]


# ---------------------------------------------------------------- 3. fill


@dataclass
class Rate:
    """A batch of operations and how long it took from the first request to the last one finishing."""

    what: str
    count: int
    seconds: float
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    retries: int = 0  # 503 answers to a submission, retried
    accept: Series = field(default_factory=Series)  # API only: request -> 202 (retries included)

    @property
    def per_second(self) -> float:
        """Operations that succeeded, per second."""
        return (self.count - self.failed) / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        retried = f", {self.retries} x 503 retried" if self.retries else ""
        accept = f", request->202 median {median_ms(self.accept)} ms" if self.accept.samples else ""
        return f"{self.per_second:.2f} ops/s ({self.seconds:.1f} s, {self.failed} failed{retried}{accept})"

    def to_json(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "count": self.count,
            "seconds": self.seconds,
            "per_second": self.per_second,
            "failed": self.failed,
            "retries_503": self.retries,
            "accept": self.accept.summary(),
            "errors": self.errors[:5],
        }


def fill_names(start: int, stop: int) -> list[str]:
    return [f"fill-{i:04d}" for i in range(start, stop)]


def multi(names: Iterable[str], every: int) -> list[str]:
    """The releases that get several revisions: every ``every``-th by index."""
    return [n for n in names if int(n.rsplit("-", 1)[1]) % every == 0]


def api_batch(s: Setup, what: str, calls: list[tuple[str, str, Any]], concurrency: int, timeout: float) -> Rate:
    """Submit ``calls`` concurrently, then wait for every operation; failures are counted, not fatal."""
    started, retries = time.perf_counter(), s.api.retries
    with ThreadPoolExecutor(concurrency) as pool:
        submitted = list(pool.map(partial(_timed_submit, s.api), calls))
    deadline = time.monotonic() + timeout
    errors = [err for _, err, _ in submitted if err]
    for op_id, _, _ in submitted:
        if op_id:
            _, err = _try(partial(s.api.wait, op_id, FILL_POLL_S, deadline))
            errors += [err] if err else []
    rate = Rate(
        what,
        len(calls),
        time.perf_counter() - started,
        len(errors),
        errors,
        s.api.retries - retries,
        Series([seconds for op_id, _, seconds in submitted if op_id]),
    )
    log(f"{what}: {rate.count}: {rate.describe()}")
    return rate


def _timed_submit(api: Api, call: tuple[str, str, Any]) -> tuple[str | None, str, float]:
    """Submit one call: (operation id or None, error, seconds until the 202)."""
    started = time.perf_counter()
    op_id, err = _try(partial(api.submit, *call))
    return op_id, err, time.perf_counter() - started


def _try(call: Callable[[], Any]) -> tuple[Any, str]:
    try:
        return call(), ""
    except (BenchError, OSError) as exc:
        return None, str(exc)[:300]


def api_fill(s: Setup, start: int, stop: int, opts: Options) -> list[Rate]:
    """Install fill-<start>..fill-<stop-1> through the API, then upgrade the multi-revision ones, one round per
    extra revision (a release's operations must not overlap: its lease would answer 409)."""
    names = fill_names(start, stop)
    if not names:
        return []
    span = f"fill {start}->{stop}"
    timeout = 120 + opts.op_timeout + 10 * len(names)
    installs = [
        ("POST", s.api.release_path(), {"name": n, "chart": s.chart_url, "values": s.values["v1"]}) for n in names
    ]
    rates = [api_batch(s, f"API install x{len(names)} ({span})", installs, opts.post_concurrency, timeout)]
    upgraded = multi(names, opts.multi_every)
    for rev in range(2, opts.revisions + 1):
        if not upgraded:
            break
        body = {"chart": s.chart_url, "values": bench_chart.values(f"revision {rev}", greeting=f"rev{rev}")}
        calls = [("PUT", s.api.release_path(n), body) for n in upgraded]
        rates.append(
            api_batch(s, f"API upgrade to rev {rev} x{len(calls)} ({span})", calls, opts.post_concurrency, timeout)
        )
    return rates


def helm_batch(s: Setup, what: str, argvs: list[list[str]], parallel: int) -> Rate:
    """Run helm commands ``parallel`` at a time; failures are counted, not fatal."""
    started = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        results = list(pool.map(lambda a: _try(lambda: s.helm.run(a)), argvs))
    errors = [err for _, err in results if err]
    rate = Rate(what, len(argvs), time.perf_counter() - started, len(errors), errors)
    log(f"{what}: {rate.count}: {rate.describe()}")
    return rate


def helm_fill(s: Setup, start: int, stop: int, parallel: int) -> list[Rate]:
    """Raw ``helm install`` of ``stop - start`` releases, ``parallel`` at a time, then uninstall them the same way,
    so the API fill of the same range that follows meets the same cluster."""
    names = [f"raw-{i:04d}" for i in range(start, stop)]
    if not names:
        return []
    span = f"fill {start}->{stop}"
    installs = [s.helm.argv("install", n, s.chart_url, s.files["v1"]) for n in names]
    uninstalls = [s.helm.argv("uninstall", n) for n in names]
    return [
        helm_batch(s, f"helm install x{len(names)} ({span}, -P {parallel})", installs, parallel),
        helm_batch(s, f"helm uninstall x{len(names)} (-P {parallel})", uninstalls, parallel),
    ]


# ---------------------------------------------------------------- 4. sizes


def helm_secrets(kubeconfig: Path) -> tuple[int, int]:
    """(count, total payload bytes) of helm's release Secrets in the cluster, read with kubectl."""
    if not KUBECTL.exists():
        return 0, 0
    done = subprocess.run(
        [str(KUBECTL), "get", "secrets", "--all-namespaces", "-l", "owner=helm", "-o", "json"],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        return 0, 0
    items = json.loads(done.stdout)["items"]
    return len(items), sum(len(base64.b64decode(i["data"]["release"])) for i in items)


def sizes(s: Setup, opts: Options, archive: Path, sample: str) -> list[tuple[str, str]]:
    """Layer zips, the chart, one rendered manifest, one release Secret and all of them."""
    rows = [(f"helm layer zip ({p.name})", _bytes(p.stat().st_size)) for p in LAYERS.values() if p.exists()]
    rows.append((f"helm {opts.helm} binary", _bytes(HELMS[opts.helm].stat().st_size)))
    rows.append((f"chart archive ({archive.name})", _bytes(archive.stat().st_size)))
    manifest = s.helm.run(["get", "manifest", "--namespace", NAMESPACE, "--", sample])[1]
    rows.append(("rendered manifest (one release)", _bytes(len(manifest.encode()))))
    count, total = helm_secrets(s.helm.kubeconfig)
    if count:
        rows.append(
            (
                f"helm release Secrets in the cluster ({count})",
                f"{_bytes(total)} payload, {_bytes(total // count)} each on average",
            )
        )
    return rows


def _bytes(n: int) -> str:
    return f"{n:,} B ({n / 1024 / 1024:.2f} MiB)" if n >= 1024 * 1024 else f"{n:,} B ({n / 1024:.1f} KiB)"


# ---------------------------------------------------------------- the run


def prepare(stack: Stack, tmp: Path, opts: Options) -> tuple[Setup, ChartServer, Path]:
    """Write and serve the benchmark chart; write the values files; build both clients."""
    server = ChartServer(tmp / "www", stack.cfg.helm_binary, free_port())
    url = server.package(bench_chart.write_chart(tmp / "src", opts.manifest_kb))
    values = {"v1": bench_chart.values("initial"), "v2": bench_chart.values("upgraded", greeting="bonjour")}
    files = {}
    for key, data in values.items():
        files[key] = tmp / f"values-{key}.json"
        files[key].write_text(json.dumps(data))
    helm = HelmCli(stack.cfg.helm_binary, opts.helm, stack.cfg.state_dir / "kubeconfig", tmp / "helm-homes")
    api = Api(stack.api, stack.cfg.cluster, opts.op_timeout)
    return Setup(api, helm, url, values, files), server, tmp / "www" / url.rsplit("/", 1)[1]


def run(stack: Stack, tmp: Path, opts: Options, results: dict[str, Any]) -> None:
    """Every phase in order; fills ``results`` as it goes (so a failure still reports what was measured).

    Fill order: API 0->small; reads; raw helm small->mid (then uninstalled); API small->mid (the same range, for a
    like-for-like rate); API mid->fill; reads; sizes."""
    s, server, archive = prepare(stack, tmp, opts)
    try:
        results["helm_version"] = s.helm.version()
        results["lifecycle"] = measure_lifecycle(s, opts.iterations)
        results["fill"] = api_fill(s, 0, opts.small_fill, opts)
        results["reads"] = measure_reads(s, read_targets(s.api), opts.reads, f"{opts.small_fill} rel")
        mid = opts.small_fill + opts.raw_fill
        results["fill"] += helm_fill(s, opts.small_fill, mid, opts.parallel)
        results["fill"] += api_fill(s, opts.small_fill, mid, opts)
        results["fill"] += api_fill(s, mid, opts.fill, opts)
        results["reads"] += measure_reads(s, read_targets(s.api), opts.reads, f"{opts.fill} rel")
        results["sizes"] = sizes(s, opts, archive, "fill-0000")
    finally:
        server.close()


def render(results: dict[str, Any], opts: Options) -> str:
    """Every table, as printed."""
    out = [
        f"Charthouse benchmark: helm {results.get('helm_version', opts.helm)}, {opts.workers} workers, "
        f"chart ~{opts.manifest_kb} KiB rendered, stack started in {results.get('stack_start_s', 0):.1f} s, "
        f"run took {results.get('total_s', 0):.0f} s; 1-min load average {results['loadavg_start']:.1f} at start, "
        f"{results.get('loadavg_end', 0):.1f} at end on {results['cpus']} CPUs"
    ]
    if "lifecycle" in results:
        out.append(
            latency_table(
                "1. Release lifecycle: POST -> operation succeeded (polled every 50 ms) vs raw helm CLI",
                results["lifecycle"],
            )
        )
    if "reads" in results:
        out.append(
            latency_table("2. Reads: API (DynamoDB) vs helm status / history / list -A --max 0", results["reads"])
        )
    if "fill" in results:
        out.append(
            kv_table(
                f"3. Fill throughput ({opts.post_concurrency} concurrent POSTs, {opts.workers} workers;"
                f" raw helm {opts.parallel} processes; 1 in {opts.multi_every} releases gets "
                f"{opts.revisions} revisions)",
                [(r.what, r.describe()) for r in results["fill"]],
            )
        )
    if "sizes" in results:
        out.append(kv_table("4. Sizes", results["sizes"]))
    if "error" in results:
        out.append(f"STOPPED EARLY: {results['error']}")
    return "\n\n".join(out)


def to_json(results: dict[str, Any], opts: Options) -> dict[str, Any]:
    """The figures as plain JSON (seconds, bytes, ops/s)."""
    conv: dict[str, Any] = {"options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(opts).items()}}
    for key, value in results.items():
        if isinstance(value, list) and value and hasattr(value[0], "to_json"):
            conv[key] = [v.to_json() for v in value]
        elif key == "sizes":
            conv[key] = dict(value)
        else:
            conv[key] = value
    return conv


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    binary = HELMS[opts.helm]
    if not binary.exists():
        print(f"{binary} is missing: run layers/helm/build.sh (make setup does)", file=sys.stderr)
        return 2
    results: dict[str, Any] = {"cpus": os.cpu_count(), "loadavg_start": os.getloadavg()[0]}
    started = time.perf_counter()
    tmp = tempfile.mkdtemp(prefix="charthouse-bench-")
    try:
        cfg = StackConfig.isolated(Path(tmp) / "stack", binary, workers=opts.workers)
        log(f"starting the stack (helm {opts.helm}) in {tmp}")
        try:
            with Stack(cfg) as stack:
                results["stack_start_s"] = time.perf_counter() - started
                log(f"stack up in {results['stack_start_s']:.1f} s")
                run(stack, Path(tmp), opts, results)
        except (BenchError, subprocess.SubprocessError, OSError) as exc:
            results["error"] = str(exc)
            log(f"stopped early: {exc}")
    finally:
        if opts.keep:
            log(f"kept {tmp} (logs in {tmp}/stack/logs)")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    results["total_s"] = time.perf_counter() - started
    results["loadavg_end"] = os.getloadavg()[0]
    print(render(results, opts), flush=True)
    if opts.json_path:
        opts.json_path.write_text(json.dumps(to_json(results, opts), indent=2, default=str) + "\n")
        log(f"JSON written to {opts.json_path}")
    return 1 if "error" in results else 0


if __name__ == "__main__":
    sys.exit(main())
