"""The state-change event of every operation that ended, made from the table's stream, off the request path.

Deployed, an EventBridge Pipe per detail type reads the stream, keeps the records ``adapters.stream.PIPES`` filters
and calls ``details`` (its enrichment, ``api/stream.py``) with them; what it returns is delivered to the bus. The
local stack's reader does the same (``devstack/streams.py``). The detail is shaped by ``domain.events``; the release
is the one the operation left, written on its record when it ended; for an operation ended without it (the sweep,
a failed accept, an operation that wrote no record) the release's stored record is read, as it is when it is read.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from chalicelib.adapters.store import Store
from chalicelib.adapters.stream import ended
from chalicelib.domain.events import Event, operation_ended, release_state

log = logging.getLogger(__name__)


class StateChanges:
    def __init__(self, store: Store) -> None:
        self.store = store

    def events(self, records: list[dict[str, Any]]) -> list[Event]:
        """The event of each record that is an operation ending, in the records' order; every other record gives
        none. Each event is also written to the log as one line ``event {json}``."""
        out = []
        for record in records:
            end = ended(record)
            if end is None:
                continue
            release = end.release
            if not end.known and not end.op.release.cluster_wide:
                release = release_state(self.store.get_release(end.op.release))
            event = operation_ended(end.op, release)
            log.info("event %s", json.dumps(event.to_json(), sort_keys=True))
            out.append(event)
        return out

    def details(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The pipes' enrichment: the detail of each operation ending among ``records`` (the pipe's filter chose
        them and gives the detail type)."""
        return [e.detail for e in self.events(records)]
