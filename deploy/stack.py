"""What both deployable forms (SAM: deploy/merge_template.py, Terraform: deploy/terraform.py) share: the runtime,
the names (every one derived from the stage), the limits and why, the alarms and what each means.

Timeouts and memory of each function are in .chalice/config.json (``lambda_functions``); they are read here so
the queue's visibility timeout follows the worker's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from chalicelib.config import stage_secret_prefix

CONFIG = Path(__file__).resolve().parents[1] / ".chalice" / "config.json"
RUNTIME = "python3.13"  # Lambda deprecates it 2029-06-30 (python3.11: 2027-06-30); deploy/runtime.py builds for it
STAGE_PATTERN = r"^[a-z][a-z0-9-]{0,15}$"  # a stage becomes part of names with tight limits (SQS: 80, alarms: 255)
LAYER_FILE = "helm-layer.zip"  # copied beside the packaged template by `make package`

# SQS: AWS's guidance is 6x the function's timeout, so a message is not redelivered while a retried batch still
# runs; redelivery after a lost worker is the sweep's job anyway (it fails the operation within a minute of its
# lease expiring), so the long timeout costs nothing.
VISIBILITY_FACTOR = 6
MAX_RECEIVES = 5  # a message the worker could not take this often (DynamoDB or Secrets Manager down) is parked
INCOMING_DAYS = 1  # presigned uploads that were never completed are deleted after this long
PLAN_DAYS = 1  # reviewed plans' requests (plans/<id>.json, core/plans.py): kept an hour, deleted after this long
DLQ_RETENTION_S = 14 * 24 * 3600  # SQS's maximum: two weeks to look at a parked message
SECRET_RECOVERY_DAYS = 7  # a deleted credential can be restored this long (Secrets Manager's minimum)
LOG_RETENTION_DAYS = 365
ASYNC_RETRIES = 2  # Lambda's default for asynchronous invocations, written down; then the on-failure destination

# Concurrency: the sweep and the schedules run one at a time (two sweeps would race on the same leases); the
# worker is capped by a parameter (WorkerConcurrency) as the SQS event source's maximum concurrency; the API
# by ApiConcurrency. Reserved concurrency comes out of the account's pool: docs/DEPLOY.md says how much.
RESERVED = {
    "SweepStaleLeases": 1,
    "ReconcileClusters": 1,
    "RefreshRepositories": 1,
    "HelmReleaseResource": 2,
    "HelmReleaseInvocation": 2,
    "StateChangeEvents": 5,  # the pipes' enrichment: one invocation per pipe and stream shard at a time
}
# The pipes from the table's stream to the bus (adapters/stream.py PIPES): ten records a batch (PutEvents' most), a
# failing batch split in halves, then after these retries or this age its records' places go to AsyncFailures
PIPE_BATCH = 10
PIPE_RETRIES = 10
PIPE_MAX_RECORD_AGE_S = 3600
DEFAULT_WORKER_CONCURRENCY = 10
DEFAULT_API_CONCURRENCY = 20
API_THROTTLE_RATE = 50  # requests per second, per stage (API Gateway stage throttling)
API_THROTTLE_BURST = 100

# chalice's function resource names and their keys in .chalice/config.json's lambda_functions
CHALICE_NAMES = {
    "APIHandler": "api_handler",
    "ExecuteOperations": "execute_operations",
    "SweepStaleLeases": "sweep_stale_leases",
    "RefreshRepositories": "refresh_repositories",
    "ReconcileClusters": "reconcile_clusters",
    "HelmReleaseResource": "helm_release_resource",
    "HelmReleaseInvocation": "helm_release_invocation",
    "StateChangeEvents": "state_change_events",
}


def check_stage(stage: str) -> str:
    if not re.match(STAGE_PATTERN, stage):
        raise SystemExit(f"stage {stage!r} must match {STAGE_PATTERN} (it becomes part of resource names)")
    return stage


def chalice_config() -> dict[str, object]:
    return dict(json.loads(CONFIG.read_text()))


def function_setting(function: str, key: str) -> int:
    """``lambda_timeout`` or ``lambda_memory_size`` of a function (.chalice/config.json)."""
    cfg = chalice_config()["lambda_functions"]
    assert isinstance(cfg, dict)
    return int(cfg[CHALICE_NAMES[function]][key])


def worker_timeout() -> int:
    return function_setting("ExecuteOperations", "lambda_timeout")


def visibility_timeout() -> int:
    return VISIBILITY_FACTOR * worker_timeout()


@dataclass(frozen=True)
class Names:
    """Every name of a stage's resources; ``stage`` may be a literal or a template reference (``${Stage}``)."""

    stage: str

    @property
    def prefix(self) -> str:
        return f"charthouse-{self.stage}"

    @property
    def table(self) -> str:
        return self.prefix

    @property
    def queue(self) -> str:
        return f"{self.prefix}-operations.fifo"

    @property
    def dlq(self) -> str:
        return f"{self.prefix}-operations-dlq.fifo"

    @property
    def async_failures(self) -> str:
        return f"{self.prefix}-async-failures"

    @property
    def bus(self) -> str:
        return f"{self.prefix}-events"

    @property
    def layer(self) -> str:
        return f"{self.prefix}-helm"

    @property
    def api(self) -> str:
        return self.prefix

    @property
    def cluster_secrets(self) -> str:
        return stage_secret_prefix(self.stage, "clusters")

    @property
    def repository_secrets(self) -> str:
        return stage_secret_prefix(self.stage, "repositories")

    @property
    def access_key_secrets(self) -> str:
        return stage_secret_prefix(self.stage, "access-keys")

    @property
    def runtime_secrets(self) -> str:
        return stage_secret_prefix(self.stage, "runtimes")

    def pipe(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def log_group(self, function: str) -> str:
        return f"/charthouse/{self.stage}/{function}"

    def alarm(self, what: str) -> str:
        return f"{self.prefix}-{what}"


# Alarms: (name, what it means, what to do) — docs/DEPLOY.md repeats these; a test keeps them in step.
QUEUE_ALARMS = {
    "dlq-depth": "an operation message was parked after 5 failed receives: the worker could not reach DynamoDB or "
    "Secrets Manager, or crashed before reading it. Its operation stays queued until the sweep fails it.",
    "oldest-operation": "the oldest queued operation waited longer than the worker's timeout: workers are "
    "throttled, capped (WorkerConcurrency) or failing, or one release's FIFO group is blocked.",
    "async-failures": "a scheduled job (sweep, reconcile, refresh) or the custom resource failed after its "
    "retries; the message holds the error and the request.",
}
FUNCTION_ALARMS = {
    "errors": "the function ended with an unhandled error (a timeout counts); the log group has the traceback",
    "throttles": "invocations were refused for concurrency: raise the function's cap or the account's limit",
}
API_ALARMS = {"api-5xx": "API Gateway answered 5xx (the function failed, timed out at 29 s, or was throttled)"}
