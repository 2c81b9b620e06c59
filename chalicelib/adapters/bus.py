"""State-change events: every finished operation and every reconcile finding goes to EventBridge.

``source: charthouse``; detail types and the schema of ``detail`` are documented in docs/EVENTS.md. Every event is
also written to the log as one line, ``event {json}``: that is where they show locally (the stack's worker and
scheduler logs) and in CloudWatch. Publishing is best effort: an EventBridge failure is logged and never undoes or
fails the operation it reports. No event carries values, credentials or URLs.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.diagnosis import summary_of
from chalicelib.domain.models import Operation, ReleaseRecord, iso, now

log = logging.getLogger(__name__)

SOURCE = "charthouse"
SCHEMA_VERSION = "1"
STATE_CHANGE = "Helm Release State Change"  # an operation on a release ended, or reconcile found a change
DRIFT = "Helm Release Drift Detected"  # live objects differ from the release's manifest (reconcile)
RECONCILED = "Helm Cluster Reconciled"  # a reconcile operation ended (its summary)


class Notifier:
    """Publishes to the bus ``bus`` with ``client`` (an EventBridge client); with no bus, only logs."""

    def __init__(self, client: Any | None, bus: str) -> None:
        self._client = client
        self._bus = bus

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        detail = {"version": SCHEMA_VERSION, "time": iso(now()), **detail}
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

    # ------------------------------------------------------------ what the service reports

    def operation_ended(self, op: Operation, record: ReleaseRecord | None) -> None:
        """An operation ended (succeeded or failed), whoever ended it."""
        operation = {
            "id": op.id,
            "action": op.action.value,
            "status": op.status.value,
            "result": op.result,
            "error": _error(op.error),
        }
        if op.release.cluster_wide:
            self.publish(RECONCILED, {"trigger": "operation", "cluster": op.release.cluster, "operation": operation})
            return
        self.publish(
            STATE_CHANGE,
            {"trigger": "operation", **op.release.to_json(), "operation": operation, "release": release_state(record)},
        )

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


def release_state(record: ReleaseRecord | None) -> dict[str, Any] | None:
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


def _error(error: dict[str, Any] | None) -> dict[str, Any] | None:
    """code and message; ``summary`` too when the failure was diagnosed (why, in one line: domain/diagnosis.py)."""
    if not error:
        return None
    summary = summary_of(error)
    return {"code": error.get("code"), "message": error.get("message"), **({"summary": summary} if summary else {})}
