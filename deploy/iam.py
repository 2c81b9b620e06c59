"""One least-privilege policy per function: the table of what each function calls (``CALLS``), rendered with the
resources' own ARNs for CloudFormation (``cfn_statements``) and for Terraform (``tf_statements``).

A row is (IAM actions, resource, why). Resources are named by a key of ``RESOURCES``; the key ``cluster-roles``
(``sts:AssumeRole``) only appears when cluster roles are listed (the ``ClusterRoleArns`` parameter), ``kms`` only
when a customer key is given, ``eni`` only with a VPC configuration. tests/functional/test_deploy_iam.py checks
the table against the code (every boto3 operation in chalicelib/ is granted to some function) and the rendered
templates against the table.
"""

from __future__ import annotations

from typing import Any

from deploy.stack import Names

# the Chalice function names (``chalice package`` resource names) and what each runs
FUNCTIONS = (
    "APIHandler",  # app.app: every HTTP route
    "ExecuteOperations",  # the SQS worker: runs helm
    "SweepStaleLeases",  # every minute: fails lost operations, queues unlocks
    "RefreshRepositories",  # every 6 hours: repository indexes
    "ReconcileClusters",  # the stage's rate: queues one reconcile per cluster
    "HelmReleaseResource",  # Custom::HelmRelease
    "HelmReleaseInvocation",  # Terraform's aws_lambda_invocation (iac/terraform/release)
    "StateChangeEvents",  # the pipes' enrichment: the table's stream records -> state-change events
)
PIPES_ROLE = "EventPipes"  # not a function: the role of the pipes from the table's stream to the bus
ASYNC_FUNCTIONS = ("SweepStaleLeases", "RefreshRepositories", "ReconcileClusters", "HelmReleaseResource")

STORE_RW = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",  # TransactWriteItems needs the per-item action of each item
    "dynamodb:BatchWriteItem",
    "dynamodb:Query",
)
LOGS = ("logs:CreateLogStream", "logs:PutLogEvents")
TRACES = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
SECRETS_RW = (
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:CreateSecret",
    "secretsmanager:DeleteSecret",
    "secretsmanager:RestoreSecret",  # re-registering a name whose secret waits out its recovery window
)
ENI = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
KMS = ("kms:Decrypt", "kms:GenerateDataKey")

Row = tuple[tuple[str, ...], str, str]

_COMMON: tuple[Row, ...] = (
    (LOGS, "own-log-group", "its own log group only (created by the template, never by the function)"),
    (TRACES, "*", "active tracing: X-Ray has no resource-level permissions"),
    (STORE_RW, "table", "the store: leases, operations, releases, audit (transactions, no Scan)"),
)
_SEND = (("sqs:SendMessage",), "queue", "queues operations (intake)")
_EVENTS = (("events:PutEvents",), "bus", "reconcile's findings and drift (operations' ends: the pipes)")
_EKS = (("eks:DescribeCluster",), "eks-clusters", "endpoint and CA of EKS clusters of this account")
_ASSUME = (("sts:AssumeRole",), "cluster-roles", "clusters registered with a role: only the listed roles")
_FAILURES = (("sqs:SendMessage",), "async-failures", "on-failure destination of an asynchronous invocation")

