"""Per-container singletons, built lazily on first use, with one override seam for tests.

Nothing here runs at import: boto3 clients are created on the first request, so a cold start pays only for what
the invoked handler uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, TypeVar

import boto3
from botocore.config import Config

from chalicelib.adapters.blobs import Blobs, DirBlobs, S3Blobs
from chalicelib.adapters.bus import Notifier
from chalicelib.adapters.git import DulwichReader
from chalicelib.adapters.helm import HelmCli
from chalicelib.adapters.http import guard as netguard
from chalicelib.adapters.kube.workloads import ClusterReader
from chalicelib.adapters.queue import SqsQueue
from chalicelib.adapters.store import Store
from chalicelib.adapters.vault import Vault
from chalicelib.config import Settings, settings
from chalicelib.core.access_keys import AccessKeys
from chalicelib.core.audit import AuditLog
from chalicelib.core.auth import Tokens
from chalicelib.core.authz import Authorizer
from chalicelib.core.catalog import Catalog
from chalicelib.core.clusters import ClusterRegistry
from chalicelib.core.custom_resource import CustomResource
from chalicelib.core.diagnosis import NO_WATCHER, Watcher
from chalicelib.core.diffs import Differ
from chalicelib.core.drift import DriftDetector
from chalicelib.core.operations import Announcer, Executor, Intake
from chalicelib.core.plans import PLAN_PREFIX, Planner
from chalicelib.core.reconcile import Reconciler
from chalicelib.core.recovery import Recovery
from chalicelib.core.releases import Releases
from chalicelib.core.repositories import RepositoryRegistry
from chalicelib.core.runtimes import GitReader, RuntimeService
from chalicelib.core.service import ReleaseService
from chalicelib.core.state_changes import StateChanges
from chalicelib.core.uploads import RuntimeCharts, UploadedCharts
from chalicelib.domain import archives
from chalicelib.domain.models import Limits, Operation, ReconcileSpec


# Throttling and transient errors are retried by botocore itself (standard mode: backoff with jitter); every call
# the service makes is either a read, a conditional write, or an idempotent put, so a retry is always safe.
# botocore's own check of each request's parameters is off: the requests are built by typed code and every service
# validates them again (a ValidationException); the check cost ~1.2 ms of CPU per call (docs/PERFORMANCE.md).
def aws_config(read_timeout_s: int) -> Config:
    return Config(
        retries={"mode": "standard", "max_attempts": 4},
        connect_timeout=5,
        read_timeout=read_timeout_s,
        parameter_validation=False,
    )


@dataclass(frozen=True)
class Deps:
    settings: Settings
    store: Store
    registry: ClusterRegistry
    service: ReleaseService
    intake: Intake
    executor: Executor
    announcer: Announcer
    recovery: Recovery
    catalog: Catalog
    tokens: Tokens
    authorizer: Authorizer
    audit: AuditLog
    notifier: Notifier
    reconciler: Reconciler
    custom_resource: CustomResource
    access_keys: AccessKeys
    differ: Differ
    runtimes: RuntimeService
    releases: Releases  # the hall: one use case per release verb, for every door (core/releases.py)
    state_changes: StateChanges  # operations' state-change events, from the table's stream (api/stream.py)

    @property
    def limits(self) -> Limits:
        return limits_of(self.settings)


def limits_of(s: Settings) -> Limits:
    """The request bounds the worker can honour."""
    return Limits(s.max_timeout_s, s.default_timeout_s, s.default_max_history, s.allow_http_charts)


def _session_factory(region: str, role_arn: str | None) -> Any:
    """A boto3 session in ``region``, as ``role_arn`` when given (EKS clusters in other accounts)."""
    if not role_arn:
        return boto3.session.Session(region_name=region)
    creds = boto3.client("sts", region_name=region).assume_role(
        RoleArn=role_arn, RoleSessionName="charthouse", DurationSeconds=900
    )["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=region,
    )


def build(cfg: Settings, helm: Any | None = None, git: GitReader | None = None) -> Deps:
    """Wire the real implementations (boto3 honours AWS_ENDPOINT_URL* for the local stage)."""
    session = boto3.session.Session(region_name=cfg.region)
    aws = aws_config(cfg.aws_timeout_s)
    store = Store(session.resource("dynamodb", config=aws), cfg.table_name)
    secrets = session.client("secretsmanager", config=aws)
    registry = ClusterRegistry(secrets, store, cfg.secret_prefix, _session_factory)
    catalog = build_catalog(cfg, session, store, secrets)
    # progress and diagnoses read the real cluster helm works on; a helm given here (a fake) has none to read
    watcher = Watcher(store, ClusterReader) if helm is None else NO_WATCHER
    helm = helm or HelmCli(cfg.helm_binary, cfg.helm_server_side, catalog)
    service = ReleaseService(store, registry, helm, catalog.masking)
    queue = SqsQueue(session.client("sqs", config=aws), cfg.queue_url)
    announcer = Announcer(store)
    intake = Intake(store, queue, cfg.lease_grace_s, announcer)
    recovery = Recovery(store, intake, limits_of(cfg), cfg.recovery_policy)
    authorizer = Authorizer(store, cfg.admins)
    differ = Differ(store, registry, service.helm)

    def reconcile(kubeconfig: str, op: Operation, spec: ReconcileSpec) -> dict[str, Any]:
        return reconciler.run(kubeconfig, op, spec)  # the reconciler corrects drift through the hall: built after

    executor = Executor(store, service, announcer, reconcile, watcher)
    plan_requests = S3Blobs(session.client("s3", config=aws), cfg.chart_bucket, PLAN_PREFIX)  # never in the table
    planner = Planner(store, registry, service.helm, catalog, limits_of(cfg), plan_requests)
    releases = Releases(authorizer, registry, service, catalog, intake, executor, recovery, differ, planner)
    notifier, reconciler, custom_resource = wire_events(cfg, session, store, registry, service, intake, releases)
    assert catalog.runtime_charts is not None
    runtimes = RuntimeService(
        store,
        Vault(secrets, cfg.runtime_secret_prefix, "runtime credentials"),
        git or DulwichReader(netguard.Policy.for_stage(cfg.stage, cfg.allowed_networks)),
        catalog.runtime_charts,
        intake,
        differ,
        registry,
        limits_of(cfg),
        releases,
        authorizer=authorizer,
    )
    intake.announcer.subscribe(lambda op, _: runtimes.operation_ended(op))
    return Deps(
        cfg,
        store,
        registry,
        service,
        intake,
        executor,
        announcer,
        recovery,
        catalog,
        Tokens(store),
        authorizer,
        AuditLog(store, cfg.audit_days),
        notifier,
        reconciler,
        custom_resource,
        AccessKeys(store, Vault(secrets, cfg.access_key_secret_prefix, "access key secrets")),
        differ,
        runtimes,
        releases,
        StateChanges(store),
    )


def wire_events(
    cfg: Settings,
    session: Any,
    store: Store,
    registry: ClusterRegistry,
    service: ReleaseService,
    intake: Intake,
    releases: Releases,
) -> tuple[Notifier, Reconciler, CustomResource]:
    """Reconcile (its findings go to the bus) and the CloudFormation custom resource, told of every operation that
    ends. An operation's own state-change event is not published here: it is made from the table's stream, off the
    request path (core/state_changes.py)."""
    events = session.client("events", config=aws_config(cfg.aws_timeout_s)) if cfg.event_bus else None
    notifier = Notifier(events, cfg.event_bus)
    reconciler = Reconciler(
        store,
        registry,
        service,
        intake,
        notifier,
        DriftDetector(registry, service.helm),
        cfg.default_timeout_s,
        releases,
    )
    custom_resource = CustomResource(store, releases, limits_of(cfg), cfg.stage != "prod")
    intake.announcer.subscribe(lambda op, _: custom_resource.operation_ended(op))
    return notifier, reconciler, custom_resource


def build_catalog(cfg: Settings, session: Any, store: Store, secrets: Any) -> Catalog:
    """Repositories (credentials in Secrets Manager, indexes cached), uploads (S3), and chart resolution."""
    s3 = session.client("s3", config=aws_config(cfg.aws_timeout_s))
    index_cache: Blobs = (
        DirBlobs(cfg.index_cache_dir) if cfg.index_cache_dir else S3Blobs(s3, cfg.chart_bucket, "index/")
    )
    repos = RepositoryRegistry(
        store,
        Vault(secrets, cfg.repo_secret_prefix, "repository credentials"),
        index_cache,
        netguard.Policy.for_stage(cfg.stage, cfg.allowed_networks),
    )
    limits = archives.Limits(max_bytes=cfg.max_chart_bytes)
    uploads = UploadedCharts(store, S3Blobs(s3, cfg.chart_bucket), limits)
    return Catalog(repos, uploads, cfg.helm_binary, limits, RuntimeCharts(S3Blobs(s3, cfg.chart_bucket), limits))


_override: Deps | None = None


@lru_cache(maxsize=1)
def _default() -> Deps:
    return build(settings())


def get() -> Deps:
    return _override or _default()


def override(deps: Deps | None) -> None:
    """Tests: use these dependencies instead of the real ones (None restores)."""
    global _override
    _override = deps


T = TypeVar("T")


class Use(Generic[T]):
    """A service a route module receives from the wiring, declared once at the top of the module::

        releases = bootstrap.use(lambda d: d.releases)   # the hall
        ...
        releases().install(...)

    Nothing is built at import (a cold start pays only for what the invoked handler uses); a call answers the
    service this container built, or what a test put in with ``override`` (the same seam)."""

    def __init__(self, pick: Callable[[Deps], T]) -> None:
        self._pick = pick

    def __call__(self) -> T:
        return self._pick(get())


def use(pick: Callable[[Deps], T]) -> Use[T]:
    return Use(pick)
