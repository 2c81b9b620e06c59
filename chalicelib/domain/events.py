"""The state-change events' shapes (docs/EVENTS.md): ``source``, the detail types, and the ``detail`` of an operation
that ended, whoever shapes it (the table's stream: ``core/state_changes.py``; reconcile findings: ``adapters/bus.py``).

An operation ends once: its record goes from ``queued``/``running`` to ``succeeded``/``failed`` in one conditional
write (``ending``). That write is the one stream record an event is made from, so an operation yields one event, and
its ``event_id`` (the operation's id) is the same however often that record is delivered: a consumer that must not
act twice keeps the ids it saw. No event carries values, credentials or URLs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.domain.diagnosis import summary_of
from chalicelib.domain.models import Operation, OperationStatus, ReleaseRecord, iso

SOURCE = "charthouse"
SCHEMA_VERSION = "1"
STATE_CHANGE = "Helm Release State Change"  # an operation on a release ended, or reconcile found a change
DRIFT = "Helm Release Drift Detected"  # live objects differ from the release's manifest (reconcile)
RECONCILED = "Helm Cluster Reconciled"  # a reconcile operation ended (its summary)


@dataclass(frozen=True)
class Event:
    detail_type: str
    detail: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """As EventBridge delivers it (the part the service writes) and as the log line shows it."""
        return {"source": SOURCE, "detail-type": self.detail_type, "detail": self.detail}


def ending(old: str | None, new: str | None) -> bool:
    """Whether an operation record going from status ``old`` (None: it did not exist) to ``new`` is the operation
    ending. A record created already ended (a restored copy) or rewritten after it ended (its diagnosis) is not."""
    if old is None or new is None:
        return False
    try:
        return not OperationStatus(old).terminal and OperationStatus(new).terminal
    except ValueError:
        return False


def operation_ended(op: Operation, release: dict[str, Any] | None) -> Event:
    """The event of an ended operation; ``release`` is ``release_state`` of the record it left (None: none left).
    ``time`` is when the operation ended, so a redelivered event is the same event."""
    operation = {
        "id": op.id,
        "action": op.action.value,
        "status": op.status.value,
        "result": op.result,
        "error": error(op.error),
    }
    head = {"version": SCHEMA_VERSION, "time": iso(op.finished_at or op.updated_at), "event_id": op.id}
    if op.release.cluster_wide:
        return Event(
            RECONCILED, {**head, "trigger": "operation", "cluster": op.release.cluster, "operation": operation}
        )
    detail = {**head, "trigger": "operation", **op.release.to_json(), "operation": operation, "release": release}
    return Event(STATE_CHANGE, detail)


def release_state(record: ReleaseRecord | None) -> dict[str, Any] | None:
    """What an event says of a release: its state, never its values."""
    if record is None:
        return None
    return {
        "status": record.status.value,
        "revision": record.revision,
        "chart": record.chart_name,
        "chart_version": record.chart_version,
        "app_version": record.app_version,
        "changed_out_of_band": record.changed_out_of_band,
    }


def error(err: dict[str, Any] | None) -> dict[str, Any] | None:
    """code and message; ``summary`` too when the failure was diagnosed (why, in one line: domain/diagnosis.py)."""
    if not err:
        return None
    summary = summary_of(err)
    return {"code": err.get("code"), "message": err.get("message"), **({"summary": summary} if summary else {})}
