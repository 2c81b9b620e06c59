"""``RuntimeService`` with its collaborators wired as the service wires them (store, vault, bucket on emulated AWS;
helm, Git and the queue faked): declaring a runtime, a sync run advanced by each operation's end in ``needs`` order,
a source that cannot be read or a step that fails, the schedule's interval, the push webhook, delete with prune."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import boto3
import pytest

from chalicelib.adapters.blobs import S3Blobs
from chalicelib.adapters.store import Store
from chalicelib.adapters.vault import Vault
from chalicelib.core.authz import Authorizer
from chalicelib.core.diffs import Differ
from chalicelib.core.operations import Announcer, Executor, Intake
from chalicelib.core.plans import Planner
from chalicelib.core.recovery import Recovery
from chalicelib.core.releases import Releases
from chalicelib.core.runtimes import RuntimeService, verify_push
from chalicelib.core.service import ReleaseService
from chalicelib.core.uploads import RuntimeCharts
from chalicelib.domain import archives, redact
from chalicelib.domain.models import ChartSpec, Idempotency, Limits, ReconcileSpec, ReleaseRef
from chalicelib.domain.runtimes import RuntimeSpec
from chalicelib.errors import (
    ClusterNotFound,
    Conflict,
    InvalidInput,
    PlanNotFound,
    PlanStale,
    PreconditionFailed,
    RuntimeNotFound,
    Unauthenticated,
)
from tests.emulated import emulated_store, registry_with
from tests.fakes import FakeGit, FakeHelm, FakeQueue
from tests.functional.test_plans import tgz

LIMITS = Limits(max_timeout_s=3600, default_timeout_s=300, default_max_history=10, allow_http_charts=False)
URL = "https://git.example.com/team/deploy.git"
CHART = "https://charts.example.com/demo-1.2.3.tgz"
WEBHOOK = "webhook-secret-0123456789"
RELEASES = f"""
releases:
- name: web
  chart: {CHART}
  values: [values/web.yaml]
  needs: [db]
- name: db
  chart: {CHART}
"""


class SourcesAllowed:
    """The catalog's part the hall asks: every chart source allowed, no repository masking (not what is tested here)."""

    def check(self, spec: ChartSpec, built_by_runtime: bool = False) -> None:
        pass

    def masking(self, spec: ChartSpec) -> redact.Masking:
        return redact.NO_MASKING

    def chart_archive(self, spec: ChartSpec) -> archives.ChartArchive:
        """The archive a plan's chart digest is taken of (the planner asks)."""
        return archives.inspect(tgz(version="1.2.3"), archives.Limits())


def _no_reconcile(cluster: str, spec: ReconcileSpec) -> dict[str, Any]:
    raise AssertionError("no reconcile in these tests")


@dataclass
class World:
    store: Store
    helm: FakeHelm
    git: FakeGit
    queue: FakeQueue
    executor: Executor
    runtimes: RuntimeService
    now: list[float]

    def declare(self, name: str = "shop", **changes: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "source": {"git": {"url": URL, "revision": "main", "path": "env", "username": "bot", "password": "tok-1"}},
            "destination": {"cluster": "prod", "namespaces": ["apps"]},
            "sync": {"prune": True, "webhook_secret": WEBHOOK, "interval": "5m"},
            **changes,
        }
        spec, secrets = RuntimeSpec.from_json(name, body)
        return self.runtimes.put(spec, secrets)[0]

    def settle(self) -> list[str]:
        """Run every queued operation as the worker does (each one's end submits the next step): their verbs."""
        ran = []
        while self.queue.bodies:
            op = self.executor.execute(self.queue.take(), None)
            assert op is not None
            ran.append(f"{op.action.value} {op.release.name}")
        return ran

    def status(self, name: str = "shop") -> dict[str, Any]:
        return dict(self.runtimes.view(name)["status"])


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with emulated_store(monkeypatch) as store:
        boto3.client("s3").create_bucket(Bucket="charts")
        helm, git, queue = FakeHelm(), FakeGit(), FakeQueue()
        registry = registry_with(store, "prod")
        service = ReleaseService(store, registry, helm)
        announcer = Announcer(store)
        intake = Intake(store, queue, lease_grace_s=60, announcer=announcer)  # type: ignore[arg-type]
        charts = RuntimeCharts(S3Blobs(boto3.client("s3"), "charts"), archives.Limits())
        now = [1_800_000_000.0]
        differ = Differ(store, registry, helm)
        executor = Executor(store, service, announcer, _no_reconcile)
        recovery = Recovery(store, intake, LIMITS, "rollback")
        sources = SourcesAllowed()
        plans = S3Blobs(boto3.client("s3"), "charts", "plans/")
        planner = Planner(store, registry, helm, sources, LIMITS, plans)  # type: ignore[arg-type]
        hall = Releases(Authorizer(store, ()), registry, service, sources, intake, executor, recovery, differ, planner)  # type: ignore[arg-type]
        runtimes = RuntimeService(
            store,
            Vault(boto3.client("secretsmanager"), "charthouse/runtimes/", "runtime credentials"),
            git,
            charts,
            intake,
            differ,
            registry,
            LIMITS,
            hall,
            clock=lambda: now[0],
        )
        announcer.subscribe(lambda op, _: runtimes.operation_ended(op))
        git.commit(URL, {"env/releases.yaml": RELEASES, "env/values/web.yaml": "data: {greeting: hello}\n"})
        git.credentials[URL] = {"username": "bot", "password": "tok-1"}
        yield World(store, helm, git, queue, executor, runtimes, now)


