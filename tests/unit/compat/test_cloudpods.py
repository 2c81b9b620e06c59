"""Cloudpods' door: a release in ``climc k8s-release-show``'s shape (stable ids, resources grouped by kind), its
values fields translated, and what it refuses, naming the field."""

from __future__ import annotations

import uuid
from typing import Any

from chalicelib.compat import cloudpods
from tests.functional.conftest import Api

RECORD: dict[str, Any] = {
    "cluster": "prod",
    "namespace": "apps",
    "name": "etcd",
    "chart": "etcd",
    "chart_version": "8.5.0",
    "status": "deployed",
    "revision": 2,
    "first_deployed": "2026-11-27T10:00:00Z",
    "last_deployed": "2026-11-27T11:00:00Z",
}


def test_a_release_in_cloudpods_shape_with_stable_ids() -> None:
    out = cloudpods._release(RECORD)
    assert out["id"] == str(uuid.uuid5(cloudpods.ID_NAMESPACE, "prod/apps/etcd")) == cloudpods._release(RECORD)["id"]
    assert out["id"] != cloudpods._release({**RECORD, "namespace": "other"})["id"]
    assert (out["cluster_id"], out["external_id"], out["version"], out["type"]) == (
        "prod",
        "prod/apps/etcd",
        2,
        "external",
    )
    assert (out["created_at"], out["description"]) == ("2026-11-27T10:00:00Z", "")
    assert "config" not in out and "resources" not in out


def test_show_groups_resources_by_kind() -> None:
    shown = {
        "values": {"replicas": 3},
        "resources": [
            {"kind": "Service", "name": "etcd"},
            {"kind": "StatefulSet", "name": "etcd"},
            {"kind": "Service", "name": "h"},
        ],
    }
    out = cloudpods._release(RECORD, shown)
    assert out["config"] == {"replicas": 3}
    assert [r["name"] for r in out["resources"]["k8s_service"]] == ["etcd", "h"]
    assert list(out["resources"]) == ["k8s_service", "statefulset"]


def test_values_fields_are_translated() -> None:
    body = {"values": "replicas: 3\n", "values_json": {"a": 1}, "sets": {"b.c": "x"}, "version": "", "force": True}
    assert cloudpods._values(body) == {
        "values_files": [{"name": "values", "content": "replicas: 3\n"}],
        "values": {"a": 1},
        "set": {"b.c": "x"},
        "force": True,
    }
    assert cloudpods._values({}) == {}


def test_refusals_name_the_field(api: Api) -> None:
    api.register()
    base = {"chart_name": "https://charts.example.com/demo-1.2.3.tgz", "cluster": "prod", "namespace": "apps"}
    for body, field in (
        ({**base, "release_name": "etcd", "recreate": True}, "recreate"),
        ({**base, "release_name": "etcd", "bogus": 1}, "bogus"),
        ({**base, "release_name": "etcd", "namespace": "Not_A_Namespace"}, "namespace"),
    ):
        status, out = api.call("POST", "/api/releases", body)
        assert status == 422 and out["error"]["details"]["field"] == field, out
    status, out = api.call("GET", "/api/releases?colour=blue")
    assert status == 422 and out["error"]["details"]["field"] == "colour"
    assert api.call("GET", "/api/releases/etcd")[0] == 404
