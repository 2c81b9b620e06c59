"""Drift: live objects that differ from the release's manifest (changed or deleted by hand).

The manifest of the release's current revision (``helm get manifest``) is compared, object by object, with what the
cluster serves now, read with the kubernetes client. Only the fields the manifest sets are compared: the API server
adds defaults, status and metadata of its own, which are not drift. Lists are compared element by element; scalars
compare equal when their text does (``80`` and ``"80"``). A Secret's values are never shown, only their paths.

Known limits: a quantity the server normalises (``1024Mi`` read back as ``1Gi``) shows as a change; objects of
kinds the cluster does not serve are reported ``unknown``; hooks are not part of the manifest and not checked.

Correction (opt-in per release, ``drift_correction: true`` on install/upgrade) is done by the reconcile: it queues a
rollback to the current revision, which makes helm apply that revision's manifest again (its three-way merge
restores changed fields and re-creates deleted objects) and records a new revision.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from chalicelib.adapters.helm import Helm
from chalicelib.adapters.kube import client as kube
from chalicelib.core.clusters import ClusterRegistry
from chalicelib.domain import diff
from chalicelib.domain.manifests import CLUSTER_SCOPED, documents
from chalicelib.domain.models import ReleaseRef, iso, now
from chalicelib.errors import ClusterAuthFailed, ClusterUnreachable

log = logging.getLogger(__name__)

MAX_DIFFERENCES = 20  # per object
REQUEST_TIMEOUT_S = 10
IGNORED_METADATA = frozenset(
    {"name", "namespace", "creationTimestamp", "generation", "resourceVersion", "uid", "managedFields", "selfLink"}
)
MASKED = "(hidden)"
STATES = diff.DRIFT_STATES  # a resource's drift state, as answered


def differences(expected: Any, live: Any, path: str = "") -> list[dict[str, Any]]:
    """Where ``live`` differs from ``expected`` on the fields ``expected`` sets (pure; unit-tested)."""
    if expected is None:
        return []
    if isinstance(expected, dict):
        if not isinstance(live, dict):
            return [{"path": path or ".", "expected": expected, "live": live}]
        out: list[dict[str, Any]] = []
        for key, value in expected.items():
            sub = f"{path}.{key}" if path else str(key)
            if key not in live:
                if value not in (None, {}, []):
                    out.append({"path": sub, "expected": value, "live": None})
                continue
            out += differences(value, live[key], sub)
        return out
    if isinstance(expected, list):
        if not isinstance(live, list) or len(live) != len(expected):
            return [{"path": path, "expected": expected, "live": live}]
        return [
            d for i, (e, lv) in enumerate(zip(expected, live, strict=True)) for d in differences(e, lv, f"{path}[{i}]")
        ]
    if expected == live or (not isinstance(live, (dict, list)) and str(expected) == str(live)):
        return []
    if isinstance(expected, bool) or isinstance(live, bool):
        return (
            [] if str(expected).lower() == str(live).lower() else [{"path": path, "expected": expected, "live": live}]
        )
    return [{"path": path, "expected": expected, "live": live}]


def compare(expected: dict[str, Any], live: dict[str, Any]) -> list[dict[str, Any]]:
    """Differences of one object: its metadata labels/annotations and every other top-level field it sets."""
    exp = {k: v for k, v in expected.items() if k not in ("apiVersion", "kind", "metadata")}
    lv = {k: v for k, v in live.items() if k not in ("apiVersion", "kind", "metadata")}
    meta_exp = {k: v for k, v in (expected.get("metadata") or {}).items() if k not in IGNORED_METADATA}
    secret = expected.get("kind") == "Secret"
    if secret and isinstance(exp.get("stringData"), dict):  # the server keeps only data (base64)
        data = dict(exp.get("data") or {})
        for key, value in exp.pop("stringData").items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        exp["data"] = data
    diffs = differences(meta_exp, live.get("metadata") or {}, "metadata") + differences(exp, lv)
    if secret:
        diffs = [{"path": d["path"], "expected": MASKED, "live": MASKED} for d in diffs]
    return diffs[:MAX_DIFFERENCES]


class DriftDetector:
    """Reads the manifest with helm and the live objects with the kubernetes client (lazily imported)."""

    def __init__(self, registry: ClusterRegistry, helm: Helm) -> None:
        self.registry = registry
        self.helm = helm

    def check(self, ref: ReleaseRef, revision: int) -> dict[str, Any]:
        kubeconfig = self.registry.credentials(ref.cluster).kubeconfig
        manifest = str(self.helm.get(kubeconfig, ref, "manifest", None))
        objects = [d for d in documents(manifest) if d.get("kind") and isinstance(d.get("metadata"), dict)]
        api = kube.api_client(kubeconfig)
        resources = []
        with api:
            reader = _Reader(api)
            for doc in objects:
                resources.append(self._one(reader, doc, ref.namespace))
        return {
            "drifted": any(r["state"] in ("changed", "missing") for r in resources),
            "revision": revision,
            "checked_at": iso(now()),
            "resources": resources,
        }

    @staticmethod
    def _one(reader: _Reader, doc: dict[str, Any], namespace: str) -> dict[str, Any]:
        kind, api_version = str(doc["kind"]), str(doc.get("apiVersion") or "v1")
        name = str(doc["metadata"].get("name") or "")
        ns = None if kind in CLUSTER_SCOPED else str(doc["metadata"].get("namespace") or namespace)
        out: dict[str, Any] = {"api_version": api_version, "kind": kind, "name": name}
        if ns:
            out["namespace"] = ns
        try:
            live = reader.get(api_version, kind, name, ns)
        except _Unknown as exc:
            return {**out, "state": "unknown", "reason": str(exc)}
        if live is None:
            return {**out, "state": "missing"}
        diffs = compare(doc, live)
        return {**out, "state": "changed" if diffs else "in-sync", **({"differences": diffs} if diffs else {})}


class _Unknown(Exception):
    """The object's kind is not served by the cluster (or could not be looked up)."""


