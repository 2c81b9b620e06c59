"""Write the merge template for ``chalice package --merge-template``: what Chalice does not create, and what it
creates too loosely. One stack is one stage; two stages live side by side in one account (every name derives
from the ``Stage`` parameter, secrets included).

    python -m deploy.merge_template OUT.json STAGE

- Parameters: ``Stage`` (names), ``AdminPrincipals`` (``CHARTHOUSE_ADMINS``; required), optional ``SubnetIds``
  and ``SecurityGroupIds`` (API and worker in a VPC: private EKS endpoints), ``ClusterRoleArns`` (the only roles
  ``sts:AssumeRole`` may take), ``KmsKeyArn`` (a customer key for the table, queues, secrets' readers and logs),
  ``AlarmTopicArn`` (where alarms go), ``WorkerConcurrency``, ``ApiConcurrency``, ``LogRetentionDays``.
- Data: the table (``store.table_definition``; TTL, point-in-time recovery, deletion protection, retained), the
  FIFO queue (visibility 6x the worker's timeout) and its FIFO dead-letter queue, the queue of failed
  asynchronous invocations, the charts bucket (versioned, TLS only, public access blocked), the event bus.
- Events: the table's stream read by one EventBridge Pipe per detail type (filter: an operation ending; enrichment:
  the StateChangeEvents function; target: the bus; records given up on: AsyncFailures), under a role of their own.
- Functions: the runtime (deploy/stack.py), the helm layer, one role each with its own policy (deploy/iam.py),
  their own log group (JSON logs, retention), active tracing, concurrency, on-failure destinations for the
  asynchronous ones, the optional VPC configuration; API access logs and stage throttling; the alarms.
- Outputs: the API URL, each function's role ARN (EKS access entries), the custom resource's service token.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from chalicelib.adapters.store import table_definition
from chalicelib.adapters.stream import PIPES, Pipe
from chalicelib.config import RECONCILE_EVERY_MIN
from chalicelib.domain.events import SOURCE
from deploy import iam
from deploy.stack import (
    API_ALARMS,
    API_THROTTLE_BURST,
    API_THROTTLE_RATE,
    ASYNC_RETRIES,
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
    chalice_config,
    check_stage,
    visibility_timeout,
    worker_timeout,
)

FUNCTIONS = iam.FUNCTIONS
NAMES = Names("${Stage}")
NO_VALUE = {"Ref": "AWS::NoValue"}
VPC_FUNCTIONS = ("APIHandler", "ExecuteOperations")  # the two that talk to clusters
LOG_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","caller":"$context.identity.caller",'
    '"user":"$context.identity.userArn","requestTime":"$context.requestTime","httpMethod":"$context.httpMethod",'
    '"resourcePath":"$context.resourcePath","status":"$context.status","protocol":"$context.protocol",'
    '"responseLength":"$context.responseLength","integrationLatency":"$context.integrationLatency"}'
)


def role_resource(function: str) -> str:
    """Chalice's name for a function's role resource."""
    return "ApiHandlerRole" if function == "APIHandler" else f"{function}Role"


def sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def if_kms(value: Any) -> dict[str, Any]:
    return {"Fn::If": ["HasKmsKey", value, NO_VALUE]}


def stage_schedule(stage: str | None) -> str:
    """The reconcile rate of ``stage`` (its ``CHARTHOUSE_RECONCILE_SCHEDULE``), else the code's default."""
    default = f"rate({RECONCILE_EVERY_MIN} minutes)"
    if not stage:
        return default
    stages = chalice_config().get("stages", {})
    assert isinstance(stages, dict)
    return str(stages.get(stage, {}).get("environment_variables", {}).get("CHARTHOUSE_RECONCILE_SCHEDULE", default))


def parameters(stage: str) -> dict[str, Any]:
    ids = {"Type": "CommaDelimitedList", "Default": ""}
    return {
        "Stage": {
            "Type": "String",
            "Default": stage,
            "AllowedPattern": STAGE_PATTERN,
            "Description": "names every resource of this stack (and its secrets' prefix): one stack per stage",
        },
        "AdminPrincipals": {
            "Type": "String",
            "MinLength": 1,
            "Description": "CHARTHOUSE_ADMINS: comma-separated principal patterns that may do everything, e.g. "
            "arn:aws:sts::123456789012:assumed-role/platform-admin/*",
        },
        "SubnetIds": {**ids, "Description": "private subnets for the API and worker (empty: no VPC)"},
        "SecurityGroupIds": {**ids, "Description": "security groups for the API and worker (with SubnetIds)"},
        "ClusterRoleArns": {**ids, "Description": "roles the service may assume to reach clusters (empty: none)"},
        "KmsKeyArn": {"Type": "String", "Default": "", "Description": "customer KMS key (empty: AWS-owned keys)"},
        "AlarmTopicArn": {"Type": "String", "Default": "", "Description": "SNS topic of the alarms (empty: none)"},
        "WorkerConcurrency": {"Type": "Number", "Default": DEFAULT_WORKER_CONCURRENCY, "MinValue": 2},
        "ApiConcurrency": {"Type": "Number", "Default": DEFAULT_API_CONCURRENCY, "MinValue": 1},
        "LogRetentionDays": {
            "Type": "Number",
            "Default": LOG_RETENTION_DAYS,
            "AllowedValues": [30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653],
        },
    }


