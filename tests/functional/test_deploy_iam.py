"""Least privilege: each function's policy in both packaged forms is exactly its rows in deploy/iam.py, and those
rows are what the code calls. The calls are derived from the code: every boto3 operation named in the adapters
(the only layer that reaches boto3) maps to an IAM action that some function is granted, and every granted action
is either such a call or named below with the reason it needs no call in our code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import botocore.session
from botocore import xform_name

from deploy import iam
from deploy.terraform import LOG_GROUPS

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("dynamodb", "sqs", "secretsmanager", "s3", "events", "eks", "sts")
# operations that need another action, or none
ACTION_OF = {
    "s3:HeadObject": {"s3:GetObject"},
    "dynamodb:TransactWriteItems": {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
    },
    "sts:GetCallerIdentity": set(),  # needs no permission (and is only presigned, for EKS tokens)
    "dynamodb:Scan": set(),  # the local stack's restart only (store.unfinished_operations): not deployed
    "sqs:GetQueueUrl": set(),  # only when CHARTHOUSE_QUEUE_URL is empty: both templates set it
    "events:CreateConnection": set(),  # a name clash: http/fetch.py's socket create_connection, not EventBridge
}
# code paths the regex cannot see as an operation name
INDIRECT = {
    "dynamodb:BatchWriteItem": "table.batch_writer() (store: bulk deletes)",
    "dynamodb:GetItem": "Table.get_item through store.table.call",
    "dynamodb:UpdateItem": "UpdateExpression writes through transactions",
    "s3:PutObject": "generate_presigned_url('put_object'): the caller uploads with the API's role",
    "s3:ListBucket": "head_object of a missing key answers 404 (not 403) only with ListBucket on the bucket",
}
# granted without a call in our code: the platform calls them with the function's role
PLATFORM = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",  # the Lambda runtime writes the logs
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",  # active tracing
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility",  # ESM
    *iam.ENI,  # Lambda attaches the function to the VPC
    *iam.KMS,  # SQS, Secrets Manager and DynamoDB decrypt with the caller's rights
}


def code_actions() -> set[str]:
    session = botocore.session.get_session()
    ops: dict[str, set[str]] = {}
    for service in SERVICES:
        model = session.get_service_model(service)
        prefix = model.signing_name if service != "dynamodb" else "dynamodb"
        for op in model.operation_names:
            ops.setdefault(xform_name(op), set()).add(f"{prefix}:{op}")
    sources = [*ROOT.joinpath("chalicelib", "adapters").rglob("*.py"), ROOT / "chalicelib" / "bootstrap.py"]
    names = {n for path in sources for n in re.findall(r"\.([a-z_]+)\b", path.read_text())}
    actions: set[str] = set()
    for name in names & set(ops):
        for op in ops[name]:
            actions |= ACTION_OF.get(op, {op})
    return actions


def test_every_call_in_the_code_is_granted_and_every_grant_is_called() -> None:
    called = code_actions()
    granted = set().union(*(iam.actions(f) for f in iam.FUNCTIONS))
    assert called - granted == set()  # nothing the code does is refused
    assert {"secretsmanager:GetSecretValue", "sqs:SendMessage", "events:PutEvents", "eks:DescribeCluster"} <= called
    unexplained = granted - called - PLATFORM - set(INDIRECT)
    assert unexplained == set()  # nothing is granted that no code calls


def test_each_function_gets_only_what_its_role_needs() -> None:
    api, worker, sweep = (iam.actions(f) for f in ("APIHandler", "ExecuteOperations", "SweepStaleLeases"))
    assert "sqs:ReceiveMessage" not in api and "sqs:DeleteMessage" not in api  # only the worker takes messages
    assert "sqs:ReceiveMessage" in worker
    assert not {a for a in sweep if a.startswith(("secretsmanager:", "s3:", "eks:", "sts:"))}
    writers = [f for f in iam.FUNCTIONS if "secretsmanager:CreateSecret" in iam.actions(f)]
    assert writers == ["APIHandler"]  # only registration writes credentials
    assert [f for f in iam.FUNCTIONS if "sts:AssumeRole" in iam.actions(f)] == ["APIHandler", "ExecuteOperations"]
    for function in iam.FUNCTIONS:
        assert "dynamodb:Scan" not in iam.actions(function)
        assert all(not a.endswith("*") for a in iam.actions(function))


def _statements(doc: Any) -> list[dict[str, Any]]:
    out = []
    for s in doc:
        if "Fn::If" in s:
            out.append(s["Fn::If"][1])  # the conditional statement, as deployed when its condition holds
        else:
            out.append(s)
    return out


def test_cloudformation_policies_are_the_table(sam: tuple[Path, dict[str, Any]]) -> None:
    res = sam[1]["Resources"]
    for function in iam.FUNCTIONS:
        role = res[res[function]["Properties"]["Role"]["Fn::GetAtt"][0]]
        (policy,) = role["Properties"]["Policies"]
        statements = _statements(policy["PolicyDocument"]["Statement"])
        assert {a for s in statements for a in s["Action"]} == iam.actions(function), function
        for s in statements:
            assert s["Resource"] != "*" or set(s["Action"]) <= {*iam.TRACES, *iam.ENI}, (function, s)
            if "sts:AssumeRole" in s["Action"]:
                assert s["Resource"] == {"Ref": "ClusterRoleArns"}
        conditional = [s["Fn::If"][0] for s in policy["PolicyDocument"]["Statement"] if "Fn::If" in s]
        assert "HasKmsKey" in conditional
    assert len({res[f]["Properties"]["Role"]["Fn::GetAtt"][0] for f in iam.FUNCTIONS}) == len(iam.FUNCTIONS)


def test_terraform_policies_are_the_table(terraform: tuple[Path, dict[str, Any]]) -> None:
    policies = terraform[1]["resource"]["aws_iam_role_policy"]
    for function, name in LOG_GROUPS.items():
        text = policies[f"{name}_role"]["policy"]
        assert text == iam.tf_statements(function, LOG_GROUPS)
        actions = set(re.findall(r'"([a-z0-9-]+:[A-Za-z]+)"', text))
        assert actions == iam.actions(function), function
        assert "length(var.cluster_role_arns) > 0" in text or "sts:AssumeRole" not in text
    json.dumps(policies)  # serialisable
