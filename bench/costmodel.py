"""The cost model of docs/PERFORMANCE.md: the cost phase's counts (``cost.py``) times public prices.

    .venv/bin/python -m bench.costmodel bench/results/<run>.json     # prints the Markdown tables

Prices: AWS us-east-1 list prices, on-demand, no free tier, no savings plan, as written down on ``PRICES_DATE``
from AWS's public pricing pages (Lambda, API Gateway REST API, DynamoDB on-demand after its November 2024
reduction, SQS FIFO, Secrets Manager, EventBridge custom events, EC2 on-demand Linux, EBS gp3), and on
``STREAM_PRICES_DATE`` for DynamoDB Streams and EventBridge Pipes. They were not fetched by this code: check them
before planning with the tables.

**The projection** (``Projection``, ``--store-calls`` and the other options below): the measured counts of a run
describe the code that ran; the call counts issue 28 aims at (a sync install: the accept and the finish transactions
and at most one read, 3 calls; the state-change event produced from the table's stream by EventBridge Pipes instead
of a ``PutEvents`` on the request path) are parameters, so the tables can be redone with the counts a later run
measures::

    .venv/bin/python -m bench.costmodel RESULTS.json --store-calls 3 --reads 1 --events pipes

The projected operation keeps the run's Lambda GB-seconds less ``call_ms`` per store call removed, and prices the
store from the parameters (each transaction writes its items, each 1 KB write unit doubled in a transaction; a read
is one strongly consistent read unit per 4 KB). The stream's costs: DynamoDB Streams bills nothing for writing
stream records; its ``GetRecords`` reads are free for Lambda consumers only, so a pipe's polling is billed as
streams read request units ($0.02 per 100,000 in us-east-1 after the first 2,500,000 a month per account and
region), whether a poll finds records or not: a fixed monthly cost per shard (``stream_polls_per_s``, an estimate:
AWS does not publish a pipe's idle poll rate; Lambda's event source mapping polls each shard about four times a
second). Pipes bills its requests after filtering (an operation's terminal write is the one record that passes),
one request per 64 KB chunk; the event then put on the bus is a custom event as before.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRICES_DATE = "2026-11-27"
PRICES = {
    "lambda_gb_s": 0.0000166667,  # x86, per GB-second
    "lambda_request": 0.20 / 1e6,
    "api_gateway_request": 3.50 / 1e6,  # REST API (what Chalice deploys), first 333 M a month
    "dynamodb_rru": 0.125 / 1e6,  # on-demand read request unit
    "dynamodb_wru": 0.625 / 1e6,  # on-demand write request unit
    "sqs_request": 0.50 / 1e6,  # FIFO queue, per 64 KB request
    "secretsmanager_call": 0.05 / 10_000,
    "secretsmanager_secret_month": 0.40,  # one secret per registered cluster
    "eventbridge_event": 1.00 / 1e6,  # custom events put on a bus
    "s3_request": 0.005 / 1000,  # PUT-class, the dearer kind (GETs are 0.0004 per 1,000)
    "ec2_t3_small_hour": 0.0208,  # 2 vCPU (20 % baseline each), 2 GiB
    "ec2_m6i_large_hour": 0.096,  # 2 vCPU, 8 GiB, no CPU credits
    "ebs_gp3_gb_month": 0.08,
    # DynamoDB Streams and EventBridge Pipes (STREAM_PRICES_DATE)
    "pipes_request": 0.40 / 1e6,  # per request after filtering, each 64 KB chunk of the payload one request
    "streams_read_request": 0.02 / 100_000,  # a GetRecords call by a non-Lambda consumer (a pipe)
}
STREAM_PRICES_DATE = "2026-12-07"
STREAMS_FREE_READS_PER_MONTH = 2_500_000  # per account and region, non-Lambda consumers
HOURS_PER_MONTH = 730
MINUTES_PER_MONTH = HOURS_PER_MONTH * 60
T3_SMALL_BASELINE_VCPU = 0.4  # 2 vCPU x 20 %: what it sustains without running out of CPU credits
INSTANCE_DISK_GB = 20


@dataclass(frozen=True)
class Rates:
    """What one cluster does in a month (stated in the docs beside the table)."""

    mutating_per_day: float = 20  # installs, upgrades, rollbacks, uninstalls (a quarter each)
    reads_per_day: float = 200  # get, history, list (a third each)
    reconcile_every_min: float = 15  # the dev stage's schedule (prod: 5)


def op_cost(figures: dict[str, Any]) -> float:
    """Dollars of one operation's counted usage (each Lambda invocation is also a request)."""
    invocations = sum(float(n) for n in figures.get("lambda_invocations", {}).values())
    return float(
        float(figures.get("lambda_gb_s", 0)) * PRICES["lambda_gb_s"]
        + invocations * PRICES["lambda_request"]
        + float(figures.get("api_gateway_requests", 0)) * PRICES["api_gateway_request"]
        + float(figures.get("dynamodb_rru", 0)) * PRICES["dynamodb_rru"]
        + float(figures.get("dynamodb_wru", 0)) * PRICES["dynamodb_wru"]
        + float(figures.get("sqs_requests", 0)) * PRICES["sqs_request"]
        + float(figures.get("secretsmanager_calls", 0)) * PRICES["secretsmanager_call"]
        + float(figures.get("eventbridge_calls", 0)) * PRICES["eventbridge_event"]
        + float(figures.get("s3_requests", 0)) * PRICES["s3_request"]
    )


