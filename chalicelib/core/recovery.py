"""Recovery on purpose, never by accident: stale leases and releases stuck ``pending-*``.

A lease outlives helm's timeout (plus the kill margin and a grace period), so while a worker lives its lease is
live. An expired lease therefore means the worker is gone (process killed, Lambda timeout, out of memory):

1. its operation ends ``failed`` with code ``WorkerLost`` (conditional: only if it had not ended);
2. an ``unlock`` operation is queued for the release (taking a new lease), and the worker applies the policy
   (``service.recover``): roll back to the last good revision, or mark the pending revision failed.

The scheduled sweep does this for every expired lease, and queues an ``unlock`` for every release whose record
says ``pending-*``/``uninstalling`` while no lease is held (helm was killed, but the worker survived to record
it). ``POST .../unlock`` does the same for one release, and only once its lease has expired.

An operation cut off by a stopped local stack (its queue message died with the emulator) gets the same policy,
without waiting for its lease: ``interrupted`` ends it ``failed`` with code ``Interrupted``, announces it, frees its
lease and queues the ``unlock``. The local stack's scheduler calls it once when the stack starts again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from chalicelib.adapters.store import Store
from chalicelib.core.operations import Intake
from chalicelib.domain.models import Action, Lease, Limits, ListQuery, Operation, ReleaseRef, UnlockSpec, iso
from chalicelib.errors import ReleaseLocked, ReleaseNotFound

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    leases_expired: int = 0
    operations_failed: list[str] = field(default_factory=list)
    unlocks_queued: list[str] = field(default_factory=list)


class Recovery:
    def __init__(self, store: Store, intake: Intake, limits: Limits, policy: str) -> None:
        self.store = store
        self.intake = intake
        self.limits = limits
        self.policy = policy

    def unlock(self, ref: ReleaseRef, spec: UnlockSpec) -> Operation:
        """Queue recovery of one release; 409 while its lease is live (its worker may still be running)."""
        lease = self.store.lease(ref)
        if lease is None and self.store.get_release(ref) is None:
            raise ReleaseNotFound(f"release {ref.key} not found")
        if lease and not lease.expired:
            raise ReleaseLocked(
                f"release {ref.key} is locked by operation {lease.operation_id} until {iso(lease.expires_at)}; "
                "it can be unlocked after that",
                operation_id=lease.operation_id,
            )
        if lease:
            self._fail_lost(lease)
        return self.intake.accept(Action.UNLOCK, ref, spec)

    def sweep(self) -> SweepReport:
        report = SweepReport()
        stuck: dict[str, ReleaseRef] = {}
        for lease in self.store.expired_leases():
            report.leases_expired += 1
            if self._fail_lost(lease):
                report.operations_failed.append(lease.operation_id)
            if lease.ref.cluster_wide:  # a lost reconcile changed no release: the next one starts afresh
                self.store.release_lease(lease.ref, lease.operation_id)
                continue
            stuck[lease.ref.key] = lease.ref
        token: str | None = None
        while True:
            records, token = self.store.list_releases(
                ListQuery(statuses=("pending", "uninstalling"), limit=100, next_token=token)
            )
            for record in records:
                if self.store.lease_holder(record.ref) is None:
                    stuck[record.ref.key] = record.ref
            if not token:
                break
        self._queue_unlocks(stuck.values(), report)
        if report.leases_expired or report.unlocks_queued:
            log.info(
                "sweep: %d expired leases, %d operations failed, %d unlocks queued",
                report.leases_expired,
                len(report.operations_failed),
                len(report.unlocks_queued),
            )
        return report

    def interrupted(self, before: float) -> SweepReport:
        """Recover every operation accepted before ``before`` (epoch seconds) that never ended: the stack that was
        running it stopped, and its message with it. Each ends ``failed`` (``Interrupted``, conditional, announced),
        its lease is freed, and its release gets an ``unlock`` operation (the policy a lost worker's gets)."""
        report = SweepReport()
        error = {
            "code": "Interrupted",
            "details": {},
            "message": "the local stack stopped before this operation finished; its release was recovered",
        }
        stuck: dict[str, ReleaseRef] = {}
        for op in self.store.unfinished_operations():
            if op.created_at >= before:
                continue  # accepted since the restart: its message is in the queue
            if self.store.fail_operation(op.id, error):
                report.operations_failed.append(op.id)
                self.intake.announcer.ended(op.id)
            self.store.release_lease(op.release, op.id)
            if not op.release.cluster_wide:
                stuck[op.release.key] = op.release
        self._queue_unlocks(stuck.values(), report)
        if report.operations_failed or report.unlocks_queued:
            log.info(
                "restart: %d interrupted operations failed, %d unlocks queued",
                len(report.operations_failed),
                len(report.unlocks_queued),
            )
        return report

    def _queue_unlocks(self, refs: Iterable[ReleaseRef], report: SweepReport) -> None:
        spec = UnlockSpec(policy=self.policy, timeout_s=self.limits.default_timeout_s)
        for ref in refs:
            try:
                op = self.intake.accept(Action.UNLOCK, ref, spec)
            except ReleaseLocked:
                continue  # someone took it meanwhile: their operation will leave it consistent
            report.unlocks_queued.append(op.id)

    def _fail_lost(self, lease: Lease) -> bool:
        error = {
            "code": "WorkerLost",
            "details": {"lease_expired_at": iso(lease.expires_at)},
            "message": "the worker stopped before finishing (killed or timed out); its lease expired",
        }
        failed = self.store.fail_operation(lease.operation_id, error)
        if failed:
            self.intake.announcer.ended(lease.operation_id)  # events, and a CloudFormation answer that must not be lost
        return failed
