"""The local stand-in for EventBridge schedules: call the app's scheduled handlers on a timer.

Run as ``python -m devstack.scheduler`` from the project directory with the stage's environment;
``CHARTHOUSE_LOCAL_SWEEP_EVERY`` sets the sweep's period in seconds (default 60, as deployed),
``CHARTHOUSE_LOCAL_RECONCILE_EVERY`` the reconcile's (default 300; deployed, each stage sets its own rate).

When it starts, it first recovers the operations the previous run of the stack left unfinished (accepted before
``CHARTHOUSE_LOCAL_STARTED_AT``, epoch seconds: ``Recovery.interrupted``), then sweeps once, then keeps the timers.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("devstack.scheduler")
TICK_S = 0.2


def scheduled_event(rule: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "local",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "resources": [rule],
        "detail": {},
    }


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="scheduler %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    sys.path.insert(0, os.getcwd())
    importlib.import_module("app")  # registers the blueprints
    from chalicelib import bootstrap
    from chalicelib.api.events import reconcile_clusters, sweep_stale_leases
    from devstack.worker import LocalContext

    started_at = float(os.environ.get("CHARTHOUSE_LOCAL_STARTED_AT", "0"))
    if started_at:
        try:
            bootstrap.get().recovery.interrupted(started_at)
        except Exception:  # noqa: BLE001 - the sweep recovers them later (their leases expire)
            log.exception("recovering the operations of the previous run failed")

    jobs: list[tuple[str, Callable[..., Any], float]] = [
        ("sweep", sweep_stale_leases, float(os.environ.get("CHARTHOUSE_LOCAL_SWEEP_EVERY", "60"))),
        ("reconcile", reconcile_clusters, float(os.environ.get("CHARTHOUSE_LOCAL_RECONCILE_EVERY", "300"))),
    ]
    due = {name: time.monotonic() + (0 if name == "sweep" else every) for name, _, every in jobs}
    while not stop.wait(TICK_S):
        for name, handler, every in jobs:
            if time.monotonic() < due[name]:
                continue
            due[name] = time.monotonic() + every
            try:
                handler(scheduled_event(f"local/{name}"), LocalContext(60))
            except Exception:  # noqa: BLE001 - as in Lambda: the next tick tries again
                log.exception("%s failed", name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
