"""``Planner``: a plan keeps the facts an upgrade or a rollback was reviewed against, and an apply of it is refused
naming each that changed; the three-way values view is masked unless revealed. The store is the real one on an
emulated table; helm is the fake of tests/fakes.py; the chart archive comes from a stub catalog."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters.blobs import DirBlobs
from chalicelib.adapters.store import Store
from chalicelib.core.plans import Planner
from chalicelib.core.service import ReleaseService
from chalicelib.domain import archives
from chalicelib.domain.models import Action, InstallSpec, Limits, Operation, ReleaseRef, RollbackSpec, UpgradeSpec
from chalicelib.domain.plans import StepFacts
from chalicelib.errors import InvalidInput, PlanNotFound, PlanStale
from tests.emulated import emulated_store, raw_items, registry_with
from tests.fakes import FakeHelm
from tests.functional.test_plans import tgz

LIMITS = Limits(max_timeout_s=3600, default_timeout_s=300, default_max_history=10, allow_http_charts=False)
CHART = "uploaded/demo"
KUBECONFIG = "kubeconfig text"
REF = ReleaseRef("prod", "apps", "web")


class StubCatalog:
    def __init__(self) -> None:
        self.data = tgz()

    def chart_archive(self, spec: Any) -> archives.ChartArchive:
        return archives.inspect(self.data, archives.Limits())


@dataclass
class World:
    store: Store
    helm: FakeHelm
    service: ReleaseService
    catalog: StubCatalog
    planner: Planner
    kept: Path  # where the plans' requests are (a directory here; the charts bucket in AWS)

    def deploy(self, action: Action, values: dict[str, Any]) -> None:
        if action is Action.INSTALL:
            spec: Any = InstallSpec.from_json({"name": REF.name, "chart": CHART, "values": values}, LIMITS)[0]
            released = self.helm.install(KUBECONFIG, REF, spec)
        else:
            spec = UpgradeSpec.from_json({"chart": CHART, "values": values}, LIMITS)
            released = self.helm.upgrade(KUBECONFIG, REF, spec)
        record = self.service.snapshot(
            KUBECONFIG, Operation.new(action, REF, {}), spec, self.store.get_release(REF), False, released
        )
        assert record is not None
        self.store.put_releases([record])


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[World]:
    with emulated_store(monkeypatch) as store:
        helm = FakeHelm()
        registry = registry_with(store, "prod")
        catalog = StubCatalog()
        planner = Planner(store, registry, helm, catalog, LIMITS, DirBlobs(str(tmp_path)))  # type: ignore[arg-type]
        yield World(store, helm, ReleaseService(store, registry, helm), catalog, planner, tmp_path)


REQUEST = {"chart": CHART, "values": {"data": {"a": "2"}, "password": "new-hunter2"}}


def test_an_upgrade_plan_shows_three_masked_views_and_applies_while_nothing_changed(world: World) -> None:
    world.deploy(Action.INSTALL, {"data": {"a": "1"}, "password": "old-hunter2"})
    out = world.planner.plan_upgrade(REF, UpgradeSpec.from_json(REQUEST, LIMITS), REQUEST, reveal=False)
    assert out["values"]["chart_defaults"] == {"greeting": "hi"}
    assert out["values"]["deployed"]["data"] == {"a": "1"} and out["values"]["proposed"]["data"] == {"a": "2"}
    assert "hunter2" not in str(out)
    plan = world.planner.load(out["plan"]["id"], REF, "upgrade")
    assert plan.request == REQUEST and plan.facts.revision == 1
    world.planner.check_upgrade(plan, world.planner.upgrade_spec(plan))  # nothing changed: no error
    shown = world.planner.plan_upgrade(REF, UpgradeSpec.from_json(REQUEST, LIMITS), REQUEST, reveal=True)
    assert shown["values"]["proposed"]["password"] == "new-hunter2"


def test_an_upgrade_plan_goes_stale_on_revision_and_chart(world: World) -> None:
    world.deploy(Action.INSTALL, {"data": {"a": "1"}})
    out = world.planner.plan_upgrade(REF, UpgradeSpec.from_json(REQUEST, LIMITS), REQUEST, reveal=False)
    plan = world.planner.load(out["plan"]["id"], REF, "upgrade")
    world.deploy(Action.UPGRADE, {"data": {"a": "3"}})
    world.catalog.data = tgz(b"greeting: hello\n")
    with pytest.raises(PlanStale) as refused:
        world.planner.check_upgrade(plan, world.planner.upgrade_spec(plan))
    assert refused.value.changed == ["revision", "chart"]


def test_reused_values_are_part_of_the_values_fact(world: World) -> None:
    world.deploy(Action.INSTALL, {"data": {"a": "1"}})
    request = {"chart": CHART, "values": {"b": "2"}, "reuse_values": True}
    out = world.planner.plan_upgrade(REF, UpgradeSpec.from_json(request, LIMITS), request, reveal=False)
    assert out["values"]["proposed"] == {"data": {"a": "1"}, "b": "2"}
    plan = world.planner.load(out["plan"]["id"], REF, "upgrade")
    world.helm.releases[REF.key][-1]["config"] = {"data": {"a": "changed out of band"}}
    with pytest.raises(PlanStale) as refused:
        world.planner.check_upgrade(plan, world.planner.upgrade_spec(plan))
    assert refused.value.changed == ["values"]


def test_a_rollback_plan_binds_the_revision(world: World) -> None:
    world.deploy(Action.INSTALL, {"data": {"a": "1"}})
    world.deploy(Action.UPGRADE, {"data": {"a": "2"}})
    out = world.planner.plan_rollback(REF, RollbackSpec(revision=1), {"revision": 1}, reveal=False)
    assert out["values"]["chart_defaults"] is None and out["values"]["proposed"] == {"data": {"a": "1"}}
    plan = world.planner.load(out["plan"]["id"], REF, "rollback")
    world.planner.check_rollback(plan, world.planner.rollback_spec(plan))
    world.deploy(Action.UPGRADE, {"data": {"a": "3"}})
    with pytest.raises(PlanStale) as refused:
        world.planner.check_rollback(plan, world.planner.rollback_spec(plan))
    assert refused.value.changed == ["revision"]


def test_a_plan_is_found_only_for_its_release_and_verb(world: World) -> None:
    world.deploy(Action.INSTALL, {"data": {"a": "1"}})
    plan_id = world.planner.plan_upgrade(REF, UpgradeSpec.from_json(REQUEST, LIMITS), REQUEST, False)["plan"]["id"]
    with pytest.raises(PlanNotFound):
        world.planner.load(plan_id, ReleaseRef("prod", "apps", "other"), "upgrade")
    with pytest.raises(PlanNotFound):
        world.planner.load(plan_id, REF, "rollback")
    with pytest.raises(InvalidInput):
        world.planner.load(123, REF, "upgrade")


def test_the_table_keeps_no_value_of_a_plans_request_only_its_digest(world: World) -> None:
    world.deploy(Action.INSTALL, {"data": {"a": "1"}})
    plan_id = world.planner.plan_upgrade(REF, UpgradeSpec.from_json(REQUEST, LIMITS), REQUEST, False)["plan"]["id"]
    item = next(i for i in raw_items() if i["pk"]["S"] == f"PLAN#{plan_id}")
    assert "new-hunter2" not in json.dumps(item) and '"a": "2"' not in json.dumps(item)
    assert "request" not in item["plan"]["M"] and item["plan"]["M"]["request_digest"]["S"].startswith("sha256:")
    assert json.loads((world.kept / f"{plan_id}.json").read_text()) == REQUEST  # kept apart, read back whole
    assert world.planner.load(plan_id, REF, "upgrade").request == REQUEST


def test_a_request_changed_or_gone_where_it_is_kept_is_no_plan(world: World) -> None:
    world.deploy(Action.INSTALL, {"data": {"a": "1"}})
    plan_id = world.planner.plan_upgrade(REF, UpgradeSpec.from_json(REQUEST, LIMITS), REQUEST, False)["plan"]["id"]
    kept = world.kept / f"{plan_id}.json"
    kept.write_text(json.dumps({**REQUEST, "values": {"password": "swapped"}}))
    with pytest.raises(PlanNotFound):
        world.planner.load(plan_id, REF, "upgrade")  # not the request that was reviewed
    kept.unlink()
    with pytest.raises(PlanNotFound):
        world.planner.load(plan_id, REF, "upgrade")


def test_a_runtime_plan_is_found_for_its_runtime_only_and_names_what_changed(world: World) -> None:
    steps = (StepFacts("apps/web", "upgrade", 1, "d" * 64, "sha256:a"),)
    plan = world.planner.keep_runtime("shop", "c1", steps)
    assert world.planner.load_runtime(plan.id, "shop") == plan
    with pytest.raises(PlanNotFound):
        world.planner.load_runtime(plan.id, "other")
    with pytest.raises(PlanNotFound):
        world.planner.load(plan.id, REF, "upgrade")  # a runtime's plan applies to no release
    world.planner.check_runtime(plan, "c1", steps)  # nothing changed
    with pytest.raises(PlanStale) as refused:
        world.planner.check_runtime(plan, "c2", (StepFacts("apps/web", "upgrade", 2, "d" * 64, "sha256:b"),))
    assert refused.value.changed == ["source commit", "revision", "values"]
    assert refused.value.details["releases"] == {"apps/web": ["revision", "values"]}
