"""Reading what a diagnosis or a progress needs of one release: its newest revision (helm's release Secret), the
objects its manifest and hooks name, the namespace's Pods and Warning events (``domain/diagnosis.Observation``).

One ``ClusterReader`` holds one ApiClient (the ``kubernetes`` package, imported lazily), built from the operation's
own kubeconfig, for a watch's many reads; every request has a short timeout. Objects are read as plain JSON and cut
down at once (``slim``): no Secret or ConfigMap data, no Pod spec beyond its node, so no value, environment variable
or command line is ever held. A part that cannot be read (RBAC, transport) is named in ``Observation``'s ``gaps``
rather than failing the whole read; ``Unreadable`` only when nothing can be read.
"""

from __future__ import annotations

import json
import time
from types import TracebackType
from typing import Any

from chalicelib.adapters.kube.client import api_client, safe_reason
from chalicelib.adapters.kube.release_secrets import RELEASE_TYPE, Unreadable, decode
from chalicelib.domain.diagnosis import Json, Key, Observation, Wanted, wanted

REQUEST_TIMEOUT_S = 5
MAX_LISTED = 500  # items per list call: a namespace with more Pods or events than this shows the first ones


class _Failed(Exception):
    """One request failed; the message is a short, credential-free reason."""


def slim(kind: str, obj: Json) -> Json:
    """What a diagnosis reads of an object: metadata (without annotations and managed fields), the few spec fields
    status rules use, status. Secret and ConfigMap data, Pod specs and templates are dropped here."""
    meta = {
        k: v
        for k, v in (obj.get("metadata") or {}).items()
        if k in ("name", "namespace", "labels", "generation", "deletionTimestamp", "ownerReferences", "uid")
    }
    spec = obj.get("spec") or {}
    keep = ("replicas", "selector", "type", "completions", "updateStrategy", "nodeName", "restartPolicy")
    out: Json = {"kind": kind, "metadata": meta}
    if kind not in ("Secret", "ConfigMap"):
        out["spec"] = {k: v for k, v in spec.items() if k in keep}
        out["status"] = obj.get("status") or {}
    return out


