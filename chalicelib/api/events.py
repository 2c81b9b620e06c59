"""Scheduled jobs. In Lambda, EventBridge fires them; the local stack calls the same handlers on a timer."""

from __future__ import annotations

import logging
from typing import Any

from chalice.app import Blueprint, Rate

from chalicelib import bootstrap
from chalicelib.config import RECONCILE_EVERY_MIN
from chalicelib.errors import CharthouseError

log = logging.getLogger(__name__)
bp = Blueprint(__name__)


@bp.schedule(Rate(1, unit=Rate.MINUTES))
def sweep_stale_leases(event: Any) -> dict[str, Any]:
    """Fail operations whose worker was lost and queue recovery of releases left pending (``recovery.py``)."""
    report = bootstrap.get().recovery.sweep()
    return {
        "leases_expired": report.leases_expired,
        "operations_failed": report.operations_failed,
        "unlocks_queued": report.unlocks_queued,
    }


@bp.schedule(Rate(RECONCILE_EVERY_MIN, unit=Rate.MINUTES))
def reconcile_clusters(event: Any) -> dict[str, Any]:
    """Queue a reconcile of every registered cluster (``reconcile.py``); each runs as its own operation, so one
    unreachable cluster fails alone. The deployed rate is set per stage by the template (deploy/merge_template.py).
    The same tick syncs every runtime whose interval has passed (``runtimes.py``): a new commit is noticed here."""
    d = bootstrap.get()
    out = d.reconciler.schedule_all()
    try:
        out["runtimes"] = d.runtimes.tick()
    except CharthouseError as exc:  # the store failed: the reconcile was queued all the same
        log.warning("runtimes not synced: %s", exc.message)
    return out


@bp.schedule(Rate(6, unit=Rate.HOURS))
def refresh_repositories(event: Any) -> dict[str, Any]:
    """Fetch every HTTP repository's index again (like ``helm repo update``); one failure does not stop the rest."""
    repos = bootstrap.get().catalog.repos
    refreshed, failed = [], []
    for repo in repos.all():
        if repo.kind != "http":
            continue
        try:
            repos.refresh(repo.name)
            refreshed.append(repo.name)
        except CharthouseError as exc:
            log.warning("repository %s not refreshed: %s", repo.name, exc.message)
            failed.append(repo.name)
    return {"refreshed": refreshed, "failed": failed}
