"""5. What an operation would be billed for, deployed: counted per verb on the real local stack, priced in the docs.

The app runs **in this process** (Chalice's test client for the API, the handlers called as Lambda calls them), on
a stack started with no worker processes, against the stack's emulated AWS services, its real kube-apiserver and the
real helm binary. Every botocore client the app creates gets event hooks (``provide-client-params`` and
``after-call``), so each AWS call is counted where it happens, whichever function made it:

* Lambda: invocations per function and GB-seconds (measured duration of each handler call, rounded up to the
  millisecond as Lambda bills, times the function's configured memory from ``.chalice/config.json``);
* API Gateway requests (one per HTTP request);
* DynamoDB read and write request units, estimated from the items' sizes as on-demand bills them (1 KB per write
  unit, 4 KB per read unit, half for an eventually consistent read, double inside a transaction; an ``UpdateItem`` is
  counted on its key and new values, a lower bound); moto reports no capacity of its own;
* SQS requests (``SendMessage`` here; the Lambda trigger's receive and delete are added per message, 2 requests),
  Secrets Manager and EventBridge calls, S3 requests.

Each verb is measured in both modes, through a fresh container state (``bootstrap`` built anew) so that the
one-off costs (credentials, ``helm version``) land in the first operation and are reported apart:

* sync: ``Prefer: wait=20`` with a 15 s helm timeout, one API invocation that runs the operation;
* async: the ``202`` request, the worker's invocation (the message taken from the queue here) and one ``GET`` of
  the finished operation (a client that polls more pays one API request and ~1 read unit per poll).

Also: a reconcile of the cluster (the scheduled ``reconcile_clusters`` queues it; its worker run), the
per-minute lease sweep, and the reads (``get``, ``history``, a list page). Durations include the emulator's
latency (one request at a time, slower than DynamoDB), so GB-seconds are an upper estimate.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench.bench_releases import NAMESPACE, log
from bench.report import Series, block
from bench.scale import attribute_size
from devstack.stack import ROOT

SYNC_WAIT_S = 20
SYNC_TIMEOUT_S = 15
TRIGGER_REQUESTS_PER_MESSAGE = 2  # the SQS trigger's ReceiveMessage and DeleteMessage, billed to the account
DEFAULT_MEMORY_MB = 128  # Chalice's default for a function config.json does not size


def function_memory_mb(name: str) -> int:
    """The configured memory of one Lambda function (``.chalice/config.json``; Chalice's default otherwise)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    size = config.get("lambda_functions", {}).get(name, {}).get("lambda_memory_size")
    return int(size or config.get("lambda_memory_size") or DEFAULT_MEMORY_MB)


# ---------------------------------------------------------------- what DynamoDB would bill


def size_of(item: Any) -> int:
    """An item's size in bytes: names plus typed values (``{"S": ...}``); anything else by its JSON length."""
    if not isinstance(item, dict):
        return 0
    try:
        return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())
    except (ValueError, AttributeError, TypeError):
        return len(json.dumps(item, default=str))


def units(size: int, unit: int) -> int:
    return max(1, math.ceil(size / unit))


def _write_units(action: str, body: dict[str, Any]) -> int:
    if action == "Put":
        return units(size_of(body.get("Item")), 1024)
    if action == "Update":
        return units(size_of(body.get("Key")) + size_of(body.get("ExpressionAttributeValues")), 1024)
    return 1  # Delete; a ConditionCheck is billed as a read, see below


