"""The operation pipeline: ``Intake.accept`` (API side), ``Executor.execute`` (worker side, one handler per
action) and the ``Announcer`` that tells listeners when an operation ended.

accept:  an Idempotency-Key seen before answers with its operation (same request) or 422 (another request);
         otherwise operation record (queued) + the release's lease + the key, in one conditional transaction;
         then one SQS message. If the message cannot be sent, the operation ends ``failed`` and the lease is freed.
execute: credentials first (Secrets Manager down: the message is retried, the operation stays queued), then
         queued -> running (conditional: a redelivered message finds it running or done and does nothing), helm,
         then ``service.snapshot`` reads helm's state back and one transaction records the outcome and frees the
         lease. Every error, expected or not, ends the operation ``failed`` with a reason.
here:    ``Prefer: wait=N`` with a helm timeout that fits in N (``fits_inline``): accepted already ``running``
         (operation + lease + key, one transaction: no separate running mark), without a message, and run by
         ``Executor.execute_here`` in the API function under the same lease, recorded the same way; helm is
         stopped in time to answer. What the request's checks read (``Basis``: the release record, the cluster, the
         masking rules joined to the spec) is conditioned on in the accept transaction and not read again. Could
         not start (Secrets Manager down): put back to ``queued`` and the message is sent after all.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from chalicelib.adapters.helm import KILL_MARGIN_S, kill_by
from chalicelib.adapters.queue import Message, SqsQueue
from chalicelib.adapters.store import IdempotentReplay, Store
from chalicelib.config import WORKER_MARGIN_S
from chalicelib.core.diagnosis import NO_WATCHER, Watcher
from chalicelib.core.service import ReleaseService, error_json
from chalicelib.domain.models import (
    Action,
    ChartSpec,
    ClusterInfo,
    Idempotency,
    InstallSpec,
    Operation,
    OperationQuery,
    OperationStatus,
    ReconcileSpec,
    ReleaseRecord,
    ReleaseRef,
    ReleaseTestSpec,
    Revision,
    RollbackSpec,
    Spec,
    UninstallSpec,
    UnlockSpec,
    UpgradeSpec,
    now,
    spec_summary,
)
from chalicelib.errors import (
    CharthouseError,
    ClusterUnreachable,
    Conflict,
    DependencyUnavailable,
    HelmError,
    InvalidInput,
    OperationNotFound,
)

log = logging.getLogger(__name__)


class ClusterJob(Protocol):
    """The worker side of a cluster-wide operation (``reconcile.Reconciler.run``)."""

    def __call__(self, kubeconfig: str, op: Operation, spec: ReconcileSpec) -> dict[str, Any]: ...


# a listener gets the operation as stored and, when whoever ended it wrote it, the release record it left (None: the
# listener reads the store if it needs the record)
Listener = Callable[[Operation, ReleaseRecord | None], None]


class Announcer:
    """Tells the listeners of every operation that ended, whoever ended it (worker, sweep, a failed accept):
    CloudFormation answers (``custom_resource.py``) and runtimes (the state-change event is made from the table's
    stream, off the request path: ``state_changes.py``). Listeners subscribe once, when the object graph is built;
    a listener's failure is logged only."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def ended(self, op_id: str, stored: Operation | None = None, record: ReleaseRecord | None = None) -> None:
        """Tell the listeners that an operation ended; they see it as stored (the verdict that won): ``stored``
        when the caller knows its own write won, else read back; ``record`` when the caller wrote the release's."""
        if not self._listeners:
            return
        try:
            op = stored or self._store.get_operation(op_id)
        except CharthouseError:
            log.warning("operation %s ended, but could not be read back to announce it", op_id)
            return
        if op is None or not op.status.terminal:
            return
        for listener in self._listeners:
            try:
                listener(op, record)
            except Exception:  # noqa: BLE001 - an event or an answer that failed must not undo the operation
                log.exception("a listener failed on operation %s", op_id)


@dataclass(frozen=True)
class Basis:
    """What a request's checks read before it accepted an operation to run in the request, kept exact by
    ``conditions`` in the accept transaction (``Store.release_as_read``, ``cluster_as_read``, ...): the run uses
    it instead of reading again under the lease. ``record``: the release's record (None: there was none);
    ``cluster``: the cluster as registered, whose added masking rules, with the chart repository's, the hall
    joined to the spec already."""

    record: ReleaseRecord | None
    cluster: ClusterInfo
    conditions: tuple[dict[str, Any], ...] = ()


