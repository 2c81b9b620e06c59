"""Audit entries: one item per mutating or refused call, listed newest first from a time, kept until ``ttl``.

The entry's shape belongs to ``chalicelib.core.audit``; here it is keyed, indexed by time, and its numbers
converted. Cluster, namespace, release, principal and result filters are FilterExpressions on its fields.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.adapters.store import codec, keys
from chalicelib.adapters.store.table import KEY_ATTRIBUTES, Part, all_of

_NOT_FIELDS = {*KEY_ATTRIBUTES, "ttl"}


class Audit(Part):
    def put_audit(self, entry: dict[str, Any], ttl_epoch: int) -> None:
        """One audit entry (it has an ``id`` and an ``at`` time); expires at ``ttl_epoch`` (DynamoDB TTL)."""
        item = {
            **keys.audit(entry["id"]),
            **keys.audit_index(entry["at"], entry["id"]),
            "ttl": ttl_epoch,
            **codec.dynamo_safe(entry),
        }
        self.table.put(item)

    def list_audit(
        self, since: float, filters: dict[str, str], limit: int, token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first, from ``since``; ``filters`` are exact matches on entry fields."""
        index, key = keys.audit_since(since)
        flt = all_of([Attr(k).eq(val) for k, val in sorted(filters.items())])
        items, next_token = self.table.query_page(index, key, flt, limit, token, forward=False)
        return [{k: val for k, val in codec.plain(i).items() if k not in _NOT_FIELDS} for i in items], next_token
