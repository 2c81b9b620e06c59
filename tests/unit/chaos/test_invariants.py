"""The harness's "no operation ran twice" invariant, on operation lists as the API returns them."""

from __future__ import annotations

from typing import Any

from chaos.invariants import Settled, _ran_once


def op(action: str, status: str, revision: int | None, at: int) -> dict[str, Any]:
    return {
        "action": action,
        "status": status,
        "release": {"name": "c0"},
        "finished_at": f"2026-11-27T21:00:{at:02d}Z",
        "result": {"revision": revision} if revision else None,
    }


def test_an_operation_run_twice_shows_as_a_repeated_revision() -> None:
    ops = [op("install", "succeeded", 1, 1), op("upgrade", "succeeded", 2, 2), op("upgrade", "succeeded", 2, 3)]
    assert _ran_once("c0", Settled(ops), [{"revision": 1}, {"revision": 2}]) != []


def test_a_history_begins_again_after_an_uninstall_even_one_that_ended_failed() -> None:
    """Found by the 30-minute run (seed 17, round 19): an uninstall cut off by the stack's stop after helm finished
    ends failed (Interrupted), yet the release and its history are gone."""
    ops = [
        op("install", "succeeded", 1, 1),
        op("upgrade", "succeeded", 2, 2),
        op("uninstall", "failed", None, 3),
        op("install", "succeeded", 1, 4),
    ]
    assert _ran_once("c0", Settled(ops), [{"revision": 1}]) == []
