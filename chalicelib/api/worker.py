"""The SQS-triggered worker: one message is one queued operation (see ``operations.Executor.execute``)."""

from __future__ import annotations

import logging
from typing import Any

from chalice.app import Blueprint

from chalicelib import bootstrap
from chalicelib.config import QUEUE_NAME

log = logging.getLogger(__name__)
bp = Blueprint(__name__)


@bp.on_sqs_message(queue=QUEUE_NAME, batch_size=1)
def execute_operations(event: Any) -> None:
    """Run each operation in the batch. A message that cannot be parsed is logged and dropped: retrying it
    cannot help. Store or queue failures propagate so that SQS redelivers (execution is idempotent)."""
    remaining = getattr(event.context, "get_remaining_time_in_millis", None)
    for record in event:
        bootstrap.get().executor.execute_body(record.body, remaining() / 1000 if remaining else None)
