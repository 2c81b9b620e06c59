"""Operations, the release leases they hold, Idempotency-Keys, and the CloudFormation request an operation answers.

Every state change is a conditional write, so two workers (or a worker and the sweep) never both win:

* ``accept``: operation (absent) + lease (absent or expired) [+ idempotency key (absent or past its TTL)]
  [+ attachments] [+ the release record still at a revision: a plan's apply], one transaction;
* ``start_operation``: queued -> running; ``requeue_operation``: running (not started anywhere) -> queued;
  ``set_progress``: only while running; ``fail_operation``: queued or running -> failed;
* ``finish_operation``: operation (queued or running) + lease deleted (ours, or gone) + release record + the
  revisions that changed (and those helm pruned), one transaction; ``release_lease``: deleted only if ours;
* ``take_cfn_reply``: claimed once.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from chalicelib.adapters.store import codec, keys
from chalicelib.adapters.store.releases import release_item, revision_item, sync_revisions
from chalicelib.adapters.store.table import Part, all_of
from chalicelib.domain.events import release_state
from chalicelib.domain.models import (
    Idempotency,
    Lease,
    Operation,
    OperationStatus,
    ReleaseRecord,
    ReleaseRef,
    Revision,
    now,
)
from chalicelib.errors import DependencyUnavailable, ReleaseLocked

ACCEPT_ATTEMPTS = 2
IDEMPOTENCY_TTL_S = 24 * 3600  # a key is remembered for a day (DynamoDB TTL attribute ``ttl``)
CFN_REPLY_TTL_S = 2 * 3600  # CloudFormation gives up on a custom resource after at most an hour (ServiceTimeout)
UNFINISHED = (OperationStatus.QUEUED.value, OperationStatus.RUNNING.value)
MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit per TransactWriteItems
PRUNED_WINDOW = 10  # revisions below helm's oldest deleted with the outcome: what one operation can prune
RELEASE_AFTER = "release_after"  # an ended operation's release as it left it (its state-change event's ``release``)


class IdempotentReplay(Exception):
    """The Idempotency-Key is already claimed (internal: the pipeline answers with the recorded operation)."""


class StaleRead(Exception):
    """A condition given to ``accept`` failed: something the request's checks read (the release record, the cluster,
    the repositories) changed since (internal: the hall checks again with fresh reads)."""


def operation_item(op: Operation, release: ReleaseRecord | None = None) -> dict[str, Any]:
    """The whole item of an operation record: keys, index keys, attributes; with ``release`` (the record an ending
    operation left), that release's state as its state-change event shows it, read from the table's stream
    (``RELEASE_AFTER``: adapters/stream.py)."""
    item = {**keys.operation(op.id), **keys.operation_indexes(op), **codec.operation_attributes(op)}
    if release is not None:
        item[RELEASE_AFTER] = codec.dynamo_safe(release_state(release))
    return item


def lease_item(lease: Lease, acquired_at: float) -> dict[str, Any]:
    return {
        **keys.lease(lease.ref),
        **keys.lease_index(lease.ref, lease.expires_at),
        **codec.lease_attributes(lease, acquired_at),
    }


class Operations(Part):
    # ------------------------------------------------------------ accepting

    def accept(
        self,
        op: Operation,
        lease_s: int,
        idem: Idempotency | None = None,
        attachments: tuple[dict[str, Any], ...] = (),
        conditions: tuple[dict[str, Any], ...] = (),
    ) -> Operation:
        """Record a queued operation, take the release's lease and claim the idempotency key, atomically; the
        operation as stored (its request as a read would give it back), without reading it.
        ``attachments`` are items stored with the operation in the same transaction (under the operation's
        partition, each at its own ``sk``: e.g. the CloudFormation request to answer when it ends, made by
        ``cfn_reply_item``).

        ``conditions`` are ``ConditionCheck`` items checked in the same transaction (``release_as_read``,
        ``cluster_as_read``, ``repositories_as_read``, or any other): what the request's checks read is still so when
        the operation is accepted, so a run can use those reads instead of reading again.

        Raises ``ReleaseLocked`` (with the holder's operation id) when a live lease exists, ``IdempotentReplay``
        when the key was claimed first by another request (the caller then reads it with ``get_idempotency``), and
        ``StaleRead`` when one of ``conditions`` failed (nothing was written).
        """
        ts = now()
        lease = Lease(op.release, op.id, ts + lease_s)
        record = operation_item(op)
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table.name,
                    "Item": record,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": self.table.name,
                    "Item": lease_item(lease, ts),
                    "ConditionExpression": "attribute_not_exists(pk) OR expires_at < :now",
                    "ExpressionAttributeValues": {":now": codec.number(ts)},
                }
            },
        ]
        if idem is not None:
            items.append(
                {
                    "Put": {
                        "TableName": self.table.name,
                        "Item": {
                            **keys.idempotency(idem.key),
                            "request_hash": idem.request_hash,
                            "operation_id": op.id,
                            "created_at": codec.number(ts),
                            "ttl": int(ts) + IDEMPOTENCY_TTL_S,
                        },
                        # an expired key may linger until DynamoDB's TTL sweeper deletes it: it counts as absent
                        "ConditionExpression": "attribute_not_exists(pk) OR #ttl < :epoch",
                        "ExpressionAttributeNames": {"#ttl": "ttl"},
                        "ExpressionAttributeValues": {":epoch": int(ts)},
                    }
                }
            )
        for extra in attachments:
            items.append(
                {
                    "Put": {
                        "TableName": self.table.name,
                        "Item": {**extra, "pk": keys.operation_pk(op.id)},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        checked = len(items)
        items += [{"ConditionCheck": {"TableName": self.table.name, **c}} for c in conditions]
        attempt = 0
        while True:
            try:
                # the token makes a retried call (response lost in transit) a no-op, not a conflict with itself
                self.table.transact(items, token=f"{attempt}{op.id[1:]}")
                return codec.operation_from_item(record)
            except ClientError as exc:
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if idem is not None and len(reasons) >= 3 and reasons[2] == "ConditionalCheckFailed":
                    raise IdempotentReplay(idem.key) from exc
                if "ConditionalCheckFailed" in reasons[checked:]:
                    raise StaleRead(op.release.key) from exc
                if len(reasons) >= 2 and reasons[1] != "ConditionalCheckFailed":
                    raise DependencyUnavailable("DynamoDB refused the operation record; nothing was written") from exc
                holder = self.lease_holder(op.release)
                attempt += 1
                if holder is None and attempt < ACCEPT_ATTEMPTS:
                    continue  # the holder finished between our write and our read: the release is free now
                raise ReleaseLocked(
                    f"release {op.release.key} is locked by operation {holder or 'that just ended; retry'}",
                    operation_id=holder,
                ) from exc

    def get_idempotency(self, key: str) -> tuple[str, str] | None:
        """(request hash, operation id) recorded for an Idempotency-Key, if any and not past its TTL."""
        item = self.table.get(keys.idempotency(key), consistent=True)
        if not item or int(item.get("ttl", 0)) < now():
            return None
        return str(item["request_hash"]), str(item["operation_id"])

    # ------------------------------------------------------------ leases

    def lease(self, ref: ReleaseRef) -> Lease | None:
        item = self.table.get(keys.lease(ref), consistent=True)
        return codec.lease_from_item(item) if item else None

    def lease_holder(self, ref: ReleaseRef) -> str | None:
        """The operation holding a live lease on the release, if any."""
        lease = self.lease(ref)
        return lease.operation_id if lease and not lease.expired else None

    def expired_leases(self, limit: int = 100) -> list[Lease]:
        """Leases whose expiry has passed: their operation's worker is gone (the sweep recovers them)."""
        index, key = keys.leases_expired_before(now())
        items, _ = self.table.query_page(index, key, None, limit, None)
        return [codec.lease_from_item(i) for i in items]

    def live_leases(self, limit: int = 1000) -> list[Lease]:
        """Leases not yet expired: the releases an operation holds right now (one range query)."""
        index, key = keys.leases_live_at(now())
        items, _ = self.table.query_page(index, key, None, limit, None)
        return [codec.lease_from_item(i) for i in items]

    def release_lease(self, ref: ReleaseRef, op_id: str) -> None:
        """Free the lease if ``op_id`` still holds it."""
        try:
            self.table.delete(keys.lease(ref), ConditionExpression=Attr("operation_id").eq(op_id))
        except ClientError:
            pass  # not ours any more: someone recovered it on purpose

    # ------------------------------------------------------------ running and ending

    def get_operation(self, op_id: str) -> Operation | None:
        item = self.table.get(keys.operation(op_id), consistent=True)
        return codec.operation_from_item(item) if item else None

    def start_operation(self, op_id: str) -> bool:
        """queued -> running. False when the operation is not queued (already run: a redelivery)."""
        ts = codec.number(now())
        return self._update_operation(
            op_id,
            "SET #s = :running, started_at = :t, updated_at = :t",
            "#s = :queued",
            {":running": "running", ":queued": "queued", ":t": ts},
        )

    def set_progress(self, op_id: str, progress: dict[str, Any]) -> bool:
        """Record a running operation's ``progress`` (conditional: never on one that ended). False when it is not
        running. One small UpdateItem; the caller writes only when the progress changed."""
        return self._update_operation(
            op_id, "SET progress = :p", "#s = :running", {":p": codec.dynamo_safe(progress), ":running": "running"}
        )

    def requeue_operation(self, op_id: str) -> bool:
        """running -> queued, for an operation accepted running to be run in a request that could not start it
        (nothing ran): the worker then starts it as any queued one. False when it is not running any more."""
        ts = codec.number(now())
        return self._update_operation(
            op_id,
            "SET #s = :queued, updated_at = :t REMOVE started_at",
            "#s = :running",
            {":running": "running", ":queued": "queued", ":t": ts},
        )

    def fail_operation(self, op_id: str, error: dict[str, Any]) -> bool:
        """End a queued or running operation ``failed`` (conditional). False when it had already ended."""
        ts = codec.number(now())
        return self._update_operation(
            op_id,
            "SET #s = :failed, #e = :error, finished_at = :t, updated_at = :t",
            "#s IN (:queued, :running)",
            {
                ":failed": "failed",
                ":queued": "queued",
                ":running": "running",
                ":error": codec.dynamo_safe(error),
                ":t": ts,
            },
            {"#e": "error"},
        )

    def _update_operation(
        self, op_id: str, update: str, condition: str, values: dict[str, Any], names: dict[str, str] | None = None
    ) -> bool:
        """One conditional UpdateItem of an operation record (``#s`` names its status). False when ``condition``
        does not hold (or the write was refused)."""
        try:
            self.table.update(
                keys.operation(op_id),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#s": "status", **(names or {})},
                ExpressionAttributeValues=values,
            )
        except ClientError:
            return False
        return True

    def finish_operation(
        self,
        op: Operation,
        record: ReleaseRecord | None,
        revisions: list[Revision] | None = None,
    ) -> bool:
        """Write the outcome in one transaction: release record, operation (was running), lease freed, and with
        ``revisions`` (helm's history now) every one of them (a rollback or a recovery supersedes an older one) plus
        deletes of the ``PRUNED_WINDOW`` numbers below helm's oldest (what helm pruned; deleting an absent item is
        a no-op); an empty history (uninstalled) deletes the numbers up to the record's revision. A history too
        long for a transaction, or an empty one without a record, is written beforehand by ``sync_revisions``. True
        when this outcome is the one stored; False when the operation had been ended meanwhile."""
        extra: list[dict[str, Any]] = []
        if revisions is not None:
            writes = self._revision_writes(op.release, revisions, record)
            if writes is None or len(writes) + 3 > MAX_TRANSACTION_ITEMS:
                sync_revisions(self.table, op.release, revisions)
            else:
                extra = writes
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table.name,
                    "Item": operation_item(op, record),
                    "ConditionExpression": "#s IN (:running, :queued)",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":running": "running", ":queued": "queued"},
                }
            },
            {
                "Delete": {
                    "TableName": self.table.name,
                    "Key": keys.lease(op.release),
                    "ConditionExpression": "attribute_not_exists(pk) OR operation_id = :op",
                    "ExpressionAttributeValues": {":op": op.id},
                }
            },
        ]
        if record is not None:
            items.append({"Put": {"TableName": self.table.name, "Item": release_item(record)}})
        try:
            self.table.transact(items + extra, token=f"f{op.id}")
        except ClientError:
            # The operation was ended meanwhile (the sweep declared its worker lost): keep that verdict, but the
            # release record and its history are still what helm reports now, and the lease, if ours, is freed.
            if extra and revisions is not None:
                sync_revisions(self.table, op.release, revisions)
            if record is not None:
                self.table.put(release_item(record))
            self.release_lease(op.release, op.id)
            return False
        return True

    def _revision_writes(
        self, ref: ReleaseRef, revisions: list[Revision], record: ReleaseRecord | None
    ) -> list[dict[str, Any]] | None:
        """The transaction items that make the stored history ``revisions``; None when they cannot be told without
        reading the stored numbers (``sync_revisions``). An empty history (uninstalled) deletes every number up to
        the record's revision and ``PRUNED_WINDOW`` past it (deleting an absent item is a no-op)."""
        if not revisions:
            if record is None:
                return None
            return [
                {"Delete": {"TableName": self.table.name, "Key": keys.revision(ref, n)}}
                for n in range(1, record.revision + PRUNED_WINDOW + 1)
            ]
        oldest = min(r.revision for r in revisions)
        puts = [{"Put": {"TableName": self.table.name, "Item": revision_item(ref, r)}} for r in revisions]
        deletes = [
            {"Delete": {"TableName": self.table.name, "Key": keys.revision(ref, n)}}
            for n in range(max(1, oldest - PRUNED_WINDOW), oldest)
        ]
        return puts + deletes

    # ------------------------------------------------------------ listing

    def list_operations(
        self,
        cluster: str | None,
        namespace: str | None,
        release: str | None,
        status: str | None,
        action: str | None,
        limit: int,
        token: str | None,
    ) -> tuple[list[Operation], str | None]:
        """Newest first; one cluster's (gsi1) or every cluster's (gsi2); the rest are filters."""
        index, key = keys.operations(cluster)
        flt = all_of(
            [
                c
                for c in (
                    Attr("namespace").eq(namespace) if namespace else None,
                    Attr("release_name").eq(release) if release else None,
                    Attr("status").eq(status) if status else None,
                    Attr("action").eq(action) if action else None,
                )
                if c is not None
            ]
        )
        items, next_token = self.table.query_page(index, key, flt, limit, token, forward=False)
        return [codec.operation_from_item(i) for i in items], next_token

    def unfinished_operations(self) -> list[Operation]:
        """Every queued or running operation, by a scan of the whole table: for the local stack's restart only."""
        flt = keys.operation_records() & Attr("status").is_in(list(UNFINISHED))
        return [codec.operation_from_item(i) for i in self.table.scan(flt)]

    # ------------------------------------------------------------ CloudFormation requests

    @staticmethod
    def cfn_reply_item(reply: dict[str, Any]) -> dict[str, Any]:
        """The attachment (see ``accept``) holding a CloudFormation request to answer when the operation ends.
        It holds the presigned ResponseURL: it is never listed, returned or logged, and expires (``ttl``)."""
        return {"sk": keys.CFN_REPLY, **codec.to_doc(reply), "ttl": int(now()) + CFN_REPLY_TTL_S}

    def take_cfn_reply(self, op: Operation) -> dict[str, Any] | None:
        """Claim the operation's CloudFormation request, once: the first caller gets it, every later one None (and
        an operation accepted without one, at no read)."""
        if not op.may_have(keys.CFN_REPLY):
            return None
        try:
            resp = self.table.update(
                keys.cfn_reply(op.id),
                UpdateExpression="SET answered_at = :t",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(answered_at)",
                ExpressionAttributeValues={":t": codec.number(now())},
                ReturnValues="ALL_NEW",
            )
        except ClientError:
            return None
        return codec.from_doc(resp["Attributes"])
