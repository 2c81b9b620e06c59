"""The worker queue (moto's SQS FIFO): a message carries the operation id and the whole spec, one message group per
release, the operation id deduplicates a retried send; too large a request and an unreachable queue are typed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.queue import MAX_MESSAGE_BYTES, Message, SqsQueue
from chalicelib.config import QUEUE_NAME
from chalicelib.domain.models import Action, RollbackSpec, UninstallSpec
from chalicelib.errors import DependencyUnavailable, PayloadTooLarge


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "a",
        "AWS_SECRET_ACCESS_KEY": "b",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("sqs")
        client.create_queue(QueueName=QUEUE_NAME, Attributes={"FifoQueue": "true"})
        yield client


def test_a_message_round_trips() -> None:
    message = Message("op-1", Action.ROLLBACK, RollbackSpec(revision=3, wait=True, timeout_s=60))
    assert Message.from_body(message.to_body()) == message


def test_too_large_a_message_is_refused_before_it_is_sent() -> None:
    from chalicelib.domain.models import InstallSpec

    spec = InstallSpec(chart="https://x/c.tgz", values={"blob": "x" * MAX_MESSAGE_BYTES})
    with pytest.raises(PayloadTooLarge) as exc:
        Message("op-1", Action.INSTALL, spec).to_body()
    assert exc.value.field == "values"


def test_send_finds_the_queue_by_name_and_deduplicates_by_operation(sqs: Any) -> None:
    queue = SqsQueue(sqs, "")
    assert queue.url == sqs.get_queue_url(QueueName=QUEUE_NAME)["QueueUrl"]
    message = Message("op-7", Action.UNINSTALL, UninstallSpec(keep_history=True))
    queue.send(message, "prod/apps/web")
    queue.send(message, "prod/apps/web")  # a retried send
    got = sqs.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert len(got) == 1
    assert got[0]["Attributes"]["MessageGroupId"] == "prod/apps/web"
    assert got[0]["Attributes"]["MessageDeduplicationId"] == "op-7"
    assert Message.from_body(got[0]["Body"]) == message


def test_a_missing_queue_is_dependency_unavailable(sqs: Any) -> None:
    queue = SqsQueue(sqs, "", queue_name="no-such-queue.fifo")
    with pytest.raises(DependencyUnavailable, match="queue is unavailable"):
        queue.send(Message("op-1", Action.UNINSTALL, UninstallSpec()), "g")
