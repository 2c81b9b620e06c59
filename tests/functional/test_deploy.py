"""Deployable artifacts: ``chalice package`` in both forms with what deploy/ adds (packaged once per session by
tests/functional/conftest.py), validated offline: cfn-lint, checkov on both forms, ``terraform validate`` where
terraform and its provider mirror are installed. Two stages share no name; limits are the written ones."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deploy import checks, iam
from deploy.merge_template import merge_template
from deploy.stack import API_ALARMS, FUNCTION_ALARMS, QUEUE_ALARMS, RESERVED, RUNTIME, VISIBILITY_FACTOR
from deploy.terraform import complete

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EXAMPLE = ROOT / "deploy" / "examples" / "helm-release.yaml"
NEEDS_CHECKOV = pytest.mark.skipif(not checks.CHECKOV.exists(), reason=f"checkov is not installed at {checks.CHECKOV}")


def cfn_lint(*paths: Path) -> None:
    done = subprocess.run([str(BIN / "cfn-lint"), *map(str, paths)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def sam_names(template: dict[str, Any]) -> list[Any]:
    """The account-wide names a SAM template gives its resources (top-level name properties)."""
    keys = ("TableName", "QueueName", "Name", "LogGroupName", "AlarmName", "LayerName", "FunctionName", "RoleName")
    resources = [r for r in template["Resources"].values() if r["Type"] != "AWS::Lambda::Permission"]
    return [r["Properties"][k] for r in resources for k in keys if k in r.get("Properties", {})]


def tf_names(tf: dict[str, Any]) -> list[Any]:
    """The account-wide names of a Terraform form's resources."""
    keys = ("name", "name_prefix", "function_name", "bucket_prefix", "layer_name", "alarm_name")
    return [
        r[k]
        for kind, items in tf["resource"].items()
        if not kind.startswith(
            ("aws_iam_role_policy", "aws_lambda_permission", "aws_lambda_function_event", "aws_lambda_event_source")
        )
        for r in items.values()
        for k in keys
        if k in r
    ]


def test_cloudformation_template_and_example_validate_with_cfn_lint(sam: tuple[Path, dict[str, Any]]) -> None:
    cfn_lint(sam[0], EXAMPLE)
    text = EXAMPLE.read_text()
    assert "Type: Custom::HelmRelease" in text and "HelmReleaseServiceToken" in text


def test_two_stages_share_no_name(sam: tuple[Path, dict[str, Any]], terraform: tuple[Path, dict[str, Any]]) -> None:
    resources = sam[1]["Resources"]
    # every name deploy/ gives carries the stage (Chalice's own roles and functions have none in SAM:
    # CloudFormation names them from the stack's name, one stack per stage)
    written_sam = [n["Fn::Sub"] for n in sam_names(sam[1])]
    assert len(written_sam) > 15 and all("${Stage}" in n for n in written_sam), written_sam
    written_tf = tf_names(terraform[1])
    assert len(written_tf) > 20 and all("${var.stage}" in n for n in written_tf), written_tf
    for written, marker in ((written_sam, "${Stage}"), (written_tf, "${var.stage}")):
        dev = {n.replace(marker, "dev") for n in written}
        prod = {n.replace(marker, "prod") for n in written}
        assert dev.isdisjoint(prod)
    # the stage reaches the app's secret prefix: one stage never reads another's credentials
    variables = resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert variables["CHARTHOUSE_SECRET_PREFIX"] == {"Fn::Sub": "charthouse/${Stage}/clusters/"}
    assert variables["CHARTHOUSE_REPO_SECRET_PREFIX"] == {"Fn::Sub": "charthouse/${Stage}/repositories/"}
    assert merge_template("dev")["Parameters"]["Stage"]["Default"] == "dev"


