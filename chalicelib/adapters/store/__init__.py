"""DynamoDB access: one table, every access pattern listed here, conditional writes instead of read-then-write.

Table ``charthouse`` (pay per request), string keys ``pk``/``sk``, two global secondary indexes (projection ALL):

====================  ==========================  ====================  ===================  ====================
item                  pk / sk                     gsi1pk / gsi1sk       gsi2pk / gsi2sk      written by
====================  ==========================  ====================  ===================  ====================
cluster               CLUSTER#<c> / META          CLUSTERS / <c>        -                    PUT cluster
release record        REL#<c>#<ns>#<n> / META     RELS#<c> / <ns>#<n>   RELS / <c>#<ns>#<n>  worker, after helm
revision              REL#<c>#<ns>#<n> / REV#<r>  -                     -                    worker, after helm
lease                 REL#<c>#<ns>#<n> / LEASE    LEASES / <exp>#<key>  -                    accept; worker frees
idempotency key       IDEM#<key> / META           -                     -                    accept (TTL: ``ttl``)
operation             OP#<id> / META              OPS#<c> / <t>#<id>    OPS / <t>#<id>       accept; worker
audit entry           AUDIT#<id> / META           AUDIT / <t>#<id>      -                    every mutating or denied call (TTL)
token (local stages)  TOKEN#<sha256> / META       TOKENS / <name>       -                    POST /v1/tokens
policy                POLICY#<name> / META        POLICIES / <name>     -                    PUT /v1/policies/{name}
repository            REPO#<name> / META          REPOS / <name>        -                    PUT repository
uploaded chart        CHART#<name> / V#<version>  UPLOADS / <name>#<v>  -                    POST chart
release event         REL#<c>#<ns>#<n> / EVT#<t>  -                     -                    reconcile (TTL)
CloudFormation reply  OP#<id> / CFN               -                     -                    accept (TTL)
====================  ==========================  ====================  ===================  ====================

(<r> is the revision zero-padded to 10 digits, <t> the creation time zero-padded, so sort order is numeric.)

Access patterns:

* get/put/delete a cluster: GetItem/PutItem/DeleteItem on ``CLUSTER#<c>``; list clusters: Query gsi1 ``CLUSTERS``.
* get a release: GetItem ``REL#...``/``META``; history: Query ``REL#...`` with ``begins_with(sk, "REV#")``
  newest first; list per cluster: Query gsi1 ``RELS#<c>`` (``begins_with(<ns>#)`` for a namespace); list across
  clusters: Query gsi2 ``RELS``. Status/name/search/chart filters are FilterExpressions; pages are filled up to
  ``limit`` and continued with an opaque ``next_token`` (the last returned item's key).
* accept an operation: one TransactWriteItems = Put operation (new id) + Put lease (absent or expired)
  [+ Put idempotency key (absent)]. A replayed key is read with GetItem ``IDEM#<key>``.
* stale leases (the sweep): Query gsi1 ``LEASES`` with ``gsi1sk < <now>`` (<exp> is the zero-padded expiry).
* finish an operation: revisions BatchWrite (idempotent upserts and deletes), then one TransactWriteItems =
  Put release record + Update operation (condition: still ``running``) + Delete lease (condition: ours).
* get an operation: GetItem ``OP#<id>``; list: Query gsi1 ``OPS#<c>`` or gsi2 ``OPS``, newest first.
* reconcile: list a cluster's records (gsi1, every status), then per changed release a conditional PutItem
  (``put_release_if_unchanged``) and a PutItem of a release event; events: Query ``REL#...`` ``begins_with EVT#``,
  newest first. A CloudFormation request is written with its operation (same transaction) and claimed once with a
  conditional UpdateItem (``take_cfn_reply``) by whoever ends the operation.
* audit: Query gsi1 ``AUDIT`` with ``gsi1sk >= <since>``, newest first; cluster/release/principal filters are
  FilterExpressions. Tokens and policies are plain entries (below), tokens found by GetItem on their hash.
* repositories and uploaded charts (``put_entry``/``get_entry``/``list_entries``/``delete_entry``): GetItem,
  PutItem, DeleteItem on their keys; list: Query gsi1 ``REPOS`` / ``UPLOADS`` (``begins_with(<name>#)`` for
  one chart's versions).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.models import (
    Action,
    ClusterInfo,
    Idempotency,
    Lease,
    ListQuery,
    Operation,
    OperationStatus,
    ReleaseRecord,
    ReleaseRef,
    ReleaseStatus,
    Revision,
    now,
)
from chalicelib.errors import DependencyUnavailable, InvalidInput, ReleaseLocked

ACCEPT_ATTEMPTS = 2
RELEASE_EVENT_TTL_S = 90 * 24 * 3600  # reconcile findings are kept 90 days
CFN_REPLY_TTL_S = 2 * 3600  # CloudFormation gives up on a custom resource after at most an hour (ServiceTimeout)
IDEMPOTENCY_TTL_S = 24 * 3600  # a key is remembered for a day (DynamoDB TTL attribute ``ttl``)
GSI1 = "gsi1"
GSI2 = "gsi2"
MAX_PAGE = 1000
MAX_ROUNDS = 8  # queries per page of a filtered list, at most (then a short page and a token)


def table_definition(name: str) -> dict[str, Any]:
    """CreateTable arguments: used by the local stack, the tests and the deployment template alike."""
    attrs = ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"]
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in attrs],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": f"{index}pk", "KeyType": "HASH"},
                    {"AttributeName": f"{index}sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in (GSI1, GSI2)
        ],
    }


def _release_pk(ref: ReleaseRef) -> str:
    return f"REL#{ref.cluster}#{ref.namespace}#{ref.name}"


def _num(value: float | int) -> Decimal:
    return Decimal(str(value))


def _clean(item: dict[str, Any]) -> Any:
    """Decimals back to int/float, recursively."""
    if isinstance(item, dict):
        return {k: _clean(v) for k, v in item.items()}
    if isinstance(item, list):
        return [_clean(v) for v in item]
    if isinstance(item, Decimal):
        return int(item) if item == item.to_integral_value() else float(item)
    return item


def _dynamo_safe(data: Any) -> Any:
    """Floats to Decimal for the DynamoDB serializer."""
    if isinstance(data, dict):
        return {k: _dynamo_safe(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_dynamo_safe(v) for v in data]
    if isinstance(data, float):
        return _num(data)
    return data


class IdempotentReplay(Exception):
    """The Idempotency-Key is already claimed (internal: the pipeline answers with the recorded operation)."""


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_token: str | None


class Store:
    """Typed access to the table. Every AWS failure becomes ``DependencyUnavailable``."""

    def __init__(self, dynamodb_resource: Any, table_name: str) -> None:
        self._table = dynamodb_resource.Table(table_name)
        self._client = dynamodb_resource.meta.client  # serialises Python types like the resource does
        self._name = table_name

    # ------------------------------------------------------------ plumbing

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("ConditionalCheckFailedException", "TransactionCanceledException"):
                raise
            raise DependencyUnavailable(f"DynamoDB {code or 'error'}: the metadata store is unavailable") from exc
        except BotoCoreError as exc:
            raise DependencyUnavailable("DynamoDB is unreachable") from exc

    def _query_page(
        self,
        index: str | None,
        key: ConditionBase,
        flt: ConditionBase | None,
        limit: int,
        token: str | None,
        forward: bool = True,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Fill up to ``limit`` matching items; the token is the last returned item's key. With a filter, pages
        grow (a rare match must not cost a round trip per few items) and at most ``MAX_ROUNDS`` queries are made:
        then the page is returned short, with a token that continues after the last item evaluated."""
        items: list[dict[str, Any]] = []
        start = _decode_token(token)
        evaluate = max(limit, 1)  # items a filtered query reads per round; grows fourfold every round
        for _ in range(MAX_ROUNDS):
            wanted = max(limit - len(items), 1)
            kwargs: dict[str, Any] = {
                "KeyConditionExpression": key,
                "ScanIndexForward": forward,
                "Limit": min(MAX_PAGE, evaluate if flt is not None else wanted),
            }
            if index:
                kwargs["IndexName"] = index
            if flt is not None:
                kwargs["FilterExpression"] = flt
            if start:
                kwargs["ExclusiveStartKey"] = start
            resp = self._call(self._table.query, **kwargs)
            page = resp.get("Items", [])
            for position, item in enumerate(page):
                items.append(item)
                if len(items) == limit:
                    more = position < len(page) - 1 or "LastEvaluatedKey" in resp
                    keys = ["pk", "sk"] + ([f"{index}pk", f"{index}sk"] if index else [])
                    return items, _encode_token({k: item[k] for k in keys}) if more else None
            start = resp.get("LastEvaluatedKey")
            if not start:
                return items, None
            evaluate *= 4
        return items, _encode_token(start) if start else None

    # ------------------------------------------------------------ clusters

    def put_cluster(self, info: ClusterInfo) -> None:
        item = {
            "pk": f"CLUSTER#{info.name}",
            "sk": "META",
            "gsi1pk": "CLUSTERS",
            "gsi1sk": info.name,
            "name": info.name,
            "auth": info.auth,
            "server": info.server,
            "secret_id": info.secret_id,
            "description": info.description,
            "created_at": _num(info.created_at),
            "updated_at": _num(info.updated_at),
        }
        if info.eks:
            item["eks"] = info.eks
        self._call(self._table.put_item, Item=item)

    def get_cluster(self, name: str) -> ClusterInfo | None:
        item = self._call(self._table.get_item, Key={"pk": f"CLUSTER#{name}", "sk": "META"}).get("Item")
        return _cluster_from_item(item) if item else None

    def list_clusters(self) -> list[ClusterInfo]:
        out: list[ClusterInfo] = []
        token: str | None = None
        while True:
            items, token = self._query_page(GSI1, Key("gsi1pk").eq("CLUSTERS"), None, MAX_PAGE, token)
            out += [_cluster_from_item(i) for i in items]
            if not token:
                return out

    def delete_cluster(self, name: str) -> None:
        self._call(self._table.delete_item, Key={"pk": f"CLUSTER#{name}", "sk": "META"})

    # ------------------------------------------------------------ repositories, uploaded charts

    def put_entry(self, pk: str, sk: str, group: str, order: str, data: dict[str, Any]) -> None:
        """A plain JSON document at ``pk``/``sk``, listed under ``group`` in ``order``."""
        item = {"pk": pk, "sk": sk, "gsi1pk": group, "gsi1sk": order, "doc": json.dumps(data, sort_keys=True)}
        self._call(self._table.put_item, Item=item)

    def get_entry(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self._call(self._table.get_item, Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")
        return json.loads(item["doc"]) if item else None

    def list_entries(self, group: str, prefix: str | None = None) -> list[dict[str, Any]]:
        key = Key("gsi1pk").eq(group) & Key("gsi1sk").begins_with(prefix) if prefix else Key("gsi1pk").eq(group)
        out: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            items, token = self._query_page(GSI1, key, None, MAX_PAGE, token)
            out += [json.loads(i["doc"]) for i in items]
            if not token:
                return out

    def delete_entry(self, pk: str, sk: str) -> None:
        self._call(self._table.delete_item, Key={"pk": pk, "sk": sk})

    # ------------------------------------------------------------ releases

    def get_release(self, ref: ReleaseRef) -> ReleaseRecord | None:
        item = self._call(self._table.get_item, Key={"pk": _release_pk(ref), "sk": "META"}).get("Item")
        return _release_from_item(item) if item else None

    def list_releases(self, q: ListQuery) -> tuple[list[ReleaseRecord], str | None]:
        if q.cluster:
            index = GSI1
            key: ConditionBase = Key("gsi1pk").eq(f"RELS#{q.cluster}")
            if q.namespace:
                key = key & Key("gsi1sk").begins_with(f"{q.namespace}#")
        else:
            index = GSI2
            key = Key("gsi2pk").eq("RELS")
        flt = _release_filter(q)
        items, token = self._query_page(index, key, flt, q.limit, q.next_token)
        return [_release_from_item(i) for i in items], token

    def count_releases(self, cluster: str) -> int:
        items, _ = self._query_page(
            GSI1, Key("gsi1pk").eq(f"RELS#{cluster}"), Attr("status").ne(ReleaseStatus.UNINSTALLED.value), 1, None
        )
        return len(items)

    def history(self, ref: ReleaseRef, max_entries: int) -> list[Revision]:
        key = Key("pk").eq(_release_pk(ref)) & Key("sk").begins_with("REV#")
        items, _ = self._query_page(None, key, None, max_entries, None, forward=False)
        return [Revision.from_json(_clean(i)) for i in items]

    def _revision_keys(self, ref: ReleaseRef) -> list[int]:
        key = Key("pk").eq(_release_pk(ref)) & Key("sk").begins_with("REV#")
        out: list[int] = []
        token: str | None = None
        while True:
            items, token = self._query_page(None, key, None, MAX_PAGE, token)
            out += [int(i["revision"]) for i in items]
            if not token:
                return out

    def sync_revisions(self, ref: ReleaseRef, revisions: list[Revision]) -> None:
        """Make the stored history equal ``revisions`` (what helm reports): upsert those, delete the rest."""
        pk = _release_pk(ref)
        keep = {r.revision for r in revisions}
        stale = [r for r in self._revision_keys(ref) if r not in keep]
        try:
            with self._table.batch_writer() as batch:
                for rev in revisions:
                    batch.put_item(Item={"pk": pk, "sk": f"REV#{rev.revision:010d}", **rev.to_json()})
                for number in stale:
                    batch.delete_item(Key={"pk": pk, "sk": f"REV#{number:010d}"})
        except (ClientError, BotoCoreError) as exc:
            raise DependencyUnavailable("DynamoDB is unavailable: could not write the revision history") from exc

    # ------------------------------------------------------------ operations and leases

    def accept(
        self, op: Operation, lease_s: int, idem: Idempotency | None = None, attachments: tuple[dict[str, Any], ...] = ()
    ) -> None:
        """Record a queued operation, take the release's lease and claim the idempotency key, atomically.
        ``attachments`` are items stored with the operation in the same transaction (``OP#<id>`` / their ``sk``:
        e.g. the CloudFormation request to answer when it ends, see ``put_cfn_reply``).

        Raises ``ReleaseLocked`` (with the holder's operation id) when a live lease exists, and ``IdempotentReplay``
        when the key was claimed first by another request (the caller then reads it with ``get_idempotency``).
        """
        ts = now()
        expires = ts + lease_s
        lease = {
            "pk": _release_pk(op.release),
            "sk": "LEASE",
            "operation_id": op.id,
            "acquired_at": _num(ts),
            "expires_at": _num(expires),
            "gsi1pk": "LEASES",
            "gsi1sk": f"{expires:017.3f}#{op.release.key}",
            "cluster": op.release.cluster,
            "namespace": op.release.namespace,
            "name": op.release.name,
        }
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._name,
                    "Item": _operation_item(op),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": self._name,
                    "Item": lease,
                    "ConditionExpression": "attribute_not_exists(pk) OR expires_at < :now",
                    "ExpressionAttributeValues": {":now": _num(ts)},
                }
            },
        ]
        if idem is not None:
            items.append(
                {
                    "Put": {
                        "TableName": self._name,
                        "Item": {
                            "pk": f"IDEM#{idem.key}",
                            "sk": "META",
                            "request_hash": idem.request_hash,
                            "operation_id": op.id,
                            "created_at": _num(ts),
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
                        "TableName": self._name,
                        "Item": {**extra, "pk": f"OP#{op.id}"},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        for attempt in range(ACCEPT_ATTEMPTS):
            try:
                # the token makes a retried call (response lost in transit) a no-op, not a conflict with itself
                token = f"{attempt}{op.id[1:]}"
                self._call(self._client.transact_write_items, TransactItems=items, ClientRequestToken=token)
                return
            except ClientError as exc:
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if idem is not None and len(reasons) >= 3 and reasons[2] == "ConditionalCheckFailed":
                    raise IdempotentReplay(idem.key) from exc
                if len(reasons) >= 2 and reasons[1] != "ConditionalCheckFailed":
                    raise DependencyUnavailable("DynamoDB refused the operation record; nothing was written") from exc
                holder = self.lease_holder(op.release)
                if holder is None and attempt + 1 < ACCEPT_ATTEMPTS:
                    continue  # the holder finished between our write and our read: the release is free now
                raise ReleaseLocked(
                    f"release {op.release.key} is locked by operation {holder or 'that just ended; retry'}",
                    operation_id=holder,
                ) from exc

    def get_idempotency(self, key: str) -> tuple[str, str] | None:
        """(request hash, operation id) recorded for an Idempotency-Key, if any."""
        item = self._call(self._table.get_item, Key={"pk": f"IDEM#{key}", "sk": "META"}, ConsistentRead=True).get(
            "Item"
        )
        if not item or int(item.get("ttl", 0)) < now():
            return None
        return str(item["request_hash"]), str(item["operation_id"])

    def lease(self, ref: ReleaseRef) -> Lease | None:
        item = self._call(self._table.get_item, Key={"pk": _release_pk(ref), "sk": "LEASE"}, ConsistentRead=True).get(
            "Item"
        )
        return _lease_from_item(item) if item else None

    def lease_holder(self, ref: ReleaseRef) -> str | None:
        """The operation holding a live lease on the release, if any."""
        lease = self.lease(ref)
        return lease.operation_id if lease and not lease.expired else None

    def expired_leases(self, limit: int = 100) -> list[Lease]:
        """Leases whose expiry has passed: their operation's worker is gone (the sweep recovers them)."""
        key = Key("gsi1pk").eq("LEASES") & Key("gsi1sk").lt(f"{now():017.3f}")
        items, _ = self._query_page(GSI1, key, None, limit, None)
        return [_lease_from_item(i) for i in items]

    def fail_operation(self, op_id: str, error: dict[str, Any]) -> bool:
        """End a queued or running operation ``failed`` (conditional). False when it had already ended."""
        ts = _num(now())
        try:
            self._call(
                self._table.update_item,
                Key={"pk": f"OP#{op_id}", "sk": "META"},
                UpdateExpression="SET #s = :failed, #e = :error, finished_at = :t, updated_at = :t",
                ConditionExpression="#s IN (:queued, :running)",
                ExpressionAttributeNames={"#s": "status", "#e": "error"},
                ExpressionAttributeValues={
                    ":failed": "failed",
                    ":queued": "queued",
                    ":running": "running",
                    ":error": _dynamo_safe(error),
                    ":t": ts,
                },
            )
        except ClientError:
            return False
        return True

    def release_lease(self, ref: ReleaseRef, op_id: str) -> None:
        try:
            self._call(
                self._table.delete_item,
                Key={"pk": _release_pk(ref), "sk": "LEASE"},
                ConditionExpression=Attr("operation_id").eq(op_id),
            )
        except ClientError:
            pass  # not ours any more: someone recovered it on purpose

    def get_operation(self, op_id: str) -> Operation | None:
        item = self._call(self._table.get_item, Key={"pk": f"OP#{op_id}", "sk": "META"}, ConsistentRead=True).get(
            "Item"
        )
        return _operation_from_item(item) if item else None

    def start_operation(self, op_id: str) -> bool:
        """queued -> running. False when the operation is not queued (already run: a redelivery)."""
        ts = _num(now())
        try:
            self._call(
                self._table.update_item,
                Key={"pk": f"OP#{op_id}", "sk": "META"},
                UpdateExpression="SET #s = :running, started_at = :t, updated_at = :t",
                ConditionExpression="#s = :queued",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":running": "running", ":queued": "queued", ":t": ts},
            )
        except ClientError:
            return False
        return True

    def finish_operation(self, op: Operation, record: ReleaseRecord | None) -> None:
        """Write the outcome in one transaction: release record, operation (was running), lease freed."""
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._name,
                    "Item": _operation_item(op),
                    "ConditionExpression": "#s IN (:running, :queued)",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":running": "running", ":queued": "queued"},
                }
            },
            {
                "Delete": {
                    "TableName": self._name,
                    "Key": {"pk": _release_pk(op.release), "sk": "LEASE"},
                    "ConditionExpression": "attribute_not_exists(pk) OR operation_id = :op",
                    "ExpressionAttributeValues": {":op": op.id},
                }
            },
        ]
        if record is not None:
            items.append({"Put": {"TableName": self._name, "Item": _release_item(record)}})
        try:
            self._call(self._client.transact_write_items, TransactItems=items, ClientRequestToken=f"f{op.id}")
        except ClientError:
            # The operation was ended meanwhile (the sweep declared its worker lost): keep that verdict, but the
            # release record is still what helm reports now, and the lease, if still ours, is freed.
            if record is not None:
                self._call(self._table.put_item, Item=_release_item(record))
            self.release_lease(op.release, op.id)

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
        if cluster:
            index, key = GSI1, Key("gsi1pk").eq(f"OPS#{cluster}")
        else:
            index, key = GSI2, Key("gsi2pk").eq("OPS")
        conds: list[ConditionBase] = [
            c
            for c in (
                Attr("namespace").eq(namespace) if namespace else None,
                Attr("release_name").eq(release) if release else None,
                Attr("status").eq(status) if status else None,
                Attr("action").eq(action) if action else None,
            )
            if c is not None
        ]
        flt = _and(conds)
        items, next_token = self._query_page(index, key, flt, limit, token, forward=False)
        return [_operation_from_item(i) for i in items], next_token

    # ------------------------------------------------------------ reconcile, release events, CloudFormation (issue 5)

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
            self._call(self._table.put_item, Item=_release_item(record), **cond)
        except ClientError:
            return False
        return True

    def add_release_event(self, ref: ReleaseRef, event: dict[str, Any]) -> None:
        """Record something that happened to a release (a reconcile finding): ``REL#...`` / ``EVT#<t>#<rand>``."""
        ts = now()
        item = {
            "pk": _release_pk(ref),
            "sk": f"EVT#{ts:017.3f}#{uuid.uuid4().hex[:8]}",
            "doc": json.dumps(event, sort_keys=True),
            "ttl": int(ts) + RELEASE_EVENT_TTL_S,
        }
        self._call(self._table.put_item, Item=item)

    def release_events(self, ref: ReleaseRef, limit: int) -> list[dict[str, Any]]:
        """A release's recorded events, newest first."""
        key = Key("pk").eq(_release_pk(ref)) & Key("sk").begins_with("EVT#")
        items, _ = self._query_page(None, key, None, limit, None, forward=False)
        return [json.loads(i["doc"]) for i in items]

    @staticmethod
    def cfn_reply_item(reply: dict[str, Any]) -> dict[str, Any]:
        """The attachment (see ``accept``) holding a CloudFormation request to answer when the operation ends.
        It holds the presigned ResponseURL: it is never listed, returned or logged, and expires (``ttl``)."""
        return {"sk": "CFN", "doc": json.dumps(reply, sort_keys=True), "ttl": int(now()) + CFN_REPLY_TTL_S}

    def take_cfn_reply(self, op_id: str) -> dict[str, Any] | None:
        """Claim the operation's CloudFormation request, once: the first caller gets it, every later one None."""
        try:
            resp = self._call(
                self._table.update_item,
                Key={"pk": f"OP#{op_id}", "sk": "CFN"},
                UpdateExpression="SET answered_at = :t",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(answered_at)",
                ExpressionAttributeValues={":t": _num(now())},
                ReturnValues="ALL_NEW",
            )
        except ClientError:
            return None
        return dict(json.loads(resp["Attributes"]["doc"]))

    # ------------------------------------------------------------ audit (issue 6)

    def put_audit(self, entry: dict[str, Any], ttl_epoch: int) -> None:
        """One audit entry (``audit.AuditLog`` shapes it); expires at ``ttl_epoch`` (DynamoDB TTL)."""
        item = {
            "pk": f"AUDIT#{entry['id']}",
            "sk": "META",
            "gsi1pk": "AUDIT",
            "gsi1sk": f"{entry['at']:017.3f}#{entry['id']}",
            "ttl": ttl_epoch,
            **_dynamo_safe(entry),
        }
        self._call(self._table.put_item, Item=item)

    def list_audit(
        self, since: float, filters: dict[str, str], limit: int, token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first, from ``since``; ``filters`` are exact matches on entry fields."""
        key = Key("gsi1pk").eq("AUDIT") & Key("gsi1sk").gte(f"{since:017.3f}")
        flt = _and([Attr(k).eq(val) for k, val in sorted(filters.items())])
        items, next_token = self._query_page(GSI1, key, flt, limit, token, forward=False)
        drop = {"pk", "sk", "gsi1pk", "gsi1sk", "ttl"}
        return [{k: val for k, val in _clean(i).items() if k not in drop} for i in items], next_token

    # ------------------------------------------------------------ local stack snapshot

    def scan_all(self) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {}
        while True:
            resp = self._call(self._table.scan, **kwargs)
            yield from resp.get("Items", [])
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


# ---------------------------------------------------------------- item <-> model


def _and(conds: list[ConditionBase]) -> ConditionBase | None:
    if not conds:
        return None
    out = conds[0]
    for c in conds[1:]:
        out = out & c
    return out


def _release_filter(q: ListQuery) -> ConditionBase | None:
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
    return _and(conds)


def _encode_token(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode().rstrip("=")


def _decode_token(token: str | None) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("next_token", "is not a token this service issued") from exc
    if (
        not isinstance(data, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items())
        or "pk" not in data
        or len(data) > 4
    ):
        raise InvalidInput("next_token", "is not a token this service issued")
    return data


def _lease_from_item(item: dict[str, Any]) -> Lease:
    i = _clean(item)
    return Lease(ReleaseRef(i["cluster"], i["namespace"], i["name"]), i["operation_id"], float(i["expires_at"]))


def _cluster_from_item(item: dict[str, Any]) -> ClusterInfo:
    item = _clean(item)
    return ClusterInfo(
        name=item["name"],
        auth=item["auth"],
        server=item.get("server", ""),
        secret_id=item["secret_id"],
        description=item.get("description", ""),
        created_at=item["created_at"],
        updated_at=item["updated_at"],
        eks=item.get("eks"),
    )


def _release_item(r: ReleaseRecord) -> dict[str, Any]:
    ref = r.ref
    return {
        "pk": _release_pk(ref),
        "sk": "META",
        "gsi1pk": f"RELS#{ref.cluster}",
        "gsi1sk": f"{ref.namespace}#{ref.name}",
        "gsi2pk": "RELS",
        "gsi2sk": f"{ref.cluster}#{ref.namespace}#{ref.name}",
        "cluster": ref.cluster,
        "namespace": ref.namespace,
        "name": ref.name,
        "status": r.status.value,
        "revision": r.revision,
        "chart_name": r.chart_name,
        "chart_version": r.chart_version,
        "app_version": r.app_version,
        "first_deployed": r.first_deployed,
        "last_deployed": r.last_deployed,
        "description": r.description,
        "notes": r.notes,
        "values_digest": r.values_digest,
        "labels": r.labels,
        "last_action": r.last_action,
        "last_operation_id": r.last_operation_id,
        "failures": r.failures,
        "updated_at": _num(r.updated_at),
        "changed_out_of_band": r.changed_out_of_band,
        "drift_correction": r.drift_correction,
        "sensitive_paths": json.dumps([list(p) for p in r.sensitive_paths]),
    }


def _release_from_item(item: dict[str, Any]) -> ReleaseRecord:
    i = _clean(item)
    return ReleaseRecord(
        ref=ReleaseRef(i["cluster"], i["namespace"], i["name"]),
        status=ReleaseStatus.parse(i["status"]),
        revision=i.get("revision", 0),
        chart_name=i.get("chart_name", ""),
        chart_version=i.get("chart_version", ""),
        app_version=i.get("app_version", ""),
        first_deployed=i.get("first_deployed", ""),
        last_deployed=i.get("last_deployed", ""),
        description=i.get("description", ""),
        notes=i.get("notes", ""),
        values_digest=i.get("values_digest", ""),
        labels=i.get("labels", {}),
        last_action=i.get("last_action", ""),
        last_operation_id=i.get("last_operation_id", ""),
        failures=i.get("failures", 0),
        updated_at=i.get("updated_at", 0.0),
        changed_out_of_band=bool(i.get("changed_out_of_band", False)),
        drift_correction=bool(i.get("drift_correction", False)),
        sensitive_paths=tuple(tuple(p) for p in json.loads(i.get("sensitive_paths") or "[]")),
    )


def _operation_item(op: Operation) -> dict[str, Any]:
    sort = f"{op.created_at:017.3f}#{op.id}"
    item: dict[str, Any] = {
        "pk": f"OP#{op.id}",
        "sk": "META",
        "gsi1pk": f"OPS#{op.release.cluster}",
        "gsi1sk": sort,
        "gsi2pk": "OPS",
        "gsi2sk": sort,
        "id": op.id,
        "action": op.action.value,
        "status": op.status.value,
        "cluster": op.release.cluster,
        "namespace": op.release.namespace,
        "release_name": op.release.name,
        "created_at": _num(op.created_at),
        "updated_at": _num(op.updated_at),
        "request": _dynamo_safe(op.request),
    }
    for name in ("started_at", "finished_at"):
        if getattr(op, name) is not None:
            item[name] = _num(getattr(op, name))
    if op.result is not None:
        item["result"] = _dynamo_safe(op.result)
    if op.error is not None:
        item["error"] = _dynamo_safe(op.error)
    return item


def _operation_from_item(item: dict[str, Any]) -> Operation:
    i = _clean(item)
    return Operation(
        id=i["id"],
        action=Action(i["action"]),
        status=OperationStatus(i["status"]),
        release=ReleaseRef(i["cluster"], i["namespace"], i["release_name"]),
        created_at=i["created_at"],
        updated_at=i["updated_at"],
        request=i.get("request", {}),
        started_at=i.get("started_at"),
        finished_at=i.get("finished_at"),
        result=i.get("result"),
        error=i.get("error"),
    )