@dataclass(frozen=True)
class Projection:
    """The store calls and the event path of one mutating operation, as parameters (issue 28's targets by default:
    fill them with what a run measures after the change lands)."""

    store_calls: int = 3  # DynamoDB calls of a sync operation: accept + finish transactions + at most one read
    reads: int = 1  # of which plain reads (the rest are the two transactions)
    accept_items: int = 3  # operation, lease, Idempotency-Key
    finish_items: int = 5  # record, revision, operation, lease freed, audit entry
    item_kb: float = 1.0  # an item's size (the release record and the operation are the large ones)
    read_kb: float = 1.0
    async_extra_calls: int = 1  # the worker's own read of the operation it was handed
    events: str = "pipes"  # "pipes": from the table's stream; "putevents": a PutEvents on the request path
    event_kb: float = 4.0  # the state-change event's size (one Pipes request per 64 KB chunk)
    stream_polls_per_s: float = 4.0  # a pipe's GetRecords per second and shard (an estimate, see the docstring)
    shards: int = 1
    call_ms: float = 3.0  # what one store call takes in the function (in-region DynamoDB), for the GB-seconds

    def dynamodb(self, mode: str) -> tuple[float, float, int]:
        """(read units, write units, calls) of one operation."""
        write_units = math.ceil(self.item_kb)
        wru = 2.0 * write_units * (self.accept_items + self.finish_items)
        extra = self.async_extra_calls if mode == "async" else 0
        rru = float((self.reads + extra) * math.ceil(self.read_kb / 4))
        return rru, wru, self.store_calls + extra

    def event_cost(self) -> float:
        """Dollars of one operation's state-change event."""
        if self.events == "putevents":
            return PRICES["eventbridge_event"]
        chunks = max(1, math.ceil(self.event_kb / 64))
        return chunks * PRICES["pipes_request"] + PRICES["eventbridge_event"]

    def stream_monthly(self) -> float:
        """The pipe's polling of the stream, a month (nothing for a PutEvents path)."""
        if self.events == "putevents":
            return 0.0
        polls = self.stream_polls_per_s * MINUTES_PER_MONTH * 60 * self.shards
        return max(0.0, polls - STREAMS_FREE_READS_PER_MONTH) * PRICES["streams_read_request"]


def projected(figures: dict[str, Any], mode: str, proj: Projection) -> dict[str, Any]:
    """A measured operation's figures with the store and the event path of ``proj``: the store units and calls
    replaced, the GB-seconds less ``call_ms`` per call removed (at the function's memory, 1 GB for the API and the
    worker), the event priced apart (``event_dollars``)."""
    rru, wru, calls = proj.dynamodb(mode)
    removed = max(0.0, float(figures.get("dynamodb_calls", calls)) - calls)
    if proj.events == "pipes":
        removed += float(figures.get("eventbridge_calls", 0))
    gb_s = max(0.0, float(figures.get("lambda_gb_s", 0)) - removed * proj.call_ms / 1000)
    return {
        **figures,
        "lambda_gb_s": gb_s,
        "dynamodb_rru": rru,
        "dynamodb_wru": wru,
        "dynamodb_calls": calls,
        "eventbridge_calls": 0,
        "event_dollars": proj.event_cost(),
    }