CALLS: dict[str, tuple[Row, ...]] = {
    "APIHandler": (
        *_COMMON,
        _SEND,
        (SECRETS_RW, "cluster-secrets", "cluster registration stores, replaces and deletes credentials"),
        (SECRETS_RW, "repo-secrets", "repository registration stores, replaces and deletes credentials"),
        (SECRETS_RW, "access-key-secrets", "access keys: issued, verified (signatures), revoked"),
        (SECRETS_RW, "runtime-secrets", "runtimes and Git repositories: credentials and webhook secrets"),
        (
            ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
            "bucket-objects",
            "chart uploads (presigned too); plans' requests",
        ),
        (("s3:ListBucket",), "bucket", "a HEAD of a missing key answers 404 rather than 403"),
        _EKS,
        _ASSUME,
    ),
    "ExecuteOperations": (
        *_COMMON,
        (
            ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"),
            "queue",
            "the event source mapping polls the queue with the function's role",
        ),
        _SEND,
        _EVENTS,
        (("secretsmanager:GetSecretValue",), "cluster-secrets", "reads cluster credentials"),
        (("secretsmanager:GetSecretValue",), "repo-secrets", "reads repository credentials"),
        (("s3:GetObject", "s3:PutObject"), "bucket-objects", "uploaded charts; the repository index cache"),
        (("s3:ListBucket",), "bucket", "a HEAD of a missing key answers 404 rather than 403"),
        _EKS,
        _ASSUME,
    ),
    "SweepStaleLeases": (*_COMMON, _SEND, _FAILURES),
    "RefreshRepositories": (
        *_COMMON,
        (("secretsmanager:GetSecretValue",), "repo-secrets", "reads repository credentials"),
        (("s3:GetObject", "s3:PutObject"), "bucket-objects", "the repository index cache"),
        (("s3:ListBucket",), "bucket", "a HEAD of a missing key answers 404 rather than 403"),
        _FAILURES,
    ),
    "ReconcileClusters": (
        *_COMMON,
        _SEND,
        (("secretsmanager:GetSecretValue",), "runtime-secrets", "the scheduled runtime sync reads Git credentials"),
        (("s3:GetObject", "s3:PutObject"), "bucket-objects", "charts a runtime's source holds, stored as uploads"),
        (("s3:ListBucket",), "bucket", "a HEAD of a missing key answers 404 rather than 403"),
        _FAILURES,
    ),
    "HelmReleaseResource": (
        *_COMMON,
        _SEND,
        (("secretsmanager:GetSecretValue",), "repo-secrets", "resolves a chart of a private repository"),
        (("s3:GetObject",), "bucket-objects", "an uploaded chart named by the resource"),
        (("s3:ListBucket",), "bucket", "a HEAD of a missing key answers 404 rather than 403"),
        _FAILURES,
    ),
    "HelmReleaseInvocation": (  # invoked synchronously: it waits for the worker, runs no helm itself
        *_COMMON,
        _SEND,
        (("secretsmanager:GetSecretValue",), "repo-secrets", "resolves a chart of a private repository"),
        (("s3:GetObject",), "bucket-objects", "an uploaded chart named by the input"),
        (("s3:ListBucket",), "bucket", "a HEAD of a missing key answers 404 rather than 403"),
    ),
    "StateChangeEvents": (  # invoked synchronously by the pipes; reads one item at most, writes nothing
        _COMMON[0],
        _COMMON[1],
        (("dynamodb:GetItem",), "table", "the release of an operation that ended without writing it (the sweep)"),
    ),
    PIPES_ROLE: (
        (
            ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"),
            "stream",
            "the pipes read the table's stream",
        ),
        (("lambda:InvokeFunction",), "enrichment", "the enrichment shapes each event (StateChangeEvents)"),
        (("events:PutEvents",), "bus", "the pipes' target: the stage's bus"),
        (("sqs:SendMessage",), "async-failures", "records the pipes gave up on (their dead-letter queue)"),
    ),
}

# resources that only exist under a condition (CloudFormation condition name, Terraform count expression)
CONDITIONAL = {"cluster-roles": "HasClusterRoles", "kms": "HasKmsKey", "eni": "HasVpc"}


def rows(function: str) -> tuple[Row, ...]:
    """The function's rows, with the customer key and the VPC's network interfaces (conditional)."""
    extra: list[Row] = [(KMS, "kms", "the customer key that encrypts the table, queues, secrets and logs")]
    if function in ("APIHandler", "ExecuteOperations"):
        extra.append((ENI, "eni", "network interfaces of a VPC function: EC2 has no resource-level Describe"))
    return (*CALLS[function], *extra)


def actions(function: str, *, conditional: bool = True) -> set[str]:
    """Every IAM action of the function's policy (with or without the conditional rows)."""
    return {a for acts, res, _ in rows(function) for a in acts if conditional or res not in CONDITIONAL}


def _cfn_resource(key: str, function: str) -> Any:
    arn = "arn:${AWS::Partition}"
    secret = arn + ":secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
    names = Names("${Stage}")
    return {
        "*": "*",
        "eni": "*",
        "own-log-group": {"Fn::GetAtt": [f"{function}LogGroup", "Arn"]},
        "table": [{"Fn::GetAtt": ["Table", "Arn"]}, {"Fn::Sub": "${Table.Arn}/index/*"}],
        "queue": {"Fn::GetAtt": ["OperationsQueue", "Arn"]},
        "async-failures": {"Fn::GetAtt": ["AsyncFailures", "Arn"]},
        "bus": {"Fn::GetAtt": ["EventBus", "Arn"]},
        "stream": {"Fn::GetAtt": ["Table", "StreamArn"]},
        "enrichment": {"Fn::GetAtt": ["StateChangeEvents", "Arn"]},
        "cluster-secrets": {"Fn::Sub": f"{secret}{names.cluster_secrets}*"},
        "repo-secrets": {"Fn::Sub": f"{secret}{names.repository_secrets}*"},
        "access-key-secrets": {"Fn::Sub": f"{secret}{names.access_key_secrets}*"},
        "runtime-secrets": {"Fn::Sub": f"{secret}{names.runtime_secrets}*"},
        "bucket": {"Fn::GetAtt": ["ChartBucket", "Arn"]},
        "bucket-objects": {"Fn::Sub": "${ChartBucket.Arn}/*"},
        "eks-clusters": {"Fn::Sub": f"{arn}:eks:${{AWS::Region}}:${{AWS::AccountId}}:cluster/*"},
        "cluster-roles": {"Ref": "ClusterRoleArns"},
        "kms": {"Ref": "KmsKeyArn"},
    }[key]


