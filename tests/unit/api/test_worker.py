"""The SQS-triggered worker, invoked as SQS invokes it: each record's body goes to the executor with the time the
Lambda has left; a failure propagates so that SQS delivers the message again."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.config import QUEUE_NAME
from chalicelib.errors import DependencyUnavailable


class FakeExecutor:
    def __init__(self) -> None:
        self.bodies: list[tuple[str, float | None]] = []
        self.fail = False

    def execute_body(self, body: str, remaining_s: float | None) -> None:
        if self.fail:
            raise DependencyUnavailable("DynamoDB is unavailable")
        self.bodies.append((body, remaining_s))


@pytest.fixture
def executor() -> Iterator[FakeExecutor]:
    fake = FakeExecutor()
    bootstrap.override(SimpleNamespace(executor=fake))  # type: ignore[arg-type]
    yield fake
    bootstrap.override(None)


def test_each_message_is_executed_with_the_time_left(executor: FakeExecutor) -> None:
    from app import app

    with Client(app) as client:
        event = client.events.generate_sqs_event(queue_name=QUEUE_NAME, message_bodies=['{"op": 1}', '{"op": 2}'])
        client.lambda_.invoke("execute_operations", event)
    assert [body for body, _ in executor.bodies] == ['{"op": 1}', '{"op": 2}']
    assert all(left is not None and 0 < left <= 900 for _, left in executor.bodies)


def test_a_store_failure_propagates_so_that_sqs_redelivers(executor: FakeExecutor) -> None:
    from app import app

    executor.fail = True
    with Client(app) as client:
        event = client.events.generate_sqs_event(queue_name=QUEUE_NAME, message_bodies=['{"op": 1}'])
        with pytest.raises(DependencyUnavailable):
            client.lambda_.invoke("execute_operations", event)
