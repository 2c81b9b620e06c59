"""The local stand-in for the SQS -> Lambda trigger: poll the queue, hand each message to the app's worker handler
as an SQS event (the same handler Lambda calls), delete it when the handler returns.

Run as ``python -m devstack.worker`` from the project directory with the stage's environment.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import sys
import time
from collections.abc import Mapping
from types import FrameType
from typing import Any

import boto3

from chalicelib.config import QUEUE_NAME

log = logging.getLogger("devstack.worker")
_running = True
_busy = False  # handling a message: a stop waits for it (up to the stack's grace); idle, a stop ends the long poll


class LocalContext:
    """The little of a Lambda context a handler may read: the time left, counted from creation."""

    aws_request_id = "local"

    def __init__(self, timeout_s: float) -> None:
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


WORKER_TIMEOUT_S = 900  # as the deployed worker function (.chalice/config.json)
LONG_POLL_S = 20  # SQS's longest wait, as Lambda's event source mapping polls


def sqs_event(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            }
        ]
    }


class _Stopped(BaseException):
    """Raised by the stop signal's handler in an idle worker, out of a long poll (botocore catches Exception)."""


def _stop(signum: int, frame: FrameType | None) -> None:
    global _running
    _running = False
    if not _busy:
        raise _Stopped


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="worker %(process)d %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    sys.path.insert(0, os.getcwd())
    importlib.import_module("app")  # registers the blueprints, which wires the handler's middleware
    from chalicelib.api.worker import execute_operations

    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=QUEUE_NAME)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    log.info("long-polling %s", QUEUE_NAME)
    try:
        poll(sqs, url, arn, execute_operations)
    except _Stopped:
        pass
    return 0


def poll(sqs: Any, url: str, arn: str, handler: Any) -> None:
    global _busy
    while _running:
        try:
            resp = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=LONG_POLL_S, AttributeNames=["All"]
            )
        except Exception:  # noqa: BLE001 - the emulator restarting: try again
            time.sleep(1)
            continue
        _busy = True
        try:
            for message in resp.get("Messages", []):
                try:
                    handler(sqs_event(message, arn), LocalContext(WORKER_TIMEOUT_S))
                except Exception:  # noqa: BLE001 - as in Lambda: the message stays and is redelivered later
                    log.exception("handler failed; the message will be redelivered")
                    continue
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        finally:
            _busy = False


if __name__ == "__main__":
    sys.exit(main())
