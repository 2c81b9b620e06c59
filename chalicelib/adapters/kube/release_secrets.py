"""Helm's release storage (Secrets of type ``helm.sh/release.v1``): read every revision of a release in one list
call, read it the way helm's CLI prints it, and mark a revision left ``pending-*`` by a killed helm process as
``failed`` (the one thing the helm CLI cannot do), so helm accepts the next operation.

A release revision is the Secret ``sh.helm.release.v1.<name>.v<revision>`` in the release's namespace, labelled
``owner=helm,name=<name>,version=<revision>,status=<status>``; its ``release`` data is base64(gzip(JSON)) (under
the API's own base64). helm 3 and helm 4 share this format and, run without ``HELM_DRIVER`` (as the helm adapter
runs them), keep every release there.
"""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.kube.client import api_client, safe_reason
from chalicelib.errors import ClusterUnreachable, ReleaseNotFound

MAX_RELEASE_BYTES = 64 * 1024 * 1024
RELEASE_TYPE = "helm.sh/release.v1"
READ_TIMEOUT_S = 10


class Unreadable(Exception):
    """helm's release Secrets could not be read (RBAC, transport, not helm's format). The message is a short reason
    without credentials, fit for a log line; callers fall back to asking helm."""


def secret_name(name: str, revision: int) -> str:
    return f"sh.helm.release.v1.{name}.v{revision}"


def decode(data: str) -> dict[str, Any]:
    """The ``release`` value as the API returns it -> the release JSON."""
    inner = base64.b64decode(base64.b64decode(data))
    raw = gzip.decompress(inner) if inner[:2] == b"\x1f\x8b" else inner
    if len(raw) > MAX_RELEASE_BYTES:
        raise ValueError("release record too large")
    result: dict[str, Any] = json.loads(raw)
    return result


def encode(release: dict[str, Any]) -> str:
    """The inverse of ``decode``: what goes back into the Secret's ``release`` data."""
    packed = gzip.compress(json.dumps(release, separators=(",", ":")).encode())
    return base64.b64encode(base64.b64encode(packed)).decode()


# ---------------------------------------------------------------- reading a release as helm's CLI prints it


@dataclass(frozen=True)
class StoredRelease:
    """Every revision helm keeps of one release, decoded, oldest first; read the way helm's CLI prints it (each
    method names the command it stands for, and the end-to-end tests compare them with helm's own output)."""

    revisions: tuple[dict[str, Any], ...]

    @classmethod
    def from_secret_list(cls, listing: dict[str, Any], name: str) -> StoredRelease:
        """A Secret list as the API returns it (JSON) -> the release ``name``. Raises ``ValueError`` for data that
        is not helm's."""
        found = []
        for item in listing.get("items") or []:
            labels = (item.get("metadata") or {}).get("labels") or {}
            if item.get("type") != RELEASE_TYPE or labels.get("owner") != "helm" or labels.get("name") != name:
                continue  # the label selector already asked for these; helm's own driver checks the same
            found.append(decode(str((item.get("data") or {})["release"])))
        return cls(tuple(sorted(found, key=lambda r: int(r.get("version") or 0))))

    def newest(self) -> dict[str, Any] | None:
        return self.revisions[-1] if self.revisions else None

    def history(self) -> list[dict[str, Any]]:
        """``helm history --output json``: every revision, oldest first."""
        return [_history_entry(r) for r in self.revisions]

    def metadata(self) -> dict[str, Any]:
        """The fields of ``helm get metadata --output json`` that do not depend on the helm major (of the newest
        revision): name, chart, version, appVersion, namespace, revision, status."""
        rel = self.newest() or {}
        meta = (rel.get("chart") or {}).get("metadata") or {}
        return {
            "name": rel.get("name"),
            "chart": meta.get("name"),
            "version": meta.get("version"),
            "appVersion": meta.get("appVersion") or "",
            "namespace": rel.get("namespace"),
            "revision": rel.get("version"),
            "status": (rel.get("info") or {}).get("status"),
        }

    def notes(self) -> str:
        """``helm get notes`` (of the newest revision): ``NOTES:\\n<notes>\\n``, or nothing without notes."""
        text = str(((self.newest() or {}).get("info") or {}).get("notes") or "")
        return f"NOTES:\n{text}\n" if text else ""

    def values(self) -> Any:
        """``helm get values --output json`` (of the newest revision): the user-supplied values; None for none."""
        return (self.newest() or {}).get("config")


