"""Live progress while helm runs, and the diagnosis of an operation that failed.

``Watcher.start(op, spec, kubeconfig)`` gives the executor a ``Watch`` for the operation it is about to run. For an
install, upgrade, rollback or test, the watch polls the release's objects beside helm (a daemon thread, every
``poll_s``, the first after half of it, with the operation's own kubeconfig: ``adapters/kube/workloads.py``) and writes the operation's
``progress`` (``domain/diagnosis.progress``) when it changes; the write is conditional on the operation still
running, so it never touches a finished one. Leaving the watch (``with watch:``) stops the thread.

``Watch.explain(exc, error)`` is the executor's failure hook: for a helm failure (``HelmError``/``HelmTimeout``,
not a chart that could not be fetched) it reads the cluster once more, Warning events included, and returns the
error with ``details.diagnosis`` (``domain/diagnosis.diagnose``, bounded). After an ``atomic`` failure helm has
already removed or rolled back what failed, so the diagnosis describes the last observation taken before the
rollback began (``observed_at`` says when) with the events read now. Where the cluster cannot be read,
``diagnosis.error`` says why; the operation fails with helm's message either way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from types import TracebackType
from typing import Any, Protocol

from chalicelib.adapters.kube.release_secrets import Unreadable
from chalicelib.domain import diagnosis as dx
from chalicelib.domain.models import Action, Operation, Spec, iso
from chalicelib.errors import CharthouseError, ChartNotFound, HelmError, HelmMissing

log = logging.getLogger(__name__)

WATCHED = frozenset({Action.INSTALL, Action.UPGRADE, Action.ROLLBACK, Action.TEST})
POLL_S = 1.0  # progress is at most this old (plus one read) while helm waits
MIN_READ_S = 2.0  # an operation run in a request reads the cluster after a failure only with this much time left


class Reader(Protocol):
    def observe(self, namespace: str, name: str, events: bool = False) -> dx.Observation: ...


OpenReader = Callable[[str], AbstractContextManager[Reader]]


class ProgressSink(Protocol):
    def set_progress(self, op_id: str, progress: dict[str, Any]) -> bool: ...


class Watcher:
    """Makes a ``Watch`` per operation. Without a reader (``open_reader`` None) every watch does nothing."""

    def __init__(self, sink: ProgressSink | None, open_reader: OpenReader | None, poll_s: float = POLL_S) -> None:
        self._sink = sink
        self._open = open_reader
        self._poll_s = poll_s

    def start(self, op: Operation, spec: Spec, kubeconfig: str) -> Watch:
        active = self._open is not None and op.action in WATCHED and not op.release.cluster_wide
        watch = Watch(self._sink, self._open, op, spec, kubeconfig, self._poll_s, active)
        if active and not getattr(spec, "dry_run", None):
            watch.begin()
        return watch


NO_WATCHER = Watcher(None, None)


class Watch:
    """One operation's watch: the polling thread and the failure hook (see the module's docstring)."""

    def __init__(
        self,
        sink: ProgressSink | None,
        open_reader: OpenReader | None,
        op: Operation,
        spec: Spec,
        kubeconfig: str,
        poll_s: float,
        active: bool,
    ) -> None:
        self._sink = sink
        self._open = open_reader
        self.op = op
        self._kubeconfig = kubeconfig
        self._poll_s = poll_s
        self.active = active
        self._atomic = bool(getattr(spec, "atomic", False))
        self._wait = bool(getattr(spec, "wait", False)) or bool(getattr(spec, "wait_for_jobs", False))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.before_rollback: dx.Observation | None = None  # the last observation of ours before any rollback
        self.last_progress: dict[str, Any] | None = None

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # ------------------------------------------------------------ progress

    def begin(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=f"watch-{self.op.id[-8:]}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling. Not waited for: a read in flight ends on its own and writes nothing (the flag is checked
        before every write, and a write is conditional on the operation running), so helm's outcome is recorded
        without delay."""
        self._stop.set()

    def _loop(self) -> None:
        assert self._open is not None
        ref, baseline = self.op.release, None
        if self._stop.wait(self._poll_s / 2):
            return  # a quick operation (no wait) ends before the first read: nothing to show, nothing read
        try:
            with self._open(self._kubeconfig) as reader:
                while not self._stop.is_set():
                    try:
                        obs = reader.observe(ref.namespace, ref.name)
                    except Exception as exc:  # noqa: BLE001 - progress is best effort; helm's outcome is what counts
                        log.info("operation %s: progress not read: %s", self.op.id, _reason(exc))
                        self._stop.wait(self._poll_s)
                        continue
                    if baseline is None:  # helm's revision before it wrote its own (or its own, already pending)
                        baseline = obs.number() - (1 if obs.release_status().startswith("pending-") else 0)
                    self._observed(obs, baseline)
                    self._stop.wait(self._poll_s)
        except Exception as exc:  # noqa: BLE001 - a watch that cannot start leaves the operation as it was
            log.info("operation %s: no progress: %s", self.op.id, _reason(exc))

    def _observed(self, obs: dx.Observation, baseline: int) -> None:
        phase = dx.phase_of(self.op.action.value, self._atomic, self._wait, obs, baseline, self.op.release.namespace)
        if obs.number() > baseline and phase != "rolling back":
            self.before_rollback = obs
        current = dx.progress(obs, self.op.release.namespace, phase)
        if current == self.last_progress or self._stop.is_set() or self._sink is None:
            return
        self.last_progress = current
        try:
            self._sink.set_progress(self.op.id, {**current, "observed_at": iso(obs.at)})
        except CharthouseError as exc:
            log.info("operation %s: progress not written: %s", self.op.id, exc.code)

    # ------------------------------------------------------------ the failure hook

    def explain(self, exc: CharthouseError, error: dict[str, Any], deadline: float | None = None) -> dict[str, Any]:
        """``error`` with ``details.diagnosis`` when ``exc`` is a helm failure of a watched operation; else as is."""
        if not self.active or not isinstance(exc, HelmError) or isinstance(exc, (ChartNotFound, HelmMissing)):
            return error
        self.stop()
        try:
            diagnosis = self._diagnosis(error, deadline)
        except Exception as failure:  # noqa: BLE001 - a diagnosis must never hide helm's own error
            log.warning("operation %s: diagnosis failed: %s", self.op.id, _reason(failure))
            diagnosis = _unread(f"the diagnosis failed: {type(failure).__name__}")
        details = {**(error.get("details") or {}), "diagnosis": diagnosis}
        return {**error, "details": details}

    def _diagnosis(self, error: dict[str, Any], deadline: float | None) -> dict[str, Any]:
        ref = self.op.release
        final: dx.Observation | None = None
        why = ""
        if deadline is not None and deadline - time.monotonic() < MIN_READ_S:
            why = "no time was left to read the cluster before answering"
        else:
            assert self._open is not None
            try:
                with self._open(self._kubeconfig) as reader:
                    final = reader.observe(ref.namespace, ref.name, events=True)
            except Exception as exc:  # noqa: BLE001 - named in diagnosis.error
                why = f"the cluster could not be read: {_reason(exc)}"
        base, note = final, None
        if self._atomic and self.before_rollback is not None:
            events = final.events if final else ()
            base = replace(self.before_rollback, events=events, gaps=final.gaps if final else ())
            note = "as seen before helm rolled the failed operation back"
        elif base is None and self.before_rollback is not None:
            base, note = self.before_rollback, "as last seen while helm ran"
        if base is None:
            return _unread(why)
        message = str(error.get("message") or "").split("\n")[0][:200]
        found = dx.diagnose(base, ref.namespace, message)
        found["observed_at"] = iso(base.at)
        if note:
            found["note"] = note
        if why:
            found["error"] = why
        return dx.bound(found)


def _unread(why: str) -> dict[str, Any]:
    return {
        "summary": f"no diagnosis: {why}",
        "error": why,
        "resources": [],
        "pods": [],
        "events": [],
        "hooks": [],
    }


def _reason(exc: BaseException) -> str:
    """A short reason (the readers' errors carry credential-free messages; anything else by its type)."""
    return str(exc)[:200] if isinstance(exc, Unreadable) else type(exc).__name__
