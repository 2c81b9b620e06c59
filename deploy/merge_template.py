"""Write the merge template for ``chalice package --merge-template``: the table, the FIFO queue, the charts bucket
(uploads, repository index cache) and the helm layer, attached to every function. The table comes from ``store.table_definition`` so deploy, tests and the local stack
create the same thing.

    python -m deploy.merge_template OUT.json
"""

from __future__ import annotations

import json
import sys
from typing import Any

from chalicelib.config import DEFAULT_TABLE, DEFAULT_WORKER_TIMEOUT_S, QUEUE_NAME
from chalicelib.store import table_definition

LAYER_FILE = "helm-layer.zip"  # copied beside the packaged template by `make package`
FUNCTIONS = ("APIHandler", "ExecuteOperations", "SweepStaleLeases", "RefreshRepositories")
INCOMING_DAYS = 1  # presigned uploads that were never completed are deleted after this long


def merge_template() -> dict[str, Any]:
    table = table_definition(DEFAULT_TABLE)
    queue = {
        "QueueName": QUEUE_NAME,
        "FifoQueue": True,
        # longer than the worker may run, so a message is not redelivered while its operation is still running
        "VisibilityTimeout": DEFAULT_WORKER_TIMEOUT_S + 60,
        "SqsManagedSseEnabled": True,
    }
    resources: dict[str, Any] = {
        "Table": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain",
                  "Properties": {**table, "SSESpecification": {"SSEEnabled": True},
                                 "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}}},
        "OperationsQueue": {"Type": "AWS::SQS::Queue", "Properties": queue},
        # the bucket's generated name contains "-chartbucket-": .chalice/policy.json grants access by that pattern
        "ChartBucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "Properties": {
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                               "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "LifecycleConfiguration": {"Rules": [{"Id": "incoming-uploads", "Status": "Enabled",
                                                  "Prefix": "incoming/", "ExpirationInDays": INCOMING_DAYS}]}}},
        "HelmLayer": {"Type": "AWS::Serverless::LayerVersion",
                      "Properties": {"ContentUri": f"./{LAYER_FILE}", "CompatibleRuntimes": ["python3.11"],
                                     "Description": "helm, pinned (layers/helm/build.sh)"}},
    }  # fmt: skip
    # API Gateway answers some requests itself (unknown path, missing auth, throttling): same error shape as ours
    for kind, code in (("DEFAULT_4XX", "ClientError"), ("DEFAULT_5XX", "GatewayError")):
        template = ('{"error": {"code": "' + code + '", "message": $context.error.messageString, '
                    '"details": {"request_id": "$context.requestId"}}}')  # fmt: skip
        resources[f"GatewayResponse{kind.title().replace('_', '')}"] = {
            "Type": "AWS::ApiGateway::GatewayResponse",
            "Properties": {"RestApiId": {"Ref": "RestAPI"}, "ResponseType": kind,
                           "ResponseTemplates": {"application/json": template}},
        }  # fmt: skip
    for function in FUNCTIONS:
        resources[function] = {"DependsOn": ["Table", "OperationsQueue", "ChartBucket"],
                               "Properties": {"Layers": [{"Ref": "HelmLayer"}], "Environment": {
                                   "Variables": {"CHARTHOUSE_CHART_BUCKET": {"Ref": "ChartBucket"}}}}}  # fmt: skip
    return {"Resources": resources}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], "w", encoding="utf-8") as fh:
        json.dump(merge_template(), fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
