"""The emulator's SQS long poll (``devstack.moto_server.long_poll``): a waiting receiver gets a message sent during its
wait, and a FIFO group's next message as soon as the one in flight is deleted, within the same poll."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.sqs import models as sqs

from devstack import moto_server

WAIT_S = 10


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    monkeypatch.setattr(sqs.SQSBackend, "receive_message", sqs.SQSBackend.receive_message)  # undone after the test
    monkeypatch.setattr(sqs.Queue, "delete_message", sqs.Queue.delete_message)
    moto_server.long_poll()
    with mock_aws():
        client = boto3.client("sqs", region_name="us-east-1")
        url = client.create_queue(
            QueueName="q.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
        )["QueueUrl"]
        yield client, url


def receive_in_thread(client: Any, url: str) -> tuple[threading.Thread, list[dict[str, Any]]]:
    got: list[dict[str, Any]] = []

    def poll() -> None:
        got.extend(client.receive_message(QueueUrl=url, WaitTimeSeconds=WAIT_S).get("Messages", []))

    thread = threading.Thread(target=poll)
    thread.start()
    return thread, got


def test_a_message_sent_during_the_wait_is_received_by_that_poll(queue: tuple[Any, str]) -> None:
    client, url = queue
    thread, got = receive_in_thread(client, url)
    client.send_message(QueueUrl=url, MessageBody="one", MessageGroupId="a")
    thread.join()
    assert [m["Body"] for m in got] == ["one"]


def test_a_groups_next_message_is_received_in_the_same_poll_once_the_first_is_deleted(
    queue: tuple[Any, str],
) -> None:
    """moto's own poll read the groups in flight once, so it returned nothing until its wait ran out."""
    client, url = queue
    client.send_message(QueueUrl=url, MessageBody="first", MessageGroupId="g")
    client.send_message(QueueUrl=url, MessageBody="second", MessageGroupId="g")
    first = client.receive_message(QueueUrl=url)["Messages"][0]
    thread, got = receive_in_thread(client, url)  # waits: the group is in flight
    client.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    thread.join()
    assert first["Body"] == "first" and [m["Body"] for m in got] == ["second"]
