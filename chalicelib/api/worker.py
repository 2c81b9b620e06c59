"""The SQS-triggered worker: one message is one queued operation (see ``operations.Pipeline.execute``)."""

from __future__ import annotations

import json
import logging
from typing import Any

from chalice.app import Blueprint

from chalicelib import bootstrap
from chalicelib.adapters.queue import Message
from chalicelib.config import QUEUE_NAME

log = logging.getLogger(__name__)
bp = Blueprint(__name__)


@bp.on_sqs_message(queue=QUEUE_NAME, batch_size=1)
def execute_operations(event: Any) -> None:
    """Run each operation in the batch. A message that cannot be parsed is logged and dropped: retrying it
    cannot help. Store or queue failures propagate so that SQS redelivers (execution is idempotent)."""
    remaining = getattr(event.context, "get_remaining_time_in_millis", None)
    for record in event:
        try:
            message = Message.from_body(record.body)
        except (ValueError, KeyError, TypeError, json.JSONDecodeError):
            log.error("dropping a malformed operation message (%d bytes)", len(record.body or ""))
            continue
        bootstrap.get().pipeline.execute(message, remaining() / 1000 if remaining else None)
