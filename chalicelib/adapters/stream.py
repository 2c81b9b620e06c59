"""The table's stream (DynamoDB Streams, ``NEW_AND_OLD_IMAGES``) as the source of the operations' state-change
events: which records are an operation ending, as the pipes filter them, and what such a record says.

``PIPES`` is one definition for every reader of the stream: the SAM and Terraform templates give each EventBridge
Pipe its filter and detail type from it (deploy/), and the local stack's reader applies the same filters
(``devstack/streams.py``). A record is in the shape Pipes and Lambda give (``eventName``, ``dynamodb.Keys``,
``dynamodb.OldImage``, ``dynamodb.NewImage``, typed attribute values).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from chalicelib.adapters.store import codec, keys
from chalicelib.adapters.store.operations import RELEASE_AFTER
from chalicelib.domain.events import RECONCILED, STATE_CHANGE, ending
from chalicelib.domain.models import CLUSTER_WIDE, Operation, OperationStatus

_NOT_ENDED = [s.value for s in OperationStatus if not s.terminal]
_ENDED = [s.value for s in OperationStatus if s.terminal]


def _ending_pattern(namespace: list[Any]) -> dict[str, Any]:
    """An EventBridge pattern matching the record of an operation ending (``domain.events.ending``)."""
    return {
        "eventName": ["MODIFY"],
        "dynamodb": {
            "Keys": {"pk": {"S": [{"prefix": keys.operation_pk("")}]}, "sk": {"S": [keys.META]}},
            "OldImage": {"status": {"S": _NOT_ENDED}},
            "NewImage": {"status": {"S": _ENDED}, "namespace": {"S": namespace}},
        },
    }


@dataclass(frozen=True)
class Pipe:
    """One pipe from the stream to the bus: its name (within the stage), the records it takes, their detail type."""

    name: str
    pattern: dict[str, Any]
    detail_type: str

    @property
    def filter(self) -> str:
        return json.dumps(self.pattern, separators=(",", ":"), sort_keys=True)


# An operation on a release, and a cluster-wide one (reconcile), have different detail types: a pipe's is fixed
PIPES = (
    Pipe("release-events", _ending_pattern([{"anything-but": CLUSTER_WIDE}]), STATE_CHANGE),
    Pipe("cluster-events", _ending_pattern([CLUSTER_WIDE]), RECONCILED),
)

_DESERIALIZER = TypeDeserializer()


def image(typed: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stream image (typed attribute values) as the item a read gives (Decimals for numbers)."""
    if typed is None:
        return None
    return {name: _DESERIALIZER.deserialize(value) for name, value in typed.items()}


@dataclass(frozen=True)
class Ended:
    """An operation ending, read from its stream record: the operation as written, and the release it left when
    the writer knew it (``known``; else the caller reads the release's record)."""

    op: Operation
    release: dict[str, Any] | None
    known: bool


def ended(record: dict[str, Any]) -> Ended | None:
    """The operation a stream record shows ending, or None for any other record (another item, a write that is no
    ending, a record without both images)."""
    change = record.get("dynamodb") or {}
    pk = ((change.get("Keys") or {}).get("pk") or {}).get("S", "")
    sk = ((change.get("Keys") or {}).get("sk") or {}).get("S", "")
    if record.get("eventName") != "MODIFY" or not pk.startswith(keys.operation_pk("")) or sk != keys.META:
        return None
    old, new = image(change.get("OldImage")), image(change.get("NewImage"))
    if old is None or new is None or not ending(old.get("status"), new.get("status")):
        return None
    op = codec.operation_from_item(new)
    known = RELEASE_AFTER in new
    release = codec.plain(new[RELEASE_AFTER]) if known else None
    return Ended(op, release, known)
