"""2. List and history at scale: release records seeded straight into the store, against helm on real releases.

Records are written with BatchWriteItem (25 a request, boto3's batch writer) in the store's own item layout
(``Store.put_releases``), into the stack's emulated DynamoDB, in cluster ``local``: namespaces ``seed-0000``,
``seed-0001``... of 100 releases each. The levels are cumulative (1,000, then 9,000 more, then 90,000 more). At
each level, ``samples`` times each:

* ``GET /v1/releases?limit=100`` (GSI2, every cluster), ``GET /v1/clusters/local/releases?limit=100`` (GSI1) and
  ``GET /v1/clusters/local/namespaces/seed-0001/releases?limit=100`` (GSI1 + begins_with), and the history of a
  seeded release with ``REVISIONS`` revisions, through the HTTP API;
* the same four calls on ``chalicelib.adapters.store.Store`` in this process, counting what DynamoDB is asked to
  read: Query calls, ``ScannedCount`` (items read before filters) and the read capacity DynamoDB would charge
  (estimated from the items' sizes; moto reports a constant). On real DynamoDB a Query
  reads only the items it returns (plus filtered ones), whatever the table holds: that count is the store's cost.

The emulator (moto) answers a Query by walking *every* item in the table, base table and index alike, and serves
one request at a time, so its latency grows with the table where DynamoDB's does not: the table shows both.

Helm's side: ``real`` releases of the benchmark chart installed on the local cluster with the raw CLI (``parallel``
at a time; every 10th gets 3 revisions), one release with ``REVISIONS`` revisions, then ``helm list -A --max 0``,
``helm list -A --max 100`` (a "page": helm still reads every release Secret) and ``helm history``.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3

from bench import chart as bench_chart
from bench.bench_releases import NAMESPACE, Api, BenchError, HelmCli, log
from bench.report import Series, block, ms
from chalicelib.adapters.store import Store
from chalicelib.domain.models import ListQuery, ReleaseRecord, ReleaseRef, ReleaseStatus, Revision

PER_NAMESPACE = 100
BIG = 50_000  # from this level on, half the samples: the emulator takes seconds per Query there
REVISIONS = 10
HISTORY_TARGET = "rel-000000"  # in seed-0000: seeded first, with REVISIONS revisions
REAL_HISTORY_TARGET = "real-history"


# ---------------------------------------------------------------- seeding


def seeded_ref(cluster: str, index: int) -> ReleaseRef:
    return ReleaseRef(cluster, f"seed-{index // PER_NAMESPACE:04d}", f"rel-{index:06d}")


def seeded_record(cluster: str, index: int, ts: float) -> ReleaseRecord:
    """A plausible deployed release record (the fields a worker writes after an install)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(ts))
    return ReleaseRecord(
        ref=seeded_ref(cluster, index),
        status=ReleaseStatus.DEPLOYED,
        revision=1 + index % 5,
        chart_name=bench_chart.NAME,
        chart_version=bench_chart.VERSION,
        app_version=bench_chart.VERSION,
        first_deployed=stamp,
        last_deployed=stamp,
        description="Install complete",
        notes=f"rel-{index:06d} (benchapp 1.0.0) says hello.",
        values_digest=f"sha256:{index:064x}",
        labels={"team": f"team-{index % 7}"},
        last_action="install",
        last_operation_id=f"o{index:031x}",
        failures=0,
        updated_at=ts,
    )


def seeded_revisions(count: int) -> list[Revision]:
    return [
        Revision(
            r,
            ReleaseStatus.DEPLOYED if r == count else ReleaseStatus.SUPERSEDED,
            f"{bench_chart.NAME}-{bench_chart.VERSION}",
            bench_chart.VERSION,
            "2026-11-21T10:00:00+00:00",
            "Upgrade complete" if r > 1 else "Install complete",
        )
        for r in range(1, count + 1)
    ]


@dataclass
class Seeder:
    """Writes release records with BatchWriteItem; remembers how long it took."""

    resource: Any
    table_name: str
    cluster: str
    count: int = 0
    seconds: float = 0.0

    def seed_to(self, target: int) -> float:
        """Add records until ``target`` exist; returns the seconds this step took."""
        started, ts = time.perf_counter(), time.time()
        store = Store(self.resource, self.table_name)
        store.put_releases(seeded_record(self.cluster, i, ts) for i in range(self.count, target))
        if self.count == 0 and target > 0:
            store.sync_revisions(seeded_ref(self.cluster, 0), seeded_revisions(REVISIONS))
        step = time.perf_counter() - started
        self.count, self.seconds = max(self.count, target), self.seconds + step
        return step


# ---------------------------------------------------------------- what the store asks DynamoDB for


def attribute_size(value: dict[str, Any]) -> int:
    """Approximate DynamoDB size of one typed attribute value (S/N/B/BOOL/NULL/M/L/SS/NS), in bytes."""
    ((kind, data),) = value.items()
    if kind == "S" or kind == "B":
        return len(data.encode() if isinstance(data, str) else data)
    if kind == "N":
        return len(str(data).lstrip("-").replace(".", "")) // 2 + 2
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_size(v) + 1 for k, v in data.items())
    if kind == "L":
        return 3 + sum(attribute_size(v) + 1 for v in data)
    return sum(len(str(v)) for v in data)  # sets


