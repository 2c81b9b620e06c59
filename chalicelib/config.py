"""Settings: one frozen dataclass, read from the environment once per container.

Every knob has a named default here and nowhere else. Endpoints of emulated AWS services are not
settings: boto3 reads ``AWS_ENDPOINT_URL*`` itself, and only the ``local`` stage sets them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

VERSION = "0.1.0"  # the service's version (pyproject.toml's; /v1/health shows it)
DEFAULT_TABLE = "charthouse"
# Secrets Manager names: one prefix per stage, so two stages in one account never read each other's credentials.
# The deployed templates (deploy/) grant exactly these prefixes; the defaults below serve the in-process tests.
SECRET_PREFIX_FORMAT = "charthouse/{stage}/{kind}/"  # kind: clusters | repositories | access-keys | runtimes
DEFAULT_SECRET_PREFIX = "charthouse/clusters/"
DEFAULT_REPO_SECRET_PREFIX = "charthouse/repositories/"
DEFAULT_ACCESS_KEY_SECRET_PREFIX = "charthouse/access-keys/"  # secret keys of issued access keys
DEFAULT_RUNTIME_SECRET_PREFIX = "charthouse/runtimes/"  # Git credentials and webhook secrets of runtimes
DEFAULT_MAX_CHART_BYTES = 50 << 20  # one chart archive (uploads, repository downloads)
QUEUE_NAME = "charthouse-operations.fifo"  # a literal: Chalice reads it when it packages the app
DEFAULT_HELM_BINARY = "/opt/helm/helm"  # where the helm layer puts it in Lambda
DEFAULT_HELM_TIMEOUT_S = 300  # helm's own default --timeout
MAX_HELM_TIMEOUT_S = 780  # must stay below the worker Lambda's timeout (900 s) with room to record
DEFAULT_WORKER_TIMEOUT_S = 900
LEASE_GRACE_S = 120  # a lease outlives helm's timeout by this much, so a live worker never loses it
WORKER_MARGIN_S = 60  # time the worker keeps after helm's kill deadline, to record the outcome
DEFAULT_MAX_HISTORY = 10  # helm's own default is unlimited; bounded histories keep Secrets small
CLUSTER_PROBE_TIMEOUT_S = 5.0
CREDENTIAL_CACHE_S = 300
RECONCILE_EVERY_MIN = 15  # the packaged default; each stage sets its own (CHARTHOUSE_RECONCILE_SCHEDULE)


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def stage_secret_prefix(stage: str, kind: str) -> str:
    """The name prefix of the ``kind`` secrets (``clusters``, ``repositories``) of ``stage``."""
    return SECRET_PREFIX_FORMAT.format(stage=stage, kind=kind)


def _list(raw: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in raw.split(",") if p.strip())


@dataclass(frozen=True)
class Settings:
    """What the service needs to know about where it runs."""

    table_name: str = DEFAULT_TABLE
    queue_url: str = ""  # empty: looked up by QUEUE_NAME on first use
    secret_prefix: str = DEFAULT_SECRET_PREFIX
    helm_binary: str = DEFAULT_HELM_BINARY
    helm_server_side: str = "auto"  # helm 4 only: "true" | "false" | "auto"
    default_timeout_s: int = DEFAULT_HELM_TIMEOUT_S
    max_timeout_s: int = MAX_HELM_TIMEOUT_S
    default_max_history: int = DEFAULT_MAX_HISTORY
    region: str = "us-east-1"
    allow_http_charts: bool = True
    stage: str = "dev"
    lease_grace_s: int = LEASE_GRACE_S
    recovery_policy: str = "rollback"  # rollback | mark-failed (see docs/RELIABILITY.md)
    aws_timeout_s: int = 20  # read timeout of one AWS call (each is retried up to 4 times)
    repo_secret_prefix: str = DEFAULT_REPO_SECRET_PREFIX
    runtime_secret_prefix: str = DEFAULT_RUNTIME_SECRET_PREFIX
    access_key_secret_prefix: str = DEFAULT_ACCESS_KEY_SECRET_PREFIX
    chart_bucket: str = ""  # S3: uploaded charts, and the index cache when index_cache_dir is empty
    index_cache_dir: str = ""  # the local stages cache repository indexes in a directory
    max_chart_bytes: int = DEFAULT_MAX_CHART_BYTES
    event_bus: str = ""  # EventBridge bus of state-change events (adapters/bus.py); empty: events are only logged
    auth_mode: str = "iam"  # iam (API Gateway SigV4) | jwt (Cognito/JWT authorizer) | token (bearer tokens: local)
    admins: tuple[str, ...] = ("token:admin",)  # principal patterns that may do everything (docs/SECURITY.md)
    audit_days: int = 365  # audit entries expire after this many days (DynamoDB TTL)
    allowed_networks: tuple[str, ...] = ()  # CIDRs that repository/chart URLs may reach despite the SSRF guard
    default_cluster: str = ""  # the compat surfaces' cluster when a request names none (chalicelib/compat)

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        stage = env.get("CHARTHOUSE_STAGE", "dev")
        return cls(
            table_name=env.get("CHARTHOUSE_TABLE", DEFAULT_TABLE),
            queue_url=env.get("CHARTHOUSE_QUEUE_URL", ""),
            secret_prefix=env.get("CHARTHOUSE_SECRET_PREFIX") or stage_secret_prefix(stage, "clusters"),
            # a relative path (the local stage) is relative to the project directory the server starts in
            helm_binary=os.path.abspath(env.get("CHARTHOUSE_HELM_BINARY", DEFAULT_HELM_BINARY)),
            helm_server_side=env.get("CHARTHOUSE_HELM_SERVER_SIDE", "auto"),
            default_timeout_s=_int("CHARTHOUSE_DEFAULT_TIMEOUT", DEFAULT_HELM_TIMEOUT_S),
            max_timeout_s=_int("CHARTHOUSE_MAX_TIMEOUT", MAX_HELM_TIMEOUT_S),
            default_max_history=_int("CHARTHOUSE_MAX_HISTORY", DEFAULT_MAX_HISTORY),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            allow_http_charts=env.get("CHARTHOUSE_ALLOW_HTTP_CHARTS", "true") == "true",
            stage=stage,
            lease_grace_s=_int("CHARTHOUSE_LEASE_GRACE", LEASE_GRACE_S),
            recovery_policy=env.get("CHARTHOUSE_RECOVERY_POLICY", "rollback"),
            aws_timeout_s=_int("CHARTHOUSE_AWS_TIMEOUT", 20),
            repo_secret_prefix=env.get("CHARTHOUSE_REPO_SECRET_PREFIX") or stage_secret_prefix(stage, "repositories"),
            runtime_secret_prefix=env.get("CHARTHOUSE_RUNTIME_SECRET_PREFIX") or stage_secret_prefix(stage, "runtimes"),
            access_key_secret_prefix=env.get("CHARTHOUSE_ACCESS_KEY_SECRET_PREFIX")
            or stage_secret_prefix(stage, "access-keys"),
            chart_bucket=env.get("CHARTHOUSE_CHART_BUCKET", ""),
            index_cache_dir=os.path.abspath(env["CHARTHOUSE_INDEX_CACHE_DIR"])
            if env.get("CHARTHOUSE_INDEX_CACHE_DIR")
            else "",
            max_chart_bytes=_int("CHARTHOUSE_MAX_CHART_BYTES", DEFAULT_MAX_CHART_BYTES),
            event_bus=env.get("CHARTHOUSE_EVENT_BUS", ""),
            auth_mode=env.get("CHARTHOUSE_AUTH", "iam"),
            admins=_list(env.get("CHARTHOUSE_ADMINS", "token:admin")),
            audit_days=_int("CHARTHOUSE_AUDIT_DAYS", 365),
            allowed_networks=_list(env.get("CHARTHOUSE_ALLOWED_NETWORKS", "")),
            default_cluster=env.get("CHARTHOUSE_DEFAULT_CLUSTER", ""),
        )


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The container's settings, read on first use (never at import)."""
    return Settings.from_env()
