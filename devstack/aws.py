"""Emulated AWS for the local stack: AWS's DynamoDB Local for the table (``devstack.dynamodb``) and a moto server
on loopback for SQS, S3, Secrets Manager and EventBridge (their own processes, so every stack and every in-process
``mock_aws`` test keeps its own state), the table and queue, and a disk snapshot.

moto keeps state in memory only, so the stack saves the secrets (and the table, when DynamoDB Local runs in memory)
to a 0600 JSON file, periodically and on shutdown, and loads it on the next start; a table on disk (``-dbPath``)
keeps itself. Clusters, releases and history survive a restart. Messages in flight do not: operations that were
still queued or running are recovered when the stack's scheduler starts (``Recovery.interrupted``: ended ``failed``
with code ``Interrupted``, their releases unlocked as a lost worker's).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Final, Literal, TypedDict

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.adapters.store import table_definition
from chalicelib.config import QUEUE_NAME

from .dynamodb import LocalDynamo

log = logging.getLogger(__name__)
REGION = "us-east-1"


class Credentials(TypedDict):
    """The emulator's fixed credentials, as boto3 keyword arguments."""

    aws_access_key_id: str
    aws_secret_access_key: str
    region_name: str


CREDS: Final = Credentials(aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION)
# The services the stack talks to (boto3's type stubs pick a client type per literal name).
Service = Literal["dynamodb", "sqs", "s3", "secretsmanager", "events"]
ResourceService = Literal["dynamodb", "sqs", "s3"]
QUEUE_ATTRIBUTES = {"FifoQueue": "true", "VisibilityTimeout": "960", "ContentBasedDeduplication": "false"}


