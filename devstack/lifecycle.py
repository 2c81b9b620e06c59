"""The local stack's processes, from start to a clean stop: one stack per state dir at a time (``StateLock``, which
a second start waits for while the first is still stopping), and stopping a child with everything it started
(``kill_tree``: helm runs in a process group of its own, so killing the worker's group alone would leave it running).

``adopt_orphans`` makes this process the reaper of orphans below it (``PR_SET_CHILD_SUBREAPER``): a helm whose
worker was killed is then still ours to find and stop (``orphans``).
"""

from __future__ import annotations

import ctypes
import fcntl
import logging
import os
import signal
import time
from pathlib import Path
from typing import IO

log = logging.getLogger("devstack")
PR_SET_CHILD_SUBREAPER = 36
POLL_S = 0.1


class StackBusy(RuntimeError):
    """Another stack holds the state dir (running, or still stopping after the wait)."""


class StateLock:
    """An exclusive ``flock`` on ``<state_dir>/stack.lock`` holding the owner's pid; dies with its holder."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "stack.lock"
        self._fh: IO[str] | None = None

    def holder(self) -> int | None:
        """The pid written by the stack holding the lock (best effort: the file may be between writes)."""
        try:
            return int(self.path.read_text().strip())
        except (OSError, ValueError):
            return None

    def acquire(self, wait_s: float) -> None:
        """Take the lock, waiting up to ``wait_s`` for a stack that is still stopping; ``StackBusy`` after that."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")  # noqa: SIM115 - held until release()
        deadline = time.monotonic() + wait_s
        told = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    fh.close()
                    raise StackBusy(
                        f"another stack (pid {self.holder() or '?'}) is still using {self.path.parent}; "
                        "stop it first (Ctrl-C in its terminal)"
                    ) from None
                if not told:
                    log.info("waiting up to %.0f s for the stack still stopping on %s", wait_s, self.path.parent)
                    told = True
                time.sleep(POLL_S)
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()  # closing drops the flock
            self._fh = None


def parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def children_of(pid: int) -> list[int]:
    """Live direct children of ``pid`` (a /proc walk: helm runs in a session of its own, not in the group)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and parent_of(int(entry.name)) == pid:
            found.append(int(entry.name))
    return found


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid``, parents before children."""
    out: list[int] = []
    todo = [pid]
    while todo:
        kids = children_of(todo.pop())
        out += kids
        todo += kids
    return out


def _signal(pid: int, sig: signal.Signals) -> None:
    """Signal ``pid``'s process group if it leads one, else the process alone."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and everything below it, each with its process group (the children first, so none is
    reparented and missed meanwhile: a stopped parent cannot start new ones)."""
    _signal(pid, signal.SIGSTOP)
    below = descendants(pid)
    for child in reversed(below):
        _signal(child, signal.SIGKILL)
    _signal(pid, signal.SIGKILL)


def adopt_orphans() -> bool:
    """Become the reaper of orphaned descendants (Linux); False where that is not available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def orphans(known: set[int]) -> list[int]:
    """Children of this process that it did not start itself (adopted after their parent died)."""
    return [pid for pid in children_of(os.getpid()) if pid not in known]


def reap(pid: int, timeout_s: float = 2.0) -> None:
    """Wait for an adopted child so that it leaves no zombie (a Popen we own is reaped by its wait instead)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        time.sleep(POLL_S / 2)
