"""Scheduled jobs. In Lambda, EventBridge fires them; the local stack calls the same handlers on a timer."""

from __future__ import annotations

import logging
from typing import Any

from chalice.app import Blueprint, Rate

from . import deps

log = logging.getLogger(__name__)
bp = Blueprint(__name__)


@bp.schedule(Rate(1, unit=Rate.MINUTES))
def sweep_stale_leases(event: Any) -> dict[str, Any]:
    """Fail operations whose worker was lost and queue recovery of releases left pending (``recovery.py``)."""
    report = deps.get().recovery.sweep()
    return {"leases_expired": report.leases_expired, "operations_failed": report.operations_failed,
            "unlocks_queued": report.unlocks_queued}  # fmt: skip