def _history_entry(rel: dict[str, Any]) -> dict[str, Any]:
    """One entry of ``helm history``: chart and app version print ``MISSING`` when the chart is gone, and
    ``updated`` is omitted when the revision was never deployed, as helm does."""
    info = rel.get("info") or {}
    meta = (rel.get("chart") or {}).get("metadata")
    entry: dict[str, Any] = {"revision": int(rel.get("version") or 0)}
    if info.get("last_deployed"):
        entry["updated"] = info["last_deployed"]
    entry["status"] = info.get("status") or ""
    entry["chart"] = f"{meta.get('name')}-{meta.get('version')}" if meta else "MISSING"
    entry["app_version"] = str(meta.get("appVersion") or "") if meta else "MISSING"
    entry["description"] = info.get("description") or ""
    return entry


def read(kubeconfig: str, namespace: str, name: str) -> StoredRelease:
    """Every revision of release ``name`` in ``namespace``: one list call (selected by helm's labels). An empty
    result means helm keeps no revision there. Raises ``Unreadable``.

    The call goes through the ApiClient's raw request, not ``CoreV1Api``: importing that class builds a model
    class for every core type (about a second on a cold container) to return objects this reads as JSON anyway.
    """
    try:
        with api_client(kubeconfig) as api:
            method, url, headers, body, _ = api.param_serialize(
                "GET",
                "/api/v1/namespaces/{namespace}/secrets",
                path_params={"namespace": namespace},
                query_params=[("labelSelector", f"owner=helm,name={name}")],
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
            )
            response = api.call_api(method, url, header_params=headers, body=body, _request_timeout=READ_TIMEOUT_S)
            raw = response.read()
            if not 200 <= int(response.status) < 300:  # the raw call does not raise for an error status
                raise Unreadable(f"HTTP {response.status} {response.reason or ''}".strip())
    except Unreadable:
        raise
    except Exception as exc:  # noqa: BLE001 - any client failure: fall back to helm, with a safe reason
        raise Unreadable(safe_reason(exc)) from exc
    try:
        return StoredRelease.from_secret_list(json.loads(raw), name)
    except (KeyError, ValueError, TypeError) as exc:
        raise Unreadable("a release Secret is not in helm's format") from exc


# ---------------------------------------------------------------- marking a revision failed


def mark_failed(kubeconfig: str, namespace: str, name: str, revision: int, description: str) -> None:
    """Set revision ``revision`` of release ``name`` to ``failed`` (data and label), as Flux's unlock does."""
    from kubernetes import client as k8s  # lazily: only recovery needs it
    from kubernetes.client.exceptions import ApiException

    api = api_client(kubeconfig)
    try:
        with api:
            _patch(k8s.CoreV1Api(api), namespace, name, revision, description)
    except ApiException as exc:
        if exc.status == 404:
            raise ReleaseNotFound(f"release {namespace}/{name} has no revision {revision} in the cluster") from exc
        raise ClusterUnreachable(f"could not update the release record in the cluster (HTTP {exc.status})") from exc


def _patch(core: Any, namespace: str, name: str, revision: int, description: str) -> None:
    try:
        secret = core.read_namespaced_secret(secret_name(name, revision), namespace, _request_timeout=10)
        release = decode(str((secret.data or {})["release"]))
        release.setdefault("info", {})["status"] = "failed"
        release["info"]["description"] = description
        body = {"metadata": {"labels": {"status": "failed"}}, "data": {"release": encode(release)}}
        core.patch_namespaced_secret(secret_name(name, revision), namespace, body, _request_timeout=10)
    except (KeyError, ValueError) as exc:
        raise ClusterUnreachable(f"the release record of {namespace}/{name} v{revision} is not helm's") from exc
