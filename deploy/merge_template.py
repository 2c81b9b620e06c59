"""Write the merge template for ``chalice package --merge-template``: the table (with its TTL), the FIFO queue and
its dead-letter queue, the charts bucket (uploads, repository index cache), the EventBridge bus of state-change
events and the helm layer, attached to every function; the reconcile schedule of the stage; and the custom
resource's service token as an output. The table comes from ``store.table_definition`` so deploy, tests and the
local stack create the same thing.

    python -m deploy.merge_template OUT.json [STAGE]

The stage's ``CHARTHOUSE_RECONCILE_SCHEDULE`` (``.chalice/config.json``, e.g. ``rate(5 minutes)``) becomes the
reconcile rule's ScheduleExpression; without it the rule keeps the code's default.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from chalicelib.adapters.store import table_definition
from chalicelib.config import DEFAULT_TABLE, DEFAULT_WORKER_TIMEOUT_S, QUEUE_NAME, RECONCILE_EVERY_MIN

LAYER_FILE = "helm-layer.zip"  # copied beside the packaged template by `make package`
FUNCTIONS = (
    "APIHandler",
    "ExecuteOperations",
    "SweepStaleLeases",
    "RefreshRepositories",
    "ReconcileClusters",
    "HelmReleaseResource",
)
INCOMING_DAYS = 1  # presigned uploads that were never completed are deleted after this long
DLQ_NAME = QUEUE_NAME.removesuffix(".fifo") + "-dlq.fifo"
MAX_RECEIVES = 5  # a message the worker could not take this often (DynamoDB or Secrets Manager down) is parked
EVENT_BUS = "charthouse-events"  # the bus is "<this>-<stack name>": .chalice/policy.json grants PutEvents by prefix
CONFIG = Path(__file__).resolve().parents[1] / ".chalice" / "config.json"


def stage_schedule(stage: str | None) -> str:
    """The reconcile rate of ``stage`` (its ``CHARTHOUSE_RECONCILE_SCHEDULE``), else the code's default."""
    default = f"rate({RECONCILE_EVERY_MIN} minutes)"
    if not stage:
        return default
    stages = json.loads(CONFIG.read_text()).get("stages", {})
    return str(stages.get(stage, {}).get("environment_variables", {}).get("CHARTHOUSE_RECONCILE_SCHEDULE", default))


def merge_template(stage: str | None = None) -> dict[str, Any]:
    table = table_definition(DEFAULT_TABLE)
    queue = {
        "QueueName": QUEUE_NAME,
        "FifoQueue": True,
        # longer than the worker may run, so a message is not redelivered while its operation is still running
        "VisibilityTimeout": DEFAULT_WORKER_TIMEOUT_S + 60,
        "SqsManagedSseEnabled": True,
        "RedrivePolicy": {
            "deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
            "maxReceiveCount": MAX_RECEIVES,
        },
    }
    resources: dict[str, Any] = {
        "Table": {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                **table,
                "SSESpecification": {"SSEEnabled": True},
                # idempotency keys, release events and CloudFormation replies expire (``ttl``)
                "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            },
        },
        "OperationsQueue": {"Type": "AWS::SQS::Queue", "Properties": queue},
        "DeadLetterQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": DLQ_NAME,
                "FifoQueue": True,
                "SqsManagedSseEnabled": True,
                "MessageRetentionPeriod": 14 * 24 * 3600,
            },
        },
        "EventBus": {
            "Type": "AWS::Events::EventBus",
            "Properties": {"Name": {"Fn::Sub": EVENT_BUS + "-${AWS::StackName}"}},
        },
        # the bucket's generated name contains "-chartbucket-": .chalice/policy.json grants access by that pattern
        "ChartBucket": {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                },
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "LifecycleConfiguration": {
                    "Rules": [
                        {
                            "Id": "incoming-uploads",
                            "Status": "Enabled",
                            "Prefix": "incoming/",
                            "ExpirationInDays": INCOMING_DAYS,
                        }
                    ]
                },
            },
        },
        "HelmLayer": {
            "Type": "AWS::Serverless::LayerVersion",
            "Properties": {
                "ContentUri": f"./{LAYER_FILE}",
                "CompatibleRuntimes": ["python3.11"],
                "Description": "helm, pinned (layers/helm/build.sh)",
            },
        },
    }
    # API Gateway answers some requests itself (unknown path, missing auth, throttling): same error shape as ours
    for kind, code in (("DEFAULT_4XX", "ClientError"), ("DEFAULT_5XX", "GatewayError")):
        template = (
            '{"error": {"code": "' + code + '", "message": $context.error.messageString, '
            '"details": {"request_id": "$context.requestId"}}}'
        )
        resources[f"GatewayResponse{kind.title().replace('_', '')}"] = {
            "Type": "AWS::ApiGateway::GatewayResponse",
            "Properties": {
                "RestApiId": {"Ref": "RestAPI"},
                "ResponseType": kind,
                "ResponseTemplates": {"application/json": template},
            },
        }
    variables = {"CHARTHOUSE_CHART_BUCKET": {"Ref": "ChartBucket"}, "CHARTHOUSE_EVENT_BUS": {"Ref": "EventBus"}}
    for function in FUNCTIONS:
        resources[function] = {
            "DependsOn": ["Table", "OperationsQueue"],  # the bucket and bus: by Ref
            "Properties": {"Layers": [{"Ref": "HelmLayer"}], "Environment": {"Variables": variables}},
        }
    resources["ReconcileClusters"]["Properties"]["Events"] = {
        "ReconcileClustersEvent": {"Type": "Schedule", "Properties": {"Schedule": stage_schedule(stage)}}
    }
    outputs = {
        "HelmReleaseServiceToken": {
            "Description": "ServiceToken of Custom::HelmRelease resources (the custom resource function's ARN)",
            "Value": {"Fn::GetAtt": ["HelmReleaseResource", "Arn"]},
            "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-HelmReleaseServiceToken"}},
        },
        "EventBusName": {
            "Description": "the bus of state-change events (source: charthouse)",
            "Value": {"Ref": "EventBus"},
        },
        "DeadLetterQueueUrl": {
            "Description": "operation messages the worker could not take",
            "Value": {"Ref": "DeadLetterQueue"},
        },
    }
    return {"Resources": resources, "Outputs": outputs}


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], "w", encoding="utf-8") as fh:
        json.dump(merge_template(argv[2] if len(argv) == 3 else None), fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
