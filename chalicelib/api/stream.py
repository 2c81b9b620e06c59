"""Blueprint: the enrichment function of the pipes from the table's stream to the event bus (deploy/ creates them).

A pipe invokes it with a batch of stream records its filter kept (``adapters/stream.py``) and delivers to the bus
what it returns: the detail of each operation that ended (``core/state_changes.py``), with the pipe's detail type.
An empty list delivers nothing. An exception makes the pipe retry the batch (then split it, then give up to its
dead-letter queue): a record is never half-handled, and a redelivered event has the same ``event_id``.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib import bootstrap

bp = Blueprint(__name__)
state_changes = bootstrap.use(lambda d: d.state_changes)


@bp.lambda_function(name="state_change_events")
def state_change_events(event: Any, context: Any) -> list[dict[str, Any]]:
    """``event`` is the batch: a list of DynamoDB stream records (a single record is taken as a batch of one)."""
    records = event if isinstance(event, list) else [event]
    return state_changes().details([r for r in records if isinstance(r, dict)])
