"""Deployable artifacts: ``chalice package`` in both forms with what deploy/ adds, validated offline. The
CloudFormation template and the example stack pass cfn-lint; the Terraform JSON has every resource it refers to
(``terraform`` itself is not installable here: no Debian or PyPI package)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.config import QUEUE_NAME
from deploy.merge_template import DLQ_NAME, FUNCTIONS, merge_template
from deploy.terraform import complete

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ENV = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
EXAMPLE = ROOT / "deploy" / "examples" / "helm-release.yaml"


def package(out: Path, *args: str) -> None:
    done = subprocess.run(
        [str(BIN / "chalice"), "package", *args, str(out)],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


def cfn_lint(*paths: Path) -> None:
    done = subprocess.run([str(BIN / "cfn-lint"), *map(str, paths)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def sam(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("sam")
    merge = out / "merge.json"
    merge.write_text(json.dumps(merge_template("prod")))
    package(out / "pkg", "--stage", "prod", "--merge-template", str(merge))
    path = out / "pkg" / "sam.json"
    return path, json.loads(path.read_text())


def test_cloudformation_template_validates_with_cfn_lint(sam: tuple[Path, dict[str, Any]]) -> None:
    cfn_lint(sam[0])


def test_cloudformation_template_has_everything_the_app_needs(sam: tuple[Path, dict[str, Any]]) -> None:
    template = sam[1]
    res = template["Resources"]
    table = res["Table"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["gsi1", "gsi2"]
    queue = res["OperationsQueue"]["Properties"]
    assert queue["QueueName"] == QUEUE_NAME and queue["FifoQueue"] is True
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert res["DeadLetterQueue"]["Properties"]["QueueName"] == DLQ_NAME
    assert res["DeadLetterQueue"]["Properties"]["FifoQueue"] is True
    assert res["EventBus"]["Type"] == "AWS::Events::EventBus"
    assert res["HelmLayer"]["Type"] == "AWS::Serverless::LayerVersion"
    assert res["ChartBucket"]["Type"] == "AWS::S3::Bucket"
    for name in FUNCTIONS:
        props = res[name]["Properties"]
        assert props["Layers"] == [{"Ref": "HelmLayer"}], name
        assert props["Environment"]["Variables"]["CHARTHOUSE_EVENT_BUS"] == {"Ref": "EventBus"}, name
        assert props["Environment"]["Variables"]["CHARTHOUSE_TABLE"] == "charthouse", name
    # the stage's reconcile rate (.chalice/config.json), the custom resource's token as an output
    assert res["ReconcileClusters"]["Properties"]["Events"]["ReconcileClustersEvent"]["Properties"] == {
        "Schedule": "rate(5 minutes)"
    }
    assert template["Outputs"]["HelmReleaseServiceToken"]["Value"] == {"Fn::GetAtt": ["HelmReleaseResource", "Arn"]}
    assert res["HelmReleaseResource"]["Properties"]["Handler"] == "chalicelib.api.cfn.helm_release_resource"


def test_the_hand_written_policy_is_least_privilege() -> None:
    policy = json.loads((ROOT / ".chalice" / "policy.json").read_text())
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["StateChangeEvents"]["Action"] == ["events:PutEvents"]
    assert by_sid["StateChangeEvents"]["Resource"].endswith(":event-bus/charthouse-events-*")
    for statement in policy["Statement"]:
        assert all("*" not in a.split(":", 1)[1] for a in statement["Action"]), statement  # no wildcard actions
    assert "dynamodb:Scan" not in json.dumps(policy)  # no path of the service scans the table


def test_example_stack_validates_with_cfn_lint() -> None:
    cfn_lint(EXAMPLE)
    text = EXAMPLE.read_text()
    assert "Type: Custom::HelmRelease" in text and "HelmReleaseServiceToken" in text


def test_terraform_form_is_complete_and_consistent(tmp_path: Path) -> None:
    package(tmp_path / "tf", "--pkg-format", "terraform", "--stage", "prod")
    path = tmp_path / "tf" / "chalice.tf.json"
    done = subprocess.run(
        [sys.executable, "-m", "deploy.terraform", str(tmp_path / "tf"), "prod"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    tf = json.loads(path.read_text())
    res = tf["resource"]
    # every reference names a resource that is defined
    refs = set(re.findall(r"\b(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)\.", json.dumps(tf)))
    assert refs and not [r for r in refs if r[1] not in res.get(r[0], {})]
    table = res["aws_dynamodb_table"]["charthouse"]
    assert table["ttl"] == {"attribute_name": "ttl", "enabled": True}
    assert [g["name"] for g in table["global_secondary_index"]] == ["gsi1", "gsi2"]
    assert res["aws_sqs_queue"]["operations"]["fifo_queue"] is True
    assert "aws_sqs_queue.dead_letters.arn" in res["aws_sqs_queue"]["operations"]["redrive_policy"]
    assert set(res) >= {"aws_cloudwatch_event_bus", "aws_lambda_layer_version", "aws_s3_bucket"}
    for name, fn in res["aws_lambda_function"].items():
        assert fn["layers"] == ["${aws_lambda_layer_version.helm.arn}"], name
        assert fn["environment"]["variables"]["CHARTHOUSE_EVENT_BUS"].startswith("${aws_cloudwatch_event_bus."), name
    assert res["aws_cloudwatch_event_rule"]["reconcile_clusters-event"]["schedule_expression"] == "rate(5 minutes)"
    assert tf["output"]["HelmReleaseServiceToken"]["value"] == "${aws_lambda_function.helm_release_resource.arn}"
    mapping = next(iter(res["aws_lambda_event_source_mapping"].values()))
    assert mapping["event_source_arn"] == "${aws_sqs_queue.operations.arn}"


def test_terraform_completion_is_pure() -> None:
    skeleton = {
        "resource": {
            "aws_lambda_function": {"f": {}},
            "aws_cloudwatch_event_rule": {
                "reconcile_clusters-event": {
                    "name": "reconcile_clusters-event",
                    "schedule_expression": "rate(15 minutes)",
                }
            },
        }
    }
    out = complete(skeleton, "dev")
    assert out["resource"]["aws_cloudwatch_event_rule"]["reconcile_clusters-event"]["name"] == (
        "charthouse-dev-reconcile_clusters-event"
    )
    assert out["resource"]["aws_cloudwatch_event_bus"]["charthouse"]["name"] == "charthouse-events-dev"


def test_every_route_but_health_needs_sigv4(sam: tuple[Path, dict[str, Any]]) -> None:
    """API Gateway's IAM authorizer guards the deployed API; the code then trusts only its identity (auth.py).
    The compat routes declared without it (their clients sign their own way) are checked by the guard alone."""
    import app  # noqa: F401 - every route module imported, so TABLE is whole when this test runs alone
    from chalicelib.api.routes import TABLE

    own_signing = {path for (_, path), declared in TABLE.items() if not declared.gateway_auth}
    body = sam[1]["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    assert body["securityDefinitions"]["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    for path, item in body["paths"].items():
        for method, op in item.items():
            if method == "options":
                continue
            expected = None if path == "/v1/health" or path in own_signing else [{"sigv4": []}]
            assert op.get("security") == expected, (method, path)