def cfn_statements(function: str) -> list[Any]:
    """The policy's statements in CloudFormation, conditional rows wrapped in ``Fn::If``."""
    out: list[Any] = []
    for i, (acts, key, _why) in enumerate(rows(function)):
        statement = {
            "Sid": f"S{i}",
            "Effect": "Allow",
            "Action": sorted(acts),
            "Resource": _cfn_resource(key, function),
        }
        if key in CONDITIONAL:
            out.append({"Fn::If": [CONDITIONAL[key], statement, {"Ref": "AWS::NoValue"}]})
        else:
            out.append(statement)
    return out


def _tf_resource(key: str, function: str, names: dict[str, str]) -> Any:
    stage = Names("${var.stage}")
    return {
        "*": ["*"],
        "eni": ["*"],
        "own-log-group": ["${aws_cloudwatch_log_group." + names.get(function, function) + ".arn}:*"],
        "table": ["${aws_dynamodb_table.charthouse.arn}", "${aws_dynamodb_table.charthouse.arn}/index/*"],
        "queue": ["${aws_sqs_queue.operations.arn}"],
        "async-failures": ["${aws_sqs_queue.async_failures.arn}"],
        "bus": ["${aws_cloudwatch_event_bus.charthouse.arn}"],
        "stream": ["${aws_dynamodb_table.charthouse.stream_arn}"],
        "enrichment": ["${aws_lambda_function.state_change_events.arn}"],
        "cluster-secrets": [
            "arn:${data.aws_partition.chalice.partition}:secretsmanager:${data.aws_region.chalice.name}:"
            "${data.aws_caller_identity.chalice.account_id}:secret:" + stage.cluster_secrets + "*"
        ],
        "repo-secrets": [
            "arn:${data.aws_partition.chalice.partition}:secretsmanager:${data.aws_region.chalice.name}:"
            "${data.aws_caller_identity.chalice.account_id}:secret:" + stage.repository_secrets + "*"
        ],
        "access-key-secrets": [
            "arn:${data.aws_partition.chalice.partition}:secretsmanager:${data.aws_region.chalice.name}:"
            "${data.aws_caller_identity.chalice.account_id}:secret:" + stage.access_key_secrets + "*"
        ],
        "runtime-secrets": [
            "arn:${data.aws_partition.chalice.partition}:secretsmanager:${data.aws_region.chalice.name}:"
            "${data.aws_caller_identity.chalice.account_id}:secret:" + stage.runtime_secrets + "*"
        ],
        "bucket": ["${aws_s3_bucket.charts.arn}"],
        "bucket-objects": ["${aws_s3_bucket.charts.arn}/*"],
        "eks-clusters": [
            "arn:${data.aws_partition.chalice.partition}:eks:${data.aws_region.chalice.name}:"
            "${data.aws_caller_identity.chalice.account_id}:cluster/*"
        ],
        "cluster-roles": "${var.cluster_role_arns}",
        "kms": ["${var.kms_key_arn}"],
    }[key]


TF_CONDITION = {
    "cluster-roles": "length(var.cluster_role_arns) > 0",
    "kms": 'var.kms_key_arn != ""',
    "eni": "length(var.subnet_ids) > 0",
}


def tf_statements(function: str, names: dict[str, str]) -> str:
    """The policy document as a Terraform expression (``jsonencode`` of a list filtered by the conditions)."""
    parts = []
    for i, (acts, key, _why) in enumerate(rows(function)):
        resource = _tf_resource(key, function, names)
        res_expr = resource.removeprefix("${").removesuffix("}") if isinstance(resource, str) else _hcl(resource)
        statement = f'{{Sid = "S{i}", Effect = "Allow", Action = {_hcl(sorted(acts))}, Resource = {res_expr}}}'
        parts.append(f"[{statement}]" if key not in TF_CONDITION else f"({TF_CONDITION[key]} ? [{statement}] : [])")
    return '${jsonencode({Version = "2012-10-17", Statement = concat(' + ", ".join(parts) + ")})}"


def _hcl(items: list[str]) -> str:
    """A list of strings as an HCL expression (interpolations kept)."""
    return "[" + ", ".join('"' + s.replace('"', '\\"') + '"' for s in items) + "]"