class Intake:
    """The API side: a request becomes a queued operation holding its release's lease."""

    def __init__(self, store: Store, queue: SqsQueue, lease_grace_s: int, announcer: Announcer) -> None:
        self.store = store
        self.queue = queue
        self.lease_grace_s = lease_grace_s
        self.announcer = announcer

    def runs_here(self, op: Operation) -> bool:
        """Whether ``op`` is one accepted in this container with ``enqueue=False`` (already ``running``) and not
        yet run: the caller runs it with ``Executor.execute_here``. False for an earlier request's operation
        answered for a replayed key."""
        return op.status is OperationStatus.RUNNING and _HERE.holds(op.id)

    def replay(self, idem: Idempotency | None) -> Operation | None:
        """The operation an earlier request with this key created; 422 if that request was a different one."""
        if idem is None:
            return None
        prior = self.store.get_idempotency(idem.key)
        if prior is None:
            return None
        request_hash, op_id = prior
        if request_hash != idem.request_hash:
            raise InvalidInput("Idempotency-Key", "was already used with a different request")
        return self.store.get_operation(op_id)

    def accept(
        self,
        action: Action,
        ref: ReleaseRef,
        spec: Spec,
        idem: Idempotency | None = None,
        attachments: tuple[dict[str, Any], ...] = (),
        enqueue: bool = True,
        conditions: tuple[dict[str, Any], ...] = (),
    ) -> Operation:
        """A new queued operation holding the release's lease (or, for a replayed Idempotency-Key, the earlier
        one). ``enqueue=False`` accepts it already ``running`` for the caller to run (``Executor.execute_here``;
        ``runs_here`` tells it from a replay) in the same transaction: no separate running mark. ``conditions``
        (``ConditionCheck`` items) are checked in that transaction: ``StaleRead`` when one no longer holds."""
        op = Operation.new(action, ref, spec_summary(spec), tuple(str(a["sk"]) for a in attachments))
        if not enqueue:
            op = replace(op, status=OperationStatus.RUNNING, started_at=op.created_at)
        message = Message(op.id, action, spec)
        message.to_body()  # size check before anything is written
        try:
            op = self.store.accept(
                op,
                lease_s=spec.timeout_s + KILL_MARGIN_S + self.lease_grace_s,
                idem=idem,
                attachments=attachments,
                conditions=conditions,
            )
        except IdempotentReplay as exc:
            prior = self.replay(idem)  # a concurrent twin won the race: answer with its operation
            if prior is None:
                raise Conflict("a request with this Idempotency-Key is being accepted right now; retry") from exc
            return prior
        if not enqueue:
            _HERE.add(op.id)
            log.info("accepted %s %s for %s, to run in this request", op.id, action.value, ref.key)
            return op
        self.enqueue(op, spec)
        log.info("accepted %s %s for %s", op.id, action.value, ref.key)
        return op

    def enqueue(self, op: Operation, spec: Spec) -> None:
        """Send an accepted operation to the worker. If the message cannot be sent the operation ends ``failed``
        (its lease freed) and ``DependencyUnavailable`` is raised."""
        # One message group per operation: the lease already keeps one operation per release at a time, and a
        # group per release would block every later operation on it behind the message of a lost worker (in flight,
        # invisible for the visibility timeout, 960 s) until the sweep failed them too (found by python -m chaos).
        group = op.id
        try:
            self.queue.send(Message(op.id, op.action, spec), group=group)
        except DependencyUnavailable as exc:
            self.store.finish_operation(_ended(op, OperationStatus.FAILED, error=error_json(exc)), None)
            self.announcer.ended(op.id)
            raise

    def wait(self, operation_id: str, seconds: float) -> Operation:
        """The operation once it ended, or as it is after ``seconds`` (polled from the store, backing off from
        10 ms to 100 ms: a quick operation is seen ending within a few ms, a long one costs ten reads a second)."""
        deadline = time.monotonic() + seconds
        pause = 0.01
        while True:
            op = self.get(operation_id)
            left = deadline - time.monotonic()
            if op.status.terminal or left <= 0:
                return op
            time.sleep(min(pause, left))
            pause = min(pause * 1.5, 0.1)

    def get(self, operation_id: str) -> Operation:
        """One operation; ``OperationNotFound`` for an id this service never gave out."""
        op = self.store.get_operation(operation_id) if operation_id.startswith(Operation.PREFIX) else None
        if op is None or len(operation_id) > 64:
            raise OperationNotFound(f"operation {operation_id[:64]} not found")
        return op

    def list(self, query: OperationQuery) -> tuple[list[Operation], str | None]:
        """Operations, newest first, one page."""
        return self.store.list_operations(
            cluster=query.cluster,
            namespace=query.namespace,
            release=query.release,
            status=query.status,
            action=query.action,
            limit=query.limit,
            token=query.next_token,
        )


