"""Reconcile: bring the store in line with what helm reports on a cluster.

A reconcile is an operation like any other (``Action.RECONCILE``, queued, run by the worker, leased), recorded on the
cluster's pseudo-release ``<cluster>/*/*`` so that two reconciles of one cluster never overlap. It is requested by
``POST /v1/clusters/{cluster}/reconcile`` or by the schedule, which queues one per registered cluster: an
unreachable cluster fails its own operation and no other.

The worker side (``run``): ``helm list -A --all`` once, compared with the cluster's records (every status). A release
that differs (absent from the store, another revision or status, or gone from helm while the store has it) and is not
held by an operation is read back like after any operation (``service.snapshot``: history, status, metadata), marked
``changed_out_of_band``, written only if the stored record did not change meanwhile, and the difference is recorded
as an event on the release and published (``adapters/bus.py``). This is also how a lost store is rebuilt. Releases that
opted into drift correction are checked for drift (``drift.py``) and, when they drifted, re-applied by a queued
rollback to their current revision.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

from chalicelib.adapters.bus import Notifier
from chalicelib.adapters.store import Store
from chalicelib.core.clusters import ClusterRegistry
from chalicelib.core.drift import DriftDetector
from chalicelib.core.operations import Intake
from chalicelib.core.releases import Caller, Releases
from chalicelib.core.service import ReleaseService
from chalicelib.domain.models import (
    STATUS_FILTERS,
    Action,
    ListQuery,
    Operation,
    ReconcileSpec,
    ReleaseRecord,
    ReleaseRef,
    ReleaseStatus,
    RollbackSpec,
    iso,
    now,
)
from chalicelib.errors import CharthouseError, ReleaseLocked, ReleaseNotFound

log = logging.getLogger(__name__)
LIVE_INFO = ("drift", "events")  # ?info= parts of GET .../releases/{name} served here, not in "all" (drift is live)


def finding_kind(live: dict[str, Any] | None, record: ReleaseRecord | None, newest_description: str) -> str | None:
    """What changed outside Charthouse, or None when helm and the store agree (pure; unit-tested)."""
    if live is None:
        return "deleted" if record is not None and record.status is not ReleaseStatus.UNINSTALLED else None
    revision, status = int(live.get("revision") or 0), ReleaseStatus.parse(live.get("status"))
    if record is None:
        return "installed"
    if revision == record.revision and status is record.status:
        return None
    if revision == record.revision:
        return "uninstalled" if status is ReleaseStatus.UNINSTALLED else "status-changed"
    if newest_description.startswith("Rollback to"):
        return "rolled-back"
    if revision < record.revision or newest_description.startswith("Install complete"):
        return "installed"  # uninstalled and installed again: a new history
    return "upgraded"


class Reconciler:
    def __init__(
        self,
        store: Store,
        registry: ClusterRegistry,
        service: ReleaseService,
        intake: Intake,
        notifier: Notifier,
        drift: DriftDetector,
        default_timeout_s: int,
        releases: Releases,
    ) -> None:
        self.store = store
        self.registry = registry
        self.service = service
        self.intake = intake
        self.notifier = notifier
        self.drift = drift
        self.default_timeout_s = default_timeout_s
        self.releases = releases  # drift correction is a door to the hall's rollback

    # ------------------------------------------------------------ requesting

    def request(self, cluster: str, spec: ReconcileSpec) -> Operation:
        """Queue a reconcile of one cluster (409 ReleaseLocked while one is queued or running)."""
        self.registry.get(cluster)
        return self.intake.accept(Action.RECONCILE, ReleaseRef.whole_cluster(cluster), spec)

    def schedule_all(self) -> dict[str, Any]:
        """The schedule: one reconcile per registered cluster; a failure to queue one does not stop the others."""
        queued, busy, failed = [], [], []
        spec = ReconcileSpec(timeout_s=self.default_timeout_s)
        for cluster in self.registry.all():
            try:
                queued.append(self.request(cluster.name, spec).id)
            except ReleaseLocked:
                busy.append(cluster.name)
            except CharthouseError as exc:
                log.warning("reconcile of %s not queued: %s", cluster.name, exc.code)
                failed.append(cluster.name)
        return {"queued": queued, "already_running": busy, "failed": failed}

    def events_of(self, ref: ReleaseRef, limit: int = 100) -> list[dict[str, Any]]:
        """``?info=events``: what reconcile found about the release, newest first."""
        return self.store.release_events(ref, limit)

    def drift_of(self, ref: ReleaseRef) -> dict[str, Any]:
        """``?info=drift``: live objects vs the manifest of the current revision (``drift.py``)."""
        record = self.service.require_release(ref)
        if record.status is ReleaseStatus.UNINSTALLED:
            raise ReleaseNotFound(f"release {ref.key} is uninstalled: it has no live objects to compare")
        return self.drift.check(ref, record.revision)

    # ------------------------------------------------------------ the worker side

    def run(self, kubeconfig: str, op: Operation, spec: ReconcileSpec) -> dict[str, Any]:
        cluster = op.release.cluster
        deadline = time.monotonic() + spec.timeout_s
        live = {(r.get("namespace", ""), r.get("name", "")): r for r in self.service.helm.list_releases(kubeconfig)}
        stored = {(r.ref.namespace, r.ref.name): r for r in self._records(cluster)}
        changed: list[dict[str, Any]] = []
        skipped: list[str] = []
        for key in sorted(set(live) | set(stored)):
            entry, record = live.get(key), stored.get(key)
            if entry is None and record is None:
                continue
            if finding_kind(entry, record, "") is None:
                continue
            ref = ReleaseRef(cluster, *key)
            if time.monotonic() > deadline:
                skipped.append(ref.key)
                continue
            if self.store.lease_holder(ref):
                skipped.append(ref.key)  # an operation is changing it right now and will record it
                continue
            finding = self._reconcile_one(kubeconfig, op, ref, record)
            if finding is None:
                skipped.append(ref.key)
            else:
                changed.append(finding)
        corrections = self._correct_drift(stored.values(), deadline)
        return {
            "cluster": cluster,
            "releases": len(live),
            "changed": changed,
            "skipped": skipped,
            "drift_corrections": corrections,
            "complete": time.monotonic() <= deadline,
        }

    def _records(self, cluster: str) -> list[ReleaseRecord]:
        out: list[ReleaseRecord] = []
        token: str | None = None
        while True:
            page, token = self.store.list_releases(
                ListQuery(cluster=cluster, statuses=STATUS_FILTERS, limit=1000, next_token=token)
            )
            out += page
            if not token:
                return out

    def _reconcile_one(
        self, kubeconfig: str, op: Operation, ref: ReleaseRef, record: ReleaseRecord | None
    ) -> dict[str, Any] | None:
        # read back like after an operation on this release (the reconcile is recorded as its last operation)
        new = self.service.snapshot(kubeconfig, replace(op, release=ref), ReconcileSpec(), record, failed=False)
        if new is None:
            return None
        history = self.store.history(ref, 1)
        kind = finding_kind(
            {"revision": new.revision, "status": new.status.value} if history else None,
            record,
            history[0].description if history else "",
        )
        if kind is None:
            return None
        new = replace(
            new,
            changed_out_of_band=True,
            failures=record.failures if record else 0,
            drift_correction=record.drift_correction if record else False,
        )
        if not self.store.put_release_if_unchanged(new, record):
            return None  # an operation recorded something newer meanwhile: it is the truth
        finding = {
            "kind": kind,
            "trigger": "reconcile",
            "operation_id": op.id,
            "time": iso(now()),
            "from": _state(record),
            "to": _state(new) if history else None,
            "description": history[0].description if history else "gone from helm",
        }
        self.store.add_release_event(ref, finding)
        self.notifier.reconcile_finding(new, finding)
        log.info("reconcile: %s %s out of band", ref.key, kind)
        return {**ref.to_json(), "kind": kind, "revision": new.revision, "status": new.status.value}

    def _correct_drift(self, records: Any, deadline: float) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for record in records:
            if not record.drift_correction or record.status is not ReleaseStatus.DEPLOYED:
                continue
            if time.monotonic() > deadline or self.store.lease_holder(record.ref):
                continue
            try:
                report = self.drift.check(record.ref, record.revision)
            except CharthouseError as exc:
                log.info("drift of %s not checked: %s", record.ref.key, exc.code)
                continue
            if not report["drifted"]:
                continue
            fix = RollbackSpec(
                revision=record.revision,
                timeout_s=self.default_timeout_s,
                description="drift correction: re-apply the current revision",
            )
            try:
                fix_id: str | None = self.releases.rollback(Caller.service("drift-correction"), record.ref, fix).op.id
            except ReleaseLocked:
                fix_id = None
            except CharthouseError as exc:  # refused by the hall's checks: reported, and tried again next time
                log.info("drift of %s not corrected: %s", record.ref.key, exc.code)
                fix_id = None
            event = {
                "kind": "drift",
                "trigger": "reconcile",
                "time": iso(now()),
                "revision": record.revision,
                "objects": [
                    {k: r.get(k) for k in ("kind", "name", "namespace", "state")}
                    for r in report["resources"]
                    if r["state"] != "in-sync"
                ],
                "correction_operation_id": fix_id,
            }
            self.store.add_release_event(record.ref, event)
            self.notifier.drift_found(record, report, fix_id)
            out.append({**record.ref.to_json(), "operation_id": fix_id})
        return out


def _state(record: ReleaseRecord | None) -> dict[str, Any] | None:
    return {"status": record.status.value, "revision": record.revision} if record else None
