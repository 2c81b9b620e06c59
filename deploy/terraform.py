"""Complete ``chalice package --pkg-format terraform`` output with what Chalice does not create (it takes no merge
template in that format): the same table, queues, bucket, event bus and helm layer as deploy/merge_template.py,
each function's layer and environment, the stage's reconcile schedule and the custom resource's service token.

    python -m deploy.terraform DIR STAGE      # edits DIR/chalice.tf.json in place

``terraform init && terraform apply`` in DIR then deploys it (``helm-layer.zip`` must be beside the file; ``make
package-terraform`` puts it there).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from chalicelib.adapters.store import table_definition
from chalicelib.config import DEFAULT_TABLE, DEFAULT_WORKER_TIMEOUT_S, QUEUE_NAME
from deploy.merge_template import DLQ_NAME, EVENT_BUS, INCOMING_DAYS, LAYER_FILE, MAX_RECEIVES, stage_schedule

TF_FILE = "chalice.tf.json"


def _table() -> dict[str, Any]:
    d = table_definition(DEFAULT_TABLE)
    keys = {k["KeyType"]: k["AttributeName"] for k in d["KeySchema"]}
    return {
        "name": d["TableName"],
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
        "server_side_encryption": {"enabled": True},
        "lifecycle": {"prevent_destroy": True},
    }


def extra_resources(stage: str) -> dict[str, dict[str, Any]]:
    """Resources by type, then name, in Terraform's JSON syntax."""
    return {
        "aws_dynamodb_table": {"charthouse": _table()},
        "aws_sqs_queue": {
            "operations": {
                "name": QUEUE_NAME,
                "fifo_queue": True,
                "sqs_managed_sse_enabled": True,
                "visibility_timeout_seconds": DEFAULT_WORKER_TIMEOUT_S + 60,
                "redrive_policy": "${jsonencode({deadLetterTargetArn = aws_sqs_queue.dead_letters.arn, "
                f"maxReceiveCount = {MAX_RECEIVES}}})}}",
            },
            "dead_letters": {
                "name": DLQ_NAME,
                "fifo_queue": True,
                "sqs_managed_sse_enabled": True,
                "message_retention_seconds": 14 * 24 * 3600,
            },
        },
        "aws_s3_bucket": {
            "charts": {"bucket_prefix": f"charthouse-{stage}-chartbucket-", "lifecycle": {"prevent_destroy": True}}
        },
        "aws_s3_bucket_public_access_block": {
            "charts": {
                "bucket": "${aws_s3_bucket.charts.id}",
                "block_public_acls": True,
                "block_public_policy": True,
                "ignore_public_acls": True,
                "restrict_public_buckets": True,
            }
        },
        "aws_s3_bucket_server_side_encryption_configuration": {
            "charts": {
                "bucket": "${aws_s3_bucket.charts.id}",
                "rule": [{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            }
        },
        "aws_s3_bucket_ownership_controls": {
            "charts": {"bucket": "${aws_s3_bucket.charts.id}", "rule": {"object_ownership": "BucketOwnerEnforced"}}
        },
        "aws_s3_bucket_lifecycle_configuration": {
            "charts": {
                "bucket": "${aws_s3_bucket.charts.id}",
                "rule": [
                    {
                        "id": "incoming-uploads",
                        "status": "Enabled",
                        "filter": {"prefix": "incoming/"},
                        "expiration": {"days": INCOMING_DAYS},
                    }
                ],
            }
        },
        "aws_cloudwatch_event_bus": {"charthouse": {"name": f"{EVENT_BUS}-{stage}"}},
        "aws_lambda_layer_version": {
            "helm": {
                "layer_name": f"charthouse-{stage}-helm",
                "filename": "${path.module}/" + LAYER_FILE,
                "source_code_hash": '${filebase64sha256("${path.module}/' + LAYER_FILE + '")}',
                "compatible_runtimes": ["python3.11"],
                "description": "helm, pinned (layers/helm/build.sh)",
            }
        },
    }


def complete(tf: dict[str, Any], stage: str) -> dict[str, Any]:
    resources = tf.setdefault("resource", {})
    for kind, items in extra_resources(stage).items():
        resources.setdefault(kind, {}).update(items)
    for fn in resources["aws_lambda_function"].values():
        fn["layers"] = ["${aws_lambda_layer_version.helm.arn}"]
        fn.setdefault("environment", {}).setdefault("variables", {}).update(
            {
                "CHARTHOUSE_CHART_BUCKET": "${aws_s3_bucket.charts.id}",
                "CHARTHOUSE_EVENT_BUS": "${aws_cloudwatch_event_bus.charthouse.name}",
            }
        )
        fn["depends_on"] = ["aws_dynamodb_table.charthouse", "aws_sqs_queue.operations"]
    for mapping in resources.get("aws_lambda_event_source_mapping", {}).values():
        mapping["event_source_arn"] = "${aws_sqs_queue.operations.arn}"  # an edge: the queue exists first
    rules = resources.get("aws_cloudwatch_event_rule", {})
    rules["reconcile_clusters-event"]["schedule_expression"] = stage_schedule(stage)
    for name, rule in rules.items():
        rule["name"] = f"charthouse-{stage}-{name}"  # rule names are per account and region: one set per stage
    # the S3 configuration resources and SQS-managed encryption need the AWS provider 4.x
    tf.setdefault("terraform", {}).setdefault("required_providers", {})["aws"] = {"version": ">= 4.40.0, < 5"}
    tf.setdefault("output", {}).update(
        {
            "HelmReleaseServiceToken": {"value": "${aws_lambda_function.helm_release_resource.arn}"},
            "EventBusName": {"value": "${aws_cloudwatch_event_bus.charthouse.name}"},
            "DeadLetterQueueUrl": {"value": "${aws_sqs_queue.dead_letters.url}"},
        }
    )
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
