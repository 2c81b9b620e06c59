"""Publishing state-change events to EventBridge: every reconcile finding (from the worker that runs the reconcile)
and, in the local stack, the operations' ends its stream reader shapes (``devstack/streams.py``; deployed, an
EventBridge Pipe delivers those: docs/EVENTS.md).

``source: charthouse``; detail types and the schema of ``detail`` are in ``domain/events.py`` and docs/EVENTS.md.
Every event is also written to the log as one line, ``event {json}``: that is where they show locally (the stack's
worker and streams logs) and in CloudWatch. Publishing is best effort: an EventBridge failure is logged and never undoes or
fails the operation it reports. No event carries values, credentials or URLs.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.events import DRIFT, RECONCILED, SCHEMA_VERSION, SOURCE, STATE_CHANGE, release_state
from chalicelib.domain.models import ReleaseRecord, iso, now

log = logging.getLogger(__name__)
__all__ = ["DRIFT", "RECONCILED", "SOURCE", "STATE_CHANGE", "Notifier"]


class Notifier:
    """Publishes to the bus ``bus`` with ``client`` (an EventBridge client); with no bus, only logs."""

    def __init__(self, client: Any | None, bus: str) -> None:
        self._client = client
        self._bus = bus

    def publish(self, detail_type: str, detail: dict[str, Any], logged: bool = False) -> None:
        """One event (``version`` and ``time`` added unless the detail has them); ``logged``: its log line was
        written already (the stream's events: ``core/state_changes.py`` writes it where it shapes them)."""
        detail = {"version": SCHEMA_VERSION, "time": iso(now()), **detail}
        if not logged:
            log.info(
                "event %s", json.dumps({"source": SOURCE, "detail-type": detail_type, "detail": detail}, sort_keys=True)
            )
        if self._client is None or not self._bus:
            return
        entry = {"Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail), "EventBusName": self._bus}
        try:
            resp = self._client.put_events(Entries=[entry])
        except (BotoCoreError, ClientError) as exc:
            log.warning("event %s not published: %s", detail_type, type(exc).__name__)
            return
        if resp.get("FailedEntryCount"):
            codes = [e.get("ErrorCode") for e in resp.get("Entries", []) if e.get("ErrorCode")]
            log.warning("event %s not published: %s", detail_type, ",".join(codes) or "failed")

    # ------------------------------------------------------------ what reconcile reports (an operation's end comes
    # from the table's stream: core/state_changes.py)

    def reconcile_finding(self, record: ReleaseRecord, finding: dict[str, Any]) -> None:
        self.publish(
            STATE_CHANGE,
            {"trigger": "reconcile", **record.ref.to_json(), "finding": finding, "release": release_state(record)},
        )

    def drift_found(self, record: ReleaseRecord, drift: dict[str, Any], correction: str | None) -> None:
        objects = [
            {k: r.get(k) for k in ("api_version", "kind", "name", "namespace", "state")}
            for r in drift.get("resources", [])
            if r.get("state") != "in-sync"
        ]
        self.publish(
            DRIFT,
            {
                "trigger": "reconcile",
                **record.ref.to_json(),
                "revision": record.revision,
                "objects": objects,
                "correction_operation_id": correction,
            },
        )