def projected_cost(figures: dict[str, Any], mode: str, proj: Projection) -> float:
    p = projected(figures, mode, proj)
    return op_cost(p) + float(p["event_dollars"])


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def monthly(
    result: dict[str, Any], clusters: int, mode: str, rates: Rates, proj: Projection | None = None
) -> dict[str, float]:
    """Dollars a month for ``clusters`` clusters at ``rates``, by part; the sweep runs once a minute in all. With
    ``proj``, the mutating operations are priced as projected and the stream's polling is added (one per stage)."""
    verbs = result["verbs"][mode]
    other = result["other"]
    days = 30.4

    def priced(figures: dict[str, Any]) -> float:
        return projected_cost(figures, mode, proj) if proj else op_cost(figures)

    mutating = rates.mutating_per_day * days * clusters * mean([priced(f) for f in verbs.values()])
    read_labels = [k for k in other if not k.startswith(("sweep", "reconcile"))]
    reads = rates.reads_per_day * days * clusters * mean([op_cost(other[k]) for k in read_labels])
    reconcile_key = next(k for k in other if k.startswith("reconcile"))
    reconciles = MINUTES_PER_MONTH / rates.reconcile_every_min * clusters * op_cost(other[reconcile_key])
    sweep_key = next(k for k in other if k.startswith("sweep"))
    sweep = MINUTES_PER_MONTH * op_cost(other[sweep_key])
    secrets = clusters * PRICES["secretsmanager_secret_month"]
    stream = proj.stream_monthly() if proj else 0.0
    return {
        "operations": mutating,
        "reads": reads,
        "reconcile": reconciles,
        "sweep": sweep,
        "secrets": secrets,
        "stream": stream,
        "total": mutating + reads + reconciles + sweep + secrets + stream,
    }


def instance_monthly(result: dict[str, Any], clusters: int, rates: Rates) -> tuple[str, float]:
    """The same work on always-on instances (the helm-wrapper way): the CPU seconds the functions were billed for
    (an upper estimate of the work), sized onto t3.small while its baseline holds, else m6i.large at most 75 %
    busy; plus a 20 GB disk each. One instance, no redundancy."""
    days = 30.4
    verbs = result["verbs"]["sync"]
    other = result["other"]
    reconcile_key = next(k for k in other if k.startswith("reconcile"))
    seconds = rates.mutating_per_day * days * clusters * mean(
        [float(f["lambda_gb_s"]) for f in verbs.values()]
    ) + MINUTES_PER_MONTH / rates.reconcile_every_min * clusters * float(
        other[reconcile_key]["lambda_gb_s"]
    )  # at 1 GB, GB-seconds are seconds
    busy_vcpu = seconds / (HOURS_PER_MONTH * 3600)
    disk = INSTANCE_DISK_GB * PRICES["ebs_gp3_gb_month"]
    if busy_vcpu <= T3_SMALL_BASELINE_VCPU:
        return "1 x t3.small", PRICES["ec2_t3_small_hour"] * HOURS_PER_MONTH + disk
    count = max(1, math.ceil(busy_vcpu / (2 * 0.75)))
    return f"{count} x m6i.large", count * (PRICES["ec2_m6i_large_hour"] * HOURS_PER_MONTH + disk)


DEFAULT_RATES = Rates()


