"""Recovery on purpose, never by accident: stale leases and releases stuck ``pending-*``.

A lease outlives helm's timeout (plus the kill margin and a grace period), so while a worker lives its lease is
live. An expired lease therefore means the worker is gone (process killed, Lambda timeout, out of memory):

1. its operation ends ``failed`` with code ``WorkerLost`` (conditional: only if it had not ended);
2. an ``unlock`` operation is queued for the release (taking a new lease), and the worker applies the policy
   (``service.recover``): roll back to the last good revision, or mark the pending revision failed.

The scheduled sweep does this for every expired lease, and queues an ``unlock`` for every release whose record
says ``pending-*``/``uninstalling`` while no lease is held (helm was killed, but the worker survived to record
it). ``POST .../unlock`` does the same for one release, and only once its lease has expired.
"""

from __future__ import annotations

import logging
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
        spec = UnlockSpec(policy=self.policy, timeout_s=self.limits.default_timeout_s)
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
        for ref in stuck.values():
            try:
                op = self.intake.accept(Action.UNLOCK, ref, spec)
            except ReleaseLocked:
                continue  # someone took it meanwhile: their operation will leave it consistent
            report.unlocks_queued.append(op.id)
        if report.leases_expired or report.unlocks_queued:
            log.info(
                "sweep: %d expired leases, %d operations failed, %d unlocks queued",
                report.leases_expired,
                len(report.operations_failed),
                len(report.unlocks_queued),
            )
        return report

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
