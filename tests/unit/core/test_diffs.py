"""``Differ``: what an upgrade or a rollback would change, from helm's dry run and the stored manifests; the cluster
is never changed (no revision is added), a missing release or revision is refused, Secrets stay masked. The store
is the real one on an emulated table; helm is the fake of tests/fakes.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from chalicelib.adapters.store import Store
from chalicelib.core.diffs import Differ
from chalicelib.core.service import ReleaseService
from chalicelib.domain.models import (
    Action,
    InstallSpec,
    Limits,
    Operation,
    ReleaseRef,
    RollbackSpec,
    UpgradeSpec,
)
from chalicelib.errors import ClusterNotFound, InvalidInput, ReleaseNotFound
from tests.emulated import emulated_store, registry_with
from tests.fakes import FakeHelm

LIMITS = Limits(max_timeout_s=3600, default_timeout_s=300, default_max_history=10, allow_http_charts=False)
CHART = "https://charts.example.com/demo-1.2.3.tgz"
KUBECONFIG = "kubeconfig text"
REF = ReleaseRef("prod", "apps", "web")


@dataclass
class World:
    store: Store
    helm: FakeHelm
    service: ReleaseService
    differ: Differ

    def deploy(self, action: Action, values: dict[str, Any]) -> None:
        """Run helm and record the outcome, as the worker does."""
        if action is Action.INSTALL:
            spec: Any = InstallSpec.from_json({"name": REF.name, "chart": CHART, "values": values}, LIMITS)[0]
            released = self.helm.install(KUBECONFIG, REF, spec)
        else:
            spec = UpgradeSpec.from_json({"chart": CHART, "values": values}, LIMITS)
            released = self.helm.upgrade(KUBECONFIG, REF, spec)
        op = Operation.new(action, REF, {})
        record = self.service.snapshot(KUBECONFIG, op, spec, self.store.get_release(REF), False, released)
        assert record is not None
        self.store.put_releases([record])


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with emulated_store(monkeypatch) as store:
        helm = FakeHelm()
        registry = registry_with(store, "prod")
        yield World(store, helm, ReleaseService(store, registry, helm), Differ(store, registry, helm))


def _changes(answer: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["change"] for e in answer["objects"]}


def test_an_upgrade_diff_shows_the_changed_objects_and_changes_nothing(world: World) -> None:
    world.deploy(Action.INSTALL, {"data": {"a": "1"}, "extra": ["old-cm"]})
    spec = UpgradeSpec.from_json({"chart": CHART, "values": {"data": {"a": "2"}, "extra": ["new-cm"]}}, LIMITS)
    answer = world.differ.upgrade(REF, spec)
    assert answer["action"] == "upgrade" and answer["from_revision"] == 1 and "to_revision" not in answer
    assert _changes(answer) == {"web-cm": "changed", "new-cm": "added", "old-cm": "removed"}
    assert answer["summary"] == {"added": 1, "changed": 1, "removed": 1, "unchanged": 0}
    changed = next(e for e in answer["objects"] if e["name"] == "web-cm")
    assert '-  a: "1"' in changed["diff"] and '+  a: "2"' in changed["diff"]
    assert len(world.helm.releases[REF.key]) == 1  # a dry run: helm kept no new revision


def test_secrets_are_masked_unless_revealed(world: World) -> None:
    world.deploy(Action.INSTALL, {"secret": {"password": "old-hunter2"}})
    spec = UpgradeSpec.from_json({"chart": CHART, "values": {"secret": {"password": "new-hunter2"}}}, LIMITS)
    masked = world.differ.upgrade(REF, spec)
    assert "hunter2" not in str(masked) and _changes(masked)["web-secret"] == "changed"
    shown = world.differ.upgrade(REF, spec, reveal=True)
    assert "new-hunter2" in next(e for e in shown["objects"] if e["name"] == "web-secret")["diff"]


def test_an_upgrade_of_a_missing_release_diffs_an_install_only_when_asked(world: World) -> None:
    spec = UpgradeSpec.from_json({"chart": CHART, "values": {"data": {"a": "1"}}}, LIMITS)
    with pytest.raises(ReleaseNotFound, match="install: true"):
        world.differ.upgrade(REF, spec)
    answer = world.differ.upgrade(REF, UpgradeSpec.from_json({"chart": CHART, "install": True}, LIMITS))
    assert answer["action"] == "install" and answer["from_revision"] == 0
    assert set(_changes(answer).values()) == {"added"}


def test_an_unknown_cluster_is_refused_before_helm_is_asked(world: World) -> None:
    with pytest.raises(ClusterNotFound):
        world.differ.upgrade(ReleaseRef("nope", "apps", "web"), UpgradeSpec.from_json({"chart": CHART}, LIMITS))
    assert world.helm.calls == []


def test_a_rollback_diff_compares_the_current_revision_with_the_target(world: World) -> None:
    world.deploy(Action.INSTALL, {"data": {"a": "1"}})
    world.deploy(Action.UPGRADE, {"data": {"a": "2"}})
    world.deploy(Action.UPGRADE, {"data": {"a": "3"}})
    previous = world.differ.rollback(REF, RollbackSpec(timeout_s=60))  # default: the revision before the current
    assert previous["to_revision"] == 2 and previous["from_revision"] == 3
    assert '+  a: "2"' in previous["objects"][0]["diff"]
    first = world.differ.rollback(REF, RollbackSpec(revision=1, timeout_s=60))
    assert first["to_revision"] == 1 and '+  a: "1"' in first["objects"][0]["diff"]
    assert len(world.helm.releases[REF.key]) == 3


def test_a_rollback_diff_needs_a_release_and_a_revision_it_had(world: World) -> None:
    with pytest.raises(ReleaseNotFound):
        world.differ.rollback(REF, RollbackSpec(timeout_s=60))
    world.deploy(Action.INSTALL, {})
    with pytest.raises(InvalidInput) as err:
        world.differ.rollback(REF, RollbackSpec(timeout_s=60))  # nothing before revision 1
    assert err.value.field == "revision"
    with pytest.raises(InvalidInput):
        world.differ.rollback(REF, RollbackSpec(revision=7, timeout_s=60))
