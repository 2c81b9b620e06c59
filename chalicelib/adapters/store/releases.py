"""Release records, their revision history and their events (reconcile findings)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.adapters.store import codec, keys
from chalicelib.adapters.store.table import Part, Table, all_of
from chalicelib.domain.models import ListQuery, ReleaseRecord, ReleaseRef, ReleaseStatus, Revision, now
from chalicelib.errors import DependencyUnavailable

RELEASE_EVENT_TTL_S = 90 * 24 * 3600  # reconcile findings are kept 90 days


def release_item(record: ReleaseRecord) -> dict[str, Any]:
    """The whole item of a release record: keys, index keys, attributes."""
    return {**keys.release(record.ref), **keys.release_indexes(record.ref), **codec.release_attributes(record)}


def revision_item(ref: ReleaseRef, rev: Revision) -> dict[str, Any]:
    return {**keys.revision(ref, rev.revision), **codec.revision_attributes(rev)}


def sync_revisions(table: Table, ref: ReleaseRef, revisions: list[Revision]) -> None:
    """Make the stored history equal ``revisions``: a Query of the stored numbers, then upserts and deletes in
    batches (the reconcile, and an outcome whose history does not fit its transaction)."""
    keep = {r.revision for r in revisions}
    index, key = keys.revisions(ref)
    stale = [n for n in (int(i["revision"]) for i in table.query_all(index, key)) if n not in keep]
    try:
        with table.resource.batch_writer() as batch:
            for rev in revisions:
                batch.put_item(Item=revision_item(ref, rev))
            for number in stale:
                batch.delete_item(Key=keys.revision(ref, number))
    except (ClientError, BotoCoreError) as exc:
        raise DependencyUnavailable("DynamoDB is unavailable: could not write the revision history") from exc


def release_filter(q: ListQuery) -> ConditionBase | None:
    """The FilterExpression of a list: statuses (``pending`` = every ``pending-*``), name, search, chart."""
    conds: list[ConditionBase] = []
    if q.statuses:
        statuses: list[str] = []
        for s in q.statuses:
            statuses += [st.value for st in ReleaseStatus if st.value.startswith("pending-")] if s == "pending" else [s]
        conds.append(Attr("status").is_in(statuses))
    else:
        conds.append(Attr("status").ne(ReleaseStatus.UNINSTALLED.value))
    if q.name:
        conds.append(Attr("name").eq(q.name))
    if q.search:
        conds.append(Attr("name").contains(q.search))
    if q.chart:
        conds.append(Attr("chart_name").eq(q.chart))
    return all_of(conds)


class Releases(Part):
    def get_release(self, ref: ReleaseRef) -> ReleaseRecord | None:
        item = self.table.get(keys.release(ref))
        return codec.release_from_item(item) if item else None

    @staticmethod
    def release_as_read(ref: ReleaseRef, record: ReleaseRecord | None) -> dict[str, Any]:
        """A condition for ``accept``: the release's record is still ``record`` (absent when None)."""
        if record is None:
            return {"Key": keys.release(ref), "ConditionExpression": "attribute_not_exists(pk)"}
        return {
            "Key": keys.release(ref),
            "ConditionExpression": "updated_at = :u AND #r = :r AND #s = :s",
            "ExpressionAttributeNames": {"#r": "revision", "#s": "status"},
            "ExpressionAttributeValues": {
                ":u": codec.number(record.updated_at),
                ":r": record.revision,
                ":s": record.status.value,
            },
        }

    def list_releases(self, q: ListQuery) -> tuple[list[ReleaseRecord], str | None]:
        index, key = keys.releases(q.cluster, q.namespace)
        items, token = self.table.query_page(index, key, release_filter(q), q.limit, q.next_token)
        return [codec.release_from_item(i) for i in items], token

    def count_releases(self, cluster: str) -> int:
        """1 when the cluster has a release that is not uninstalled, else 0 (enough to refuse its deletion)."""
        index, key = keys.releases(cluster)
        items, _ = self.table.query_page(index, key, Attr("status").ne(ReleaseStatus.UNINSTALLED.value), 1, None)
        return len(items)

    def put_releases(self, records: Iterable[ReleaseRecord]) -> None:
        """Write many records at once (BatchWriteItem, unconditional): for seeding a table, never for operations."""
        try:
            with self.table.resource.batch_writer() as batch:
                for record in records:
                    batch.put_item(Item=release_item(record))
        except (ClientError, BotoCoreError) as exc:
            raise DependencyUnavailable("DynamoDB is unavailable: could not write the release records") from exc

    def put_release_if_unchanged(self, record: ReleaseRecord, expected: ReleaseRecord | None) -> bool:
        """Write a reconciled record only if the stored one is still ``expected`` (absent when None): an operation
        that finished meanwhile wrote something newer, and wins. False when it did."""
        if expected is None:
            cond: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            cond = {
                "ConditionExpression": "#r = :r AND #s = :s AND last_operation_id = :op",
                "ExpressionAttributeNames": {"#r": "revision", "#s": "status"},
                "ExpressionAttributeValues": {
                    ":r": expected.revision,
                    ":s": expected.status.value,
                    ":op": expected.last_operation_id,
                },
            }
        try:
            self.table.put(release_item(record), **cond)
        except ClientError:
            return False
        return True

    # ------------------------------------------------------------ history

    def history(self, ref: ReleaseRef, max_entries: int) -> list[Revision]:
        """The newest ``max_entries`` revisions, newest first."""
        index, key = keys.revisions(ref)
        items, _ = self.table.query_page(index, key, None, max_entries, None, forward=False)
        return [codec.revision_from_item(i) for i in items]

    def sync_revisions(self, ref: ReleaseRef, revisions: list[Revision]) -> None:
        """Make the stored history equal ``revisions`` (what helm reports): upsert those, delete the rest."""
        sync_revisions(self.table, ref, revisions)

    # ------------------------------------------------------------ events

    def add_release_event(self, ref: ReleaseRef, event: dict[str, Any]) -> None:
        """Record something that happened to a release (a reconcile finding); kept ``RELEASE_EVENT_TTL_S``."""
        ts = now()
        item = {**keys.release_event(ref, ts, uuid.uuid4().hex[:8]), **codec.to_doc(event)}
        self.table.put({**item, "ttl": int(ts) + RELEASE_EVENT_TTL_S})

    def release_events(self, ref: ReleaseRef, limit: int) -> list[dict[str, Any]]:
        """A release's recorded events, newest first."""
        index, key = keys.release_events(ref)
        items, _ = self.table.query_page(index, key, None, limit, None, forward=False)
        return [codec.from_doc(i) for i in items]