def test_a_declaration_never_shows_its_secrets(world: World) -> None:
    shown = world.declare()
    assert "tok-1" not in str(shown) and WEBHOOK not in str(shown)
    assert shown["source"]["git"]["credentials"] is True and shown["sync"]["webhook"] is True
    assert shown["status"] == {"phase": "new", "releases": {}}
    assert world.runtimes.declared("shop")["git_secret"]  # type: ignore[index]  # kept, by id, for reading


def test_a_runtime_on_an_unknown_cluster_is_refused(world: World) -> None:
    with pytest.raises(ClusterNotFound):
        world.declare(destination={"cluster": "nowhere", "namespaces": ["apps"]})
    with pytest.raises(RuntimeNotFound):
        world.runtimes.view("shop")


def test_plan_says_what_a_sync_would_do_and_does_nothing(world: World) -> None:
    world.declare()
    plan = world.runtimes.plan("shop")
    assert [(r["name"], r["action"]) for r in plan["releases"]] == [("db", "install"), ("web", "install")]
    assert plan["releases"][0]["summary"]["added"] >= 1
    assert world.queue.bodies == [] and not world.helm.releases.get("prod/apps/web")  # dry runs only


def test_a_sync_runs_one_operation_at_a_time_in_needs_order(world: World) -> None:
    world.declare()
    started = world.runtimes.sync("shop")
    assert started["status"]["phase"] == "syncing" and len(world.queue.bodies) == 1  # only the first step
    assert world.settle() == ["upgrade db", "upgrade web"]
    status = world.status()
    assert status["phase"] == "synced" and status["synced_commit"] == world.git.repos[URL][-1][0]
    assert {k: v["state"] for k, v in status["releases"].items()} == {"apps/db": "synced", "apps/web": "synced"}
    assert world.helm.releases["prod/apps/web"][-1]["config"] == {"data": {"greeting": "hello"}}
    again = world.runtimes.sync("shop")  # nothing changed: no operation
    assert again["status"]["phase"] == "synced" and world.queue.bodies == []


def test_only_what_changed_is_upgraded_and_what_left_the_source_is_pruned(world: World) -> None:
    world.declare()
    world.runtimes.sync("shop")
    world.settle()
    world.git.commit(
        URL, {"env/releases.yaml": f"releases:\n- name: web\n  chart: {CHART}\n  values: [values/web.yaml]\n"}
    )
    world.git.commit(URL, {"env/values/web.yaml": "data: {greeting: hi}\n"})
    world.runtimes.sync("shop")
    assert world.settle() == ["upgrade web", "uninstall db"]  # uninstalls last
    releases = world.status()["releases"]
    assert releases["apps/db"]["state"] == "uninstalled" and releases["apps/web"]["revision"] == 2


def test_a_source_that_cannot_be_read_changes_nothing(world: World) -> None:
    world.declare()
    world.git.commit(URL, {"env/releases.yaml": "releases: [\n"})
    out = world.runtimes.sync("shop")
    error = out["status"]["last_error"]
    assert out["status"]["phase"] == "error" and error["stage"] == "source" and error["code"] == "InvalidInput"
    assert world.queue.bodies == [] and world.helm.releases == {}


