"""The CloudFormation custom resource: properties as CloudFormation sends them, and the reply's shape."""

from __future__ import annotations

import json

import pytest

from chalicelib.core.custom_resource import CfnRequest, ReleaseProps
from chalicelib.domain.models import ReleaseRef
from chalicelib.errors import InvalidInput


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
