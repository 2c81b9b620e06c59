"""CCE's shapes from Charthouse's records: statuses in CCE's enum, masked values as a JSON string, stable ids."""

from __future__ import annotations

import json

import pytest

from chalicelib.compat import cce_shapes as shapes
from chalicelib.domain.redact import MASK

RECORD = {
    "cluster": "local",
    "namespace": "default",
    "name": "web",
    "status": "deployed",
    "revision": 3,
    "chart": "hello",
    "chart_version": "0.1.0",
    "first_deployed": "2026-11-27T10:00:00Z",
    "last_deployed": "2026-11-27T11:00:00Z",
    "description": "Upgrade complete",
}


@pytest.mark.parametrize(
    ("helm", "cce"),
    [
        ("deployed", "DEPLOYED"),
        ("failed", "FAILED"),
        ("uninstalled", "DELETED"),
        ("uninstalling", "DELETING"),
        ("pending-install", "PENDING_INSTALL"),
        ("pending-upgrade", "PENDING_UPGRADE"),
        ("pending-rollback", "PENDING_ROLLBACK"),
        ("superseded", "DEPLOYED"),
        ("unknown", "UNKNOWN"),
        (None, "UNKNOWN"),
    ],
)
def test_statuses_are_in_cce_enum(helm: str | None, cce: str) -> None:
    assert shapes.status(helm) == cce


def test_a_release_has_every_field_of_release_resp() -> None:
    shown = shapes.release(RECORD, {"db": {"password": MASK, "hosts": [MASK, "a"]}, "tag": "v2"})
    assert set(shown) == {
        "chart_name", "chart_public", "chart_version", "cluster_id", "cluster_name", "create_at", "description",
        "name", "namespace", "parameters", "resources", "status", "status_description", "update_at", "values",
        "version",
    }  # fmt: skip
    assert shown["version"] == 3 and shown["status"] == "DEPLOYED" and shown["cluster_name"] == "local"
    assert json.loads(shown["values"]) == {"db": {"password": "******", "hosts": ["******", "a"]}, "tag": "v2"}
    assert shapes.release(RECORD)["values"] == ""


def test_ids_are_stable_and_distinct() -> None:
    assert shapes.cluster_uuid("local") == shapes.cluster_uuid("local") != shapes.cluster_uuid("prod")
    assert shapes.chart_uuid("hello", "0.1.0") != shapes.chart_uuid("hello", "0.1.1")
    assert len(shapes.chart_uuid("hello", "0.1.0")) == 36


def test_a_history_entry_splits_the_chart_and_says_superseded() -> None:
    ref = {"cluster": "local", "namespace": "default", "name": "web"}
    rev = {"revision": 1, "status": "superseded", "chart": "my-chart-1.2.3", "updated": "t", "description": "Install"}
    shown = shapes.history_entry(ref, rev)
    assert (shown["chart_name"], shown["chart_version"], shown["version"]) == ("my-chart", "1.2.3", 1)
    assert shown["status"] == "DEPLOYED" and shown["status_description"] == "superseded: Install"


def test_pending_shows_the_operation() -> None:
    op = {
        "id": "op-1",
        "action": "upgrade",
        "status": "running",
        "release": {k: RECORD[k] for k in ("cluster", "namespace", "name")},
    }
    shown = shapes.pending(op, "local", {"name": "hello", "version": "0.1.0"})
    assert shown["status"] == "PENDING_UPGRADE" and "op-1" in shown["status_description"]


def test_a_chart_has_every_field_of_chart_resp() -> None:
    shown = shapes.chart({"name": "hello", "version": "0.1.0", "uploaded_at": "t"}, {"k": MASK})
    assert shown["id"] == shapes.chart_uuid("hello", "0.1.0") and shown["chart_url"].endswith("/archive")
    assert json.loads(shown["values"]) == {"k": "******"} and shown["public"] is False
