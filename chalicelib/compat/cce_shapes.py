"""Huawei CCE's shapes (``ReleaseResp``, ``ChartResp``) from Charthouse's records, and the stable ids CCE's
clients address things by. Pure functions: ``compat/cce.py`` does the calls.

* ``cluster_id``: a cluster's name, or the UUID Charthouse derives from it (``cluster_uuid``; shown in answers).
* ``chart_id``: one uploaded chart version, a UUID derived from its name and version (``chart_uuid``): stable
  across restarts and re-uploads of the same version.
* statuses: helm's, in CCE's enum. ``superseded`` (history only) is ``DEPLOYED`` with ``status_description``
  saying it was superseded: CCE's enum has no such value.
* ``values``: a JSON string of the release's user values, masked (``******``) as ``/v1`` masks them.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from chalicelib.domain.redact import MASK

CCE_MASK = "******"
_IDS = uuid.UUID("6f1c2a52-0d3c-4f53-9a55-63a3c1b0c0de")  # the namespace of Charthouse's derived CCE ids
STATUSES = {
    "deployed": "DEPLOYED",
    "superseded": "DEPLOYED",
    "failed": "FAILED",
    "uninstalled": "DELETED",
    "uninstalling": "DELETING",
    "pending-install": "PENDING_INSTALL",
    "pending-upgrade": "PENDING_UPGRADE",
    "pending-rollback": "PENDING_ROLLBACK",
}
PENDING = {"install": "PENDING_INSTALL", "upgrade": "PENDING_UPGRADE", "rollback": "PENDING_ROLLBACK"}


def cluster_uuid(name: str) -> str:
    return str(uuid.uuid5(_IDS, f"cluster:{name}"))


def chart_uuid(name: str, version: str) -> str:
    return str(uuid.uuid5(_IDS, f"chart:{name}:{version}"))


def status(helm_status: str | None) -> str:
    return STATUSES.get(helm_status or "", "UNKNOWN")


def masked(values: Any) -> Any:
    """``/v1``'s mask (``<redacted>``) shown as CCE shows a secret."""
    if isinstance(values, dict):
        return {k: masked(v) for k, v in values.items()}
    if isinstance(values, list):
        return [masked(v) for v in values]
    return CCE_MASK if values == MASK else values


def values_text(values: Any) -> str:
    return json.dumps(masked(values or {}), separators=(",", ":"), sort_keys=True)


def release(record: dict[str, Any], values: Any = None, chart_public: bool = False) -> dict[str, Any]:
    """A ``ReleaseResp`` from a release record (``ReleaseRecord.to_json``)."""
    helm_status = str(record.get("status") or "")
    return {
        "chart_name": record.get("chart") or "",
        "chart_public": chart_public,
        "chart_version": record.get("chart_version") or "",
        "cluster_id": cluster_uuid(str(record.get("cluster"))),
        "cluster_name": record.get("cluster") or "",
        "create_at": record.get("first_deployed") or record.get("updated_at") or "",
        "description": record.get("description") or "",
        "name": record.get("name") or "",
        "namespace": record.get("namespace") or "",
        "parameters": "",
        "resources": "",
        "status": status(helm_status),
        "status_description": record.get("description") or helm_status,
        "update_at": record.get("last_deployed") or record.get("updated_at") or "",
        "values": values_text(values) if values is not None else "",
        "version": int(record.get("revision") or 0),
    }


def pending(op: dict[str, Any], cluster: str, chart: dict[str, Any] | None) -> dict[str, Any]:
    """A ``ReleaseResp`` for a release whose first operation has not ended yet (no record to show)."""
    ref = op.get("release") or {}
    return {
        **release({"cluster": cluster, **ref, "status": None, "updated_at": op.get("created_at")}),
        "chart_name": (chart or {}).get("name") or "",
        "chart_version": (chart or {}).get("version") or "",
        "status": PENDING.get(str(op.get("action")), "UNKNOWN"),
        "status_description": f"operation {op.get('id')} is {op.get('status')}",
    }


def history_entry(ref: dict[str, Any], revision: dict[str, Any]) -> dict[str, Any]:
    """A ``ReleaseResp`` for one revision (``Revision.to_json``): chart ``name-version`` split at the version."""
    chart = str(revision.get("chart") or "")
    name, _, version = chart.rpartition("-") if "-" in chart else (chart, "", "")
    shown = release(
        {
            **ref,
            "chart": name,
            "chart_version": version,
            "status": revision.get("status"),
            "revision": revision.get("revision"),
            "description": revision.get("description"),
            "last_deployed": revision.get("updated"),
            "first_deployed": revision.get("updated"),
        }
    )
    if revision.get("status") == "superseded":
        shown["status_description"] = f"superseded: {revision.get('description') or ''}".strip()
    return shown


def chart(entry: dict[str, Any], values: Any = None, readme: str = "") -> dict[str, Any]:
    """A ``ChartResp`` from an uploaded chart (``UploadedCharts`` JSON)."""
    name, version = str(entry["name"]), str(entry["version"])
    chart_id = chart_uuid(name, version)
    return {
        "id": chart_id,
        "name": name,
        "values": values_text(values) if values is not None else "",
        "translate": "",
        "instruction": readme,
        "version": version,
        "description": entry.get("description") or "",
        "source": "package",
        "icon_url": "",
        "public": False,
        "chart_url": f"/v2/charts/{chart_id}/archive",
        "create_at": entry.get("uploaded_at") or "",
        "update_at": entry.get("uploaded_at") or "",
    }
