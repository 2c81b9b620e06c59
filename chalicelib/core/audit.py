"""The audit log: every mutating call and every refused call, who/what/when/from where/result/operation.

Entries hold no request body and no query string (they could carry values or credentials): the method, the route,
the cluster/namespace the request resolved to (from its path, query or body, as its route declares: so the compat
doors' entries have them too), the release, the caller, the status, the real outcome (``denied`` for a refusal
whatever its HTTP status: helm-engine refuses with a 200), the error's code and why, and the operation id. Queried with
``GET /v1/audit?cluster=&namespace=&release=&principal=&since=``, newest first.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime
from typing import Any

from chalicelib.adapters.store import Store
from chalicelib.domain import validate as v
from chalicelib.domain.models import iso, now
from chalicelib.errors import CharthouseError, InvalidInput

log = logging.getLogger(__name__)
FILTERS = ("cluster", "namespace", "release", "principal", "result")
RESULTS = ("ok", "error", "denied")


class AuditLog:
    def __init__(self, store: Store, keep_days: int) -> None:
        self._store = store
        self._keep_s = keep_days * 86400

    def record(
        self,
        *,
        principal: str,
        method: str,
        route: str,
        path: str,
        cluster: str | None,
        namespace: str | None,
        release: str | None,
        status: int,
        operation_id: str | None,
        source_ip: str | None,
        user_agent: str | None,
        error_code: str | None,
        result: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Best effort: an audit write that fails is logged, and never turns a done call into an error."""
        entry = {
            "id": f"au-{uuid.uuid4().hex}",
            "at": now(),
            "principal": principal,
            "method": method,
            "route": route,
            "path": path,
            "cluster": cluster,
            "namespace": namespace,
            "release": release,
            "status": status,
            "result": result if result in RESULTS else _result(status),
            "operation_id": operation_id,
            "error_code": error_code,
            "reason": (reason or "")[:300] or None,
            "source_ip": source_ip,
            "user_agent": (user_agent or "")[:200] or None,
        }
        entry = {k: val for k, val in entry.items() if val is not None}
        try:
            self._store.put_audit(entry, int(time.time()) + self._keep_s)
        except CharthouseError:
            log.warning("audit entry for %s %s (%s) could not be written", method, path, principal)

    def query(self, query: dict[str, str], limit: int) -> tuple[list[dict[str, Any]], str | None]:
        filters = {k: query[k] for k in FILTERS if query.get(k)}
        for key, value in filters.items():
            v.text(key, value, 512)
        v.choice("result", filters.get("result"), RESULTS)
        items, token = self._store.list_audit(_since(query.get("since")), filters, limit, query.get("next_token"))
        return [{**i, "at": iso(i["at"])} for i in items], token


def _result(status: int) -> str:
    if status in (401, 403):
        return "denied"
    return "ok" if status < 400 else "error"


def _since(raw: str | None) -> float:
    """An ISO 8601 time (``2026-11-21T10:00:00Z``) or seconds since the epoch; default: the last 24 hours."""
    if not raw:
        return now() - 86400
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise InvalidInput("since", "must be an ISO 8601 time such as 2026-11-21T10:00:00Z, or epoch seconds") from exc
