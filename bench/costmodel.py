"""The cost model of docs/PERFORMANCE.md: the cost phase's counts (``cost.py``) times public prices.

    .venv/bin/python -m bench.costmodel bench/results/<run>.json     # prints the Markdown tables

Prices: AWS us-east-1 list prices, on-demand, no free tier, no savings plan, as written down on ``PRICES_DATE``
from AWS's public pricing pages (Lambda, API Gateway REST API, DynamoDB on-demand after its November 2024
reduction, SQS FIFO, Secrets Manager, EventBridge custom events, EC2 on-demand Linux, EBS gp3). They were not
fetched by this code: check them before planning with the tables.
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
}
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
    invocations = sum(figures.get("lambda_invocations", {}).values())
    return (
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


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def monthly(result: dict[str, Any], clusters: int, mode: str, rates: Rates) -> dict[str, float]:
    """Dollars a month for ``clusters`` clusters at ``rates``, by part; the sweep runs once a minute in all."""
    verbs = result["verbs"][mode]
    other = result["other"]
    days = 30.4
    mutating = rates.mutating_per_day * days * clusters * mean([op_cost(f) for f in verbs.values()])
    read_labels = [k for k in other if not k.startswith(("sweep", "reconcile"))]
    reads = rates.reads_per_day * days * clusters * mean([op_cost(other[k]) for k in read_labels])
    reconcile_key = next(k for k in other if k.startswith("reconcile"))
    reconciles = MINUTES_PER_MONTH / rates.reconcile_every_min * clusters * op_cost(other[reconcile_key])
    sweep_key = next(k for k in other if k.startswith("sweep"))
    sweep = MINUTES_PER_MONTH * op_cost(other[sweep_key])
    secrets = clusters * PRICES["secretsmanager_secret_month"]
    return {
        "operations": mutating,
        "reads": reads,
        "reconcile": reconciles,
        "sweep": sweep,
        "secrets": secrets,
        "total": mutating + reads + reconciles + sweep + secrets,
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


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m bench.costmodel RESULTS.json (a run with the cost phase)", file=sys.stderr)
        return 2
    data = json.loads(Path(args[0]).read_text())
    print(render(data["cost"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