class _Reader:
    """GET of one object by apiVersion/kind/name, with the kind -> resource mapping discovered per group version."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self._resources: dict[str, dict[str, tuple[str, bool]]] = {}

    def _call(self, path: str) -> Any:
        """GET ``path`` as JSON; None on 404 (the client's generic request API, authenticated like its own calls)."""
        try:
            method, url, headers, body, post = self.api.param_serialize(
                "GET", path, header_params={"Accept": "application/json"}, auth_settings=["BearerToken"]
            )
            resp = self.api.call_api(method, url, headers, body, post, _request_timeout=REQUEST_TIMEOUT_S)
            status, data = int(resp.status), resp.read()
        except Exception as exc:  # noqa: BLE001 - mapped to typed, credential-free errors below
            status, data = int(getattr(exc, "status", 0) or 0), None
            if status in (0, 200):
                raise ClusterUnreachable(f"the cluster could not be read: {type(exc).__name__}") from exc
        if status == 404:
            return None
        if status in (401, 403):
            raise ClusterAuthFailed(f"the cluster refused the credentials (HTTP {status})")
        if status >= 400 or data is None:
            raise ClusterUnreachable(f"the cluster answered HTTP {status}")
        return json.loads(data)

    def _base(self, api_version: str) -> str:
        return f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"

    def get(self, api_version: str, kind: str, name: str, namespace: str | None) -> dict[str, Any] | None:
        if api_version not in self._resources:
            listing = self._call(self._base(api_version)) or {}
            self._resources[api_version] = {
                r["kind"]: (r["name"], bool(r.get("namespaced")))
                for r in listing.get("resources", [])
                if "/" not in r.get("name", "")
            }
        found = self._resources[api_version].get(kind)
        if found is None:
            raise _Unknown(f"{api_version} {kind} is not served by the cluster")
        plural, namespaced = found
        scope = f"/namespaces/{namespace}" if namespaced and namespace else ""
        data = self._call(f"{self._base(api_version)}{scope}/{plural}/{name}")
        return data if isinstance(data, dict) else None