class _Claims:
    """Ids of the operations this container accepted ``running`` to run itself (``Intake.accept(enqueue=False)``),
    each taken once by ``Executor.execute_here``; the newest ``LIMIT`` kept (one not run is recovered by the sweep
    when its lease expires)."""

    LIMIT = 1024

    def __init__(self) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, op_id: str) -> None:
        with self._lock:
            self._ids[op_id] = None
            while len(self._ids) > self.LIMIT:
                self._ids.popitem(last=False)

    def holds(self, op_id: str) -> bool:
        with self._lock:
            return op_id in self._ids

    def take(self, op_id: str) -> bool:
        with self._lock:
            return self._ids.pop(op_id, 0) is None


_HERE = _Claims()


# Prefer: wait=N runs an operation in the request itself when helm's own timeout leaves time to stop helm (if it
# hangs past that timeout) and to record the outcome before the answer is due; otherwise it goes to the worker.
INLINE_ACTIONS = frozenset({Action.INSTALL, Action.UPGRADE, Action.ROLLBACK, Action.UNINSTALL, Action.TEST})
INLINE_KILL_MARGIN_S = 2  # helm reports its own --timeout first; stopped this much later at the latest
INLINE_RECORD_MARGIN_S = 3  # kept after the last helm process to read back, record and answer


def fits_inline(action: Action, spec: Spec, seconds: float) -> bool:
    """Whether an operation can run inside a request that must answer within ``seconds``: one of
    ``INLINE_ACTIONS`` whose helm timeout, plus the margins, fits."""
    return action in INLINE_ACTIONS and spec.timeout_s + INLINE_KILL_MARGIN_S + INLINE_RECORD_MARGIN_S <= seconds


@dataclass(frozen=True)
class ReadBack:
    """What a run read back from helm: the record to store and helm's revision history (None: not read), both
    written with the outcome in one transaction."""

    record: ReleaseRecord | None
    history: list[Revision] | None = None


@dataclass(frozen=True)
class Finished:
    """An operation as a run ended it, and the release record the run wrote (None: it wrote none)."""

    op: Operation
    record: ReleaseRecord | None


Outcome = tuple[dict[str, Any] | None, dict[str, Any]]  # (the release helm printed, if it did; extra result fields)


