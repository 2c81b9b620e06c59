"""Complete ``chalice package --pkg-format terraform`` output so it matches the SAM form (deploy/merge_template.py):
the same variables (``stage``, ``admin_principals``, ``subnet_ids``, ``security_group_ids``, ``cluster_role_arns``,
``kms_key_arn``, ``alarm_topic_arn``, ``worker_concurrency``, ``api_concurrency``, ``log_retention_days``), names,
data resources, policies (deploy/iam.py), limits, logs, tracing, alarms and outputs. Pinned to Terraform 1.x
(>= 1.11) and the AWS provider 5.x (>= 5.100); the null provider Chalice asks for is dropped (nothing uses it).

    python -m deploy.terraform DIR STAGE      # edits DIR/chalice.tf.json in place

``terraform init && terraform apply -var admin_principals=...`` in DIR then deploys it (``helm-layer.zip`` beside
the file; ``make package-terraform`` puts it there and runs ``terraform validate`` offline).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from chalicelib.adapters.store import table_definition
from chalicelib.adapters.stream import PIPES
from chalicelib.domain.events import SOURCE
from deploy import iam
from deploy.merge_template import LOG_FORMAT, stage_schedule
from deploy.stack import (
    API_ALARMS,
    API_THROTTLE_BURST,
    API_THROTTLE_RATE,
    ASYNC_RETRIES,
    CHALICE_NAMES,
    DEFAULT_API_CONCURRENCY,
    DEFAULT_WORKER_CONCURRENCY,
    DLQ_RETENTION_S,
    FUNCTION_ALARMS,
    INCOMING_DAYS,
    LAYER_FILE,
    LOG_RETENTION_DAYS,
    MAX_RECEIVES,
    PIPE_BATCH,
    PIPE_MAX_RECORD_AGE_S,
    PIPE_RETRIES,
    PLAN_DAYS,
    QUEUE_ALARMS,
    RESERVED,
    RUNTIME,
    STAGE_PATTERN,
    Names,
    check_stage,
    visibility_timeout,
    worker_timeout,
)

TF_FILE = "chalice.tf.json"
TERRAFORM_VERSION = ">= 1.11.0, < 2.0.0"
AWS_PROVIDER = ">= 5.100.0, < 6.0.0"
NAMES = Names("${var.stage}")
KMS_OR_NULL = '${var.kms_key_arn != "" ? var.kms_key_arn : null}'
LOG_GROUPS = {f: CHALICE_NAMES[f] for f in iam.FUNCTIONS}  # function -> aws_cloudwatch_log_group name


def skip(*pairs: tuple[str, str]) -> dict[str, list[str]]:
    """The checkov checks a resource does not meet, and why, as a ``//`` comment property (Terraform ignores it).
    checkov 3.3's Terraform JSON runner does not read skips from the file, so deploy/checks.py passes the ids
    written here (``skipped_checks``) to ``--skip-check``: the reasons stay beside the resources."""
    return {"//": [f"checkov:skip={check}:{why}" for check, why in pairs]}


def skipped_checks(tf: dict[str, Any]) -> dict[str, str]:
    """Every check skipped in a completed template, with its reasons (check id -> reasons)."""
    found: dict[str, list[str]] = {}
    for items in tf.get("resource", {}).values():
        for config in items.values():
            for line in config.get("//", []):
                check, _, why = line.removeprefix("checkov:skip=").partition(":")
                found.setdefault(check, []).append(why)
    return {check: "; ".join(sorted(set(whys))) for check, whys in found.items()}


def variables(stage: str) -> dict[str, Any]:
    strings = {"type": "list(string)", "default": []}
    return {
        "stage": {
            "type": "string",
            "default": stage,
            "description": "names every resource (and the secrets' prefix): one state per stage",
            "validation": {
                "condition": f'${{can(regex("{STAGE_PATTERN}", var.stage))}}',
                "error_message": "stage must be lowercase letters, digits and dashes (16 at most).",
            },
        },
        "admin_principals": {"type": "string", "description": "CHARTHOUSE_ADMINS: principal patterns of operators"},
        "subnet_ids": {**strings, "description": "private subnets for the API and worker (empty: no VPC)"},
        "security_group_ids": {**strings, "description": "security groups for the API and worker"},
        "cluster_role_arns": {**strings, "description": "roles the service may assume to reach clusters"},
        "kms_key_arn": {"type": "string", "default": "", "description": "customer KMS key (empty: AWS keys)"},
        "alarm_topic_arn": {"type": "string", "default": "", "description": "SNS topic of the alarms"},
        "worker_concurrency": {"type": "number", "default": DEFAULT_WORKER_CONCURRENCY},
        "api_concurrency": {"type": "number", "default": DEFAULT_API_CONCURRENCY},
        "log_retention_days": {"type": "number", "default": LOG_RETENTION_DAYS},
    }


def _table() -> dict[str, Any]:
    d = table_definition("unused")
    keys = {k["KeyType"]: k["AttributeName"] for k in d["KeySchema"]}
    return {
        "name": NAMES.table,
        "billing_mode": d["BillingMode"],
        "hash_key": keys["HASH"],
        "range_key": keys["RANGE"],
        "attribute": [{"name": a["AttributeName"], "type": a["AttributeType"]} for a in d["AttributeDefinitions"]],
        "global_secondary_index": [
            {
                "name": g["IndexName"],
                "hash_key": g["KeySchema"][0]["AttributeName"],
                "range_key": g["KeySchema"][1]["AttributeName"],
                "projection_type": g["Projection"]["ProjectionType"],
            }
            for g in d["GlobalSecondaryIndexes"]
        ],
        "ttl": {"attribute_name": "ttl", "enabled": True},
        "point_in_time_recovery": {"enabled": True},
        "server_side_encryption": {"enabled": True, "kms_key_arn": KMS_OR_NULL},
        "deletion_protection_enabled": True,
        # the operations' state-change events are made from it (the pipes below)
        "stream_enabled": d["StreamSpecification"]["StreamEnabled"],
        "stream_view_type": d["StreamSpecification"]["StreamViewType"],
        "lifecycle": {"prevent_destroy": True},
        **skip(("CKV_AWS_119", "a customer key is used when kms_key_arn is given, else the AWS-owned key")),
    }


def _queue(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "kms_master_key_id": KMS_OR_NULL,
        "sqs_managed_sse_enabled": '${var.kms_key_arn == "" ? true : null}',
        **extra,
    }


def _bucket() -> dict[str, Any]:
    bucket = "${aws_s3_bucket.charts.id}"
    return {
        "aws_s3_bucket": {
            "charts": {
                "bucket_prefix": f"{NAMES.prefix}-charts-",
                "lifecycle": {"prevent_destroy": True},
                **skip(
                    ("CKV_AWS_18", "access goes through the API, which logs it (access logs, audit log)"),
                    ("CKV_AWS_144", "charts are re-uploadable and the index cache is rebuilt"),
                    ("CKV_AWS_145", "encrypted with kms_key_arn when given, else SSE-S3"),
                    ("CKV2_AWS_62", "no consumer of bucket events"),
                    ("CKV2_AWS_61", "the lifecycle configuration is a resource of its own"),
                    ("CKV2_AWS_6", "the public access block is a resource of its own"),
                ),
            }
        },
        "aws_s3_bucket_versioning": {"charts": {"bucket": bucket, "versioning_configuration": {"status": "Enabled"}}},
        "aws_s3_bucket_public_access_block": {
            "charts": {
                "bucket": bucket,
                "block_public_acls": True,
                "block_public_policy": True,
                "ignore_public_acls": True,
                "restrict_public_buckets": True,
            }
        },
        "aws_s3_bucket_server_side_encryption_configuration": {
            "charts": {
                "bucket": bucket,
                "rule": [
                    {
                        "apply_server_side_encryption_by_default": {
                            "sse_algorithm": '${var.kms_key_arn != "" ? "aws:kms" : "AES256"}',
                            "kms_master_key_id": KMS_OR_NULL,
                        }
                    }
                ],
            }
        },
        "aws_s3_bucket_ownership_controls": {
            "charts": {"bucket": bucket, "rule": {"object_ownership": "BucketOwnerEnforced"}}
        },
        "aws_s3_bucket_lifecycle_configuration": {
            "charts": {
                "bucket": bucket,
                "rule": [
                    {
                        "id": "incoming-uploads",
                        "status": "Enabled",
                        "filter": {"prefix": "incoming/"},
                        "expiration": {"days": INCOMING_DAYS},
                    },
                    {
                        "id": "plans",
                        "status": "Enabled",
                        "filter": {"prefix": "plans/"},
                        "expiration": {"days": PLAN_DAYS},
                    },
                    {
                        "id": "old-versions",
                        "status": "Enabled",
                        "filter": {},
                        "noncurrent_version_expiration": {"noncurrent_days": 30},
                    },
                    {
                        "id": "abort-multipart",
                        "status": "Enabled",
                        "filter": {},
                        "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
                    },
                ],
            }
        },
        "aws_s3_bucket_policy": {
            "charts": {
                "bucket": bucket,
                "policy": '${jsonencode({Version = "2012-10-17", Statement = [{Sid = "TlsOnly", Effect = "Deny", '
                'Principal = "*", Action = "s3:*", Resource = [aws_s3_bucket.charts.arn, '
                '"${aws_s3_bucket.charts.arn}/*"], Condition = {Bool = {"aws:SecureTransport" = "false"}}}]})}',
            }
        },
    }


def _alarm(
    name: str, description: str, namespace: str, metric: str, dims: dict[str, str], stat: str, threshold: float
) -> dict[str, Any]:
    actions = '${var.alarm_topic_arn != "" ? [var.alarm_topic_arn] : []}'
    return {
        "alarm_name": NAMES.alarm(name),
        "alarm_description": description,
        "namespace": namespace,
        "metric_name": metric,
        "dimensions": dims,
        "statistic": stat,
        "period": 300,
        "evaluation_periods": 1,
        "threshold": threshold,
        "comparison_operator": "GreaterThanThreshold",
        "treat_missing_data": "notBreaching",
        "alarm_actions": actions,
        "ok_actions": actions,
    }


def alarms() -> dict[str, Any]:
    sqs = "AWS/SQS"
    out = {
        "dlq_depth": _alarm(
            "dlq-depth",
            QUEUE_ALARMS["dlq-depth"],
            sqs,
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": "${aws_sqs_queue.dead_letters.name}"},
            "Maximum",
            0,
        ),
        "oldest_operation": _alarm(
            "oldest-operation",
            QUEUE_ALARMS["oldest-operation"],
            sqs,
            "ApproximateAgeOfOldestMessage",
            {"QueueName": "${aws_sqs_queue.operations.name}"},
            "Maximum",
            worker_timeout(),
        ),
        "async_failures": _alarm(
            "async-failures",
            QUEUE_ALARMS["async-failures"],
            sqs,
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": "${aws_sqs_queue.async_failures.name}"},
            "Maximum",
            0,
        ),
        "api_5xx": _alarm(
            "api-5xx",
            API_ALARMS["api-5xx"],
            "AWS/ApiGateway",
            "5XXError",
            {"ApiName": NAMES.api, "Stage": "api"},
            "Sum",
            0,
        ),
    }
    for function, name in CHALICE_NAMES.items():
        for what, metric in (("errors", "Errors"), ("throttles", "Throttles")):
            out[f"{name}_{what}"] = _alarm(
                f"{function}-{what}",
                f"{function}: {FUNCTION_ALARMS[what]}",
                "AWS/Lambda",
                metric,
                {"FunctionName": f"${{aws_lambda_function.{name}.function_name}}"},
                "Sum",
                0,
            )
    return out


def extra_resources() -> dict[str, dict[str, Any]]:
    """Resources by type, then name, in Terraform's JSON syntax."""
    log_groups = {
        name: {
            "name": NAMES.log_group(function),
            "retention_in_days": "${var.log_retention_days}",
            "kms_key_id": KMS_OR_NULL,
            **skip(("CKV_AWS_158", "encrypted with kms_key_arn when given, else CloudWatch's own key")),
        }
        for function, name in LOG_GROUPS.items()
    }
    log_groups["api_access"] = {**log_groups[LOG_GROUPS["APIHandler"]], "name": NAMES.log_group("api-access")}
    return {
        "aws_dynamodb_table": {"charthouse": _table()},
        "aws_sqs_queue": {
            "operations": _queue(
                NAMES.queue,
                fifo_queue=True,
                visibility_timeout_seconds=visibility_timeout(),
                redrive_policy="${jsonencode({deadLetterTargetArn = aws_sqs_queue.dead_letters.arn, "
                f"maxReceiveCount = {MAX_RECEIVES}}})}}",
            ),
            "dead_letters": _queue(NAMES.dlq, fifo_queue=True, message_retention_seconds=DLQ_RETENTION_S),
            "async_failures": _queue(NAMES.async_failures, message_retention_seconds=DLQ_RETENTION_S),
        },
        **_bucket(),
        "aws_cloudwatch_event_bus": {"charthouse": {"name": NAMES.bus}},
        "aws_cloudwatch_log_group": log_groups,
        "aws_lambda_layer_version": {
            "helm": {
                "layer_name": NAMES.layer,
                "filename": "${path.module}/" + LAYER_FILE,
                "source_code_hash": '${filebase64sha256("${path.module}/' + LAYER_FILE + '")}',
                "compatible_runtimes": [RUNTIME],
                "description": "helm, pinned (layers/helm/build.sh)",
            }
        },
        "aws_lambda_function_event_invoke_config": {
            CHALICE_NAMES[f]: {
                "function_name": f"${{aws_lambda_function.{CHALICE_NAMES[f]}.function_name}}",
                "maximum_retry_attempts": ASYNC_RETRIES,
                "destination_config": {"on_failure": {"destination": "${aws_sqs_queue.async_failures.arn}"}},
            }
            for f in iam.ASYNC_FUNCTIONS
        },
        "aws_api_gateway_stage": {
            "rest_api": {
                "stage_name": "api",
                "rest_api_id": "${aws_api_gateway_rest_api.rest_api.id}",
                "deployment_id": "${aws_api_gateway_deployment.rest_api.id}",
                "xray_tracing_enabled": True,
                "access_log_settings": {
                    "destination_arn": "${aws_cloudwatch_log_group.api_access.arn}",
                    "format": LOG_FORMAT,
                },
                **skip(
                    ("CKV_AWS_120", "no caching: answers are per caller and change with every operation"),
                    ("CKV2_AWS_51", "callers authenticate with SigV4 (IAM), not client certificates"),
                    ("CKV2_AWS_29", "no WAF: IAM authorization, stage throttling and reserved concurrency"),
                ),
            }
        },
        "aws_api_gateway_method_settings": {
            "rest_api": {
                "rest_api_id": "${aws_api_gateway_rest_api.rest_api.id}",
                "stage_name": "${aws_api_gateway_stage.rest_api.stage_name}",
                "method_path": "*/*",
                "settings": {
                    "throttling_rate_limit": API_THROTTLE_RATE,
                    "throttling_burst_limit": API_THROTTLE_BURST,
                    "metrics_enabled": True,
                },
                **skip(
                    ("CKV_AWS_225", "no caching (see the stage)"),
                    ("CKV2_AWS_4", "execution logs need an account-wide role; access logs are on"),
                ),
            }
        },
        "aws_cloudwatch_metric_alarm": alarms(),
    }