class LocalAws:
    """A moto server on 127.0.0.1:``port`` and DynamoDB Local (``dynamo``) with Charthouse's table, queue and a
    snapshot file."""

    def __init__(
        self,
        port: int,
        snapshot: Path,
        log: Path,
        dynamo: LocalDynamo,
        table: str = "charthouse",
        secret_prefix: str = "charthouse/",
        bucket: str = "charthouse-charts",
    ) -> None:
        self.port = port
        self.log = log
        self.dynamo = dynamo
        self.endpoint = f"http://127.0.0.1:{port}"
        self.snapshot = snapshot
        self.table = table
        self.secret_prefix = secret_prefix
        self.bucket = bucket
        self.bucket_dir = snapshot.parent / "charts-bucket"  # uploaded charts, kept as files between runs
        self.event_bus = "charthouse-events"  # state-change events (CHARTHOUSE_EVENT_BUS)
        self.events_queue = "charthouse-events-local"  # a rule copies every event on the bus here
        self._server: subprocess.Popen[bytes] | None = None

    def endpoint_of(self, service: str) -> str:
        return self.dynamo.endpoint if service == "dynamodb" else self.endpoint

    def resource(self, service: ResourceService) -> Any:
        config = Config(retries={"max_attempts": 1})
        return boto3.resource(service, endpoint_url=self.endpoint_of(service), config=config, **CREDS)

    def client(self, service: Service) -> Any:
        config = Config(retries={"max_attempts": 1})
        return boto3.client(service, endpoint_url=self.endpoint_of(service), config=config, **CREDS)

    def dead(self) -> list[str]:
        """The emulator's processes that exited (or never started)."""
        gone = [] if self._server is not None and self._server.poll() is None else ["aws (moto)"]
        return gone + ([] if self.dynamo.running() else ["DynamoDB Local"])

    @property
    def keeps_table(self) -> bool:
        """DynamoDB Local keeps the table on disk itself (else the snapshot file holds its items)."""
        return self.dynamo.data_dir is not None

    @property
    def pid(self) -> int | None:
        return self._server.pid if self._server is not None else None

    def start(self, timeout: float = 60) -> None:
        self.dynamo.start(timeout)
        with open(self.log, "ab") as out:
            self._server = subprocess.Popen(
                [sys.executable, "-m", "devstack.moto_server", str(self.port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=Path(__file__).resolve().parent.parent,
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.client("sqs").list_queues()
                break
            except (BotoCoreError, ClientError):
                if self._server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the AWS emulator did not start; see {self.log}") from None
                time.sleep(0.2)
        ddb = self.client("dynamodb")
        created = self.table not in ddb.list_tables()["TableNames"]
        if created:
            ddb.create_table(**table_definition(self.table))
        else:
            self._stream_on(ddb)
        self.client("sqs").create_queue(QueueName=QUEUE_NAME, Attributes=QUEUE_ATTRIBUTES)
        self._event_bus()
        self.client("s3").create_bucket(Bucket=self.bucket)
        self.load(items=created)  # a table kept on disk has its items already (a snapshot's are older)

    def _stream_on(self, ddb: Any) -> None:
        """A table kept on disk from before the table had a stream gets it (the state-change events come from it)."""
        wanted = table_definition(self.table)["StreamSpecification"]
        if ddb.describe_table(TableName=self.table)["Table"].get("StreamSpecification") != wanted:
            ddb.update_table(TableName=self.table, StreamSpecification=wanted)

    def _event_bus(self) -> None:
        """The EventBridge bus of state-change events, with a rule that copies every Charthouse event to the queue
        ``events_queue`` (what a subscriber would do; the tests read it)."""
        sqs, events = self.client("sqs"), self.client("events")
        url = sqs.create_queue(QueueName=self.events_queue)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        if self.event_bus not in [b["Name"] for b in events.list_event_buses()["EventBuses"]]:
            events.create_event_bus(Name=self.event_bus)
        events.put_rule(
            Name="charthouse-all", EventBusName=self.event_bus, EventPattern=json.dumps({"source": ["charthouse"]})
        )
        events.put_targets(Rule="charthouse-all", EventBusName=self.event_bus, Targets=[{"Id": "queue", "Arn": arn}])

    def stop(self) -> None:
        try:
            if self._server is not None and self._server.poll() is None and self.dynamo.pid is not None:
                self.save()
        finally:
            if self._server is not None:
                self._server.kill()  # its state is saved (or the save failed, and a clean exit would not help)
                self._server.wait()
                self._server = None
            self.dynamo.stop()

    # ------------------------------------------------------------ snapshot

    def save(self) -> None:
        """Write the secrets (and the table's items, when DynamoDB Local does not keep them on disk) to the snapshot
        file (0600), atomically."""
        ddb, sm = self.client("dynamodb"), self.client("secretsmanager")
        items: list[dict[str, Any]] = []
        if not self.keeps_table:
            for page in ddb.get_paginator("scan").paginate(TableName=self.table):
                items += page["Items"]
        secrets = []
        for page in sm.get_paginator("list_secrets").paginate():
            for entry in page["SecretList"]:
                if entry["Name"].startswith(self.secret_prefix):
                    value = sm.get_secret_value(SecretId=entry["ARN"])["SecretString"]
                    secrets.append({"name": entry["Name"], "value": value})
        self.snapshot.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.snapshot.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"items": items, "secrets": secrets}, fh)
        tmp.replace(self.snapshot)
        self._save_bucket()

    def _save_bucket(self) -> None:
        """Mirror the uploaded charts (``charts/``) to files; only new or changed objects are downloaded."""
        s3 = self.client("s3")
        seen: set[Path] = set()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix="charts/"):
            for obj in page.get("Contents", []):
                path = self.bucket_dir / obj["Key"]
                seen.add(path)
                if path.exists() and path.stat().st_size == obj["Size"]:
                    continue  # archives are immutable per name+version unless overwritten with another size
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                path.write_bytes(s3.get_object(Bucket=self.bucket, Key=obj["Key"])["Body"].read())
        if self.bucket_dir.exists():
            for path in self.bucket_dir.rglob("*.tgz"):
                if path not in seen:
                    path.unlink()

    def _load_bucket(self) -> None:
        s3 = self.client("s3")
        for path in self.bucket_dir.rglob("*.tgz") if self.bucket_dir.exists() else []:
            s3.put_object(Bucket=self.bucket, Key=str(path.relative_to(self.bucket_dir)), Body=path.read_bytes())

    def load(self, items: bool = True) -> None:
        """Load the snapshot file: its secrets and charts, and its table items when ``items`` (a new table: in
        memory, or on disk for the first time after a snapshot of the moto-only stack)."""
        if not self.snapshot.exists():
            return
        data = json.loads(self.snapshot.read_text())
        ddb, sm = self.client("dynamodb"), self.client("secretsmanager")
        rows = data["items"] if items else []
        for start in range(0, len(rows), 25):
            chunk = rows[start : start + 25]
            ddb.batch_write_item(RequestItems={self.table: [{"PutRequest": {"Item": i}} for i in chunk]})
        for secret in data["secrets"]:
            sm.create_secret(Name=secret["name"], SecretString=secret["value"])
        self._load_bucket()
        log.info("restored %d items and %d secrets", len(rows), len(data["secrets"]))