def dynamodb_units(operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> tuple[float, float]:
    """(read units, write units) of one DynamoDB call, as on-demand capacity bills them (estimated)."""
    strong = 1.0 if params.get("ConsistentRead") else 0.5
    if operation == "GetItem":
        return units(size_of(parsed.get("Item")), 4096) * strong, 0.0
    if operation in ("Query", "Scan"):
        return units(sum(size_of(i) for i in parsed.get("Items", [])), 4096) * strong, 0.0
    if operation == "BatchGetItem":
        items = [i for rows in parsed.get("Responses", {}).values() for i in rows]
        return sum(units(size_of(i), 4096) * 0.5 for i in items), 0.0
    if operation == "PutItem":
        return 0.0, float(_write_units("Put", params))
    if operation == "UpdateItem":
        return 0.0, float(_write_units("Update", params))
    if operation == "DeleteItem":
        return 0.0, 1.0
    if operation == "BatchWriteItem":
        requests = [r for rows in params.get("RequestItems", {}).values() for r in rows]
        return 0.0, float(sum(units(size_of(r.get("PutRequest", {}).get("Item")), 1024) for r in requests))
    if operation == "TransactWriteItems":
        reads = writes = 0.0
        for entry in params.get("TransactItems", []):
            ((action, body),) = entry.items()
            if action == "ConditionCheck":
                reads += 2
            else:
                writes += 2 * _write_units(action, body)
        return reads, writes
    if operation == "TransactGetItems":
        return sum(2.0 * units(size_of(r.get("Item")), 4096) for r in parsed.get("Responses", [])), 0.0
    return 0.0, 0.0


# ---------------------------------------------------------------- counting every AWS call of the app


@dataclass
class Usage:
    """What one operation (or one read, one sweep) used."""

    calls: Counter[str] = field(default_factory=Counter)  # "service:Operation" -> count
    rru: float = 0.0
    wru: float = 0.0
    invocations: Counter[str] = field(default_factory=Counter)  # function -> count
    gb_s: float = 0.0
    api_requests: int = 0

    def service_calls(self, service: str) -> int:
        return sum(n for key, n in self.calls.items() if key.startswith(service + ":"))

    def to_json(self) -> dict[str, Any]:
        sqs_sent = self.calls.get("sqs:SendMessage", 0)
        return {
            "lambda_invocations": dict(self.invocations),
            "lambda_gb_s": self.gb_s,
            "api_gateway_requests": self.api_requests,
            "dynamodb_rru": self.rru,
            "dynamodb_wru": self.wru,
            "dynamodb_calls": self.service_calls("dynamodb"),
            "sqs_requests": self.service_calls("sqs") + TRIGGER_REQUESTS_PER_MESSAGE * sqs_sent,
            "secretsmanager_calls": self.service_calls("secretsmanager"),
            "eventbridge_calls": self.service_calls("events"),
            "s3_requests": self.service_calls("s3"),
            "calls": dict(self.calls),
        }


class Meter:
    """Counts into ``current`` (a ``Usage``) every call of every botocore client created while ``installed``."""

    def __init__(self) -> None:
        self.current = Usage()
        self.paused = False  # the benchmark's own calls (standing in for the SQS trigger) are not the app's

    def _params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_params"] = params

    def _after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if self.paused:
            return
        service = model.service_model.endpoint_prefix
        self.current.calls[f"{service}:{model.name}"] += 1
        if service == "dynamodb":
            rru, wru = dynamodb_units(model.name, context.get("bench_params") or {}, parsed or {})
            self.current.rru += rru
            self.current.wru += wru

    @contextmanager
    def installed(self) -> Iterator[Meter]:
        import botocore.session

        original = botocore.session.Session.create_client
        meter = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            client.meta.events.register("provide-client-params", meter._params)
            client.meta.events.register("after-call", meter._after)
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign,assignment]
        try:
            yield self
        finally:
            botocore.session.Session.create_client = original  # type: ignore[method-assign]

    @contextmanager
    def measuring(self) -> Iterator[Usage]:
        self.current = usage = Usage()
        try:
            yield usage
        finally:
            self.current = Usage()


def invoke(usage: Usage, function: str, call: Callable[[], Any], api: bool = False) -> Any:
    """One Lambda invocation of ``function``: its billed duration (ms rounded up) times its memory."""
    started = time.perf_counter()
    try:
        return call()
    finally:
        billed_ms = math.ceil((time.perf_counter() - started) * 1000)
        usage.invocations[function] += 1
        usage.gb_s += billed_ms / 1000 * function_memory_mb(function) / 1024
        usage.api_requests += 1 if api else 0


# ---------------------------------------------------------------- the app in this process


@dataclass
class InProcess:
    """The app in this process on the stack's services: HTTP through Chalice's test client, handlers as Lambda."""

    client: Any
    token: str
    queue_url: str
    cluster: str
    meter: Meter

    def http(self, usage: Usage, method: str, path: str, body: Any = None, wait: bool = False) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"}
        if wait:
            headers["Prefer"] = f"wait={SYNC_WAIT_S}"
        kwargs: dict[str, Any] = {"headers": headers}
        if body is not None:
            kwargs["body"] = json.dumps(body)
        resp = invoke(usage, "api_handler", lambda: getattr(self.client.http, method.lower())(path, **kwargs), True)
        return resp.status_code, resp.json_body

    def handler(self, usage: Usage, function: str, event: Any) -> Any:
        from chalice.local import LambdaContext

        from app import app

        context = LambdaContext(function, function_memory_mb(function), max_runtime_ms=900_000)
        return invoke(usage, function, lambda: app.handler_map[function](event, context))

    def run_queued(self, usage: Usage) -> int:
        """Take every message off the queue and run it in the worker handler (the stack has no workers)."""
        import boto3

        sqs, count = boto3.client("sqs"), 0
        while True:
            self.meter.paused = True  # the trigger's receive and delete are priced per message instead
            try:
                msgs = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
                for m in msgs:
                    sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
            finally:
                self.meter.paused = False
            if not msgs:
                return count
            for m in msgs:
                event = self.client.events.generate_sqs_event(queue_name="q", message_bodies=[m["Body"]])
                self.handler(usage, "execute_operations", event)
                count += 1