def pipe_resources() -> dict[str, dict[str, Any]]:
    """The table's stream -> EventBridge Pipes -> the bus, as in the SAM form (deploy/merge_template.py)."""
    trust = (
        '${jsonencode({Version = "2012-10-17", Statement = [{Effect = "Allow", Action = "sts:AssumeRole", '
        'Principal = {Service = "pipes.amazonaws.com"}, '
        'Condition = {StringEquals = {"aws:SourceAccount" = data.aws_caller_identity.chalice.account_id}}}]})}'
    )
    pipes = {
        pipe.name.replace("-", "_"): {
            "name": NAMES.pipe(pipe.name),
            "description": f"{pipe.detail_type}: operations that ended, from the table's stream",
            "role_arn": "${aws_iam_role.event_pipes.arn}",
            "source": "${aws_dynamodb_table.charthouse.stream_arn}",
            "source_parameters": {
                "filter_criteria": {"filter": [{"pattern": pipe.filter}]},
                "dynamodb_stream_parameters": {
                    "starting_position": "LATEST",
                    "batch_size": PIPE_BATCH,
                    "maximum_retry_attempts": PIPE_RETRIES,
                    "maximum_record_age_in_seconds": PIPE_MAX_RECORD_AGE_S,
                    "on_partial_batch_item_failure": "AUTOMATIC_BISECT",
                    "dead_letter_config": {"arn": "${aws_sqs_queue.async_failures.arn}"},
                },
            },
            "enrichment": "${aws_lambda_function.state_change_events.arn}",
            "target": "${aws_cloudwatch_event_bus.charthouse.arn}",
            "target_parameters": {
                "eventbridge_event_bus_parameters": {"detail_type": pipe.detail_type, "source": SOURCE}
            },
            "desired_state": "RUNNING",
            "depends_on": ["aws_iam_role_policy.event_pipes"],
        }
        for pipe in PIPES
    }
    return {
        "aws_iam_role": {"event_pipes": {"name_prefix": f"{NAMES.prefix}-pipes-", "assume_role_policy": trust}},
        "aws_iam_role_policy": {
            "event_pipes": {
                "name": "event-pipes",
                "role": "${aws_iam_role.event_pipes.id}",
                "policy": iam.tf_statements(iam.PIPES_ROLE, LOG_GROUPS),
            }
        },
        "aws_pipes_pipe": pipes,
    }