def item_size(item: dict[str, Any]) -> int:
    """Approximate DynamoDB item size: attribute names plus values (the basis of read capacity)."""
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def query_rcu(item_bytes: int) -> float:
    """Read capacity of one eventually consistent Query: 0.5 per 4 KB of items read, rounded up (at least 0.5)."""
    return max(1, -(-item_bytes // 4096)) * 0.5


@dataclass
class QueryMeter:
    """Counts Query calls, ScannedCount, items returned and the read capacity DynamoDB would charge (estimated
    from the items' sizes: moto reports a constant) on one boto3 client, with botocore event hooks."""

    calls: int = 0
    scanned: int = 0
    returned: int = 0
    capacity: float = 0.0
    wire_s: float = 0.0  # request sent -> response received: the emulator's time (and loopback HTTP)
    _sent: float = 0.0

    def attach(self, client: Any) -> QueryMeter:
        client.meta.events.register("before-send.dynamodb.Query", self._send)
        client.meta.events.register("before-parse.dynamodb.Query", self._received)
        client.meta.events.register("after-call.dynamodb.Query", self._after)
        return self

    def reset(self) -> None:
        self.calls, self.scanned, self.returned, self.capacity, self.wire_s = 0, 0, 0, 0.0, 0.0

    def _send(self, **_: Any) -> None:
        self._sent = time.perf_counter()

    def _received(self, **_: Any) -> None:
        self.wire_s += time.perf_counter() - self._sent

    def _after(self, parsed: dict[str, Any], **_: Any) -> None:
        self.calls += 1
        self.scanned += int(parsed.get("ScannedCount", 0))
        self.returned += int(parsed.get("Count", 0))
        self.capacity += query_rcu(sum(item_size(i) for i in parsed.get("Items", [])))


@dataclass
class Probe:
    """One read measured through the API and on the Store in-process."""

    what: str
    api: Series = field(default_factory=Series)
    store: Series = field(default_factory=Series)
    wire: Series = field(default_factory=Series)  # of ``store``: waiting for the emulator
    items: int = 0
    query_calls: int = 0
    scanned: int = 0
    capacity: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "api": self.api.summary(),
            "store": self.store.summary(),
            "store_wire": self.wire.summary(),
            "items": self.items,
            "query_calls": self.query_calls,
            "scanned_count": self.scanned,
            "consumed_rcu": self.capacity,
        }


def store_reads(store: Store, cluster: str) -> dict[str, Any]:
    """The store calls behind the API paths measured (name -> callable returning the item count)."""
    ns = f"seed-{1:04d}"
    return {
        "list all, limit=100": lambda: len(store.list_releases(ListQuery(limit=100))[0]),
        "list cluster, limit=100": lambda: len(store.list_releases(ListQuery(cluster=cluster, limit=100))[0]),
        "list cluster+namespace, limit=100": lambda: len(
            store.list_releases(ListQuery(cluster=cluster, namespace=ns, limit=100))[0]
        ),
        f"history ({REVISIONS} revisions)": lambda: len(store.history(seeded_ref(cluster, 0), 256)),
    }


def api_reads(api: Api, cluster: str) -> dict[str, str]:
    ref = seeded_ref(cluster, 0)
    return {
        "list all, limit=100": "/v1/releases?limit=100",
        "list cluster, limit=100": f"/v1/clusters/{cluster}/releases?limit=100",
        "list cluster+namespace, limit=100": f"/v1/clusters/{cluster}/namespaces/seed-{1:04d}/releases?limit=100",
        f"history ({REVISIONS} revisions)": f"/v1/clusters/{cluster}/namespaces/{ref.namespace}/releases/"
        f"{ref.name}/history",
    }


def measure_level(api: Api, store: Store, meter: QueryMeter, samples: int) -> list[Probe]:
    probes = []
    for (what, call), path in zip(
        store_reads(store, api.cluster).items(), api_reads(api, api.cluster).values(), strict=True
    ):
        probe = Probe(what)
        for _ in range(samples):
            seconds, body = api.timed_get(path)
            probe.api.add(seconds)
            meter.reset()
            started = time.perf_counter()
            probe.items = call()
            probe.store.add(time.perf_counter() - started)
            probe.wire.add(meter.wire_s)
            probe.query_calls, probe.scanned, probe.capacity = meter.calls, meter.scanned, meter.capacity
            listed = body.get("releases", body.get("history", []))
            if len(listed) != probe.items:
                raise BenchError(f"{what}: the API listed {len(listed)} items, the store {probe.items}")
        probes.append(probe)
    return probes


# ---------------------------------------------------------------- helm on real releases


def install_real(
    helm: HelmCli, chart_url: str, values_files: dict[str, Any], count: int, parallel: int
) -> dict[str, Any]:
    """``count`` raw helm installs (every 10th upgraded twice more), plus one release with REVISIONS revisions."""
    names = [f"real-{i:04d}" for i in range(count)]
    started = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda n: helm.run(helm.argv("install", n, chart_url, values_files["v1"])), names))
        upgraded = [n for i, n in enumerate(names) if i % 10 == 0]
        for _ in range(2):  # one round per revision: a release's upgrades must not overlap
            list(pool.map(lambda n: helm.run(helm.argv("upgrade", n, chart_url, values_files["v2"])), upgraded))
    helm.run(helm.argv("install", REAL_HISTORY_TARGET, chart_url, values_files["v1"]))
    for r in range(2, REVISIONS + 1):
        helm.run(helm.argv("upgrade", REAL_HISTORY_TARGET, chart_url, values_files["v2" if r % 2 else "v1"]))
    seconds = time.perf_counter() - started
    log(f"scale: {count + 1} real releases installed in {seconds:.0f} s")
    return {"releases": count + 1, "upgrades": 2 * len(upgraded) + REVISIONS - 1, "seconds": seconds}


