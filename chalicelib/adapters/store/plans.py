"""Reviewed plans (``domain/plans.py``): one item per plan, written when a diff is answered, read when it is
applied, gone after its ``ttl`` (an item DynamoDB has not swept yet counts as absent)."""

from __future__ import annotations

import math

from chalicelib.adapters.store import codec, keys
from chalicelib.adapters.store.table import Part
from chalicelib.domain.models import now
from chalicelib.domain.plans import Plan


class Plans(Part):
    def put_plan(self, plan: Plan) -> None:
        """Keep ``plan`` until its ``expires_at`` (DynamoDB TTL)."""
        doc = plan.to_json()
        self.table.put({**keys.plan(plan.id), "ttl": math.ceil(plan.expires_at), "plan": codec.dynamo_safe(doc)})

    def get_plan(self, plan_id: str) -> Plan | None:
        """The plan, or None when there is none or it expired."""
        item = self.table.get(keys.plan(plan_id))
        if not item or "plan" not in item:
            return None
        plan = Plan.from_json(codec.plain(item["plan"]))
        return plan if plan.expires_at > now() else None