class ClusterReader:
    """Reads one release's objects through one ApiClient; use it as a context manager."""

    def __init__(self, kubeconfig: str) -> None:
        self._kubeconfig = kubeconfig
        self._api: Any = None
        self._plurals: dict[str, dict[str, tuple[str, bool]]] = {}

    def __enter__(self) -> ClusterReader:
        try:
            self._api = api_client(self._kubeconfig)
        except Exception as exc:  # noqa: BLE001 - a kubeconfig the client cannot use
            raise Unreadable(f"the cluster's kubeconfig could not be used: {type(exc).__name__}") from exc
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None

    # ------------------------------------------------------------ the observation

    def observe(self, namespace: str, name: str, events: bool = False) -> Observation:
        """The newest revision of release ``name`` and what it names, as the cluster serves them now; with
        ``events``, the Warning events of the namespaces involved. Raises ``Unreadable`` when the release's own
        Secrets cannot be read."""
        try:
            revision = self.newest_revision(namespace, name)
        except _Failed as exc:
            raise Unreadable(f"helm's release record could not be read: {exc}") from exc
        gaps: list[str] = []
        items = wanted(revision, namespace)
        objects = self._objects(items, gaps)
        spaces = sorted({w.namespace for w in items if w.namespace} | {namespace})
        pods: list[Json] = []
        found_events: list[Json] = []
        for ns in spaces:
            pods += self._list(f"/api/v1/namespaces/{ns}/pods", "Pod", gaps, "Pods")
            if events:
                query = [("fieldSelector", "type=Warning")]
                found_events += self._list(f"/api/v1/namespaces/{ns}/events", "", gaps, "events", query, raw=True)
        return Observation(revision, objects, tuple(pods), tuple(found_events), time.time(), tuple(gaps))

    def newest_revision(self, namespace: str, name: str) -> Json | None:
        """helm's release JSON of the newest revision (one list call; only that one is decoded), None: none."""
        listing = self._get(
            f"/api/v1/namespaces/{namespace}/secrets", [("labelSelector", f"owner=helm,name={name}")]
        ) or {"items": []}
        best: tuple[int, Json] | None = None
        for item in listing.get("items") or []:
            labels = (item.get("metadata") or {}).get("labels") or {}
            if item.get("type") != RELEASE_TYPE or labels.get("name") != name:
                continue
            number = int(str(labels.get("version") or "0")) if str(labels.get("version") or "0").isdigit() else 0
            if best is None or number > best[0]:
                best = (number, item)
        if best is None:
            return None
        try:
            release = decode(str((best[1].get("data") or {})["release"]))
        except (KeyError, ValueError, TypeError) as exc:
            raise _Failed("a release Secret is not in helm's format") from exc
        # kept: what names the objects; dropped at once: the values (config) and the chart's files
        return {
            "version": release.get("version"),
            "info": {"status": (release.get("info") or {}).get("status")},
            "manifest": release.get("manifest") or "",
            "hooks": [
                {k: h.get(k) for k in ("name", "kind", "events", "last_run", "manifest")}
                for h in release.get("hooks") or []
                if isinstance(h, dict)
            ],
        }

    def _objects(self, items: list[Wanted], gaps: list[str]) -> dict[Key, Json | None]:
        """Every wanted object (None: not found): one list per kind and namespace, a GET per cluster-scoped one."""
        out: dict[Key, Json | None] = {w.key: None for w in items}
        groups: dict[tuple[str, str, str], list[Wanted]] = {}
        for w in items:
            groups.setdefault((w.api_version, w.kind, w.namespace), []).append(w)
        for (api_version, kind, ns), members in groups.items():
            try:
                found = self._plural(api_version, kind)
            except _Failed as exc:
                gaps.append(f"{kind}: {exc}")
                continue
            if found is None:
                continue  # a kind the cluster does not serve: its objects are not found
            plural, namespaced = found
            base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
            if namespaced and ns:
                names = {w.name for w in members}
                for obj in self._list(f"{base}/namespaces/{ns}/{plural}", kind, gaps, kind):
                    if obj["metadata"].get("name") in names:
                        out[(kind, ns, obj["metadata"]["name"])] = obj
                continue
            for w in members:
                try:
                    got = self._get(f"{base}/{plural}/{w.name}")
                except _Failed as exc:
                    gaps.append(f"{kind} {w.name}: {exc}")
                    continue
                out[w.key] = slim(kind, got) if got else None
        return out

    # ------------------------------------------------------------ requests

    def _plural(self, api_version: str, kind: str) -> tuple[str, bool] | None:
        if api_version not in self._plurals:
            base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
            listing = self._get(base) or {}
            self._plurals[api_version] = {
                r["kind"]: (r["name"], bool(r.get("namespaced")))
                for r in listing.get("resources") or []
                if "/" not in str(r.get("name", ""))
            }
        return self._plurals[api_version].get(kind)

    def _list(
        self,
        path: str,
        kind: str,
        gaps: list[str],
        what: str,
        query: list[tuple[str, str]] | None = None,
        raw: bool = False,
    ) -> list[Json]:
        try:
            listing = self._get(path, [*(query or []), ("limit", str(MAX_LISTED))]) or {}
        except _Failed as exc:
            gaps.append(f"{what}: {exc}")
            return []
        items = [i for i in listing.get("items") or [] if isinstance(i, dict)]
        return items if raw else [slim(kind, i) for i in items]

    def _get(self, path: str, query: list[tuple[str, str]] | None = None) -> Json | None:
        """GET ``path`` as JSON; None on 404. Raises ``_Failed`` with a safe reason."""
        if self._api is None:
            raise _Failed("the reader is closed")
        try:
            method, url, headers, body, _ = self._api.param_serialize(
                "GET",
                path,
                query_params=query or [],
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
            )
            resp = self._api.call_api(method, url, header_params=headers, body=body, _request_timeout=REQUEST_TIMEOUT_S)
            status, data = int(resp.status), resp.read()
        except Exception as exc:  # noqa: BLE001 - any client failure, with a reason that carries no credential
            raise _Failed(safe_reason(exc)) from exc
        if status == 404:
            return None
        if not 200 <= status < 300:
            raise _Failed(f"HTTP {status} {getattr(resp, 'reason', '') or ''}".strip())
        try:
            parsed = json.loads(data)
        except ValueError as exc:
            raise _Failed("the cluster answered something that is not JSON") from exc
        return parsed if isinstance(parsed, dict) else None
