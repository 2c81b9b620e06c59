"""Reviewed plans (``domain/plans.py``): one item per plan, written when a diff (or a runtime's plan) is answered,
read when it is applied, gone after its ``ttl`` (an item DynamoDB has not swept yet counts as absent).

A release plan's item holds its facts and its request's digest, never the request (its values): core/plans.py keeps
the request in the charts bucket (``plans/<id>.json``). A runtime plan holds digests only."""

from __future__ import annotations

import math

from chalicelib.adapters.store import codec, keys
from chalicelib.adapters.store.table import Part
from chalicelib.domain.models import now
from chalicelib.domain.plans import Plan, RuntimePlan


class Plans(Part):
    def put_plan(self, plan: Plan) -> None:
        """Keep ``plan`` until its ``expires_at`` (DynamoDB TTL)."""
        doc = plan.to_json(with_request=False)  # the request (its values) is kept elsewhere: core/plans.py
        self.table.put({**keys.plan(plan.id), "ttl": math.ceil(plan.expires_at), "plan": codec.dynamo_safe(doc)})

    def get_plan(self, plan_id: str) -> Plan | None:
        """The plan, or None when there is none or it expired."""
        item = self.table.get(keys.plan(plan_id))
        if not item or "plan" not in item:
            return None
        plan = Plan.from_json(codec.plain(item["plan"]))
        return plan if plan.expires_at > now() else None

    def put_runtime_plan(self, plan: RuntimePlan) -> None:
        """Keep a runtime's plan until its ``expires_at`` (DynamoDB TTL)."""
        doc = codec.dynamo_safe(plan.to_json())
        self.table.put({**keys.plan(plan.id), "ttl": math.ceil(plan.expires_at), "runtime_plan": doc})

    def get_runtime_plan(self, plan_id: str) -> RuntimePlan | None:
        """The runtime plan, or None when there is none (or it is a release's plan) or it expired."""
        item = self.table.get(keys.plan(plan_id))
        if not item or "runtime_plan" not in item:
            return None
        plan = RuntimePlan.from_json(codec.plain(item["runtime_plan"]))
        return plan if plan.expires_at > now() else None
