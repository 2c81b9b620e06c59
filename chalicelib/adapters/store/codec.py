"""Models to DynamoDB attributes and back. Keys are not attributes here: ``keys`` builds them, and the concern
modules put the two together.

DynamoDB has no float: numbers go in as ``Decimal`` (``number``, ``dynamo_safe``) and come back as int when whole,
float otherwise (``plain``). Free-form documents (repositories, tokens, policies, uploads, events) are stored as one
JSON string attribute ``doc`` (``to_doc``/``from_doc``), so their shape is theirs and not the table's.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from chalicelib.domain import redact
from chalicelib.domain.models import (
    Action,
    ClusterInfo,
    Lease,
    Operation,
    OperationStatus,
    ReleaseRecord,
    ReleaseRef,
    ReleaseStatus,
    Revision,
)


def number(value: float | int) -> Decimal:
    return Decimal(str(value))


def plain(item: Any) -> Any:
    """Decimals back to int/float, recursively."""
    if isinstance(item, dict):
        return {k: plain(v) for k, v in item.items()}
    if isinstance(item, list):
        return [plain(v) for v in item]
    if isinstance(item, Decimal):
        return int(item) if item == item.to_integral_value() else float(item)
    return item


def dynamo_safe(data: Any) -> Any:
    """Floats to Decimal for the DynamoDB serializer, tuples to the lists a read gives back, recursively."""
    if isinstance(data, dict):
        return {k: dynamo_safe(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [dynamo_safe(v) for v in data]
    if isinstance(data, float):
        return number(data)
    return data


def to_doc(data: dict[str, Any]) -> dict[str, str]:
    return {"doc": json.dumps(data, sort_keys=True)}


def from_doc(item: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(item["doc"]))


# ---------------------------------------------------------------- release records and revisions


def release_attributes(r: ReleaseRecord) -> dict[str, Any]:
    ref = r.ref
    return {
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
        "updated_at": number(r.updated_at),
        "changed_out_of_band": r.changed_out_of_band,
        "drift_correction": r.drift_correction,
        "sensitive_paths": json.dumps([list(p) for p in r.sensitive_paths]),
        "sensitive_keys": list(r.sensitive_keys),
    }


def release_from_item(item: dict[str, Any]) -> ReleaseRecord:
    i = plain(item)
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
        sensitive_keys=tuple(i.get("sensitive_keys") or ()),
    )


def revision_attributes(rev: Revision) -> dict[str, Any]:
    return rev.to_json()


def revision_from_item(item: dict[str, Any]) -> Revision:
    return Revision.from_json(plain(item))


# ---------------------------------------------------------------- operations and leases


def operation_attributes(op: Operation) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": op.id,
        "action": op.action.value,
        "status": op.status.value,
        "cluster": op.release.cluster,
        "namespace": op.release.namespace,
        "release_name": op.release.name,
        "created_at": number(op.created_at),
        "updated_at": number(op.updated_at),
        "request": dynamo_safe(op.request),
    }
    for name in ("started_at", "finished_at"):
        if getattr(op, name) is not None:
            item[name] = number(getattr(op, name))
    if op.result is not None:
        item["result"] = dynamo_safe(op.result)
    if op.error is not None:
        item["error"] = dynamo_safe(op.error)
    if op.attachments is not None:
        item["attachments"] = list(op.attachments)
    return item


def operation_from_item(item: dict[str, Any]) -> Operation:
    i = plain(item)
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
        attachments=tuple(map(str, i["attachments"])) if "attachments" in i else None,
        progress=i.get("progress") if i.get("status") == "running" else None,
    )


def lease_attributes(lease: Lease, acquired_at: float) -> dict[str, Any]:
    return {
        "operation_id": lease.operation_id,
        "acquired_at": number(acquired_at),
        "expires_at": number(lease.expires_at),
        "cluster": lease.ref.cluster,
        "namespace": lease.ref.namespace,
        "name": lease.ref.name,
    }


def lease_from_item(item: dict[str, Any]) -> Lease:
    i = plain(item)
    return Lease(ReleaseRef(i["cluster"], i["namespace"], i["name"]), i["operation_id"], float(i["expires_at"]))


# ---------------------------------------------------------------- clusters


def cluster_attributes(info: ClusterInfo) -> dict[str, Any]:
    item: dict[str, Any] = {
        "name": info.name,
        "auth": info.auth,
        "server": info.server,
        "secret_id": info.secret_id,
        "description": info.description,
        "created_at": number(info.created_at),
        "updated_at": number(info.updated_at),
    }
    if info.eks:
        item["eks"] = info.eks
    if info.masking != redact.NO_MASKING:
        item["masking"] = json.dumps(info.masking.to_json())
    return item


def cluster_from_item(item: dict[str, Any]) -> ClusterInfo:
    i = plain(item)
    return ClusterInfo(
        name=i["name"],
        auth=i["auth"],
        server=i.get("server", ""),
        secret_id=i["secret_id"],
        description=i.get("description", ""),
        created_at=i["created_at"],
        updated_at=i["updated_at"],
        eks=i.get("eks"),
        masking=redact.Masking.from_json(json.loads(i["masking"])) if i.get("masking") else redact.NO_MASKING,
    )