def helm_reads(helm: HelmCli, samples: int) -> list[dict[str, Any]]:
    """helm list -A (everything, and a 100-release "page") and helm history on the real cluster."""
    ns = ["--namespace", NAMESPACE]
    calls = {
        "helm list -A --max 0": ["list", "--all-namespaces", "--output", "json", "--max", "0"],
        "helm list -A --max 100": ["list", "--all-namespaces", "--output", "json", "--max", "100"],
        f"helm history ({REVISIONS} revisions)": ["history", *ns, "--output", "json", "--", REAL_HISTORY_TARGET],
    }
    out = []
    for what, argv in calls.items():
        series, items = Series(), 0
        for _ in range(samples):
            seconds, stdout = helm.run(argv)
            series.add(seconds)
            items = stdout.count('"name"') if "list" in argv else stdout.count('"revision"')
        out.append({"what": what, "helm": series.summary(), "items": items})
    return out


# ---------------------------------------------------------------- the phase


def measure(
    api: Api,
    helm: HelmCli,
    chart_url: str,
    values_files: dict[str, Any],
    endpoint: str,
    table_name: str,
    levels: list[int],
    samples: int,
    real: int,
    parallel: int,
) -> dict[str, Any]:
    """Real releases first (helm's side does not depend on the seeded records), then each seeded level."""
    out: dict[str, Any] = {"levels": [], "real": install_real(helm, chart_url, values_files, real, parallel)}
    out["helm_reads"] = helm_reads(helm, samples)
    resource = boto3.resource(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    meter = QueryMeter().attach(resource.meta.client)
    store = Store(resource, table_name)
    seeder = Seeder(resource, table_name, api.cluster)
    for level in levels:
        step = seeder.seed_to(level)
        added = level - (out["levels"][-1]["records"] if out["levels"] else 0)
        log(f"scale: seeded {level:,} records ({added:,} in {step:.1f} s, {added / step:,.0f}/s); measuring")
        probes = measure_level(api, store, meter, samples if level < BIG else max(3, samples // 2))
        out["levels"].append(
            {
                "records": level,
                "seed_step_s": step,
                "seed_items_per_s": added / step if step else 0,
                "probes": [p.to_json() for p in probes],
            }
        )
    out["seed_total_s"] = seeder.seconds
    return out


def render(result: dict[str, Any], md: bool = False) -> str:
    header = [
        "read",
        "records",
        "API p50",
        "API p95",
        "store p50",
        "store p95",
        "of which emulator p50",
        "items",
        "Query calls",
        "ScannedCount",
        "est. RCU",
    ]
    rows = []
    for level in result["levels"]:
        for p in level["probes"]:
            rows.append(
                [
                    p["what"],
                    f"{level['records']:,}",
                    ms(p["api"]["p50_s"]),
                    ms(p["api"]["p95_s"]),
                    ms(p["store"]["p50_s"], 1),
                    ms(p["store"]["p95_s"], 1),
                    ms(p.get("store_wire", {}).get("p50_s"), 1),
                    str(p["items"]),
                    str(p["query_calls"]),
                    str(p["scanned_count"]),
                    f"{p['consumed_rcu']:g}",
                ]
            )
    helm_rows = [
        [
            h["what"],
            f"{result['real']['releases']:,} real",
            ms(h["helm"]["p50_s"]),
            ms(h["helm"]["p95_s"]),
            str(h["items"]),
        ]
        for h in result["helm_reads"]
    ]
    seed = [
        [f"{lv['records']:,}", f"{lv['seed_step_s']:.1f}", f"{lv['seed_items_per_s']:,.0f}"] for lv in result["levels"]
    ]
    return "\n\n".join(
        [
            block(
                "2. List and history at scale (ms): the API and the Store against the emulated DynamoDB",
                header,
                rows,
                md,
            ),
            block("2b. helm on the real cluster (ms)", ["read", "releases", "p50", "p95", "items"], helm_rows, md),
            block("2c. Seeding (BatchWriteItem, 25 items a request)", ["records", "step s", "items/s"], seed, md),
        ]
    )