def _function(name: str, function: str, fn: dict[str, Any]) -> None:
    fn["function_name"] = f"{NAMES.prefix}-{name}"
    fn["runtime"] = RUNTIME
    fn["layers"] = ["${aws_lambda_layer_version.helm.arn}"]
    fn.setdefault("environment", {}).setdefault("variables", {}).update(
        {
            "CHARTHOUSE_TABLE": "${aws_dynamodb_table.charthouse.name}",
            "CHARTHOUSE_QUEUE_URL": "${aws_sqs_queue.operations.url}",
            "CHARTHOUSE_CHART_BUCKET": "${aws_s3_bucket.charts.id}",
            "CHARTHOUSE_EVENT_BUS": "${aws_cloudwatch_event_bus.charthouse.name}",
            "CHARTHOUSE_SECRET_PREFIX": NAMES.cluster_secrets,
            "CHARTHOUSE_REPO_SECRET_PREFIX": NAMES.repository_secrets,
            "CHARTHOUSE_ACCESS_KEY_SECRET_PREFIX": NAMES.access_key_secrets,
            "CHARTHOUSE_RUNTIME_SECRET_PREFIX": NAMES.runtime_secrets,
            "CHARTHOUSE_ADMINS": "${var.admin_principals}",
        }
    )
    fn["tracing_config"] = {"mode": "Active"}
    fn["logging_config"] = {"log_format": "JSON", "log_group": f"${{aws_cloudwatch_log_group.{name}.name}}"}
    fn["kms_key_arn"] = KMS_OR_NULL
    fn["reserved_concurrent_executions"] = {
        "ExecuteOperations": "${var.worker_concurrency}",
        "APIHandler": "${var.api_concurrency}",
    }.get(function, RESERVED.get(function))
    skips = [
        ("CKV_AWS_173", "environment variables hold names and ARNs only, never secrets"),
        ("CKV_AWS_272", "code signing is the deploying team's pipeline choice"),
    ]
    if function in ("APIHandler", "ExecuteOperations"):
        fn["dynamic"] = {
            "vpc_config": {
                "for_each": "${length(var.subnet_ids) > 0 ? [1] : []}",
                "content": {"subnet_ids": "${var.subnet_ids}", "security_group_ids": "${var.security_group_ids}"},
            }
        }
        skips.append(("CKV_AWS_117", "in a VPC when subnet_ids is given (private clusters)"))
    else:
        skips.append(("CKV_AWS_117", "reaches only AWS APIs and chart repositories: no VPC"))
    if function in iam.ASYNC_FUNCTIONS:
        skips.append(("CKV_AWS_116", "an on-failure destination (async_failures) replaces the DLQ"))
    else:
        skips.append(("CKV_AWS_116", "invoked synchronously (API Gateway, SQS); the queue has its own DLQ"))
    fn.update(skip(*skips))


