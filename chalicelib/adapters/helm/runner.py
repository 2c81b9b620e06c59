"""The one subprocess call of the service: ``run`` starts the helm binary with an argv list (never a shell) in a
``Workdir``, under an explicit timeout (capped by ``kill_by``), logs one redacted line, and turns a non-zero exit into
a typed error (``failures.classify``)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from chalicelib.domain import redact
from chalicelib.errors import HelmMissing, HelmTimeout

from .failures import classify
from .workdir import Workdir

# One logger for the whole adapter, named after the package: bench/workerlog.py reads its "helm ... rc=" lines.
log = logging.getLogger("chalicelib.adapters.helm")

KILL_MARGIN_S = 30  # helm reports its own --timeout first; we kill it only if it hangs past that
QUICK_TIMEOUT_S = 60  # read-only calls (status, history, get)

_KILL_BY: ContextVar[float | None] = ContextVar("helm_kill_by", default=None)


@contextmanager
def kill_by(deadline: float) -> Iterator[None]:
    """Within this block no helm process outlives ``deadline`` (``time.monotonic()``): each is stopped at its own
    timeout or at the deadline, whichever comes first (an operation run inside a request that must answer in time)."""
    token = _KILL_BY.set(deadline)
    try:
        yield
    finally:
        _KILL_BY.reset(token)


@dataclass(frozen=True)
class Completed:
    stdout: str
    stderr: str
    seconds: float


def run(binary: str, args: list[str], workdir: Workdir, timeout_s: float, secrets: tuple[str, ...] = ()) -> Completed:
    """Run ``binary args`` in ``workdir``; raise a typed error on failure (``secrets`` are scrubbed from its
    message: helm may echo values). The only subprocess call."""
    argv = [binary, *args]
    started = time.monotonic()
    deadline = _KILL_BY.get()
    if deadline is not None:
        timeout_s = max(0.0, min(timeout_s, deadline - started))
    try:
        proc = subprocess.Popen(
            argv,
            cwd=workdir.path,
            env=workdir.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, so a timeout kills helm's children too
        )
    except FileNotFoundError as exc:
        raise HelmMissing(f"helm binary not found at {binary}") from exc
    except PermissionError as exc:
        raise HelmMissing(f"helm binary at {binary} is not executable") from exc
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise HelmTimeout(f"helm {args[0]} did not finish within {int(timeout_s)} s and was stopped") from exc
    seconds = time.monotonic() - started
    stdout, stderr = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    log.info("helm %s rc=%s %.2fs", " ".join(loggable(args)), proc.returncode, seconds)
    if proc.returncode != 0:
        raise classify(args[0], proc.returncode, stderr, secrets)
    return Completed(stdout, stderr, seconds)


def loggable(args: list[str]) -> list[str]:
    """argv holds no values or credentials by construction; redact anyway (URL query strings)."""
    return [redact.redact(a) for a in args]


def pull(binary: str, argv: list[str], workdir: Workdir) -> None:
    """``helm pull`` (``argv.pull_argv``) into the work directory, with the longer timeout a download needs."""
    run(binary, argv, workdir, QUICK_TIMEOUT_S * 3)