def test_cloudformation_template_has_everything_the_app_needs(sam: tuple[Path, dict[str, Any]]) -> None:
    template = sam[1]
    res = template["Resources"]
    assert set(template["Parameters"]) >= {
        "Stage",
        "AdminPrincipals",
        "SubnetIds",
        "SecurityGroupIds",
        "ClusterRoleArns",
        "KmsKeyArn",
        "AlarmTopicArn",
    }
    assert "Default" not in template["Parameters"]["AdminPrincipals"]  # prod always has an admin under IAM auth
    table = res["Table"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert table["DeletionProtectionEnabled"] is True
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["gsi1", "gsi2"]
    queue = res["OperationsQueue"]["Properties"]
    assert queue["FifoQueue"] is True and queue["RedrivePolicy"]["maxReceiveCount"] == 5
    bucket = res["ChartBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    tls = res["ChartBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    for name in ("OperationsQueue", "DeadLetterQueue", "AsyncFailures"):
        assert res[name]["Properties"]["KmsMasterKeyId"]["Fn::If"][0] == "HasKmsKey"
        assert res[name]["Properties"]["SqsManagedSseEnabled"]["Fn::If"][2] is True
    assert res["HelmLayer"]["Properties"]["CompatibleRuntimes"] == [RUNTIME]
    for name in iam.FUNCTIONS:
        props = res[name]["Properties"]
        assert props["Runtime"] == RUNTIME, name
        assert props["Layers"] == [{"Ref": "HelmLayer"}], name
        assert props["Tracing"] == "Active", name
        assert props["LoggingConfig"] == {"LogFormat": "JSON", "LogGroup": {"Ref": f"{name}LogGroup"}}, name
        assert res[f"{name}LogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        variables = props["Environment"]["Variables"]
        assert variables["CHARTHOUSE_TABLE"] == {"Ref": "Table"}, name
        assert variables["CHARTHOUSE_QUEUE_URL"] == {"Ref": "OperationsQueue"}, name
        assert variables["CHARTHOUSE_ADMINS"] == {"Ref": "AdminPrincipals"}, name
        assert props["Timeout"] <= 900 and props["MemorySize"] >= 256, name
    assert res["ReconcileClusters"]["Properties"]["Events"]["ReconcileClustersEvent"]["Properties"] == {
        "Schedule": "rate(5 minutes)"
    }
    outputs = template["Outputs"]
    assert outputs["HelmReleaseServiceToken"]["Value"] == {"Fn::GetAtt": ["HelmReleaseResource", "Arn"]}
    assert "ApiUrl" in outputs and all(f"{f}RoleArn" in outputs for f in iam.FUNCTIONS)
    assert res["HelmReleaseResource"]["Properties"]["Handler"] == "chalicelib.api.cfn.helm_release_resource"


def test_the_tables_stream_reaches_the_bus_through_one_pipe_per_detail_type(
    sam: tuple[Path, dict[str, Any]], terraform: tuple[Path, dict[str, Any]]
) -> None:
    """State-change events leave the request path: the table's stream (both images) -> a pipe per detail type,
    filtered to operations ending, enriched by StateChangeEvents -> the stage's bus; its role may do only that."""
    res = sam[1]["Resources"]
    assert res["Table"]["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    pipes = {k: r["Properties"] for k, r in res.items() if r["Type"] == "AWS::Pipes::Pipe"}
    assert sorted(p["TargetParameters"]["EventBridgeEventBusParameters"]["DetailType"] for p in pipes.values()) == [
        "Helm Cluster Reconciled",
        "Helm Release State Change",
    ]
    for pipe in pipes.values():
        assert pipe["Source"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
        assert pipe["Enrichment"] == {"Fn::GetAtt": ["StateChangeEvents", "Arn"]}
        assert pipe["Target"] == {"Fn::GetAtt": ["EventBus", "Arn"]}
        assert pipe["TargetParameters"]["EventBridgeEventBusParameters"]["Source"] == "charthouse"
        params = pipe["SourceParameters"]["DynamoDBStreamParameters"]
        assert params["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["AsyncFailures", "Arn"]}}
        assert params["MaximumRetryAttempts"] > 0 and params["OnPartialBatchItemFailure"] == "AUTOMATIC_BISECT"
        (only,) = pipe["SourceParameters"]["FilterCriteria"]["Filters"]
        assert '"OldImage":{"status":{"S":["queued","running"]}}' in only["Pattern"]
    enrichment = res["StateChangeEvents"]["Properties"]
    assert enrichment["Handler"] == "chalicelib.api.stream.state_change_events"
    assert iam.actions("StateChangeEvents", conditional=False) == {*iam.LOGS, *iam.TRACES, "dynamodb:GetItem"}
    role = res["EventPipesRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "pipes.amazonaws.com"}
    granted = {a for s in role["Policies"][0]["PolicyDocument"]["Statement"] if "Action" in s for a in s["Action"]}
    assert granted == iam.actions(iam.PIPES_ROLE, conditional=False)
    # no function but the worker (reconcile's findings) publishes to the bus any more
    assert [f for f in iam.FUNCTIONS if "events:PutEvents" in iam.actions(f)] == ["ExecuteOperations"]

    tf = terraform[1]["resource"]
    table = tf["aws_dynamodb_table"]["charthouse"]
    assert table["stream_enabled"] is True and table["stream_view_type"] == "NEW_AND_OLD_IMAGES"
    tf_pipes = tf["aws_pipes_pipe"]
    assert {p["target_parameters"]["eventbridge_event_bus_parameters"]["detail_type"] for p in tf_pipes.values()} == {
        "Helm Cluster Reconciled",
        "Helm Release State Change",
    }
    for pipe in tf_pipes.values():
        assert pipe["source"] == "${aws_dynamodb_table.charthouse.stream_arn}"
        assert pipe["enrichment"] == "${aws_lambda_function.state_change_events.arn}"
        assert pipe["name"].startswith("charthouse-${var.stage}-")
    assert tf["aws_iam_role_policy"]["event_pipes"]["policy"] == iam.tf_statements(iam.PIPES_ROLE, {})


def test_limits_are_the_written_ones(sam: tuple[Path, dict[str, Any]]) -> None:
    res = sam[1]["Resources"]
    assert res["APIHandler"]["Properties"]["Timeout"] <= 29  # API Gateway cuts a request at 29 s
    worker = res["ExecuteOperations"]["Properties"]
    assert res["OperationsQueue"]["Properties"]["VisibilityTimeout"] == VISIBILITY_FACTOR * worker["Timeout"]
    assert worker["ReservedConcurrentExecutions"] == {"Ref": "WorkerConcurrency"}
    source = worker["Events"]["ExecuteOperationsSqsEventSource"]["Properties"]
    assert source["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "WorkerConcurrency"}}
    assert source["Queue"] == {
        "Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:charthouse-${Stage}-operations.fifo"
    }
    assert res["SweepStaleLeases"]["Properties"]["ReservedConcurrentExecutions"] == 1 == RESERVED["SweepStaleLeases"]
    for name in iam.ASYNC_FUNCTIONS:
        on_failure = res[name]["Properties"]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
        assert on_failure["Destination"] == {"Fn::GetAtt": ["AsyncFailures", "Arn"]}, name
    for name in ("APIHandler", "ExecuteOperations"):
        assert res[name]["Properties"]["VpcConfig"]["Fn::If"][0] == "HasVpc"
    api = res["RestAPI"]["Properties"]
    assert api["TracingEnabled"] is True and "DestinationArn" in api["AccessLogSetting"]
    assert api["MethodSettings"][0]["ThrottlingRateLimit"] > 0


def test_alarms_go_to_the_topic_and_are_documented(sam: tuple[Path, dict[str, Any]]) -> None:
    alarms = {k: r["Properties"] for k, r in sam[1]["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    metrics = {a["MetricName"] for a in alarms.values()}
    assert metrics == {
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
        "Errors",
        "Throttles",
        "5XXError",
    }
    assert len(alarms) == 4 + 2 * len(iam.FUNCTIONS)
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == {
            "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
        }
    doc = (ROOT / "docs" / "DEPLOY.md").read_text()
    for name in [*QUEUE_ALARMS, *API_ALARMS, *(f"<Function>-{w}" for w in FUNCTION_ALARMS)]:
        assert f"`{name}`" in doc, name


@NEEDS_CHECKOV
def test_checkov_passes_the_cloudformation_template(sam: tuple[Path, dict[str, Any]]) -> None:
    code, summary = checks.checkov(sam[0])
    assert code == 0 and summary["failed"] == [], summary


@NEEDS_CHECKOV
def test_checkov_passes_the_terraform_form(terraform: tuple[Path, dict[str, Any]]) -> None:
    code, summary = checks.checkov(terraform[0])
    assert code == 0 and summary["failed"] == [], summary


def test_terraform_validates_offline(terraform: tuple[Path, dict[str, Any]]) -> None:
    reason = checks.terraform_unavailable()
    if reason:
        pytest.skip(f"terraform validate not run: {reason}")
    (terraform[0] / "helm-layer.zip").write_bytes(b"")  # validate checks the files' presence only, not contents
    done = checks.terraform_validate(terraform[0])
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"valid": true' in done.stdout


def test_terraform_form_is_complete_and_consistent(terraform: tuple[Path, dict[str, Any]]) -> None:
    tf = terraform[1]
    res = tf["resource"]
    assert tf["terraform"]["required_version"].startswith(">= 1.11")
    assert tf["terraform"]["required_providers"] == {
        "aws": {"source": "hashicorp/aws", "version": ">= 5.100.0, < 6.0.0"}
    }
    # every reference names a resource, data source or variable that is defined
    text = __import__("json").dumps(tf)
    refs = set(re.findall(r"\b(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)\.", text))
    assert refs and not [r for r in refs if r[1] not in res.get(r[0], {}) and r[1] not in tf["data"].get(r[0], {})]
    assert not set(re.findall(r"\bvar\.([a-z_]+)", text)) - set(tf["variable"])
    table = res["aws_dynamodb_table"]["charthouse"]
    assert table["ttl"] == {"attribute_name": "ttl", "enabled": True} and table["deletion_protection_enabled"]
    assert res["aws_sqs_queue"]["operations"]["visibility_timeout_seconds"] == 6 * 900
    assert set(res) >= {
        "aws_cloudwatch_event_bus",
        "aws_lambda_layer_version",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_policy",
        "aws_cloudwatch_metric_alarm",
        "aws_api_gateway_stage",
    }
    for name, fn in res["aws_lambda_function"].items():
        assert fn["runtime"] == RUNTIME and fn["tracing_config"] == {"mode": "Active"}, name
        assert fn["layers"] == ["${aws_lambda_layer_version.helm.arn}"], name
        assert fn["function_name"].startswith("charthouse-${var.stage}-"), name
    assert res["aws_cloudwatch_event_rule"]["reconcile_clusters-event"]["schedule_expression"] == "rate(5 minutes)"
    assert set(res["aws_lambda_function_event_invoke_config"]) == {
        "sweep_stale_leases",
        "refresh_repositories",
        "reconcile_clusters",
        "helm_release_resource",
    }
    mapping = next(iter(res["aws_lambda_event_source_mapping"].values()))
    assert mapping["event_source_arn"] == "${aws_sqs_queue.operations.arn}"
    assert "ApiUrl" in tf["output"] and "APIHandlerRoleArn" in tf["output"]
    assert "null_data_source" not in tf["data"]


def test_terraform_completion_is_pure() -> None:
    skeleton = {
        "resource": {
            "aws_lambda_function": {"sweep_stale_leases": {}},
            "aws_cloudwatch_event_rule": {
                "reconcile_clusters-event": {"name": "reconcile_clusters-event", "schedule_expression": "x"}
            },
        }
    }
    out = complete(skeleton, "dev")
    assert out["resource"]["aws_cloudwatch_event_rule"]["reconcile_clusters-event"]["name"] == (
        "charthouse-${var.stage}-reconcile_clusters-event"
    )
    assert out["variable"]["stage"]["default"] == "dev"
    with pytest.raises(SystemExit):
        complete(skeleton, "Prod_1")  # a stage becomes part of names


def test_every_route_but_the_public_ones_needs_sigv4(sam: tuple[Path, dict[str, Any]]) -> None:
    """API Gateway's IAM authorizer guards the deployed API; the code then trusts only its identity (auth.py). The
    public routes are health, the web console's static files (its pages call /v1 with the caller's credentials)
    and the runtimes' push webhook (verified by its HMAC signature instead)."""
    from chalicelib.api.openapi import spec
    from chalicelib.api.routes import TABLE
    from chalicelib.core.authz import PUBLIC

    spec()  # every route module imported
    public = {path for (_, path), declared in TABLE.items() if declared.verb == PUBLIC}
    assert public == {"/v1/health", "/", "/ui", "/ui/v/{version}/{asset}", "/v1/runtimes/{runtime}/webhook"}
    # the compat routes declared without it (their clients sign their own way) are checked by the guard alone
    own_signing = {path for (_, path), declared in TABLE.items() if not declared.gateway_auth}
    body = sam[1]["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    assert body["securityDefinitions"]["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    for path, item in body["paths"].items():
        for method, op in item.items():
            if method == "options":
                continue
            expected = None if path in public or path in own_signing else [{"sigv4": []}]
            assert op.get("security") == expected, (method, path)
