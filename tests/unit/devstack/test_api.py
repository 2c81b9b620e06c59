"""The local API server (``devstack.api``): Chalice's own local server in N processes on one port, a backlog for
bursts, and no process left behind when it is stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from devstack import api
from devstack.stack import ROOT, free_port

START_S = 60


def test_the_server_keeps_a_backlog_for_bursts() -> None:
    server = api.server_class()
    assert server.request_queue_size == api.BACKLOG >= 64  # socketserver's default is 5
    assert server.daemon_threads  # Chalice's threaded server underneath


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper has stopped)."""
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def health(port: int) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=10) as resp:
        return dict(json.loads(resp.read()))


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process tree from /proc")
def test_two_processes_serve_one_port_and_stop_together() -> None:
    port = free_port()
    env = {**os.environ, "CHARTHOUSE_STAGE": "test"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack.api", "--stage", "test", "--port", str(port), "--processes", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + START_S
        while True:
            try:
                health(port)
                break
            except OSError:
                assert proc.poll() is None, "the server exited"
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.2)
        children = children_of(proc.pid)
        assert len(children) == 1  # one forked child beside the parent
        with ThreadPoolExecutor(16) as pool:  # more connections at once than socketserver's default backlog
            answers = list(pool.map(lambda _: health(port), range(48)))
        assert len(answers) == 48 and all(a == answers[0] for a in answers)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        deadline = time.monotonic() + 10
        while any(alive(c) for c in children):
            assert time.monotonic() < deadline, "a child outlived its parent"
            time.sleep(0.1)
    finally:
        if proc.poll() is None:
            proc.kill()
