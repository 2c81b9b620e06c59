"""Pure parts of issue 5: reconcile findings, drift comparison, helm list argv, custom resource properties."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.adapters.helm import list_all_argv
from chalicelib.core.custom_resource import CfnRequest, ReleaseProps
from chalicelib.core.drift import MASKED, compare, differences
from chalicelib.core.reconcile import finding_kind
from chalicelib.domain.models import ReleaseRecord, ReleaseRef, ReleaseStatus
from chalicelib.errors import InvalidInput


def record(revision: int, status: str = "deployed") -> ReleaseRecord:
    return ReleaseRecord(
        ReleaseRef("c", "ns", "r"),
        ReleaseStatus(status),
        revision,
        "demo",
        "0.1.0",
        "1",
        "",
        "",
        "",
        "",
        "",
        {},
        "install",
        "op-1",
        0,
        0.0,
    )


@pytest.mark.parametrize(
    ("live", "stored", "description", "kind"),
    [
        (None, None, "", None),
        (None, record(2), "", "deleted"),
        (None, record(2, "uninstalled"), "", None),
        ({"revision": "1", "status": "deployed"}, None, "Install complete", "installed"),
        ({"revision": "2", "status": "deployed"}, record(2), "Upgrade complete", None),
        ({"revision": "3", "status": "deployed"}, record(2), "Upgrade complete", "upgraded"),
        ({"revision": "3", "status": "deployed"}, record(2), "Rollback to 1", "rolled-back"),
        ({"revision": "2", "status": "failed"}, record(2), "", "status-changed"),
        ({"revision": "2", "status": "uninstalled"}, record(2), "Uninstallation complete", "uninstalled"),
        ({"revision": "1", "status": "deployed"}, record(4), "Install complete", "installed"),
    ],
)
def test_finding_kind(
    live: dict[str, Any] | None, stored: ReleaseRecord | None, description: str, kind: str | None
) -> None:
    assert finding_kind(live, stored, description) == kind


def test_differences_compare_only_what_the_manifest_sets() -> None:
    expected = {"spec": {"ports": [{"port": 80, "protocol": "TCP"}], "selector": {"app": "x"}}}
    live = {
        "spec": {
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
            "selector": {"app": "x"},
            "clusterIP": "10.0.0.1",
        },
        "status": {},
    }
    assert differences(expected, live) == []
    assert differences({"data": {"a": "1"}}, {"data": {"a": 1}}) == []  # text-equal scalars
    assert differences({"x": True}, {"x": "true"}) == []
    assert differences({"data": {"a": "1"}}, {"data": {"a": "2"}}) == [{"path": "data.a", "expected": "1", "live": "2"}]
    assert differences({"data": {"a": "1"}}, {"data": {}}) == [{"path": "data.a", "expected": "1", "live": None}]
    assert differences({"l": [1, 2]}, {"l": [1]}) == [{"path": "l", "expected": [1, 2], "live": [1]}]
    assert differences({"l": [{"a": 1}]}, {"l": [{"a": 2, "b": 3}]}) == [{"path": "l[0].a", "expected": 1, "live": 2}]
    assert differences({"gone": None}, {}) == []


def test_compare_objects_metadata_and_secrets() -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "a", "labels": {"app": "a"}},
        "data": {"k": "v"},
    }
    live = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "a", "uid": "1", "resourceVersion": "9", "labels": {"app": "b", "extra": "x"}},
        "data": {"k": "v"},
    }
    assert compare(cm, live) == [{"path": "metadata.labels.app", "expected": "a", "live": "b"}]
    secret = {"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"password": "hunter2"}}
    assert compare(secret, {"kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "aHVudGVyMg=="}}) == []
    diffs = compare(secret, {"kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "b3RoZXI="}})
    assert diffs == [{"path": "data.password", "expected": MASKED, "live": MASKED}]
    assert "hunter2" not in json.dumps(diffs)


def test_list_argv_lists_every_status_in_every_namespace() -> None:
    argv = list_all_argv()
    assert argv[:2] == ["list", "--all-namespaces"] and "--all" not in argv  # helm 4 has no --all
    for flag in ("--deployed", "--failed", "--pending", "--superseded", "--uninstalled", "--uninstalling"):
        assert flag in argv
    assert argv[argv.index("--max") + 1] == "0" and argv[-2:] == ["--output", "json"]


def test_custom_resource_properties_as_cloudformation_sends_them() -> None:
    props = ReleaseProps.parse(
        {
            "ServiceToken": "arn:x",
            "Cluster": "prod",
            "Namespace": "web",
            "Name": "hello",
            "Chart": "repo/hello",
            "Version": "1.2.3",
            "Values": {"a": "1"},
            "Options": {"CreateNamespace": "true", "Timeout": "300", "Wait": "false", "max_history": "5"},
        }
    )
    assert props.ref == ReleaseRef("prod", "web", "hello")
    assert props.options == {"create_namespace": True, "timeout": 300, "wait": False, "max_history": 5}
    body = props.body(frozenset({"create_namespace", "timeout", "wait"}), name="hello")
    assert body == {
        "chart": "repo/hello",
        "create_namespace": True,
        "timeout": 300,
        "wait": False,
        "name": "hello",
        "version": "1.2.3",
        "values": {"a": "1"},
    }
    lower = ReleaseProps.parse({"cluster": "prod", "name": "hello", "chart": "repo/hello"})
    assert lower.ref.namespace == "default"
    with pytest.raises(InvalidInput):
        ReleaseProps.parse({"Cluster": "prod", "Name": "hello"})  # no chart
    with pytest.raises(InvalidInput):
        ReleaseProps.parse({"Cluster": "prod", "Name": "hello", "Chart": "c", "Options": {"Shell": "rm -rf"}})
    with pytest.raises(InvalidInput):
        ReleaseProps.parse({"Cluster": "prod", "Name": "Not_A_Name", "Chart": "c"})


def test_custom_resource_reply_shape() -> None:
    req = CfnRequest.from_event(
        {
            "RequestType": "Create",
            "ResponseURL": "https://s3/x?sig",
            "StackId": "arn:s",
            "RequestId": "r1",
            "LogicalResourceId": "L",
            "ResourceProperties": {},
        }
    )
    body = json.loads(req.reply("FAILED", "c/n/r", "x" * 5000, {"OperationId": "op-1"}))
    assert body["Status"] == "FAILED" and body["PhysicalResourceId"] == "c/n/r" and len(body["Reason"]) == 1000
    assert (body["StackId"], body["RequestId"], body["LogicalResourceId"]) == ("arn:s", "r1", "L")
    assert "https://s3" not in json.dumps(body)