def conditions() -> dict[str, Any]:
    def given(param: str, joined: bool = False) -> dict[str, Any]:
        value = {"Fn::Join": ["", {"Ref": param}]} if joined else {"Ref": param}
        return {"Fn::Not": [{"Fn::Equals": [value, ""]}]}

    return {
        "HasVpc": given("SubnetIds", joined=True),
        "HasClusterRoles": given("ClusterRoleArns", joined=True),
        "HasKmsKey": given("KmsKeyArn"),
        "HasAlarmTopic": given("AlarmTopicArn"),
    }


def data_resources() -> dict[str, Any]:
    table = table_definition(NAMES.table)
    return {
        "Table": {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                **table,
                "TableName": sub(NAMES.table),
                "DeletionProtectionEnabled": True,
                "SSESpecification": {
                    "SSEEnabled": True,
                    "SSEType": if_kms("KMS"),
                    "KMSMasterKeyId": if_kms({"Ref": "KmsKeyArn"}),
                },
                # idempotency keys, release events and CloudFormation replies expire (``ttl``)
                "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                # CloudFormation's form of the API's StreamSpecification: the view type alone enables it
                "StreamSpecification": {"StreamViewType": table["StreamSpecification"]["StreamViewType"]},
            },
        },
        "OperationsQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": sub(NAMES.queue),
                "FifoQueue": True,
                "VisibilityTimeout": visibility_timeout(),
                **_queue_encryption(),
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
                    "maxReceiveCount": MAX_RECEIVES,
                },
            },
        },
        "DeadLetterQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": sub(NAMES.dlq),
                "FifoQueue": True,
                "MessageRetentionPeriod": DLQ_RETENTION_S,
                **_queue_encryption(),
            },
        },
        "AsyncFailures": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": sub(NAMES.async_failures),
                "MessageRetentionPeriod": DLQ_RETENTION_S,
                **_queue_encryption(),
            },
        },
        "EventBus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": sub(NAMES.bus)}},
        "ChartBucket": {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Metadata": {
                "checkov": {
                    "skip": [
                        {
                            "id": "CKV_AWS_18",
                            "comment": "access logging: every access goes through the API, which "
                            "logs it (API access logs, audit log); a logging bucket per stage is the team's choice",
                        },
                        {
                            "id": "CKV_AWS_144",
                            "comment": "cross-region replication: charts are re-uploadable and "
                            "the index cache is rebuilt; versioning keeps overwritten objects",
                        },
                    ]
                }
            },
            "Properties": {
                "VersioningConfiguration": {"Status": "Enabled"},
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {
                            "ServerSideEncryptionByDefault": {
                                "Fn::If": [
                                    "HasKmsKey",
                                    {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Ref": "KmsKeyArn"}},
                                    {"SSEAlgorithm": "AES256"},
                                ]
                            }
                        }
                    ]
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
                        },
                        {"Id": "plans", "Status": "Enabled", "Prefix": "plans/", "ExpirationInDays": PLAN_DAYS},
                        {"Id": "old-versions", "Status": "Enabled", "NoncurrentVersionExpirationInDays": 30},
                        {
                            "Id": "abort-multipart",
                            "Status": "Enabled",
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                        },
                    ]
                },
            },
        },
        "ChartBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "ChartBucket"},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "TlsOnly",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [{"Fn::GetAtt": ["ChartBucket", "Arn"]}, sub("${ChartBucket.Arn}/*")],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
            },
        },
    }


def pipe_resource(pipe: Pipe) -> str:
    """The template's name of a pipe's resource (``release-events`` -> ``ReleaseEventsPipe``)."""
    return "".join(part.title() for part in pipe.name.split("-")) + "Pipe"


def pipe_resources() -> dict[str, Any]:
    """The table's stream -> EventBridge Pipes -> the bus: one pipe per detail type (adapters/stream.py), each
    keeping only the records of an operation ending, enriched by StateChangeEvents, under one role of their own."""
    trust = {
        "Effect": "Allow",
        "Principal": {"Service": "pipes.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
    }
    out: dict[str, Any] = {
        "EventPipesRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [trust]},
                "Policies": [
                    {
                        "PolicyName": "EventPipesPolicy",
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": iam.cfn_statements(iam.PIPES_ROLE)},
                    }
                ],
            },
        }
    }
    for pipe in PIPES:
        out[pipe_resource(pipe)] = {
            "Type": "AWS::Pipes::Pipe",
            "Properties": {
                "Name": sub(NAMES.pipe(pipe.name)),
                "Description": f"{pipe.detail_type}: operations that ended, from the table's stream",
                "RoleArn": {"Fn::GetAtt": ["EventPipesRole", "Arn"]},
                "Source": {"Fn::GetAtt": ["Table", "StreamArn"]},
                "SourceParameters": {
                    "FilterCriteria": {"Filters": [{"Pattern": pipe.filter}]},
                    "DynamoDBStreamParameters": {
                        "StartingPosition": "LATEST",
                        "BatchSize": PIPE_BATCH,
                        "MaximumRetryAttempts": PIPE_RETRIES,
                        "MaximumRecordAgeInSeconds": PIPE_MAX_RECORD_AGE_S,
                        "OnPartialBatchItemFailure": "AUTOMATIC_BISECT",
                        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["AsyncFailures", "Arn"]}},
                    },
                },
                "Enrichment": {"Fn::GetAtt": ["StateChangeEvents", "Arn"]},
                "Target": {"Fn::GetAtt": ["EventBus", "Arn"]},
                "TargetParameters": {
                    "EventBridgeEventBusParameters": {"DetailType": pipe.detail_type, "Source": SOURCE}
                },
                "DesiredState": "RUNNING",
            },
        }
    return out


def _queue_encryption() -> dict[str, Any]:
    return {
        "SqsManagedSseEnabled": {"Fn::If": ["HasKmsKey", NO_VALUE, True]},
        "KmsMasterKeyId": if_kms({"Ref": "KmsKeyArn"}),
    }


def function_resources(stage: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    variables = {
        "CHARTHOUSE_TABLE": {"Ref": "Table"},
        "CHARTHOUSE_QUEUE_URL": {"Ref": "OperationsQueue"},
        "CHARTHOUSE_CHART_BUCKET": {"Ref": "ChartBucket"},
        "CHARTHOUSE_EVENT_BUS": {"Ref": "EventBus"},
        "CHARTHOUSE_SECRET_PREFIX": sub(NAMES.cluster_secrets),
        "CHARTHOUSE_REPO_SECRET_PREFIX": sub(NAMES.repository_secrets),
        "CHARTHOUSE_ACCESS_KEY_SECRET_PREFIX": sub(NAMES.access_key_secrets),
        "CHARTHOUSE_RUNTIME_SECRET_PREFIX": sub(NAMES.runtime_secrets),
        "CHARTHOUSE_ADMINS": {"Ref": "AdminPrincipals"},
    }
    for function in FUNCTIONS:
        skips = [
            {"id": "CKV_AWS_173", "comment": "environment variables hold names and ARNs only, never secrets"},
        ]
        props: dict[str, Any] = {
            "Runtime": RUNTIME,
            "Layers": [{"Ref": "HelmLayer"}],
            "Environment": {"Variables": variables},
            "Tracing": "Active",
            "LoggingConfig": {"LogFormat": "JSON", "LogGroup": {"Ref": f"{function}LogGroup"}},
            "KmsKeyArn": if_kms({"Ref": "KmsKeyArn"}),
        }
        if function in VPC_FUNCTIONS:
            props["VpcConfig"] = {
                "Fn::If": [
                    "HasVpc",
                    {"SubnetIds": {"Ref": "SubnetIds"}, "SecurityGroupIds": {"Ref": "SecurityGroupIds"}},
                    NO_VALUE,
                ]
            }
            skips.append({"id": "CKV_AWS_117", "comment": "in a VPC when SubnetIds is given (private clusters)"})
        else:
            skips.append({"id": "CKV_AWS_117", "comment": "reaches only AWS APIs and chart repositories: no VPC"})
        if function in iam.ASYNC_FUNCTIONS:
            props["EventInvokeConfig"] = {
                "MaximumRetryAttempts": ASYNC_RETRIES,
                "DestinationConfig": {
                    "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["AsyncFailures", "Arn"]}}
                },
            }
            skips.append(
                {
                    "id": "CKV_AWS_116",
                    "comment": "an on-failure destination (AsyncFailures) replaces the "
                    "DLQ: it keeps the error with the request",
                }
            )
        else:
            skips.append(
                {
                    "id": "CKV_AWS_116",
                    "comment": "invoked synchronously (API Gateway, SQS event source): "
                    "no asynchronous retry to catch; the queue has its own dead-letter queue",
                }
            )
        if function == "ExecuteOperations":
            props["ReservedConcurrentExecutions"] = {"Ref": "WorkerConcurrency"}
            props["Events"] = {
                "ExecuteOperationsSqsEventSource": {
                    "Properties": {
                        # the key chalice wrote (a dict merge): the same queue ARN, from the stage's name
                        "Queue": sub("arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:" + NAMES.queue),
                        "ScalingConfig": {"MaximumConcurrency": {"Ref": "WorkerConcurrency"}},
                    }
                }
            }
        elif function == "APIHandler":
            props["ReservedConcurrentExecutions"] = {"Ref": "ApiConcurrency"}
        else:
            props["ReservedConcurrentExecutions"] = RESERVED[function]
        if function == "ReconcileClusters":
            props["Events"] = {
                "ReconcileClustersEvent": {"Type": "Schedule", "Properties": {"Schedule": stage_schedule(stage)}}
            }
        out[function] = {
            "Metadata": {"checkov": {"skip": skips}},
            "Properties": props,
        }
        out[f"{function}LogGroup"] = {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "Properties": {
                "LogGroupName": sub(NAMES.log_group(function)),
                "RetentionInDays": {"Ref": "LogRetentionDays"},
                "KmsKeyId": if_kms({"Ref": "KmsKeyArn"}),
            },
            "Metadata": {
                "checkov": {
                    "skip": [
                        {
                            "id": "CKV_AWS_158",
                            "comment": "encrypted with KmsKeyArn when given, else with CloudWatch's own key",
                        }
                    ]
                }
            },
        }
        out[role_resource(function)] = {
            "Properties": {
                "Policies": [
                    {
                        "PolicyName": f"{function}Policy",
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": iam.cfn_statements(function)},
                    }
                ]
            },
            "Metadata": {
                "checkov": {
                    "skip": [
                        {
                            "id": "CKV_AWS_111",
                            "comment": "the only unconstrained writes "
                            "are X-Ray's and, in a VPC, EC2 network interfaces': neither has resource-level permissions",
                        },
                        {
                            "id": "CKV_AWS_108",
                            "comment": "no data exfiltration action on *: reads name the stage's "
                            "secrets, bucket and table",
                        },
                    ]
                }
            },
        }
    return out


def api_resources() -> dict[str, Any]:
    out: dict[str, Any] = {
        "RestAPI": {
            "Properties": {
                "Name": sub(NAMES.api),
                "TracingEnabled": True,
                "AccessLogSetting": {
                    "DestinationArn": {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]},
                    "Format": LOG_FORMAT,
                },
                "MethodSettings": [
                    {
                        "ResourcePath": "/*",
                        "HttpMethod": "*",
                        "ThrottlingRateLimit": API_THROTTLE_RATE,
                        "ThrottlingBurstLimit": API_THROTTLE_BURST,
                        "MetricsEnabled": True,
                    }
                ],
            },
            "Metadata": {
                "checkov": {
                    "skip": [
                        {
                            "id": "CKV_AWS_120",
                            "comment": "no caching: answers are per caller and change with every operation",
                        }
                    ]
                }
            },
        },
        "ApiAccessLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": sub(NAMES.log_group("api-access")),
                "RetentionInDays": {"Ref": "LogRetentionDays"},
                "KmsKeyId": if_kms({"Ref": "KmsKeyArn"}),
            },
            "Metadata": {
                "checkov": {
                    "skip": [
                        {
                            "id": "CKV_AWS_158",
                            "comment": "encrypted with KmsKeyArn when given, else with CloudWatch's own key",
                        }
                    ]
                }
            },
        },
    }
    # API Gateway answers some requests itself (unknown path, missing auth, throttling): same error shape as ours
    for kind, code in (("DEFAULT_4XX", "ClientError"), ("DEFAULT_5XX", "GatewayError")):
        template = (
            '{"error": {"code": "' + code + '", "message": $context.error.messageString, '
            '"details": {"request_id": "$context.requestId"}}}'
        )
        out[f"GatewayResponse{kind.title().replace('_', '')}"] = {
            "Type": "AWS::ApiGateway::GatewayResponse",
            "Properties": {
                "RestApiId": {"Ref": "RestAPI"},
                "ResponseType": kind,
                "ResponseTemplates": {"application/json": template},
            },
        }
    return out


def _alarm(
    name: str, description: str, namespace: str, metric: str, dims: dict[str, Any], stat: str, threshold: float
) -> dict[str, Any]:
    actions = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], NO_VALUE]}
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": sub(NAMES.alarm(name)),
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
            "Statistic": stat,
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": actions,
            "OKActions": actions,
        },
    }


def alarms() -> dict[str, Any]:
    sqs = "AWS/SQS"
    out = {
        "DlqDepthAlarm": _alarm(
            "dlq-depth",
            QUEUE_ALARMS["dlq-depth"],
            sqs,
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}},
            "Maximum",
            0,
        ),
        "OldestOperationAlarm": _alarm(
            "oldest-operation",
            QUEUE_ALARMS["oldest-operation"],
            sqs,
            "ApproximateAgeOfOldestMessage",
            {"QueueName": {"Fn::GetAtt": ["OperationsQueue", "QueueName"]}},
            "Maximum",
            worker_timeout(),
        ),
        "AsyncFailuresAlarm": _alarm(
            "async-failures",
            QUEUE_ALARMS["async-failures"],
            sqs,
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": {"Fn::GetAtt": ["AsyncFailures", "QueueName"]}},
            "Maximum",
            0,
        ),
        "Api5xxAlarm": _alarm(
            "api-5xx",
            API_ALARMS["api-5xx"],
            "AWS/ApiGateway",
            "5XXError",
            {"ApiName": sub(NAMES.api), "Stage": "api"},
            "Sum",
            0,
        ),
    }
    for function in FUNCTIONS:
        for what, metric in (("errors", "Errors"), ("throttles", "Throttles")):
            out[f"{function}{metric}Alarm"] = _alarm(
                f"{function}-{what}",
                f"{function}: {FUNCTION_ALARMS[what]}",
                "AWS/Lambda",
                metric,
                {"FunctionName": {"Ref": function}},
                "Sum",
                0,
            )
    return out


def outputs() -> dict[str, Any]:
    out: dict[str, Any] = {
        "ApiUrl": {
            "Description": "the API's base URL",
            "Value": sub("https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api/"),
        },
        "HelmReleaseServiceToken": {
            "Description": "ServiceToken of Custom::HelmRelease resources (the custom resource function's ARN)",
            "Value": {"Fn::GetAtt": ["HelmReleaseResource", "Arn"]},
            "Export": {"Name": sub("${AWS::StackName}-HelmReleaseServiceToken")},
        },
        "HelmReleaseFunctionName": {
            "Description": "the function Terraform's aws_lambda_invocation calls (iac/terraform/release)",
            "Value": {"Ref": "HelmReleaseInvocation"},
            "Export": {"Name": sub("${AWS::StackName}-HelmReleaseFunctionName")},
        },
        "EventBusName": {
            "Description": "the bus of state-change events (source: charthouse)",
            "Value": {"Ref": "EventBus"},
        },
        "DeadLetterQueueUrl": {
            "Description": "operation messages the worker could not take",
            "Value": {"Ref": "DeadLetterQueue"},
        },
        "ClusterSecretPrefix": {
            "Description": "Secrets Manager prefix of cluster credentials",
            "Value": sub(NAMES.cluster_secrets),
        },
    }
    for function in FUNCTIONS:
        out[f"{function}RoleArn"] = {
            "Description": f"{function}'s role (an EKS access entry needs it)",
            "Value": {"Fn::GetAtt": [role_resource(function), "Arn"]},
        }
    return out


def merge_template(stage: str = "dev") -> dict[str, Any]:
    check_stage(stage)
    resources: dict[str, Any] = {
        **data_resources(),
        "HelmLayer": {
            "Type": "AWS::Serverless::LayerVersion",
            "Properties": {
                "LayerName": sub(NAMES.layer),
                "ContentUri": f"./{LAYER_FILE}",
                "CompatibleRuntimes": [RUNTIME],
                "Description": "helm, pinned (layers/helm/build.sh)",
            },
        },
        **function_resources(stage),
        **pipe_resources(),
        **api_resources(),
        **alarms(),
    }
    return {"Parameters": parameters(stage), "Conditions": conditions(), "Resources": resources, "Outputs": outputs()}


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], "w", encoding="utf-8") as fh:
        json.dump(merge_template(argv[2]), fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
