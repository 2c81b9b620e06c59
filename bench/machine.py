"""The machine and versions a run measured: recorded with every result, since figures mean nothing without them."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from devstack.kube import binaries
from devstack.stack import ROOT


def _out(argv: list[str], cwd: Path = ROOT) -> str:
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return ""
    return (done.stdout or done.stderr).strip()


def memory_mib() -> int:
    """MemTotal from /proc/meminfo, in MiB (0 when unreadable)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def kube_apiserver_version() -> str:
    try:
        return _out([str(binaries()[1]), "--version"])
    except FileNotFoundError:
        return "missing"


def other_load() -> dict[str, Any]:
    """The load average and the busiest processes that are not this run's: the machine is shared."""
    top = _out(["ps", "-eo", "pcpu,comm", "--sort=-pcpu", "--no-headers"]).splitlines()[:5]
    return {"loadavg_1_5_15": list(os.getloadavg()), "top_processes": [t.strip() for t in top]}


def describe(helm_binary: Path) -> dict[str, Any]:
    """Everything the results file records about where and when it was measured."""
    dirty = bool(_out(["git", "status", "--porcelain", "--untracked-files=no"]))
    return {
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "memory_mib": memory_mib(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "helm": _out([str(helm_binary), "version", "--template", "{{.Version}}"]),
        "helm_binary": str(helm_binary.relative_to(ROOT)) if helm_binary.is_relative_to(ROOT) else str(helm_binary),
        "kube_apiserver": kube_apiserver_version(),
        "git_commit": _out(["git", "rev-parse", "HEAD"]),
        "git_worktree_dirty": dirty,  # others edit the shared worktree: a dirty tree is likely, and said
        "load_at_start": other_load(),
    }
