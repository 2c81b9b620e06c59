"""Reconcile findings: what a live release compared with the stored record is (installed, upgraded, rolled back,
deleted...)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core.reconcile import finding_kind
from chalicelib.domain.models import ReleaseRecord, ReleaseRef, ReleaseStatus


def record(revision: int, status: str = "deployed") -> ReleaseRecord:
    return ReleaseRecord(
        ReleaseRef("c", "ns", "r"),
        ReleaseStatus(status),
        revision,
        "demo",
        "0.1.0",
        "1",
        "",
        "",
        "",
        "",
        "",
        {},
        "install",
        "op-1",
        0,
        0.0,
    )


@pytest.mark.parametrize(
    ("live", "stored", "description", "kind"),
    [
        (None, None, "", None),
        (None, record(2), "", "deleted"),
        (None, record(2, "uninstalled"), "", None),
        ({"revision": "1", "status": "deployed"}, None, "Install complete", "installed"),
        ({"revision": "2", "status": "deployed"}, record(2), "Upgrade complete", None),
        ({"revision": "3", "status": "deployed"}, record(2), "Upgrade complete", "upgraded"),
        ({"revision": "3", "status": "deployed"}, record(2), "Rollback to 1", "rolled-back"),
        ({"revision": "2", "status": "failed"}, record(2), "", "status-changed"),
        ({"revision": "2", "status": "uninstalled"}, record(2), "Uninstallation complete", "uninstalled"),
        ({"revision": "1", "status": "deployed"}, record(4), "Install complete", "installed"),
    ],
)
def test_finding_kind(
    live: dict[str, Any] | None, stored: ReleaseRecord | None, description: str, kind: str | None
) -> None:
    assert finding_kind(live, stored, description) == kind
