"""The worker queue: an SQS FIFO queue, one message group per release so a release's operations run in order."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.config import QUEUE_NAME
from chalicelib.domain.models import Action, Spec, spec_from_message, spec_to_message
from chalicelib.errors import DependencyUnavailable, PayloadTooLarge

MAX_MESSAGE_BYTES = 256 * 1024  # SQS's limit for one message


@dataclass(frozen=True)
class Message:
    """What the worker gets: the operation id and the full spec (values included; never stored in DynamoDB)."""

    operation_id: str
    action: Action
    spec: Spec

    def to_body(self) -> str:
        body = json.dumps(
            {"operation_id": self.operation_id, "action": self.action.value, "spec": spec_to_message(self.spec)},
            separators=(",", ":"),
        )
        if len(body.encode()) > MAX_MESSAGE_BYTES:
            raise PayloadTooLarge("values", f"the request is larger than {MAX_MESSAGE_BYTES // 1024} KiB once encoded")
        return body

    @classmethod
    def from_body(cls, body: str) -> Message:
        data = json.loads(body)
        action = Action(data["action"])
        return cls(str(data["operation_id"]), action, spec_from_message(action, data["spec"]))


class SqsQueue:
    def __init__(self, sqs_client: Any, queue_url: str, queue_name: str = QUEUE_NAME) -> None:
        self._sqs = sqs_client
        self._url = queue_url
        self._name = queue_name

    @property
    def url(self) -> str:
        if not self._url:
            try:
                self._url = self._sqs.get_queue_url(QueueName=self._name)["QueueUrl"]
            except (ClientError, BotoCoreError) as exc:
                raise DependencyUnavailable("the operation queue is unavailable") from exc
        return self._url

    def send(self, message: Message, group: str) -> None:
        """Enqueue; the operation id is the deduplication id, so a retried send is delivered once."""
        body = message.to_body()
        try:
            self._sqs.send_message(
                QueueUrl=self.url,
                MessageBody=body,
                MessageGroupId=group,
                MessageDeduplicationId=message.operation_id,
            )
        except (ClientError, BotoCoreError) as exc:
            raise DependencyUnavailable("the operation queue is unavailable") from exc
