"""``ReleaseService``: the decisions before an operation is accepted, the reads, recovery, and how helm's state is
turned into the stored record. The store is the real one on an emulated table; helm is the fake of tests/fakes.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from chalicelib.adapters.store import Store
from chalicelib.core.service import ReleaseService
from chalicelib.domain.models import (
    Action,
    InstallSpec,
    Limits,
    ListQuery,
    NameRequest,
    Operation,
    ReleaseRecord,
    ReleaseRef,
    ReleaseStatus,
    RollbackSpec,
    UninstallSpec,
    UnlockSpec,
    UpgradeSpec,
)
from chalicelib.domain.redact import MASK
from chalicelib.errors import ClusterNotFound, InvalidInput, ReleaseExists, ReleaseNotFound
from tests.emulated import emulated_store, registry_with
from tests.fakes import FakeHelm

LIMITS = Limits(max_timeout_s=3600, default_timeout_s=300, default_max_history=10, allow_http_charts=False)
CHART = "https://charts.example.com/demo-1.2.3.tgz"
KUBECONFIG = "kubeconfig text"  # the fake helm takes any
REF = ReleaseRef("prod", "apps", "web")


@dataclass
class World:
    store: Store
    helm: FakeHelm
    service: ReleaseService

    def install(self, ref: ReleaseRef = REF, **body: Any) -> ReleaseRecord:
        """Install with helm and record it, as the worker does."""
        spec, _ = InstallSpec.from_json({"name": ref.name, "chart": CHART, **body}, LIMITS)
        released = self.helm.install(KUBECONFIG, ref, spec)
        return self.record(Operation.new(Action.INSTALL, ref, {}), spec, released)

    def upgrade(self, ref: ReleaseRef = REF, **body: Any) -> ReleaseRecord:
        spec = UpgradeSpec.from_json({"chart": CHART, **body}, LIMITS)
        released = self.helm.upgrade(KUBECONFIG, ref, spec)
        return self.record(Operation.new(Action.UPGRADE, ref, {}), spec, released)

    def record(self, op: Operation, spec: Any, released: dict[str, Any] | None) -> ReleaseRecord:
        record = self.service.snapshot(KUBECONFIG, op, spec, self.store.get_release(op.release), False, released)
        assert record is not None
        self.store.put_releases([record])
        return record


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with emulated_store(monkeypatch) as store:
        helm = FakeHelm()
        yield World(store, helm, ReleaseService(store, registry_with(store, "prod"), helm))


# ---------------------------------------------------------------- names


def test_a_given_name_is_used_as_is(world: World) -> None:
    assert world.service.resolve_name("prod", CHART, NameRequest("mine", False, None)) == "mine"


def test_a_name_template_is_rendered_by_helm_and_checked(world: World) -> None:
    template = "web-{{ randAlpha 5 | lower }}"
    assert world.service.resolve_name("prod", CHART, NameRequest(None, False, template)) == "web-abcde"
    with pytest.raises(InvalidInput) as err:
        world.service.resolve_name("prod", CHART, NameRequest(None, False, "Not_A_Name"))
    assert err.value.details["field"] == "name_template"


@pytest.mark.parametrize(
    ("chart", "base"),
    [
        (CHART, "demo"),
        ("https://charts.example.com/My_Chart-v2.0.1.tgz", "my-chart"),
        ("stable/nginx", "nginx"),
        ("oci://registry.example/charts/redis/", "redis"),
    ],
)
def test_a_generated_name_is_the_charts_name_and_a_timestamp(world: World, chart: str, base: str) -> None:
    name = world.service.resolve_name("prod", chart, NameRequest(None, True, None))
    prefix, _, stamp = name.rpartition("-")
    assert prefix == base and stamp.isdigit()


# ---------------------------------------------------------------- decisions before accepting


def test_install_is_refused_over_a_live_release(world: World) -> None:
    world.install()
    spec, _ = InstallSpec.from_json({"name": "web", "chart": CHART}, LIMITS)
    with pytest.raises(ReleaseExists):
        world.service.check_install(REF, spec)
    world.service.check_install(REF, replace(spec, dry_run="client"))  # a dry run changes nothing: allowed


def test_install_may_replace_a_failed_release_only_when_asked(world: World) -> None:
    failed = replace(world.install(), status=ReleaseStatus.FAILED)
    world.store.put_releases([failed])
    spec, _ = InstallSpec.from_json({"name": "web", "chart": CHART}, LIMITS)
    with pytest.raises(ReleaseExists):
        world.service.check_install(REF, spec)
    world.service.check_install(REF, replace(spec, replace=True))


def test_install_over_an_uninstalled_release(world: World) -> None:
    """(The cluster is resolved before, by the hall: tests/unit/core/test_releases.py.)"""
    world.store.put_releases([replace(world.install(), status=ReleaseStatus.UNINSTALLED)])
    spec, _ = InstallSpec.from_json({"name": "web", "chart": CHART}, LIMITS)
    world.service.check_install(REF, spec)


def test_upgrade_needs_a_release_unless_it_may_install(world: World) -> None:
    spec = UpgradeSpec.from_json({"chart": CHART}, LIMITS)
    with pytest.raises(ReleaseNotFound):
        world.service.check_upgrade(REF, spec)
    world.service.check_upgrade(REF, replace(spec, install=True))
    world.install()
    world.service.check_upgrade(REF, spec)


def test_rollback_needs_the_revision_in_the_history(world: World) -> None:
    world.install()
    world.upgrade()
    world.service.check_rollback(REF, 1)
    world.service.check_rollback(REF, 0)  # the previous one
    with pytest.raises(InvalidInput) as err:
        world.service.check_rollback(REF, 7)
    assert err.value.details["field"] == "revision"
    with pytest.raises(ReleaseNotFound):
        world.service.check_rollback(ReleaseRef("prod", "apps", "other"), 1)


def test_an_uninstalled_release_without_history_cannot_be_rolled_back_or_uninstalled(world: World) -> None:
    world.store.put_releases([replace(world.install(), status=ReleaseStatus.UNINSTALLED)])
    world.store.sync_revisions(REF, [])
    with pytest.raises(ReleaseNotFound):
        world.service.check_rollback(REF, 0)
    with pytest.raises(ReleaseNotFound):
        world.service.check_uninstall(REF)


def test_uninstall_needs_a_live_release(world: World) -> None:
    with pytest.raises(ReleaseNotFound):
        world.service.check_uninstall(REF)
    world.install()
    world.service.check_uninstall(REF)


# ---------------------------------------------------------------- reads


def test_get_answers_from_the_store_without_helm(world: World) -> None:
    world.install(labels={"team": "a"})
    world.helm.calls.clear()
    got = world.service.get(REF, (), None)
    assert got["status"] == "deployed" and got["revision"] == 1 and got["labels"] == {"team": "a"}
    assert world.helm.calls == []


def test_get_values_are_masked_unless_revealed(world: World) -> None:
    world.install(values={"password": "hunter2", "db": {"host": "h"}, "plain": 1}, set_sensitive=["db.host=h"])
    masked = world.service.get(REF, ("values",), None)["values"]
    assert masked == {"password": MASK, "db": {"host": MASK}, "plain": 1}
    shown = world.service.get(REF, ("values",), None, reveal=True)["values"]
    assert shown == {"password": "hunter2", "db": {"host": "h"}, "plain": 1}


def test_get_parts_read_through_helm(world: World) -> None:
    world.install()
    got = world.service.get(REF, ("notes", "resources", "manifest"), None)
    assert got["notes"] == "hello notes"
    assert got["resources"] == [{"api_version": "v1", "kind": "ConfigMap", "name": "web-cm", "namespace": "apps"}]
    assert "kind: ConfigMap" in got["manifest"]


def test_get_a_revision(world: World) -> None:
    world.install()
    world.upgrade(values={"a": 1})
    got = world.service.get(REF, ("values",), 1)
    assert got["requested_revision"]["revision"] == 1 and got["values"] == {}
    with pytest.raises(ReleaseNotFound):
        world.service.get(REF, (), 9)


def test_history_and_list(world: World) -> None:
    world.install()
    world.upgrade()
    world.install(ReleaseRef("prod", "other", "api"))
    assert [h["revision"] for h in world.service.history(REF, 10)] == [2, 1]
    rows, token = world.service.list(ListQuery(cluster="prod"))
    assert [(r["namespace"], r["name"]) for r in rows] == [("apps", "web"), ("other", "api")] and token is None
    with pytest.raises(ClusterNotFound):
        world.service.list(ListQuery(cluster="nowhere"))
    with pytest.raises(ReleaseNotFound):
        world.service.history(ReleaseRef("prod", "apps", "nope"), 10)


def test_a_dry_run_shows_what_helm_would_do_and_records_nothing(world: World) -> None:
    spec, _ = InstallSpec.from_json({"name": "web", "chart": CHART, "dry_run": True}, LIMITS)
    out = world.service.dry_run(REF, spec)
    assert out["dry_run"] == "client" and out["release"]["chart_name"] == "demo" and out["release"]["revision"] == 1
    assert out["resources"] == [{"api_version": "v1", "kind": "ConfigMap", "name": "web-cm", "namespace": "apps"}]
    assert world.store.get_release(REF) is None and not any(world.helm.releases.values())


# ---------------------------------------------------------------- recording what helm did


def test_snapshot_records_helms_state_and_the_operation(world: World) -> None:
    record = world.install(labels={"team": "a"})
    assert (record.status, record.revision, record.chart_name, record.chart_version) == (
        ReleaseStatus.DEPLOYED,
        1,
        "demo",
        "1.2.3",
    )
    assert record.last_action == "install" and record.failures == 0 and record.values_digest.startswith("sha256:")
    assert [r.revision for r in world.store.history(REF, 10)] == [1]
    upgraded = world.upgrade()
    assert upgraded.labels == {"team": "a"}  # kept when the upgrade gives none
    assert upgraded.first_deployed == record.first_deployed and upgraded.revision == 2


def test_a_failed_operation_counts_and_keeps_the_sensitive_paths(world: World) -> None:
    first = world.install(values={"s": "x"}, set_sensitive=["s=x"])
    spec = UpgradeSpec.from_json({"chart": CHART}, LIMITS)
    world.helm.upgrade(KUBECONFIG, REF, spec)
    op = Operation.new(Action.UPGRADE, REF, {})
    failed = world.service.snapshot(KUBECONFIG, op, spec, first, failed=True)
    assert failed is not None and failed.failures == 1 and failed.last_operation_id == op.id
    assert failed.sensitive_paths == first.sensitive_paths == (("s",),)


def test_a_release_helm_forgot_is_recorded_uninstalled(world: World) -> None:
    previous = world.install()
    del world.helm.releases[REF.key]
    op = Operation.new(Action.UNINSTALL, REF, {})
    gone = world.service.snapshot(KUBECONFIG, op, UpgradeSpec.from_json({"chart": CHART}, LIMITS), previous, False)
    assert gone is not None and gone.status is ReleaseStatus.UNINSTALLED and gone.notes == ""
    assert world.store.history(REF, 10) == []
    assert world.service.snapshot(KUBECONFIG, op, UpgradeSpec.from_json({"chart": CHART}, LIMITS), None, False) is None


# ---------------------------------------------------------------- recovery


def test_recover_leaves_a_settled_release_alone(world: World) -> None:
    world.install()
    out = world.service.recover(KUBECONFIG, REF, UnlockSpec.from_json({}, LIMITS))
    assert out["recovery"] == "none" and "deployed" in out["detail"]
    assert world.service.recover(KUBECONFIG, ReleaseRef("prod", "apps", "x"), UnlockSpec.from_json({}, LIMITS)) == {
        "recovery": "none",
        "detail": "helm has no such release",
    }


@pytest.mark.parametrize(("policy", "outcome"), [("rollback", "rolled-back"), ("mark-failed", "marked-failed")])
def test_recover_marks_a_pending_revision_failed_and_may_roll_back(world: World, policy: str, outcome: str) -> None:
    world.install()
    world.upgrade()
    world.helm.releases[REF.key][-1]["info"]["status"] = "pending-upgrade"  # helm was killed mid-upgrade
    out = world.service.recover(KUBECONFIG, REF, UnlockSpec.from_json({"policy": policy}, LIMITS))
    assert out["recovery"] == outcome and out["failed_revision"] == 2 and out["from_status"] == "pending-upgrade"
    statuses = [r["info"]["status"] for r in world.helm.releases[REF.key]]
    if policy == "rollback":
        assert out["to_revision"] == 1 and statuses == ["superseded", "failed", "deployed"]
    else:
        assert statuses == ["superseded", "failed"]


# ---------------------------------------------------------------- where the read-back comes from


def _rollback(world: World) -> ReleaseRecord | None:
    spec = RollbackSpec(revision=1)
    world.helm.rollback(KUBECONFIG, REF, spec)
    op = Operation.new(Action.ROLLBACK, REF, {})
    return world.service.snapshot(KUBECONFIG, op, spec, world.store.get_release(REF), False)


def test_the_read_back_comes_from_the_release_secrets_in_one_read(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    installed = world.install(values={"a": 1})
    upgraded = world.upgrade(values={"a": 2})
    world.helm.calls.clear()
    with caplog.at_level(logging.INFO, logger="chalicelib.core.service"):
        record = _rollback(world)
    assert world.helm.calls == ["rollback", "stored"]  # no helm history, get metadata, notes or values
    assert record is not None and (record.revision, record.status, record.chart_name) == (
        3,
        ReleaseStatus.DEPLOYED,
        "demo",
    )
    assert record.values_digest == installed.values_digest != upgraded.values_digest  # revision 1's values again
    assert record.notes == "hello notes\n"  # as `helm get notes` prints them
    assert [r.revision for r in world.store.history(REF, 10)] == [3, 2, 1]
    assert "read back from 3 release Secrets" in caplog.text


def test_the_read_back_asks_helm_when_the_secrets_cannot_be_read(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.install(values={"a": 1})
    world.upgrade(values={"a": 2})
    from_secrets = _rollback(world)
    world.helm.rollback(KUBECONFIG, REF, RollbackSpec(revision=2))
    world.helm.secrets_unreadable = True
    world.helm.calls.clear()
    with caplog.at_level(logging.INFO, logger="chalicelib.core.service"):
        record = _rollback(world)
    assert world.helm.calls == ["rollback", "stored", "history", "get notes", "get metadata", "get values"]
    assert "read back with helm: the release Secrets could not be read (HTTP 403 Forbidden)" in caplog.text
    assert record is not None and from_secrets is not None and record.revision == 5
    assert (record.chart_name, record.values_digest) == (from_secrets.chart_name, from_secrets.values_digest)
    assert [r.revision for r in world.store.history(REF, 10)] == [5, 4, 3, 2, 1]


def test_no_secrets_where_helm_should_keep_some_is_checked_with_helm(world: World) -> None:
    previous = world.install()
    world.helm.calls.clear()
    op = Operation.new(Action.UPGRADE, REF, {})
    spec = UpgradeSpec.from_json({"chart": CHART}, LIMITS)
    world.helm.releases[REF.key] = []  # the Secrets are gone (another storage driver would look the same)
    gone = world.service.snapshot(KUBECONFIG, op, spec, previous, False)
    assert world.helm.calls == ["stored", "history"] and gone is not None
    world.helm.calls.clear()
    uninstall = Operation.new(Action.UNINSTALL, REF, {})
    world.service.snapshot(KUBECONFIG, uninstall, UninstallSpec(), previous, False)
    assert world.helm.calls == ["stored"]  # an uninstall without kept history leaves none: nothing to check
