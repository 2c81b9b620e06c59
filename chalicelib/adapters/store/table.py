"""The table itself: its definition, one error mapping for every call, and paged queries with opaque tokens.

Every AWS failure becomes ``DependencyUnavailable``, except a failed condition (``ConditionalCheckFailedException``,
``TransactionCanceledException``): that ``ClientError`` is re-raised, because the concern that made the condition
knows what it means (a held lease, a claimed key, an operation that already ended).

A page is filled up to ``limit`` matching items and continued with ``next_token``: the last returned item's key
(table key plus the index key, at most four strings), base64url JSON. A token is checked when it comes back, so a
forged or mangled one is a 400 (``InvalidInput``), never a DynamoDB error.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from typing import Any

from boto3.dynamodb.conditions import ConditionBase
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import DependencyUnavailable, InvalidInput

GSI1 = "gsi1"
GSI2 = "gsi2"
KEY_ATTRIBUTES = ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")
MAX_PAGE = 1000
MAX_ROUNDS = 8  # queries per page of a filtered list, at most (then a short page and a token)
STREAM = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
_CONDITION_FAILURES = ("ConditionalCheckFailedException", "TransactionCanceledException")


def table_definition(name: str) -> dict[str, Any]:
    """CreateTable arguments: used by the local stack, the tests and the deployment template alike."""
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in KEY_ATTRIBUTES],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        # the operations' state-change events are made from it (adapters/stream.py): both images of every change
        "StreamSpecification": STREAM,
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


def all_of(conds: list[ConditionBase]) -> ConditionBase | None:
    """The conjunction of ``conds``; None when there are none (no FilterExpression at all)."""
    if not conds:
        return None
    out = conds[0]
    for c in conds[1:]:
        out = out & c
    return out


def encode_token(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode().rstrip("=")


def decode_token(token: str | None) -> dict[str, Any] | None:
    """The ExclusiveStartKey a token stands for; ``InvalidInput`` unless it is one ``encode_token`` could make."""
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


class Table:
    """One DynamoDB table through the resource (Python types in and out) and its client (transactions)."""

    def __init__(self, dynamodb_resource: Any, name: str) -> None:
        self.name = name
        self.resource = dynamodb_resource.Table(name)
        self.client = dynamodb_resource.meta.client  # serialises Python types like the resource does

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` with AWS failures mapped (see the module docstring)."""
        try:
            return fn(*args, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _CONDITION_FAILURES:
                raise
            raise DependencyUnavailable(f"DynamoDB {code or 'error'}: the metadata store is unavailable") from exc
        except BotoCoreError as exc:
            raise DependencyUnavailable("DynamoDB is unreachable") from exc

    def get(self, key: dict[str, str], consistent: bool = False) -> dict[str, Any] | None:
        kwargs: dict[str, Any] = {"Key": key, "ConsistentRead": True} if consistent else {"Key": key}
        item: dict[str, Any] | None = self.call(self.resource.get_item, **kwargs).get("Item")
        return item

    def put(self, item: dict[str, Any], **condition: Any) -> None:
        """PutItem; with a condition, a failed one raises ``ClientError``."""
        self.call(self.resource.put_item, Item=item, **condition)

    def delete(self, key: dict[str, str], **condition: Any) -> None:
        self.call(self.resource.delete_item, Key=key, **condition)

    def update(self, key: dict[str, str], **kwargs: Any) -> dict[str, Any]:
        resp: dict[str, Any] = self.call(self.resource.update_item, Key=key, **kwargs)
        return resp

    def transact(self, items: list[dict[str, Any]], token: str) -> None:
        """TransactWriteItems; ``token`` makes a retried call (response lost in transit) a no-op."""
        self.call(self.client.transact_write_items, TransactItems=items, ClientRequestToken=token)

    def query_page(
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
        start = decode_token(token)
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
            resp = self.call(self.resource.query, **kwargs)
            page = resp.get("Items", [])
            for position, item in enumerate(page):
                items.append(item)
                if len(items) == limit:
                    more = position < len(page) - 1 or "LastEvaluatedKey" in resp
                    keys = ["pk", "sk"] + ([f"{index}pk", f"{index}sk"] if index else [])
                    return items, encode_token({k: item[k] for k in keys}) if more else None
            start = resp.get("LastEvaluatedKey")
            if not start:
                return items, None
            evaluate *= 4
        return items, encode_token(start) if start else None

    def query_all(self, index: str | None, key: ConditionBase) -> Iterator[dict[str, Any]]:
        """Every item under ``key``, page after page."""
        token: str | None = None
        while True:
            items, token = self.query_page(index, key, None, MAX_PAGE, token)
            yield from items
            if not token:
                return

    def scan(self, flt: ConditionBase) -> Iterator[dict[str, Any]]:
        """Every item of the table that matches ``flt`` (the local stack only: a scan reads the whole table)."""
        kwargs: dict[str, Any] = {"FilterExpression": flt}
        while True:
            resp = self.call(self.resource.scan, **kwargs)
            yield from resp.get("Items", [])
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


class Part:
    """A concern of the store (releases, operations, ...): methods over the one shared ``table``."""

    def __init__(self, table: Table) -> None:
        self.table = table