def test_a_failed_step_stops_the_run(world: World) -> None:
    world.declare()
    world.git.commit(
        URL, {"env/releases.yaml": f"releases:\n- name: db\n  chart: {CHART.replace('demo', 'missing')}\n"}
    )
    world.runtimes.sync("shop")
    assert world.settle() == ["upgrade db"]
    status = world.status()
    assert status["phase"] == "failed" and "run" not in status
    assert status["last_error"]["release"] == "apps/db" and status["last_error"]["stage"] == "apply"
    assert status["releases"]["apps/db"]["state"] == "failed"


def test_the_destination_is_fixed_once_deployed(world: World) -> None:
    world.declare()
    world.declare(destination={"cluster": "prod", "namespaces": ["other"]})  # nothing deployed yet: allowed
    world.declare()
    world.runtimes.sync("shop")
    world.settle()
    with pytest.raises(Conflict, match="cannot change"):
        world.declare(destination={"cluster": "prod", "namespaces": ["other"]})


def test_the_schedule_syncs_a_runtime_once_its_interval_passed(world: World) -> None:
    world.declare()
    world.declare("paused", sync={"suspend": True})
    assert world.runtimes.tick() == {"synced": ["shop"], "failed": []}
    world.settle()
    world.now[0] += 60
    assert world.runtimes.tick() == {"synced": [], "failed": []}  # within the 5 minutes
    world.now[0] += 300
    assert world.runtimes.tick() == {"synced": ["shop"], "failed": []}


