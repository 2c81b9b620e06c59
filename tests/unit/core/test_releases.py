"""The hall (``core/releases.py``): each verb authorizes, resolves the cluster, replays, checks the stored state and
the chart's source, joins the masking rules, answers a dry run, then runs here or queues and waits, in that order.
The store is the real one on an emulated table; helm and the queue are the fakes of tests/fakes.py, the authorizer
and the catalog small fakes here."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from chalicelib.adapters.store import Store
from chalicelib.core.auth import Principal
from chalicelib.core.clusters import ClusterSpec
from chalicelib.core.diffs import Differ
from chalicelib.core.operations import Announcer, Executor, Intake
from chalicelib.core.recovery import Recovery
from chalicelib.core.releases import SERVICE, Caller, Releases
from chalicelib.core.service import ReleaseService
from chalicelib.domain import redact
from chalicelib.domain.models import (
    Action,
    ChartSpec,
    Idempotency,
    InstallSpec,
    Limits,
    Operation,
    OperationStatus,
    ReconcileSpec,
    ReleaseRef,
    ReleaseTestSpec,
    RollbackSpec,
    UninstallSpec,
    UpgradeSpec,
)
from chalicelib.errors import (
    ClusterNotFound,
    DependencyUnavailable,
    Forbidden,
    InvalidInput,
    PlanStale,
    ReleaseExists,
    ReleaseNotFound,
)
from tests.emulated import KUBECONFIG, emulated_store, registry_with
from tests.fakes import FakeHelm, FakeQueue

LIMITS = Limits(max_timeout_s=3600, default_timeout_s=300, default_max_history=10, allow_http_charts=False)
CHART = "https://charts.example.com/demo-1.2.3.tgz"
REF = ReleaseRef("prod", "apps", "web")
ALICE = Principal("token:alice", "token")


@dataclass
class FakeAuthorizer:
    """Grants exactly ``granted`` (verb, cluster, namespace); records every question."""

    granted: set[tuple[str, str | None, str | None]] = field(default_factory=set)
    asked: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)

    def require(self, principal: Principal, verb: str, cluster: str | None = None, ns: str | None = None) -> None:
        self.asked.append((principal.id, verb, cluster, ns))
        if (verb, cluster, ns) not in self.granted:
            raise Forbidden(f"{principal.id} may not {verb}", permission=verb)


@dataclass
class FakeCatalog:
    """Refuses charts of the repository ``nowhere``; the repository ``stable`` adds the masked key ``licensekey``."""

    checked: list[str] = field(default_factory=list)

    def check(self, spec: ChartSpec, built_by_runtime: bool = False) -> None:
        self.checked.append(spec.chart)
        if spec.chart.startswith("nowhere/"):
            raise InvalidInput("chart", "repository nowhere is not registered")

    def masking(self, spec: ChartSpec) -> redact.Masking:
        return redact.Masking(keys=("licensekey",)) if spec.chart.startswith("stable/") else redact.NO_MASKING


@dataclass
class World:
    store: Store
    helm: FakeHelm
    queue: FakeQueue
    intake: Intake
    authorizer: FakeAuthorizer
    catalog: FakeCatalog
    hall: Releases

    def run_queued(self) -> Operation | None:
        return self.hall.executor.execute(self.queue.take())

    def installed(self, ref: ReleaseRef = REF) -> None:
        spec, name = InstallSpec.from_json({"name": ref.name, "chart": CHART}, LIMITS)
        self.hall.install(admin(), ref.cluster, ref.namespace, spec, name)
        assert self.run_queued() is not None


def admin(**options: Any) -> Caller:
    return Caller(Principal("token:admin", "token"), **options)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with emulated_store(monkeypatch) as store:
        helm, queue = FakeHelm(), FakeQueue()
        registry = registry_with(store)
        registry.put(ClusterSpec.from_json("prod", {"kubeconfig": KUBECONFIG, "masking": {"keys": ["dsn"]}}))
        catalog = FakeCatalog()
        service = ReleaseService(store, registry, helm, catalog.masking)
        announcer = Announcer(store)
        intake = Intake(store, queue, lease_grace_s=60, announcer=announcer)  # type: ignore[arg-type]
        executor = Executor(store, service, announcer, reconcile=_no_reconcile)
        recovery = Recovery(store, intake, LIMITS, "rollback")
        authorizer = FakeAuthorizer()
        authorizer.granted |= {(verb, c, n) for verb in ("install", "upgrade") for c, n in [("prod", "apps")]}
        hall = Releases(
            authorizer,  # type: ignore[arg-type]
            registry,
            service,
            catalog,  # type: ignore[arg-type]
            intake,
            executor,
            recovery,
            Differ(store, registry, helm),
        )
        yield World(store, helm, queue, intake, authorizer, catalog, hall)


def _no_reconcile(kubeconfig: str, op: Operation, spec: ReconcileSpec) -> dict[str, Any]:
    raise AssertionError("no cluster-wide operation in these tests")


def install_spec(chart: str = CHART, **body: Any) -> tuple[InstallSpec, Any]:
    return InstallSpec.from_json({"name": "web", "chart": chart, **body}, LIMITS)


# ---------------------------------------------------------------- the order of the steps


def test_the_caller_is_authorized_before_anything_is_read_or_checked(world: World) -> None:
    spec, name = install_spec()
    with pytest.raises(Forbidden):
        world.hall.install(Caller(ALICE), "prod", "other", spec, name)
    assert world.authorizer.asked == [("token:alice", "install", "prod", "other")]
    assert world.catalog.checked == [] and world.queue.bodies == []


def test_a_service_caller_is_not_asked_again_and_an_unknown_cluster_is_refused_next(world: World) -> None:
    spec, name = install_spec()
    with pytest.raises(ClusterNotFound):
        world.hall.install(Caller.service("runtime:shop"), "nowhere", "apps", spec, name)
    assert world.authorizer.asked == [] and world.catalog.checked == []
    assert Caller.service("x").principal.kind == SERVICE


def test_an_upgrade_of_a_release_that_does_not_exist_needs_install(world: World) -> None:
    spec = UpgradeSpec.from_json({"chart": CHART}, LIMITS)
    with pytest.raises(ReleaseNotFound):
        world.hall.upgrade(Caller(ALICE), REF, spec)
    assert world.queue.bodies == []
    op = world.hall.upgrade(Caller(ALICE), REF, replace(spec, install=True)).op
    assert op.action is Action.UPGRADE and op.status is OperationStatus.QUEUED and len(world.queue.bodies) == 1


def test_an_install_over_a_live_release_is_refused(world: World) -> None:
    world.installed()
    spec, name = install_spec()
    with pytest.raises(ReleaseExists):
        world.hall.install(admin(), "prod", "apps", spec, name)


def test_the_chart_source_is_checked_after_the_state_and_before_accepting(world: World) -> None:
    spec, name = install_spec("nowhere/demo")
    with pytest.raises(InvalidInput) as err:
        world.hall.install(Caller(ALICE), "prod", "apps", spec, name)
    assert err.value.details["field"] == "chart" and world.queue.bodies == []
    assert world.store.get_release(REF) is None and world.store.lease(REF) is None


def test_the_clusters_and_the_repositorys_masking_rules_are_joined_to_the_operation(world: World) -> None:
    spec, name = install_spec("stable/demo", set_sensitive=["db.password=x"])
    op = world.hall.install(Caller(ALICE), "prod", "apps", spec, name).op
    assert set(op.request["sensitive_keys"]) == {"dsn", "licensekey"}
    assert [list(p) for p in op.request["sensitive_paths"]] == [["db", "password"]]


def test_a_dry_run_is_checked_masked_and_answered_without_an_operation(world: World) -> None:
    spec, name = install_spec(values={"dsn": "postgres://u:secret@db", "plain": "shown"}, dry_run=True)
    out = world.hall.install(Caller(ALICE), "prod", "apps", spec, name)
    assert out.operation is None and out.dry_run is not None and out.dry_run["dry_run"] == "client"
    assert out.values == {"dsn": "<redacted>", "plain": "shown"}
    assert world.queue.bodies == [] and world.store.get_release(REF) is None
    with pytest.raises(ValueError):
        _ = out.op
    with pytest.raises(Forbidden):  # revealing it needs the reveal permission
        world.hall.install(Caller(ALICE, reveal=True), "prod", "apps", spec, name)


def test_an_idempotency_key_replays_before_the_checks(world: World) -> None:
    idem = Idempotency("k-1", "hash-1")
    spec, name = install_spec()
    first = world.hall.install(admin(idempotency=idem), "prod", "apps", spec, name).op
    again = world.hall.install(admin(idempotency=idem), "prod", "apps", spec, name).op  # not ReleaseExists
    assert again.id == first.id and len(world.queue.bodies) == 1


# ---------------------------------------------------------------- run here, queue, wait


def test_a_budget_that_fits_runs_the_operation_in_the_request(world: World) -> None:
    spec, name = install_spec(timeout="10s")
    out = world.hall.install(admin(budget_s=20.0, wait_s=20.0), "prod", "apps", spec, name)
    assert out.op.status is OperationStatus.SUCCEEDED and out.record is not None and out.record.revision == 1
    assert world.queue.bodies == []  # never queued
    assert world.hall.record_of(out) == out.record.to_json()


def test_a_budget_too_short_for_helms_timeout_queues_and_waits_as_asked(world: World) -> None:
    spec, name = install_spec(timeout="60s")
    out = world.hall.install(admin(budget_s=20.0, wait_s=0.0), "prod", "apps", spec, name)
    assert out.op.status is OperationStatus.QUEUED and len(world.queue.bodies) == 1 and out.record is None


def test_a_run_that_cannot_start_here_goes_to_the_worker(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*args: Any) -> Any:
        raise DependencyUnavailable("Secrets Manager is unavailable")

    monkeypatch.setattr(world.hall.executor, "execute_here", down)
    spec, name = install_spec(timeout="10s")
    out = world.hall.install(admin(budget_s=20.0), "prod", "apps", spec, name)
    assert out.op.status is OperationStatus.QUEUED and len(world.queue.bodies) == 1


# ---------------------------------------------------------------- the other verbs


def test_rollback_test_uninstall_check_the_release_first(world: World) -> None:
    world.authorizer.granted |= {(v, "prod", "apps") for v in ("rollback", "test", "uninstall", "unlock")}
    for verb, call in (
        ("rollback", lambda: world.hall.rollback(Caller(ALICE), REF, RollbackSpec())),
        ("test", lambda: world.hall.test(Caller(ALICE), REF, ReleaseTestSpec())),
        ("uninstall", lambda: world.hall.uninstall(Caller(ALICE), REF, UninstallSpec())),
    ):
        with pytest.raises(ReleaseNotFound):
            call()
        assert world.authorizer.asked[-1] == ("token:alice", verb, "prod", "apps")
    world.installed()
    assert world.hall.test(Caller(ALICE), REF, ReleaseTestSpec()).op.action is Action.TEST
    world.run_queued()
    preview = world.hall.rollback(Caller(ALICE), REF, RollbackSpec(revision=1, dry_run="client"))
    assert preview.operation is None and preview.dry_run is not None
    op = world.hall.uninstall(Caller(ALICE), REF, UninstallSpec()).op
    assert op.action is Action.UNINSTALL and op.status is OperationStatus.QUEUED


def test_a_plans_apply_goes_ahead_only_at_the_revision_it_was_made_for(world: World) -> None:
    world.installed()
    stored = world.store.get_release(REF)
    assert stored is not None
    spec = UpgradeSpec.from_json({"chart": CHART}, LIMITS)
    with pytest.raises(PlanStale) as stale:
        world.hall.upgrade(admin(revision=stored.revision + 1), REF, spec)
    assert stale.value.changed == ["revision"] and world.queue.bodies == []  # nothing accepted
    assert world.hall.upgrade(admin(revision=stored.revision), REF, spec).op.status is OperationStatus.QUEUED
