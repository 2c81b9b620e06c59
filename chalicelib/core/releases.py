"""The hall: one use case per release verb, the same for every door (``/v1``, the compat surfaces, runtimes and
Nautes, the CloudFormation custom resource, drift correction).

Each verb does, in this one order, whoever calls it:

1. **authorize** the caller for the verb on the cluster and namespace it acts on (``authz``; a ``service`` caller,
   the service acting on something an authorized caller declared, is not asked again);
2. **resolve the cluster** (``ClusterNotFound`` otherwise);
3. **replay**: an Idempotency-Key seen before answers with its operation (nothing below runs again);
4. **preconditions**: ``If-Match`` (the release's ETag, ``domain/plans.etag_of``) and ``If-None-Match: *`` on an
   install, when the caller sent them: ``PreconditionFailed`` and nothing changed when they no longer hold;
5. **check** the stored state (an upgrade of a release that does not exist needs ``install: true``; an install of
   one that exists is refused; rollback, test and uninstall need the release) and **the chart source** (the
   catalog's rules: a registered repository, an allowed network, a keyring to verify with);
6. **join the masking rules** of the cluster and of the chart's repository to the request's own (``set_sensitive``),
   so the operation carries them and every answer below is masked by them;
7. **answer a dry run** at once (nothing accepted, nothing recorded);
8. **accept** (the operation record, the release's lease, the idempotency key, in one transaction, conditioned on
   what steps 2 and 5 read being still so: ``operations.Basis``) and **run it in this request** when the caller's
   budget (``Caller.budget_s``) leaves room for helm's timeout and the margins (``operations.fits_inline``), with
   those reads passed through instead of read again, else **queue** it for the worker. When a read changed before
   the accept (``StaleRead``), the verb starts again from step 1 once, with fresh reads;
9. **wait** for its end as long as the caller asked (``Caller.wait_s``).

A diff (``diff_upgrade``, ``diff_rollback``) is authorized like its verb and, given the request it was made from,
keeps a **plan** (``core/plans.py``): ``apply_upgrade`` / ``apply_rollback`` run exactly that request through the
verb above once the plan is found (``PlanNotFound``) and still holds (``PlanStale`` naming what changed).

A door parses its API's shape into a spec and a ``Caller``, calls one of these, and renders the ``Outcome`` (or
the error) in its API's shape. Nothing here knows HTTP.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from chalicelib.adapters.store import StaleRead
from chalicelib.core import metacache
from chalicelib.core.auth import Principal
from chalicelib.core.authz import Authorizer
from chalicelib.core.catalog import Catalog
from chalicelib.core.clusters import ClusterRegistry
from chalicelib.core.diffs import Differ
from chalicelib.core.operations import Basis, Executor, Intake, fits_inline
from chalicelib.core.plans import Planner
from chalicelib.core.recovery import Recovery
from chalicelib.core.service import ReleaseService
from chalicelib.domain import plans, redact
from chalicelib.domain.models import (
    Action,
    ChartSpec,
    ClusterInfo,
    Idempotency,
    InstallSpec,
    NameRequest,
    Operation,
    OperationQuery,
    OperationStatus,
    ReleaseRecord,
    ReleaseRef,
    ReleaseStatus,
    ReleaseTestSpec,
    RollbackSpec,
    Spec,
    UninstallSpec,
    UnlockSpec,
    UpgradeSpec,
)
from chalicelib.errors import Conflict, DependencyUnavailable, PlanStale, PreconditionFailed

log = logging.getLogger(__name__)

SERVICE = "service"  # the kind of a principal that is the service itself (never one a request authenticates as)
Chart = TypeVar("Chart", InstallSpec, UpgradeSpec)


@dataclass(frozen=True)
class Caller:
    """Who asks, and how they want the answer: what a door knows of its request beyond the spec.

    ``budget_s``: the seconds this request may spend running the operation itself (``Prefer: wait=N`` bounded by
    the function's remaining time); None queues it. ``wait_s``: how long to wait for the operation's end once
    accepted (None: not at all; 0: read it once). ``reveal``: a dry run's manifest and values unmasked (needs the
    ``reveal`` permission). ``attachments``: store items written with the operation (a CloudFormation reply, a
    runtime's step). ``runtime_charts``: the caller is a runtime's sync, the one door that may name the charts a
    runtime built (``runtime/<chart>``). ``if_match``: the ``If-Match`` header (the release's ETag, or ``*``);
    ``if_none_match``: ``If-None-Match: *`` (install only if the release does not exist). ``revision``: the
    release must still be at this revision when the operation is accepted (a plan's apply: checked on the record
    the checks read, which the accept transaction conditions on; ``PlanStale`` otherwise)."""

    principal: Principal
    idempotency: Idempotency | None = None
    budget_s: float | None = None
    wait_s: float | None = None
    reveal: bool = False
    attachments: tuple[dict[str, Any], ...] = ()
    runtime_charts: bool = False
    if_match: str | None = None
    if_none_match: bool = False
    revision: int | None = None

    @classmethod
    def service(cls, name: str, attachments: tuple[dict[str, Any], ...] = (), **options: Any) -> Caller:
        """The service acting on its own: a runtime's sync (its declaration was authorized), the CloudFormation
        custom resource (IAM decides who may invoke it), drift correction (the release opted in)."""
        return cls(Principal(f"charthouse:{name}", SERVICE), attachments=attachments, **options)


@dataclass(frozen=True)
class Outcome:
    """The hall's answer: an operation (accepted, run here, or replayed) or a dry run's answer."""

    ref: ReleaseRef
    operation: Operation | None = None
    record: ReleaseRecord | None = None  # the release record a run in this request wrote (None: read the store)
    dry_run: dict[str, Any] | None = None  # a dry run's answer (``service.dry_run`` or ``rollback_preview``)
    values: Any = None  # a dry run's values as the caller may see them: masked by the joined rules unless revealed

    @property
    def op(self) -> Operation:
        """The operation (a dry run has none: asking for it is a bug in the door)."""
        if self.operation is None:
            raise ValueError(f"a dry run of {self.ref.key} has no operation")
        return self.operation


class Releases:
    """install, upgrade, rollback, uninstall, test, unlock; the dry runs and diffs that share their path."""

    def __init__(
        self,
        authorizer: Authorizer,
        registry: ClusterRegistry,
        service: ReleaseService,
        catalog: Catalog,
        intake: Intake,
        executor: Executor,
        recovery: Recovery,
        differ: Differ,
        planner: Planner | None = None,
    ) -> None:
        self.authorizer = authorizer
        self.registry = registry
        self.service = service
        self.catalog = catalog
        self.intake = intake
        self.executor = executor
        self.recovery = recovery
        self.differ = differ
        self._planner = planner

    # ------------------------------------------------------------ the verbs

    def install(self, caller: Caller, cluster: str, namespace: str, spec: InstallSpec, name: NameRequest) -> Outcome:
        """Install ``spec`` as the release ``name`` asks for (given, generated or rendered from a template)."""
        return self._checked_again(lambda: self._install(caller, cluster, namespace, spec, name), spec.dry_run)

    def upgrade(self, caller: Caller, ref: ReleaseRef, spec: UpgradeSpec) -> Outcome:
        """Upgrade; a release that does not exist is refused unless ``install: true`` (an upsert)."""
        return self._checked_again(lambda: self._upgrade(caller, ref, spec), spec.dry_run)

    def rollback(self, caller: Caller, ref: ReleaseRef, spec: RollbackSpec) -> Outcome:
        """Roll back to ``spec.revision`` (default: the one before the current); a dry run previews it."""
        return self._checked_again(lambda: self._rollback(caller, ref, spec), spec.dry_run)

    def uninstall(self, caller: Caller, ref: ReleaseRef, spec: UninstallSpec) -> Outcome:
        return self._checked_again(lambda: self._uninstall(caller, ref, spec), False)

    def test(self, caller: Caller, ref: ReleaseRef, spec: ReleaseTestSpec) -> Outcome:
        """Run the chart's tests (``helm test``)."""
        return self._checked_again(lambda: self._test(caller, ref, spec), False)

    def _install(self, caller: Caller, cluster: str, namespace: str, spec: InstallSpec, name: NameRequest) -> Outcome:
        started = time.monotonic()
        self._allow(caller, "install", cluster, namespace)
        info = self.registry.get(cluster)
        ref = ReleaseRef.parse(cluster, namespace, self.service.resolve_name(cluster, spec.chart, name))
        replayed = self._replay(caller, spec)
        if replayed is not None:
            return replayed
        self._preconditions(caller, ref)
        record = self.service.check_install(ref, spec)
        sourced = self._sourced(caller, spec, info.masking)
        return self._chart_verb(Action.INSTALL, caller, ref, sourced, started, self._basis(ref, record, info))

    def _upgrade(self, caller: Caller, ref: ReleaseRef, spec: UpgradeSpec) -> Outcome:
        started = time.monotonic()
        self._allow(caller, "upgrade", ref.cluster, ref.namespace)
        info = self.registry.get(ref.cluster)
        replayed = self._replay(caller, spec)
        if replayed is not None:
            return replayed
        self._preconditions(caller, ref)
        record = self.service.check_upgrade(ref, spec)
        sourced = self._sourced(caller, spec, info.masking)
        return self._chart_verb(Action.UPGRADE, caller, ref, sourced, started, self._basis(ref, record, info))

    def _rollback(self, caller: Caller, ref: ReleaseRef, spec: RollbackSpec) -> Outcome:
        started = time.monotonic()
        self._allow(caller, "rollback", ref.cluster, ref.namespace)
        info = self.registry.get(ref.cluster)
        if spec.dry_run:
            return Outcome(ref, dry_run=self.service.rollback_preview(ref, spec))
        replayed = self._replay(caller, spec)
        if replayed is not None:
            return replayed
        self._preconditions(caller, ref)
        basis = self._basis(ref, self.service.checked_rollback(ref, spec.revision)[1], info)
        return self._submit(Action.ROLLBACK, caller, ref, spec, started, basis)

    def _uninstall(self, caller: Caller, ref: ReleaseRef, spec: UninstallSpec) -> Outcome:
        started = time.monotonic()
        self._allow(caller, "uninstall", ref.cluster, ref.namespace)
        info = self.registry.get(ref.cluster)
        replayed = self._replay(caller, spec)
        if replayed is not None:
            return replayed
        self._preconditions(caller, ref)
        basis = self._basis(ref, self.service.check_uninstall(ref), info)
        return self._submit(Action.UNINSTALL, caller, ref, spec, started, basis)

    def _test(self, caller: Caller, ref: ReleaseRef, spec: ReleaseTestSpec) -> Outcome:
        started = time.monotonic()
        self._allow(caller, "test", ref.cluster, ref.namespace)
        info = self.registry.get(ref.cluster)
        replayed = self._replay(caller, spec)
        if replayed is not None:
            return replayed
        basis = self._basis(ref, self.service.check_test(ref), info)
        return self._submit(Action.TEST, caller, ref, spec, started, basis)

    def unlock(self, caller: Caller, ref: ReleaseRef, spec: UnlockSpec) -> Outcome:
        """Recover a release whose operation was lost: 409 until that operation's lease has expired (``recovery``);
        always queued (the worker applies the recovery policy)."""
        self._allow(caller, "unlock", ref.cluster, ref.namespace)
        self.registry.get(ref.cluster)
        replayed = self._replay(caller, spec)
        if replayed is not None:
            return replayed
        return self._waited(caller, Outcome(ref, self.recovery.unlock(ref, spec)))

    # ------------------------------------------------------------ diffs (an upgrade's or a rollback's dry run, per object)

    def diff_upgrade(
        self, caller: Caller, ref: ReleaseRef, spec: UpgradeSpec, hooks: bool, request: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Per object what the upgrade would change; given its ``request`` (the body ``spec`` was parsed from),
        also a ``plan`` to apply exactly it and the three-way ``values`` view (masked unless revealed)."""
        self._allow(caller, "upgrade", ref.cluster, ref.namespace)
        info = self.registry.get(ref.cluster)
        spec = self._sourced(caller, spec, info.masking)
        out = self.differ.upgrade(ref, spec, hooks, caller.reveal)
        if request is not None:
            out.update(self.planner.plan_upgrade(ref, spec, request, caller.reveal))
        return out

    def diff_rollback(
        self, caller: Caller, ref: ReleaseRef, spec: RollbackSpec, hooks: bool, request: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Per object what the rollback would change; given its ``request``, also a ``plan`` and ``values``."""
        self._allow(caller, "rollback", ref.cluster, ref.namespace)
        out = self.differ.rollback(ref, spec, hooks, caller.reveal)
        if request is not None:
            out.update(self.planner.plan_rollback(ref, spec, request, caller.reveal))
        return out

    # ------------------------------------------------------------ applying a reviewed plan

    def apply_upgrade(self, caller: Caller, ref: ReleaseRef, plan_id: object) -> Outcome:
        """The upgrade the plan ``plan_id`` was made for, exactly; refused when anything it was reviewed against
        changed. A replayed Idempotency-Key answers with its operation before the plan is checked again."""
        self._allow(caller, "upgrade", ref.cluster, ref.namespace)
        info = self.registry.get(ref.cluster)
        plan = self.planner.load(plan_id, ref, "upgrade")
        spec = self.planner.upgrade_spec(plan)
        replayed = self._replay(caller, spec)
        if replayed is not None:
            return replayed
        self.planner.check_upgrade(plan, self._sourced(caller, spec, info.masking))
        return self.upgrade(replace(caller, revision=plan.facts.revision), ref, spec)  # checked again on accept

    def apply_rollback(self, caller: Caller, ref: ReleaseRef, plan_id: object) -> Outcome:
        """The rollback the plan ``plan_id`` was made for, exactly (as ``apply_upgrade``)."""
        self._allow(caller, "rollback", ref.cluster, ref.namespace)
        self.registry.get(ref.cluster)
        plan = self.planner.load(plan_id, ref, "rollback")
        spec = self.planner.rollback_spec(plan)
        replayed = self._replay(caller, spec)
        if replayed is not None:
            return replayed
        self.planner.check_rollback(plan, spec)
        return self.rollback(replace(caller, revision=plan.facts.revision), ref, spec)  # checked again on accept

    @property
    def planner(self) -> Planner:
        if self._planner is None:
            raise ValueError("this hall was built without a planner: plans need one (bootstrap wires it)")
        return self._planner

    # ------------------------------------------------------------ reads a door renders an outcome with

    def operation(self, operation_id: str) -> Operation:
        """One operation (``OperationNotFound`` for an id this service never gave out)."""
        return self.intake.get(operation_id)

    def operations(self, query: OperationQuery) -> tuple[list[Operation], str | None]:
        """Operations, newest first, one page."""
        return self.intake.list(query)

    def replayed(self, idem: Idempotency) -> Operation | None:
        """The operation an earlier request with this key made (None: none yet); 422 for another request's key."""
        return self.intake.replay(idem)

    def wait(self, op: Operation, seconds: float) -> Operation:
        """``op`` once it ended, or as it is after ``seconds``."""
        return op if op.status.terminal else self.intake.wait(op.id, seconds)

    def record(self, ref: ReleaseRef) -> dict[str, Any] | None:
        """The stored record (None when there is none)."""
        return self.service.record(ref)

    def record_of(self, outcome: Outcome) -> dict[str, Any] | None:
        """The release record an outcome left: the one its run wrote, else as stored."""
        return outcome.record.to_json() if outcome.record else self.service.record(outcome.ref)

    # ------------------------------------------------------------ the steps

    def _allow(self, caller: Caller, verb: str, cluster: str, namespace: str) -> None:
        if caller.principal.kind != SERVICE:
            self.authorizer.require(caller.principal, verb, cluster, namespace)
        if caller.reveal:
            self.authorizer.require(caller.principal, "reveal", cluster, namespace)

    def _checked_again(self, verb: Callable[[], Outcome], dry_run: object) -> Outcome:
        """``verb`` with the cluster and repository metadata as cached (``metacache``; not for a dry run, answered
        at once), and once more from the start, the cache forgotten, when something its checks read changed before
        its accept (the accept transaction's conditions failed: nothing was written); a second change in a row is
        a 409."""
        try:
            with metacache.cached_reads(enabled=not dry_run):
                return verb()
        except StaleRead:
            log.info("what the checks read changed before the accept; checking again with fresh reads")
            self.registry.forget()
            self.catalog.repos.forget()
        try:
            with metacache.cached_reads(enabled=not dry_run):
                return verb()
        except StaleRead as exc:
            raise Conflict("the release, its cluster or its chart source changed while it was accepted; retry") from exc

    def _basis(self, ref: ReleaseRef, record: ReleaseRecord | None, info: ClusterInfo) -> Basis:
        """What the checks read, and the accept's conditions that it is still so: the release's record, the
        cluster's registration and, when they were read, the repositories' version."""
        store = self.intake.store
        conditions = [store.release_as_read(ref, record), store.cluster_as_read(info)]
        reads = metacache.active()
        if reads is not None and reads.repositories_version is not None:
            conditions.append(store.repositories_as_read(reads.repositories_version))
        return Basis(record, info, tuple(conditions))

    def _preconditions(self, caller: Caller, ref: ReleaseRef) -> None:
        """``If-None-Match: *`` (the release must not exist) and ``If-Match`` (its ETag must still be one given)."""
        if caller.if_match is None and not caller.if_none_match:
            return
        record = self.service.record(ref)
        tag = plans.etag_of(record) if record and record.get("status") != "uninstalled" else None
        if caller.if_none_match and tag is not None:
            raise PreconditionFailed(f"release {ref.key} exists (If-None-Match: *); nothing was changed")
        if caller.if_match is not None and not plans.matches(caller.if_match, tag):
            raise PreconditionFailed(
                f"release {ref.key} is no longer in the state If-Match names (its ETag changed); nothing was changed"
            )

    def _replay(self, caller: Caller, spec: Spec) -> Outcome | None:
        """The operation an earlier request with the caller's Idempotency-Key made (a dry run has none)."""
        if isinstance(spec, ChartSpec) and spec.dry_run:
            return None
        op = self.intake.replay(caller.idempotency)
        return None if op is None else self._waited(caller, Outcome(op.release, op))

    def _sourced(self, caller: Caller, spec: Chart, cluster_masking: redact.Masking) -> Chart:
        """The chart-source check, then the cluster's and the repository's masking rules joined to the spec's."""
        self.catalog.check(spec, built_by_runtime=caller.runtime_charts)
        return spec.masked_by(cluster_masking + self.catalog.masking(spec))

    def _chart_verb(
        self,
        action: Action,
        caller: Caller,
        ref: ReleaseRef,
        spec: InstallSpec | UpgradeSpec,
        started: float,
        basis: Basis,
    ) -> Outcome:
        if not spec.dry_run:
            return self._submit(action, caller, ref, spec, started, basis)
        rules = redact.Masking(spec.sensitive_paths, spec.sensitive_keys)
        shown = spec.values if caller.reveal else redact.mask_values(spec.values, rules.paths, rules.keys)
        return Outcome(ref, dry_run=self.service.dry_run(ref, spec, caller.reveal), values=shown)

    def _submit(
        self, action: Action, caller: Caller, ref: ReleaseRef, spec: Spec, started: float, basis: Basis
    ) -> Outcome:
        """Run here when the caller's budget allows, else queue; then wait as asked."""
        if caller.revision is not None:
            _at_planned_revision(ref, basis.record, caller.revision)
        budget = caller.budget_s
        if budget is not None and fits_inline(action, spec, budget):
            outcome = self._run_here(action, caller, ref, spec, budget - (time.monotonic() - started), basis)
        else:
            op = self.intake.accept(
                action, ref, spec, caller.idempotency, caller.attachments, conditions=basis.conditions
            )
            outcome = Outcome(ref, op)
        return self._waited(caller, outcome)

    def _run_here(
        self, action: Action, caller: Caller, ref: ReleaseRef, spec: Spec, seconds: float, basis: Basis
    ) -> Outcome:
        """Accept without a message and run it in this process under the release's lease
        (``Executor.execute_here``), with what the checks read (``basis``, conditioned on by the accept). If it
        cannot start here (Secrets Manager unavailable) it goes to the worker after all; a replayed twin's
        operation is only waited for."""
        op = self.intake.accept(
            action, ref, spec, caller.idempotency, caller.attachments, enqueue=False, conditions=basis.conditions
        )
        if not self.intake.runs_here(op):  # a replayed twin's operation: only waited for
            return Outcome(ref, op)
        try:
            done = self.executor.execute_here(op, spec, seconds, basis)
        except DependencyUnavailable:
            log.info("operation %s could not start in the request; handed to the worker", op.id)
            self.intake.enqueue(op, spec)  # execute_here put it back to queued (nothing ran)
            return Outcome(ref, replace(op, status=OperationStatus.QUEUED, started_at=None))
        return Outcome(ref, done.op, done.record) if done else Outcome(ref, op)

    def _waited(self, caller: Caller, outcome: Outcome) -> Outcome:
        op = outcome.operation
        if caller.wait_s is None or op is None or op.status.terminal:
            return outcome
        return replace(outcome, operation=self.intake.wait(op.id, caller.wait_s))


def _at_planned_revision(ref: ReleaseRef, record: ReleaseRecord | None, revision: int) -> None:
    """A plan is applied only while the release is at the revision it was made for (0: no live record). ``record``
    is what the checks read; the accept's condition that it is unchanged (``release_as_read``) keeps it so until the
    operation holds the lease, and a change in between is read again (``StaleRead``) and refused here."""
    live = record.revision if record is not None and record.status is not ReleaseStatus.UNINSTALLED else 0
    if live != revision:
        raise PlanStale(
            f"release {ref.key} is no longer at revision {revision}, as the plan was made for", ["revision"]
        )
