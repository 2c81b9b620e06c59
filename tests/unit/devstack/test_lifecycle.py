"""One stack per state dir (a second start waits, then says so in one line), and killing a process with everything
below it, a child in a session of its own included (as the worker's helm)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devstack.lifecycle import StackBusy, StateLock, descendants, kill_tree


def test_a_second_lock_on_the_state_dir_waits_then_names_the_holder(tmp_path: Path) -> None:
    first = StateLock(tmp_path)
    first.acquire(0)
    with pytest.raises(StackBusy) as err:
        StateLock(tmp_path).acquire(0.3)
    assert f"pid {os.getpid()}" in str(err.value) and "\n" not in str(err.value)
    first.release()
    second = StateLock(tmp_path)
    second.acquire(0)  # free again once the first let go
    second.release()


# the child starts a grandchild in a new session (as the helm adapter starts helm), prints its pid, and sleeps
SPAWNER = (
    "import subprocess, sys, time\n"
    "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], start_new_session=True)\n"
    "print(p.pid, flush=True)\n"
    "time.sleep(60)\n"
)


def test_kill_tree_kills_a_grandchild_in_its_own_session(tmp_path: Path) -> None:
    parent = subprocess.Popen([sys.executable, "-c", SPAWNER], stdout=subprocess.PIPE, start_new_session=True)
    assert parent.stdout is not None
    grandchild = int(parent.stdout.readline())
    assert grandchild in descendants(parent.pid)
    kill_tree(parent.pid)
    parent.wait(timeout=10)
    for _ in range(100):  # the orphan is reaped by init (or the nearest subreaper): wait until it is gone
        try:
            state = Path(f"/proc/{grandchild}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            break
        if state == "Z":
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the grandchild outlived kill_tree")