class Executor:
    """The worker side: runs one queued operation, through the handler of its action."""

    def __init__(
        self,
        store: Store,
        service: ReleaseService,
        announcer: Announcer,
        reconcile: ClusterJob,
        watcher: Watcher = NO_WATCHER,
    ) -> None:
        self.store = store
        self.service = service
        self.announcer = announcer
        self.reconcile = reconcile
        self.watcher = watcher  # live progress beside helm, and the diagnosis of a failure (core/diagnosis.py)
        self._handlers: dict[Action, Callable[[str, ReleaseRef, Any], Outcome]] = {
            Action.INSTALL: self._install,
            Action.UPGRADE: self._upgrade,
            Action.ROLLBACK: self._rollback,
            Action.UNINSTALL: self._uninstall,
            Action.UNLOCK: self._unlock,
            Action.TEST: self._test,
        }

    # ------------------------------------------------------------ one handler per action

    def _install(self, kubeconfig: str, ref: ReleaseRef, spec: InstallSpec) -> Outcome:
        return self.service.helm.install(kubeconfig, ref, spec), {}

    def _upgrade(self, kubeconfig: str, ref: ReleaseRef, spec: UpgradeSpec) -> Outcome:
        return self.service.helm.upgrade(kubeconfig, ref, spec), {}

    def _rollback(self, kubeconfig: str, ref: ReleaseRef, spec: RollbackSpec) -> Outcome:
        self.service.helm.rollback(kubeconfig, ref, spec)
        return None, {}

    def _uninstall(self, kubeconfig: str, ref: ReleaseRef, spec: UninstallSpec) -> Outcome:
        self.service.helm.uninstall(kubeconfig, ref, spec)
        return None, {}

    def _unlock(self, kubeconfig: str, ref: ReleaseRef, spec: UnlockSpec) -> Outcome:
        return None, self.service.recover(kubeconfig, ref, spec)

    def _test(self, kubeconfig: str, ref: ReleaseRef, spec: ReleaseTestSpec) -> Outcome:
        return None, {"tests": self.service.helm.test(kubeconfig, ref, spec)}

    # ------------------------------------------------------------ running

    def execute_body(self, body: str, remaining_s: float | None = None) -> Operation | None:
        """``execute`` a queue message's body; one that cannot be parsed is logged and dropped (retrying it
        cannot help)."""
        try:
            message = Message.from_body(body)
        except (ValueError, KeyError, TypeError):
            log.error("dropping a malformed operation message (%d bytes)", len(body or ""))
            return None
        return self.execute(message, remaining_s)

    def execute(self, message: Message, remaining_s: float | None = None) -> Operation | None:
        """Run one queued operation. Returns the finished operation, or None if it was not queued.

        Raises ``DependencyUnavailable`` (before anything ran) so that the queue redelivers the message.
        """
        op = self.store.get_operation(message.operation_id)
        if op is None or op.status is not OperationStatus.QUEUED:
            log.info("operation %s is not queued (any more); nothing to do", message.operation_id)
            return None
        finished = self._execute(op, message.spec, remaining_s)
        return finished.op if finished else None

    def execute_here(self, op: Operation, spec: Spec, seconds: float, basis: Basis | None = None) -> Finished | None:
        """Run an operation just accepted without a message (``Intake.accept(enqueue=False)``) in this process: the
        API function, holding the release's lease exactly as a worker would, recorded exactly as a worker records
        it. No helm process outlives ``seconds`` less ``INLINE_RECORD_MARGIN_S`` (kept to record the outcome), so
        the caller can answer in time; ``fits_inline`` says whether the operation's own helm timeout fits.

        ``op`` was accepted ``running`` (``Intake.accept(enqueue=False)``), so nothing marks it running again; a
        ``queued`` one is started conditionally, as a worker starts it. Returns the finished operation and the
        record it wrote, or None if another runner took it. Raises ``DependencyUnavailable`` when it could not
        start (nothing ran): the operation is put back to ``queued`` and the caller hands it to the worker
        (``Intake.enqueue``). If this process dies meanwhile, the lease expires and the sweep recovers the release
        as it does for a lost worker. ``basis``: what the request's checks read, conditioned on by the accept: the
        previous record and the cluster are not read again, and the spec already carries the added masking rules."""
        deadline = time.monotonic() + seconds - INLINE_RECORD_MARGIN_S
        if op.status is OperationStatus.RUNNING and not _HERE.take(op.id):
            return None  # accepted running elsewhere, or already run: never twice
        if op.status not in (OperationStatus.QUEUED, OperationStatus.RUNNING):
            return None
        with kill_by(deadline):
            try:
                return self._execute(op, spec, None, deadline, basis)
            except DependencyUnavailable:
                if op.status is OperationStatus.RUNNING:
                    self.store.requeue_operation(op.id)
                raise

    def _execute(
        self,
        op: Operation,
        spec: Spec,
        remaining_s: float | None,
        deadline: float | None = None,
        basis: Basis | None = None,
    ) -> Finished | None:
        """Run ``op``; ``deadline`` (monotonic) bounds the read-back retries of an operation run in a request."""
        if remaining_s is not None and spec.timeout_s + KILL_MARGIN_S + WORKER_MARGIN_S > remaining_s:
            error = {
                "code": "WorkerTimeBudget",
                "details": {},
                "message": f"the worker has {int(remaining_s)} s left, fewer than helm's timeout needs",
            }
            return self._finish(op, OperationStatus.FAILED, None, error=error)
        try:
            info = basis.cluster if basis else None
            kubeconfig = self.service.registry.credentials(op.release.cluster, info).kubeconfig
        except DependencyUnavailable:
            raise  # nothing ran: let the queue retry
        except CharthouseError as exc:
            return self._finish(op, OperationStatus.FAILED, None, error=error_json(exc))
        if op.status is OperationStatus.QUEUED:
            if not self.store.start_operation(op.id):
                return None  # a concurrent delivery took it
            op = replace(op, status=OperationStatus.RUNNING, started_at=now())
        if isinstance(spec, ChartSpec) and basis is None:  # with a basis, the hall joined the rules it read
            spec = spec.masked_by(self.service.added_masking(op.release.cluster, spec))
        watch = self.watcher.start(op, spec, kubeconfig)
        try:
            with watch:
                result, read = self._run(op, spec, kubeconfig, deadline, basis)
            return self._finish(op, OperationStatus.SUCCEEDED, read.record, result=result, read=read)
        except CharthouseError as exc:
            log.info("operation %s failed: %s", op.id, exc.code)
            error = watch.explain(exc, error_json(exc), deadline)  # + details.diagnosis for a helm failure
            # only a helm failure on a reachable cluster can have changed helm's state
            changed = isinstance(exc, HelmError) and not op.release.cluster_wide
            read = self._snapshot_after_failure(op, spec, kubeconfig, deadline, basis) if changed else ReadBack(None)
            return self._finish(op, OperationStatus.FAILED, read.record, error=error, read=read)
        except Exception:  # noqa: BLE001 - a bug must still end the operation and free the lease
            log.exception("operation %s failed unexpectedly", op.id)
            error = {"code": "InternalError", "message": "the worker failed unexpectedly", "details": {}}
            read = (
                ReadBack(None)
                if op.release.cluster_wide
                else self._snapshot_after_failure(op, spec, kubeconfig, deadline, basis)
            )
            return self._finish(op, OperationStatus.FAILED, read.record, error=error, read=read)

    def _finish(
        self,
        op: Operation,
        status: OperationStatus,
        record: ReleaseRecord | None,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        read: ReadBack | None = None,
    ) -> Finished:
        done = _ended(op, status, result=result, error=error)
        history = read.history if read is not None else None
        won = self.store.finish_operation(done, record, history)  # the record and history are written either way
        self.announcer.ended(done.id, done if won else None, record)  # a verdict that won needs no read back
        return Finished(done, record)

    def _run(
        self, op: Operation, spec: Spec, kubeconfig: str, deadline: float | None = None, basis: Basis | None = None
    ) -> tuple[dict[str, Any], ReadBack]:
        if isinstance(spec, ReconcileSpec):
            return self.reconcile(kubeconfig, op, spec), ReadBack(None)
        previous = basis.record if basis else self.store.get_release(op.release)
        released, extra = self._handlers[op.action](kubeconfig, op.release, spec)
        read = _patiently(
            lambda: self._read_back(kubeconfig, op, spec, previous, failed=False, released=released), deadline
        )
        record = read.record
        result: dict[str, Any] = {
            "status": record.status.value if record else "uninstalled",
            "revision": record.revision if record else None,
            **extra,
        }
        return result, read

    def _read_back(
        self,
        kubeconfig: str,
        op: Operation,
        spec: Spec,
        previous: ReleaseRecord | None,
        failed: bool,
        released: dict[str, Any] | None = None,
    ) -> ReadBack:
        record, history = self.service.read_back(kubeconfig, op, spec, previous, failed, released)
        return ReadBack(record, history)

    def _snapshot_after_failure(
        self, op: Operation, spec: Spec, kubeconfig: str, deadline: float | None = None, basis: Basis | None = None
    ) -> ReadBack:
        """Best effort: record helm's state after a failure (a failed revision is history too)."""
        try:
            previous = basis.record if basis else self.store.get_release(op.release)
            return _patiently(lambda: self._read_back(kubeconfig, op, spec, previous, failed=True), deadline)
        except Exception:  # noqa: BLE001 - the original error is what the caller needs to see
            log.info("operation %s: could not read helm's state after the failure", op.id)
            return ReadBack(None)


READ_BACK_PAUSES_S = (1.0, 2.0, 4.0, 8.0, 15.0)  # within WORKER_MARGIN_S


def _patiently(read_back: Callable[[], ReadBack], deadline: float | None = None) -> ReadBack:
    """Read helm's state back after helm ran, retrying while the cluster is unreachable (its API server restarting):
    helm's change is made, and an operation recorded without it leaves the store unlike helm (python -m chaos).
    No pause goes past ``deadline`` (an operation run in a request must still answer in time)."""
    for pause in READ_BACK_PAUSES_S:
        if deadline is not None and time.monotonic() + pause > deadline:
            break
        try:
            return read_back()
        except ClusterUnreachable:
            log.info("reading helm's state back: the cluster is unreachable; again in %.0f s", pause)
            time.sleep(pause)
    return read_back()


def _ended(
    op: Operation, status: OperationStatus, result: dict[str, Any] | None = None, error: dict[str, Any] | None = None
) -> Operation:
    ts = now()
    return replace(op, status=status, updated_at=ts, finished_at=ts, result=result, error=error)
