"""Plans: what a diff was reviewed against, kept so that an apply of it runs exactly that request or is refused
(``domain/plans.py`` holds the rules; this module reads the facts and keeps the plans).

The facts of an upgrade: the release's revision (the store's record), the chart archive's digest (the catalog
fetches the archive as helm would: from its cache, its repository, its URL, or an OCI pull), and the digest of
the values the request applies (its own; merged over the deployed ones when it reuses them). Of a rollback: the
revision, and the digest of the target revision's values (its chart is that revision's, stored by helm).

A plan's request (its values) is not kept in the table: it is written to the charts bucket (``plans/<id>.json``:
encrypted at rest, private, TLS only, expired by a lifecycle rule), and the table's item keeps its digest, checked
when the request is read back (a request missing or not matching it: ``PlanNotFound``). A runtime plan keeps digests
only (``domain/plans.RuntimePlan``).

The three-way values view shown with a plan — ``chart_defaults``, ``deployed``, ``proposed`` — is masked by the
same joined rules as every values answer (``redact``), unless the caller may and asks to ``reveal``.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import replace
from typing import Any

from chalicelib.adapters.blobs import Blobs
from chalicelib.adapters.helm import Helm
from chalicelib.adapters.store import Store
from chalicelib.core.catalog import Catalog
from chalicelib.core.clusters import ClusterRegistry
from chalicelib.domain import plans, redact
from chalicelib.domain import values as vals
from chalicelib.domain.models import (
    ChartSpec,
    Limits,
    ReleaseRecord,
    ReleaseRef,
    ReleaseStatus,
    RollbackSpec,
    UpgradeSpec,
    now,
)
from chalicelib.domain.plans import Facts, Plan, RuntimePlan, StepFacts
from chalicelib.errors import InvalidInput, PlanNotFound, PlanStale

PLAN_ID_BYTES = 16
PLAN_PREFIX = "plans/"  # where plans' requests are kept in the charts bucket (a lifecycle rule expires them)


class Planner:
    def __init__(
        self,
        store: Store,
        registry: ClusterRegistry,
        helm: Helm,
        catalog: Catalog,
        limits: Limits,
        requests: Blobs,
        ttl_s: int = plans.PLAN_TTL_S,
    ) -> None:
        self.limits = limits
        self.requests = requests  # plans' requests, apart from the table (``plans/<id>.json`` in the charts bucket)
        self.store = store
        self.registry = registry
        self.helm = helm
        self.catalog = catalog
        self.ttl_s = ttl_s

    # ------------------------------------------------------------ making a plan (a diff's answer)

    def plan_upgrade(self, ref: ReleaseRef, spec: UpgradeSpec, request: dict[str, Any], reveal: bool) -> dict[str, Any]:
        """Keep a plan of the upgrade ``request`` (parsed as ``spec``, its masking rules joined); the fields a diff
        answer adds: ``plan`` and the three-way ``values``."""
        record = self._current(ref)
        archive = self.catalog.chart_archive(spec)
        defaults = _chart_defaults(archive.texts.get("values.yaml", ""))
        deployed = self._values(ref, None) if record else {}
        proposed = self._proposed(spec, deployed)
        facts = Facts(record.revision if record else 0, archive.digest, vals.digest(proposed))
        plan = self._keep(ref, "upgrade", request, facts)
        rules = redact.Masking(spec.sensitive_paths, spec.sensitive_keys) + (
            record.masking if record else redact.NO_MASKING
        )
        view = {"chart_defaults": defaults, "deployed": deployed, "proposed": proposed}
        return {"plan": plan.answer(), "values": _shown(view, rules, reveal)}

    def plan_rollback(
        self, ref: ReleaseRef, spec: RollbackSpec, request: dict[str, Any], reveal: bool
    ) -> dict[str, Any]:
        """Keep a plan of the rollback ``request`` (the Differ checked the release and the target revision)."""
        record = self._required(ref)
        target = spec.revision or record.revision - 1
        deployed = self._values(ref, None)
        proposed = self._values(ref, target)
        plan = self._keep(ref, "rollback", request, Facts(record.revision, None, vals.digest(proposed)))
        rules = record.masking + self.registry.get(ref.cluster).masking
        view = {"chart_defaults": None, "deployed": deployed, "proposed": proposed}
        return {"plan": plan.answer(), "values": _shown(view, rules, reveal)}

    # ------------------------------------------------------------ applying one

    def load(self, plan_id: object, ref: ReleaseRef, action: str) -> Plan:
        """The plan ``plan_id`` made for ``action`` on ``ref``; ``PlanNotFound`` when there is none, it expired, or
        it was made for another release or verb (a plan's existence is not told to whoever names another)."""
        if not isinstance(plan_id, str) or not plan_id.startswith("plan-") or len(plan_id) > 64:
            raise InvalidInput("plan", "must be a plan id as a diff answered it (plan.id)")
        plan = self.store.get_plan(plan_id)
        if plan is None or plan.ref != ref or plan.action != action:
            raise PlanNotFound(f"no plan {plan_id} to {action} {ref.key}: unknown, expired, or made for another")
        return replace(plan, request=self._request(plan))

    def _request(self, plan: Plan) -> dict[str, Any]:
        """The plan's request, read back from where it was kept and checked against the table's digest."""
        data = self.requests.get(_request_key(plan.id))
        try:
            request = json.loads(data) if data is not None else None
        except ValueError:
            request = None
        if not isinstance(request, dict) or plans.request_digest(request) != plan.request_digest:
            raise PlanNotFound(f"plan {plan.id}: its request is no longer kept (expired)")
        return request

    def upgrade_spec(self, plan: Plan) -> UpgradeSpec:
        """The plan's request parsed again, as when it was made."""
        return UpgradeSpec.from_json(plan.request, self.limits)

    def rollback_spec(self, plan: Plan) -> RollbackSpec:
        return RollbackSpec.from_json(plan.request, self.limits)

    def check_upgrade(self, plan: Plan, spec: UpgradeSpec) -> None:
        """``PlanStale`` naming what changed since ``plan`` (``spec``: its request, parsed again)."""
        record = self._current(plan.ref)
        digest = self.catalog.chart_archive(spec).digest
        deployed = self._values(plan.ref, None) if record and _reuses(spec) else {}
        facts = Facts(record.revision if record else 0, digest, vals.digest(self._proposed(spec, deployed)))
        _refuse_if_stale(plan, facts)

    def check_rollback(self, plan: Plan, spec: RollbackSpec) -> None:
        record = self._required(plan.ref)
        target = spec.revision or record.revision - 1
        values = self._values(plan.ref, target) if target >= 1 else {}
        _refuse_if_stale(plan, Facts(record.revision, None, vals.digest(values)))

    # ------------------------------------------------------------ reading

    def _current(self, ref: ReleaseRef) -> ReleaseRecord | None:
        record = self.store.get_release(ref)
        return None if record is None or record.status is ReleaseStatus.UNINSTALLED else record

    def _required(self, ref: ReleaseRef) -> ReleaseRecord:
        record = self._current(ref)
        if record is None:
            raise PlanStale(f"release {ref.key} no longer exists", ["revision"])
        return record

    def _values(self, ref: ReleaseRef, revision: int | None) -> dict[str, Any]:
        kubeconfig = self.registry.credentials(ref.cluster).kubeconfig
        found = self.helm.get(kubeconfig, ref, "values", revision)
        return dict(found) if isinstance(found, dict) else {}

    @staticmethod
    def _proposed(spec: UpgradeSpec, deployed: dict[str, Any]) -> dict[str, Any]:
        """The user values the upgrade would leave (helm merges the chart's defaults under them itself)."""
        return vals.merge(deployed, spec.values) if _reuses(spec) else spec.values

    def _keep(self, ref: ReleaseRef, action: str, request: dict[str, Any], facts: Facts) -> Plan:
        created = now()
        plan = Plan(
            id=_new_id(),
            ref=ref,
            action=action,
            request=request,
            facts=facts,
            created_at=created,
            expires_at=created + self.ttl_s,
            request_digest=plans.request_digest(request),
        )
        self.requests.put(_request_key(plan.id), json.dumps(request).encode(), "application/json")
        self.store.put_plan(plan)  # the facts and the request's digest; never the request
        return plan

    # ------------------------------------------------------------ runtime plans

    def chart_digest(self, spec: ChartSpec) -> str:
        """The sha256 of the chart archive ``spec`` names, as helm would get it."""
        return self.catalog.chart_archive(spec).digest

    def keep_runtime(self, runtime: str, commit: str, steps: tuple[StepFacts, ...]) -> RuntimePlan:
        """Keep a runtime's plan: the commit read and each release's step and facts (digests only)."""
        created = now()
        plan = RuntimePlan(_new_id(), runtime, commit, steps, created, created + self.ttl_s)
        self.store.put_runtime_plan(plan)
        return plan

    def load_runtime(self, plan_id: object, runtime: str) -> RuntimePlan:
        """The plan ``plan_id`` made for ``runtime``; ``PlanNotFound`` when there is none, it expired, or it was made
        for another runtime or a release."""
        if not isinstance(plan_id, str) or not plan_id.startswith("plan-") or len(plan_id) > 64:
            raise InvalidInput("plan", "must be a plan id as a runtime's plan answered it (plan.id)")
        plan = self.store.get_runtime_plan(plan_id)
        if plan is None or plan.runtime != runtime:
            raise PlanNotFound(f"no plan {plan_id} to sync runtime {runtime}: unknown, expired, or made for another")
        return plan

    @staticmethod
    def check_runtime(plan: RuntimePlan, commit: str, steps: tuple[StepFacts, ...]) -> None:
        """``PlanStale`` naming what changed (``details.releases``: per release, its own facts that did)."""
        changed, per_release = plans.runtime_stale(plan, commit, steps)
        if changed:
            raise PlanStale(
                f"plan {plan.id} is stale: {', '.join(changed)} changed since it was made", changed, per_release
            )


def _new_id() -> str:
    return "plan-" + secrets.token_hex(PLAN_ID_BYTES)


def _request_key(plan_id: str) -> str:
    return f"{plan_id}.json"


def _reuses(spec: UpgradeSpec) -> bool:
    return spec.reuse_values or spec.reset_then_reuse_values


def _chart_defaults(text: str) -> dict[str, Any]:
    try:
        return vals.parse_values(text or None, "values.yaml")
    except InvalidInput:
        return {}  # a chart whose values.yaml is not a mapping here: helm would refuse it; nothing to show


def _shown(view: dict[str, Any], rules: redact.Masking, reveal: bool) -> dict[str, Any]:
    if reveal:
        return view
    return {k: None if v is None else redact.mask_values(v, rules.paths, rules.keys) for k, v in view.items()}


def _refuse_if_stale(plan: Plan, facts: Facts) -> None:
    changed = plans.stale(plan.facts, facts)
    if changed:
        raise PlanStale(f"plan {plan.id} is stale: {', '.join(changed)} changed since it was made", changed)