def _signed(secret: str, body: bytes) -> dict[str, str]:
    return {"X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def test_a_push_starts_a_sync_only_when_signed_with_the_runtimes_secret(world: World) -> None:
    world.declare()
    body = b'{"ref": "refs/heads/main"}'
    for headers in ({}, _signed("wrong-secret-0123456789", body), {"X-Gitlab-Token": "nope"}):
        with pytest.raises(Unauthenticated):
            world.runtimes.webhook("shop", headers, body)
    with pytest.raises(Unauthenticated):  # an unknown runtime answers the same: nothing is revealed
        world.runtimes.webhook("nope", _signed(WEBHOOK, body), body)
    assert world.queue.bodies == []
    out = world.runtimes.webhook("shop", _signed(WEBHOOK, body), body)
    assert out["sync"] == "started" and out["status"]["phase"] == "syncing"


@pytest.mark.parametrize(
    ("headers", "ok"),
    [
        (_signed("s" * 20, b"body"), True),
        ({"x-hub-signature-256": _signed("s" * 20, b"body")["X-Hub-Signature-256"]}, True),  # any case
        (_signed("s" * 20, b"other body"), False),
        ({"X-Gitlab-Token": "s" * 20}, True),
        ({"X-Gitlab-Token": "s" * 19}, False),
        ({}, False),
    ],
)
def test_verify_push(headers: dict[str, str], ok: bool) -> None:
    assert verify_push("s" * 20, headers, b"body") is ok


def test_delete_with_prune_uninstalls_what_it_installed(world: World) -> None:
    world.declare()
    world.runtimes.sync("shop")
    world.settle()
    out = world.runtimes.delete("shop", prune=True)
    assert out["deleted"] and out["errors"] == [] and len(out["operations"]) == 2
    assert sorted(world.settle()) == ["uninstall db", "uninstall web"]
    with pytest.raises(RuntimeNotFound):
        world.runtimes.view("shop")
    assert world.runtimes.declared("shop") is None


# ---------------------------------------------------------------- plans, ETags, idempotency


def test_a_planned_sync_applies_exactly_the_plan_while_nothing_changed(world: World) -> None:
    world.declare()
    plan = world.runtimes.plan("shop")
    assert plan["plan"]["id"].startswith("plan-") and plan["releases"][0]["revision"] == 0
    started = world.runtimes.sync("shop", plan_id=plan["plan"]["id"])
    assert started["status"]["run"]["plan"] == plan["plan"]["id"]
    assert world.settle() == ["upgrade db", "upgrade web"]
    assert world.status()["synced_commit"] == plan["commit"]


def test_a_plan_after_a_new_commit_is_stale_on_the_source_commit(world: World) -> None:
    world.declare()
    plan = world.runtimes.plan("shop")["plan"]["id"]
    world.git.commit(URL, {"env/values/web.yaml": "data: {greeting: hi}\n"})
    with pytest.raises(PlanStale) as refused:
        world.runtimes.sync("shop", plan_id=plan)
    assert refused.value.changed == ["source commit", "values"]
    assert refused.value.details["releases"] == {"apps/web": ["values"]}
    assert world.queue.bodies == [] and world.status()["phase"] == "new"  # nothing started, nothing recorded


def test_a_plan_after_a_release_moved_is_stale_on_its_revision(world: World) -> None:
    world.declare()
    world.runtimes.sync("shop")
    world.settle()
    world.git.commit(URL, {"env/values/web.yaml": "data: {greeting: hi}\n"})
    plan = world.runtimes.plan("shop")["plan"]["id"]
    world.runtimes.sync("shop")  # another sync applies the commit first
    world.settle()
    with pytest.raises(PlanStale) as refused:
        world.runtimes.sync("shop", plan_id=plan)
    assert "revision" in refused.value.changed and "apps/web" in refused.value.details["releases"]
    with pytest.raises(PlanNotFound):
        world.runtimes.sync("shop", plan_id="plan-" + "0" * 32)


def test_a_planned_runs_step_is_accepted_only_at_the_planned_revision(world: World) -> None:
    world.declare()
    world.runtimes.sync("shop")
    world.settle()
    world.git.commit(URL, {"env/values/web.yaml": "data: {greeting: hi}\n"})
    plan = world.runtimes.plan("shop")["plan"]["id"]
    real = world.runtimes.releases.planner.check_runtime

    def check_then_race(*args: Any) -> None:  # an upgrade of web ends between the plan's check and the accept
        real(*args)
        record = world.store.get_release(ReleaseRef("prod", "apps", "web"))
        assert record is not None
        world.store.put_releases([replace(record, revision=record.revision + 1)])

    world.runtimes.releases.planner.check_runtime = check_then_race  # type: ignore[method-assign]
    world.runtimes.sync("shop", plan_id=plan)
    status = world.status()
    assert world.queue.bodies == [] and status["phase"] == "failed", status
    assert status["last_error"]["code"] == "PlanStale" and status["last_error"]["release"] == "apps/web"


def test_the_etag_changes_with_the_declaration_and_each_sync_and_if_match_refuses_a_stale_one(world: World) -> None:
    world.declare()
    _, tag = world.runtimes.tagged("shop")
    assert world.runtimes.tagged("shop")[1] == tag
    world.runtimes.sync("shop", if_match=tag)
    world.settle()
    _, synced = world.runtimes.tagged("shop")
    assert synced != tag
    with pytest.raises(PreconditionFailed):
        world.runtimes.sync("shop", if_match=tag)
    with pytest.raises(PreconditionFailed):
        world.runtimes.delete("shop", prune=True, if_match=tag)
    spec, secrets = RuntimeSpec.from_json(
        "shop", {"source": {"inline": {"releases": []}}, "destination": {"cluster": "prod", "namespaces": ["apps"]}}
    )
    with pytest.raises(PreconditionFailed):
        world.runtimes.put(spec, secrets, if_match=tag)
    assert world.runtimes.view("shop")["source"]["git"]["url"] == URL  # nothing changed
    world.runtimes.delete("shop", prune=False, if_match="*")
    with pytest.raises(PreconditionFailed):
        world.runtimes.put(spec, secrets, if_match="*")  # * needs the runtime to exist


def test_an_idempotency_key_replays_a_sync_and_refuses_another_request(world: World) -> None:
    world.declare()
    key = Idempotency("sync-1", "h1")
    plan = world.runtimes.plan("shop")["plan"]["id"]
    world.runtimes.sync("shop", plan_id=plan, idem=key)
    world.settle()
    again = world.runtimes.sync("shop", plan_id=plan, idem=key)  # not PlanStale: the same request, answered
    assert again["status"]["phase"] == "synced" and world.queue.bodies == []
    assert "requests" not in again["status"]
    with pytest.raises(InvalidInput) as refused:
        world.runtimes.sync("shop", idem=Idempotency("sync-1", "h2"))
    assert refused.value.field == "Idempotency-Key"
