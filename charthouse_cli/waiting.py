"""Waiting for an operation to end, with progress on stderr.

On a terminal: one spinner line, redrawn in place, with the action, the release, the operation's status (and
phase, when the service reports one) and the elapsed seconds. Elsewhere (CI logs, pipes): one plain line each
time the status or phase changes. Nothing is written to stdout, so ``-o json`` output stays clean.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import IO, Any

from .diagnosis import progress_line
from .errors import OperationFailed
from .http import ApiClient, path

TERMINAL = ("succeeded", "failed")
SPINNER = "|/-\\"
TICK_S = 0.1


def describe(op: dict[str, Any]) -> str:
    rel = op.get("release") or {}
    target = "/".join(str(rel.get(k, "?")) for k in ("cluster", "namespace", "name"))
    return f"{op.get('action', 'operation')} {target}"


def state(op: dict[str, Any], width: int = 160) -> str:
    """``running (waiting, 1/3 ready; Deployment web: 0/2 available)``: the status and, while it runs, the
    service's progress (``diagnosis.progress_line``), cut to ``width`` characters."""
    live = progress_line(op.get("progress")) if op.get("status") == "running" else ""
    phase = live or op.get("phase")
    text = f"{op.get('status')}" + (f" ({phase})" if phase else "")
    return text if len(text) <= width else text[: width - 1] + "…"


class Progress:
    def __init__(self, stream: IO[str], tty: bool | None = None) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self._last = ""
        self._frame = 0
        self._width = 0

    def update(self, op: dict[str, Any], elapsed: float) -> None:
        now = state(op)
        if self.tty:
            self._frame += 1
            line = f"{SPINNER[self._frame % len(SPINNER)]} {describe(op)}: {now}  {elapsed:.0f}s"
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
        elif now != self._last:
            self.stream.write(f"{describe(op)}: {now} ({elapsed:.0f}s) [{op.get('id')}]\n")
        self._last = now
        self.stream.flush()

    def finish(self) -> None:
        if self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()


def _pause(
    seconds: float,
    start: float,
    op: dict[str, Any],
    progress: Progress | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> None:
    """Sleep until the next poll; on a terminal in short ticks, so the spinner and the seconds keep moving."""
    if progress is None or not progress.tty:
        sleep(seconds)
        return
    until = clock() + seconds
    while (left := until - clock()) > 0:
        sleep(min(TICK_S, left))
        progress.update(op, clock() - start)


def wait(
    client: ApiClient,
    op: dict[str, Any],
    timeout: float,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll ``GET /v1/operations/{id}`` until the operation ends; returns it (succeeded or failed).

    Polls every 0.25 s at first, backing off to 2 s. Past ``timeout`` seconds raises :class:`OperationFailed`
    naming the operation (it goes on on the server; ``charthouse operation wait ID`` picks it up again).
    """
    start = clock()
    interval = 0.25
    try:
        while True:
            if progress:
                progress.update(op, clock() - start)
            if op.get("status") in TERMINAL:
                return op
            if clock() - start >= timeout:
                raise OperationFailed(
                    f"{describe(op)}: still {state(op)} after {timeout:.0f} s; "
                    f"follow it with: charthouse operation wait {op.get('id')}",
                    op,
                )
            _pause(interval, start, op, progress, clock, sleep)
            interval = min(interval * 1.5, 2.0)
            op = client.get(path("v1", "operations", str(op["id"])))
    finally:
        if progress:
            progress.finish()