@contextmanager
def in_process(env: dict[str, str], token: str, cluster: str, meter: Meter) -> Iterator[InProcess]:
    """The app built from the stack's environment (restored afterwards), with Chalice's test client."""
    from chalice.test import Client

    from chalicelib import bootstrap

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from app import app

        bootstrap.override(None)
        with Client(app, stage_name="test", project_dir=str(ROOT)) as client:
            os.environ.update(env)  # the test stage's own variables must not replace the stack's endpoint
            import boto3

            queue_url = boto3.client("sqs").get_queue_url(QueueName=_queue_name())["QueueUrl"]
            yield InProcess(client, token, queue_url, cluster, meter)
    finally:
        bootstrap.override(None)
        os.environ.clear()
        os.environ.update(saved)


def _queue_name() -> str:
    from chalicelib.config import QUEUE_NAME

    return QUEUE_NAME


def fresh_container() -> None:
    """Forget the built object graph (clients, cached credentials, helm's version): a cold container's state."""
    from chalicelib import bootstrap

    bootstrap._default.cache_clear()  # noqa: SLF001 - a cold container has built nothing yet
    bootstrap.override(None)


# ---------------------------------------------------------------- the measurement


def _must(status: int, data: Any, ok: tuple[int, ...], what: str) -> Any:
    if status not in ok:
        raise RuntimeError(f"{what}: HTTP {status}: {str(data)[:300]}")
    return data


def lifecycle(
    app: InProcess, meter: Meter, name: str, chart: str, values: dict[str, dict[str, Any]], sync: bool
) -> dict[str, Usage]:
    """install -> upgrade -> rollback -> uninstall of one release, each verb's usage apart."""
    base = f"/v1/clusters/{app.cluster}/namespaces/{NAMESPACE}/releases"
    steps: list[tuple[str, str, str, dict[str, Any]]] = [
        ("install", "POST", base, {"name": name, "chart": chart, "values": values["v1"]}),
        ("upgrade", "PUT", f"{base}/{name}", {"chart": chart, "values": values["v2"]}),
        ("rollback", "POST", f"{base}/{name}/rollback", {}),
        ("uninstall", "DELETE", f"{base}/{name}", {}),
    ]
    out: dict[str, Usage] = {}
    for verb, method, path, body in steps:
        with meter.measuring() as usage:
            if sync:
                status, op = app.http(usage, method, path, {**body, "timeout": SYNC_TIMEOUT_S}, wait=True)
                _must(status, op, (200, 201), f"sync {verb}")
            else:
                status, op = app.http(usage, method, path, body)
                _must(status, op, (202,), f"async {verb}")
                app.run_queued(usage)
                status, op = app.http(usage, "GET", f"/v1/operations/{op['id']}")
            if op.get("status") != "succeeded":
                raise RuntimeError(f"{verb} ({'sync' if sync else 'async'}) ended {op.get('status')}: {op}")
        out[verb] = usage
    return out


def reads(app: InProcess, meter: Meter, name: str, chart: str, values: dict[str, Any]) -> dict[str, Usage]:
    base = f"/v1/clusters/{app.cluster}/namespaces/{NAMESPACE}/releases"
    with meter.measuring() as setup:
        app.http(setup, "POST", base, {"name": name, "chart": chart, "values": values, "timeout": 15}, wait=True)
    out: dict[str, Usage] = {}
    for label, path in (
        ("get", f"{base}/{name}"),
        ("history", f"{base}/{name}/history"),
        ("list (one namespace, limit 100)", f"{base}?limit=100"),
    ):
        with meter.measuring() as usage:
            _must(*app.http(usage, "GET", path), (200,), label)
        out[label] = usage
    return out


def scheduled(app: InProcess, meter: Meter) -> dict[str, Usage]:
    """The per-minute lease sweep, and one scheduled reconcile of the cluster (the schedule's invocation queues
    it; the worker runs it)."""
    event = app.client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    out: dict[str, Usage] = {}
    with meter.measuring() as usage:
        app.handler(usage, "sweep_stale_leases", event)
    out["sweep (every minute)"] = usage
    with meter.measuring() as usage:
        app.handler(usage, "reconcile_clusters", event)
        app.run_queued(usage)
    out["reconcile of one cluster (scheduled)"] = usage
    return out