def complete(tf: dict[str, Any], stage: str) -> dict[str, Any]:
    check_stage(stage)
    resources = tf.setdefault("resource", {})
    for kind, items in extra_resources().items():
        resources.setdefault(kind, {}).update(items)
    by_name = {name: function for function, name in CHALICE_NAMES.items()}
    for name, fn in resources.get("aws_lambda_function", {}).items():
        _function(name, by_name.get(name, "APIHandler"), fn)
    for name, policy in resources.get("aws_iam_role_policy", {}).items():
        function = by_name.get(name.removesuffix("_role"), "APIHandler")
        policy["policy"] = iam.tf_statements(function, LOG_GROUPS)
    for name, role in resources.get("aws_iam_role", {}).items():
        role["name_prefix"] = f"{NAMES.prefix}-{name.removesuffix('_role')}"[:38]
        role.pop("name", None)
    for kind, items in pipe_resources().items():  # after the loops above: these are not Chalice's
        resources.setdefault(kind, {}).update(items)
    for mapping in resources.get("aws_lambda_event_source_mapping", {}).values():
        mapping["event_source_arn"] = "${aws_sqs_queue.operations.arn}"  # an edge: the queue exists first
        mapping["scaling_config"] = {"maximum_concurrency": "${var.worker_concurrency}"}
    rules = resources.get("aws_cloudwatch_event_rule", {})
    if "reconcile_clusters-event" in rules:
        rules["reconcile_clusters-event"]["schedule_expression"] = stage_schedule(stage)
    for name, rule in rules.items():
        rule["name"] = f"{NAMES.prefix}-{name}"  # rule names are per account and region: one set per stage
    for api in resources.get("aws_api_gateway_rest_api", {}).values():
        api["name"] = NAMES.api
        api["lifecycle"] = {"create_before_destroy": True}
    for deployment in resources.get("aws_api_gateway_deployment", {}).values():
        deployment.pop("stage_name", None)  # the stage is a resource of its own (access logs, tracing)
        deployment.pop("stage_description", None)
        deployment["triggers"] = {"redeployment": "${md5(local.chalice_api_swagger)}"}
    data = tf.setdefault("data", {})
    data.pop("null_data_source", None)  # Chalice's, unused: it would need the null provider
    tf["terraform"] = {
        "required_version": TERRAFORM_VERSION,
        "required_providers": {"aws": {"source": "hashicorp/aws", "version": AWS_PROVIDER}},
    }
    tf["variable"] = variables(stage)
    outputs = {
        "ApiUrl": {"value": "${aws_api_gateway_stage.rest_api.invoke_url}/"},
        "EndpointURL": {"value": "${aws_api_gateway_stage.rest_api.invoke_url}/"},
        "HelmReleaseServiceToken": {"value": "${aws_lambda_function.helm_release_resource.arn}"},
        "HelmReleaseFunctionName": {"value": "${aws_lambda_function.helm_release_invocation.function_name}"},
        "EventBusName": {"value": "${aws_cloudwatch_event_bus.charthouse.name}"},
        "DeadLetterQueueUrl": {"value": "${aws_sqs_queue.dead_letters.url}"},
        "ClusterSecretPrefix": {"value": NAMES.cluster_secrets},
    }
    for function, name in CHALICE_NAMES.items():
        outputs[f"{function}RoleArn"] = {"value": f"${{aws_iam_role.{name}_role.arn}}"}
    tf.setdefault("output", {}).update(outputs)
    return tf


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    path = Path(argv[1]) / TF_FILE
    path.write_text(json.dumps(complete(json.loads(path.read_text()), argv[2]), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
