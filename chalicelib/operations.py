"""The operation pipeline: ``accept`` (API side) and ``execute`` (worker side).

accept:  operation record (queued) + the release's lease, in one conditional transaction; then one SQS message.
         If the message cannot be sent, the operation ends ``failed`` at once and the lease is freed.
execute: queued -> running (conditional: a redelivered message finds it running or done and does nothing),
         credentials, helm, then ``service.snapshot`` reads helm's state back and one transaction records the
         outcome and frees the lease. Every error, expected or not, ends the operation ``failed`` with a reason.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from .config import LEASE_GRACE_S
from .errors import CharthouseError, DependencyUnavailable, HelmError
from .models import (
    Action,
    InstallSpec,
    Operation,
    OperationStatus,
    ReleaseRecord,
    ReleaseRef,
    RollbackSpec,
    Spec,
    UninstallSpec,
    UpgradeSpec,
    now,
    spec_summary,
)
from .queue import Message, SqsQueue
from .service import ReleaseService, error_json
from .store import Store

log = logging.getLogger(__name__)


class Pipeline:
    def __init__(self, store: Store, queue: SqsQueue, service: ReleaseService) -> None:
        self.store = store
        self.queue = queue
        self.service = service

    def accept(self, action: Action, ref: ReleaseRef, spec: Spec) -> Operation:
        op = Operation.new(action, ref, spec_summary(spec))
        message = Message(op.id, action, spec)
        message.to_body()  # size check before anything is written
        self.store.accept(op, lease_s=spec.timeout_s + LEASE_GRACE_S)
        try:
            self.queue.send(message, group=ref.key)
        except DependencyUnavailable as exc:
            failed = _ended(op, OperationStatus.FAILED, error=error_json(exc))
            self.store.finish_operation(failed, None)
            raise
        log.info("accepted %s %s for %s", op.id, action.value, ref.key)
        return op

    def execute(self, message: Message) -> Operation | None:
        """Run one queued operation. Returns the finished operation, or None if it was not queued."""
        if not self.store.start_operation(message.operation_id):
            log.info("operation %s is not queued any more; nothing to do", message.operation_id)
            return None
        op = self.store.get_operation(message.operation_id)
        if op is None:  # deleted under us: nothing to record against
            return None
        op = replace(op, status=OperationStatus.RUNNING, started_at=now())
        record: ReleaseRecord | None = None
        try:
            result, record = self._run(op, message.spec)
            done = _ended(op, OperationStatus.SUCCEEDED, result=result)
        except CharthouseError as exc:
            log.info("operation %s failed: %s", op.id, exc.code)
            # only a helm failure on a reachable cluster can have changed helm's state
            reachable = isinstance(exc, HelmError)
            record = self._snapshot_after_failure(op, message.spec) if reachable else None
            done = _ended(op, OperationStatus.FAILED, error=error_json(exc))
        except Exception:  # noqa: BLE001 - a bug must still end the operation and free the lease
            log.exception("operation %s failed unexpectedly", op.id)
            record = self._snapshot_after_failure(op, message.spec)
            done = _ended(op, OperationStatus.FAILED,
                          error={"code": "InternalError", "message": "the worker failed unexpectedly", "details": {}})  # fmt: skip
        self.store.finish_operation(done, record)
        return done

    def _run(self, op: Operation, spec: Spec) -> tuple[dict[str, Any], ReleaseRecord | None]:
        ref = op.release
        kubeconfig = self.service.registry.credentials(ref.cluster).kubeconfig
        helm = self.service.helm
        previous = self.store.get_release(ref)
        if isinstance(spec, InstallSpec):
            helm.install(kubeconfig, ref, spec)
        elif isinstance(spec, UpgradeSpec):
            helm.upgrade(kubeconfig, ref, spec)
        elif isinstance(spec, RollbackSpec):
            helm.rollback(kubeconfig, ref, spec)
        else:
            assert isinstance(spec, UninstallSpec)
            helm.uninstall(kubeconfig, ref, spec)
        record = self.service.snapshot(kubeconfig, op, spec, previous, failed=False)
        result: dict[str, Any] = {"status": record.status.value if record else "uninstalled",
                                  "revision": record.revision if record else None}  # fmt: skip
        return result, record

    def _snapshot_after_failure(self, op: Operation, spec: Spec) -> ReleaseRecord | None:
        """Best effort: record helm's state after a failure (a failed revision is history too)."""
        try:
            kubeconfig = self.service.registry.credentials(op.release.cluster).kubeconfig
            previous = self.store.get_release(op.release)
            return self.service.snapshot(kubeconfig, op, spec, previous, failed=True)
        except Exception:  # noqa: BLE001 - the original error is what the caller needs to see
            log.info("operation %s: could not read helm's state after the failure", op.id)
            return None


def _ended(op: Operation, status: OperationStatus, result: dict[str, Any] | None = None,
           error: dict[str, Any] | None = None) -> Operation:  # fmt: skip
    ts = now()
    return replace(op, status=status, updated_at=ts, finished_at=ts, result=result, error=error)