def measure(
    env: dict[str, str], token: str, cluster: str, chart: str, values: dict[str, dict[str, Any]], rounds: int
) -> dict[str, Any]:
    """``rounds`` lifecycles per mode (the first in a fresh container: its one-off costs are reported apart),
    then the reads and the scheduled work. Each figure is the median over the warm rounds."""
    meter = Meter()
    per_mode: dict[str, dict[str, list[Usage]]] = {"sync": {}, "async": {}}
    first: dict[str, dict[str, Usage]] = {}
    with meter.installed(), in_process(env, token, cluster, meter) as app:
        for i in range(rounds + 1):
            for mode in ("sync", "async"):
                if i == 0:
                    fresh_container()
                used = lifecycle(app, meter, f"cost-{mode}-{i}", chart, values, mode == "sync")
                if i == 0:
                    first[mode] = used
                    continue
                for verb, usage in used.items():
                    per_mode[mode].setdefault(verb, []).append(usage)
            log(f"cost: round {i + 1}/{rounds + 1} done")
        extra = {**reads(app, meter, "cost-reads", chart, values["v1"]), **scheduled(app, meter)}
    return {
        "rounds": rounds,
        "memory_mb": {f: function_memory_mb(f) for f in ("api_handler", "execute_operations", "sweep_stale_leases")},
        "verbs": {
            mode: {verb: _median(samples) for verb, samples in verbs.items()} for mode, verbs in per_mode.items()
        },
        "first_in_container": {mode: {v: u.to_json() for v, u in used.items()} for mode, used in first.items()},
        "other": {label: u.to_json() for label, u in extra.items()},
    }


def _median(samples: list[Usage]) -> dict[str, Any]:
    """The median of each figure over the samples (the calls of the median sample by GB-seconds)."""
    as_json = [u.to_json() for u in samples]
    out: dict[str, Any] = {}
    for key in ("lambda_gb_s", "api_gateway_requests", "dynamodb_rru", "dynamodb_wru", "dynamodb_calls"):
        series = Series()
        for item in as_json:
            series.add(float(item[key]))
        out[key] = series.summary()["median_s"]
    for key in ("sqs_requests", "secretsmanager_calls", "eventbridge_calls", "s3_requests"):
        out[key] = sorted(item[key] for item in as_json)[len(as_json) // 2]
    middle = sorted(as_json, key=lambda item: item["lambda_gb_s"])[len(as_json) // 2]
    out["lambda_invocations"] = middle["lambda_invocations"]
    out["calls"] = middle["calls"]
    out["n"] = len(as_json)
    return out


# ---------------------------------------------------------------- tables


COLUMNS = (
    ("Lambda GB-s", "lambda_gb_s", "{:.3f}"),
    ("API requests", "api_gateway_requests", "{:.0f}"),
    ("DynamoDB RRU", "dynamodb_rru", "{:g}"),
    ("DynamoDB WRU", "dynamodb_wru", "{:g}"),
    ("DynamoDB calls", "dynamodb_calls", "{:.0f}"),
    ("SQS requests", "sqs_requests", "{:.0f}"),
    ("Secrets Manager", "secretsmanager_calls", "{:.0f}"),
    ("EventBridge", "eventbridge_calls", "{:.0f}"),
    ("S3", "s3_requests", "{:.0f}"),
)


def usage_row(label: str, figures: dict[str, Any]) -> list[str]:
    return [label, *(fmt.format(float(figures.get(key, 0))) for _, key, fmt in COLUMNS)]


def render(result: dict[str, Any], md: bool = False) -> str:
    header = ["what", *(name for name, _, _ in COLUMNS)]
    rows = [
        usage_row(f"{verb} ({mode})", figs) for mode, verbs in result["verbs"].items() for verb, figs in verbs.items()
    ]
    rows += [usage_row(label, figs) for label, figs in result["other"].items()]
    firsts = [
        usage_row(f"{verb} ({mode}, first in a container)", figs)
        for mode, verbs in result["first_in_container"].items()
        for verb, figs in verbs.items()
        if verb == "install"
    ]
    memory = ", ".join(f"{k} {v} MB" for k, v in result["memory_mb"].items())
    return "\n\n".join(
        [
            block(
                f"5. What each operation uses, deployed (median of {result['rounds']} warm rounds; memory: {memory})",
                header,
                rows,
                md,
            ),
            block("5a. One-off costs of a fresh container (its first install)", header, firsts, md),
        ]
    )
