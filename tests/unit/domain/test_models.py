"""The models at the service's edges: status enums, release references, request specs built from JSON (every
problem names its field), specs as the queue carries them and as an operation records them, stored things as JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.domain.models import (
    Action,
    InstallSpec,
    Limits,
    Operation,
    OperationStatus,
    ReconcileSpec,
    ReleaseRef,
    ReleaseStatus,
    Revision,
    RollbackSpec,
    UninstallSpec,
    UnlockSpec,
    UpgradeSpec,
    iso,
    spec_from_message,
    spec_summary,
    spec_to_message,
)
from chalicelib.errors import InvalidInput

LIMITS = Limits(max_timeout_s=900, default_timeout_s=120, default_max_history=7, allow_http_charts=False)
CHART = "https://charts.example/demo-1.0.0.tgz"


def test_statuses() -> None:
    assert ReleaseStatus.parse("pending-upgrade") is ReleaseStatus.PENDING_UPGRADE
    assert (
        ReleaseStatus.parse("no-such-status") is ReleaseStatus.UNKNOWN and ReleaseStatus.parse(None).value == "unknown"
    )
    assert [s.value for s in ReleaseStatus if s.pending] == [
        "uninstalling",
        "pending-install",
        "pending-upgrade",
        "pending-rollback",
    ]
    assert [s.value for s in OperationStatus if s.terminal] == ["succeeded", "failed"]


def test_iso_times_are_utc_with_milliseconds() -> None:
    assert iso(None) is None
    assert iso(0.0) == "1970-01-01T00:00:00.000Z"
    assert iso(1_700_000_000.25) == "2023-11-14T22:13:20.250Z"


def test_release_refs() -> None:
    ref = ReleaseRef.parse("prod", "apps", "web")
    assert ref.key == "prod/apps/web" and not ref.cluster_wide
    assert ref.to_json() == {"cluster": "prod", "namespace": "apps", "name": "web"}
    whole = ReleaseRef.whole_cluster("prod")
    assert whole.cluster_wide and whole.key == "prod/*/*"
    for parts, field in ((("Prod", "apps", "web"), "cluster"), (("prod", "a_b", "web"), "namespace")):
        with pytest.raises(InvalidInput) as exc:
            ReleaseRef.parse(*parts)
        assert exc.value.field == field
    with pytest.raises(InvalidInput) as exc:
        ReleaseRef.parse("prod", "apps", "*")  # the cluster-wide marker is never a release name
    assert exc.value.field == "name"


def test_install_spec_defaults_come_from_the_limits() -> None:
    spec, name = InstallSpec.from_json({"name": "web", "chart": CHART}, LIMITS)
    assert (name.name, name.generate_name, name.name_template) == ("web", False, None)
    assert (spec.chart, spec.timeout_s, spec.max_history, spec.wait, spec.dry_run) == (CHART, 120, 7, False, None)


def test_install_spec_flags_that_imply_others() -> None:
    spec, _ = InstallSpec.from_json({"name": "web", "chart": CHART, "rollback_on_failure": True}, LIMITS)
    assert spec.atomic and spec.wait  # helm: --atomic implies --wait
    spec, _ = InstallSpec.from_json({"name": "web", "chart": CHART, "wait_for_jobs": True, "dry_run": True}, LIMITS)
    assert spec.wait and spec.wait_for_jobs and spec.dry_run == "client"
    spec, _ = InstallSpec.from_json({"generate_name": True, "chart": CHART, "timeout": "10m"}, LIMITS)
    assert spec.timeout_s == 600


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"chart": CHART}, "name"),  # no name at all
        ({"name": "web", "generate_name": True, "chart": CHART}, "name"),  # two ways at once
        ({"name": "web"}, "chart"),
        ({"name": "web", "chart": "http://charts.example/demo.tgz"}, "chart"),  # plain HTTP not allowed here
        ({"name": "web", "chart": CHART, "timeout": "2h"}, "timeout"),  # over the limit
        ({"name": "web", "chart": CHART, "dry_run": "maybe"}, "dry_run"),
        ({"name": "web", "chart": CHART, "reuse_values": True}, "reuse_values"),  # an upgrade flag
        ({"name": "web", "chart": CHART, "colour": "red"}, "colour"),
    ],
)
def test_install_spec_refusals_name_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        InstallSpec.from_json(body, LIMITS)
    assert exc.value.field == field


def test_upgrade_spec() -> None:
    spec = UpgradeSpec.from_json({"chart": CHART, "install": True, "force": True, "reset_values": True}, LIMITS)
    assert spec.install and spec.force and spec.reset_values and not spec.reuse_values
    with pytest.raises(InvalidInput) as exc:
        UpgradeSpec.from_json({"chart": CHART, "reuse_values": True, "reset_values": True}, LIMITS)
    assert exc.value.field == "reuse_values"
    with pytest.raises(InvalidInput) as exc:
        UpgradeSpec.from_json({"chart": CHART, "name": "web"}, LIMITS)  # the name is in the path
    assert exc.value.field == "name"


def test_rollback_uninstall_unlock_and_reconcile_specs() -> None:
    assert RollbackSpec.from_json({}, LIMITS) == RollbackSpec(revision=0, timeout_s=120, max_history=7)
    assert RollbackSpec.from_json({"revision": 3, "wait_for_jobs": True}, LIMITS).wait
    assert UninstallSpec.from_json({"cascade": "orphan"}, LIMITS) == UninstallSpec(timeout_s=120, cascade="orphan")
    assert UnlockSpec.from_json({}, LIMITS, default_policy="mark-failed").policy == "mark-failed"
    assert ReconcileSpec.from_json({"timeout": 60}, LIMITS) == ReconcileSpec(timeout_s=60)
    for parse, body, field in (
        (RollbackSpec.from_json, {"revision": -1}, "revision"),
        (UninstallSpec.from_json, {"cascade": "sideways"}, "cascade"),
        (UnlockSpec.from_json, {"policy": "retry"}, "policy"),
        (ReconcileSpec.from_json, {"wait": True}, "wait"),
    ):
        with pytest.raises(InvalidInput) as exc:
            parse(body, LIMITS)
        assert exc.value.field == field


@pytest.mark.parametrize(
    ("action", "spec"),
    [
        (Action.ROLLBACK, RollbackSpec(revision=2, wait=True, description="back")),
        (Action.UNINSTALL, UninstallSpec(keep_history=True, cascade="foreground")),
        (Action.UNLOCK, UnlockSpec(policy="mark-failed", timeout_s=60)),
        (Action.RECONCILE, ReconcileSpec(timeout_s=30)),
    ],
)
def test_specs_survive_the_queue_message(action: Action, spec: Any) -> None:
    assert spec_from_message(action, json.loads(json.dumps(spec_to_message(spec)))) == spec


def test_an_install_spec_survives_the_queue_message_with_its_values() -> None:
    spec, _ = InstallSpec.from_json(
        {"name": "web", "chart": CHART, "values": {"a": {"b": [1, "x"]}}, "set": ["c=2"], "labels": {"team": "a"}},
        LIMITS,
    )
    back = spec_from_message(Action.INSTALL, json.loads(json.dumps(spec_to_message(spec))))
    assert isinstance(back, InstallSpec)
    assert (back.chart, back.values, back.labels, back.timeout_s) == (
        CHART,
        {"a": {"b": [1, "x"]}, "c": 2},
        {"team": "a"},
        120,
    )


def test_an_operation_records_a_digest_of_the_values_never_the_values() -> None:
    spec, _ = InstallSpec.from_json({"name": "web", "chart": CHART, "values": {"password": "hunter2"}}, LIMITS)
    summary = spec_summary(spec)
    assert summary["values"].startswith("sha256:") and len(summary["values"]) == len("sha256:") + 64
    assert "hunter2" not in json.dumps(summary) and summary["chart"] == CHART
    other, _ = InstallSpec.from_json({"name": "web", "chart": CHART, "values": {"password": "other"}}, LIMITS)
    assert spec_summary(other)["values"] != summary["values"]


def test_revisions_as_json() -> None:
    entry = {
        "revision": 2,
        "status": "superseded",
        "chart": "demo-0.2.0",
        "app_version": "1.0",
        "updated": "2026-01-01T00:00:00Z",
        "description": "Upgrade complete",
    }
    assert Revision.from_json(entry).to_json() == entry
    assert Revision.from_json({"revision": "3"}) == Revision(3, ReleaseStatus.UNKNOWN, "", "", "", "")


def test_a_new_operation_is_queued() -> None:
    ref = ReleaseRef("prod", "apps", "web")
    op = Operation.new(Action.UPGRADE, ref, {"chart": CHART})
    again = Operation.new(Action.UPGRADE, ref, {"chart": CHART})
    assert op.id.startswith("op-") and op.id != again.id
    assert op.status is OperationStatus.QUEUED and op.created_at == op.updated_at
    shown = op.to_json()
    assert shown["release"] == ref.to_json() and shown["action"] == "upgrade" and shown["status"] == "queued"
    assert shown["created_at"] == iso(op.created_at) and shown["started_at"] is None and shown["error"] is None