def render(result: dict[str, Any], rates: Rates = DEFAULT_RATES) -> str:
    lines = [f"Prices (us-east-1, on-demand, no free tier), written down {PRICES_DATE}:", ""]
    lines += [f"* `{k}`: ${v:.10g}" for k, v in PRICES.items()]
    lines += ["", "| per 1,000 | sync | async |", "|---|---:|---:|"]
    for verb in result["verbs"]["sync"]:
        sync, asyn = op_cost(result["verbs"]["sync"][verb]), op_cost(result["verbs"]["async"][verb])
        lines.append(f"| {verb} | ${1000 * sync:.4f} | ${1000 * asyn:.4f} |")
    for label, figures in result["other"].items():
        lines.append(f"| {label} | ${1000 * op_cost(figures):.4f} | |")
    lines += [
        "",
        f"Per month: {rates.mutating_per_day:g} mutating operations and {rates.reads_per_day:g} reads a day per "
        f"cluster, a reconcile every {rates.reconcile_every_min:g} min per cluster, the sweep every minute:",
        "",
        "| clusters | operations | reads | reconcile | sweep | secrets | serverless total (sync) | async total "
        "| always-on instance | instance $/month |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for clusters in (10, 100, 1000):
        s, a = monthly(result, clusters, "sync", rates), monthly(result, clusters, "async", rates)
        kind, dollars = instance_monthly(result, clusters, rates)
        lines.append(
            f"| {clusters:,} | ${s['operations']:.2f} | ${s['reads']:.2f} | ${s['reconcile']:.2f} | "
            f"${s['sweep']:.2f} | ${s['secrets']:.2f} | **${s['total']:.2f}** | ${a['total']:.2f} | {kind} | "
            f"${dollars:.2f} |"
        )
    return "\n".join(lines)


def render_projection(result: dict[str, Any], proj: Projection, rates: Rates = DEFAULT_RATES) -> str:
    """The run's mutating operations beside the same with ``proj``'s store calls and event path."""
    lines = [
        f"Projection: {proj.store_calls} store calls a sync operation ({proj.reads} read(s); async "
        f"+{proj.async_extra_calls}), accept {proj.accept_items} + finish {proj.finish_items} items of "
        f"{proj.item_kb:g} KB, events by {proj.events}"
        + (
            f" ({proj.event_kb:g} KB, the stream polled {proj.stream_polls_per_s:g}/s on {proj.shards} shard(s): "
            f"${proj.stream_monthly():.2f} a month)"
            if proj.events == "pipes"
            else ""
        )
        + f"; {proj.call_ms:g} ms per store call removed from the GB-seconds.",
        "",
        "| per 1,000 | measured sync | projected sync | measured async | projected async | store calls (sync) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for verb, sync in result["verbs"]["sync"].items():
        asyn = result["verbs"]["async"][verb]
        lines.append(
            f"| {verb} | ${1000 * op_cost(sync):.4f} | ${1000 * projected_cost(sync, 'sync', proj):.4f} | "
            f"${1000 * op_cost(asyn):.4f} | ${1000 * projected_cost(asyn, 'async', proj):.4f} | "
            f"{float(sync.get('dynamodb_calls', 0)):.0f} -> {proj.store_calls} |"
        )
    lines += [
        "",
        "| clusters | measured total (sync) | projected total (sync) | of which the stream |",
        "|---:|---:|---:|---:|",
    ]
    for clusters in (10, 100, 1000):
        m, pr = monthly(result, clusters, "sync", rates), monthly(result, clusters, "sync", rates, proj)
        lines.append(f"| {clusters:,} | ${m['total']:.2f} | **${pr['total']:.2f}** | ${pr['stream']:.2f} |")
    return "\n".join(lines)


def parse_args(argv: list[str]) -> tuple[Path, Projection | None]:
    import argparse

    d = Projection()
    p = argparse.ArgumentParser(prog="python -m bench.costmodel", description="The cost tables of a run.")
    p.add_argument("results", type=Path, help="a results JSON with the cost phase")
    p.add_argument("--no-projection", action="store_true", help="only the measured tables")
    p.add_argument("--store-calls", type=int, default=d.store_calls, help=f"of a sync operation ({d.store_calls})")
    p.add_argument("--reads", type=int, default=d.reads, help=f"plain reads among them ({d.reads})")
    p.add_argument("--accept-items", type=int, default=d.accept_items)
    p.add_argument("--finish-items", type=int, default=d.finish_items)
    p.add_argument("--item-kb", type=float, default=d.item_kb)
    p.add_argument("--async-extra-calls", type=int, default=d.async_extra_calls)
    p.add_argument("--events", choices=("pipes", "putevents"), default=d.events)
    p.add_argument("--event-kb", type=float, default=d.event_kb)
    p.add_argument("--stream-polls-per-s", type=float, default=d.stream_polls_per_s)
    p.add_argument("--call-ms", type=float, default=d.call_ms)
    a = p.parse_args(argv)
    if a.no_projection:
        return a.results, None
    return a.results, Projection(
        store_calls=a.store_calls,
        reads=a.reads,
        accept_items=a.accept_items,
        finish_items=a.finish_items,
        item_kb=a.item_kb,
        async_extra_calls=a.async_extra_calls,
        events=a.events,
        event_kb=a.event_kb,
        stream_polls_per_s=a.stream_polls_per_s,
        call_ms=a.call_ms,
    )


def main(argv: list[str] | None = None) -> int:
    path, proj = parse_args(sys.argv[1:] if argv is None else argv)
    data = json.loads(path.read_text())
    print(render(data["cost"]))
    if proj is not None:
        print()
        print(render_projection(data["cost"], proj))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
