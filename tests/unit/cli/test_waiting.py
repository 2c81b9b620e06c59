"""Waiting for an operation: the timeout, progress on a terminal and elsewhere, the spinner between polls."""

from __future__ import annotations

import io
from typing import Any

import pytest

from charthouse_cli import waiting
from tests.unit.cli.fakeapi import op


def test_wait_gives_up_after_its_timeout() -> None:
    class Client:
        def get(self, path: str) -> dict[str, Any]:
            return op("running")

    clock = iter(range(100))
    with pytest.raises(Exception, match="operation wait op-1"):
        waiting.wait(Client(), op("queued"), 5, None, clock=lambda: float(next(clock)), sleep=lambda s: None)  # type: ignore[arg-type]


def test_progress_spins_on_a_terminal_and_prints_changes_elsewhere() -> None:
    tty = io.StringIO()
    p = waiting.Progress(tty, tty=True)
    p.update(op("queued"), 0.0)
    p.update(op("running", phase="helm upgrade"), 3.2)
    p.finish()
    assert "\r" in tty.getvalue() and "running (helm upgrade)  3s" in tty.getvalue()
    plain = io.StringIO()
    p = waiting.Progress(plain, tty=False)
    for status in ("queued", "queued", "running", "succeeded"):
        p.update(op(status), 1.0)
    assert [line.split(": ")[1].split(" (")[0] for line in plain.getvalue().splitlines()] == [
        "queued",
        "running",
        "succeeded",
    ]


def test_the_spinner_keeps_moving_between_polls() -> None:
    class Client:
        def __init__(self) -> None:
            self.polls = 0

        def get(self, path: str) -> dict[str, Any]:
            self.polls += 1
            return op("succeeded" if self.polls == 2 else "running")

    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    tty = io.StringIO()
    client = Client()
    done = waiting.wait(
        client,
        op("queued"),
        60,
        waiting.Progress(tty, tty=True),
        clock=lambda: now[0],  # type: ignore[arg-type]
        sleep=sleep,
    )
    assert done["status"] == "succeeded" and client.polls == 2
    frames = tty.getvalue().split("\r")
    assert len(frames) > 5  # redrawn every tick (0.1 s), not only at each poll
    assert frames[-1] == ""  # the line is cleared at the end
