"""Reading a release's objects for a diagnosis: objects cut down at once (no data, no Pod spec), the newest revision
only decoded and stripped of values, one list per kind, a part that cannot be read named in ``gaps``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.adapters.kube import release_secrets
from chalicelib.adapters.kube.release_secrets import Unreadable
from chalicelib.adapters.kube.workloads import ClusterReader, slim

MANIFEST = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n---\n"
    "apiVersion: v1\nkind: Secret\nmetadata: {name: web}\nstringData: {k: v}\n"
)


def secret(version: int, status: str) -> dict[str, Any]:
    release = {"version": version, "info": {"status": status}, "manifest": MANIFEST, "config": {"password": "pw"}}
    labels = {"owner": "helm", "name": "web", "version": str(version), "status": status}
    return {
        "type": "helm.sh/release.v1",
        "metadata": {"labels": labels},
        "data": {"release": release_secrets.encode(release)},
    }


class Response:
    def __init__(self, status: int, body: Any) -> None:
        self.status, self.reason, self._body = status, "Forbidden" if status == 403 else "", body

    def read(self) -> bytes:
        return json.dumps(self._body).encode()


class FakeApi:
    """The ApiClient's raw request interface, answering by path."""

    def __init__(self, routes: dict[str, tuple[int, Any]]) -> None:
        self.routes = routes
        self.paths: list[str] = []

    def param_serialize(self, method: str, path: str, **kw: Any) -> tuple[str, str, dict[str, str], None, None]:
        return method, path, {}, None, None

    def call_api(self, method: str, url: str, **kw: Any) -> Response:
        self.paths.append(url)
        status, body = self.routes.get(url, (404, {}))
        return Response(status, body)

    def close(self) -> None:
        pass


def reader(routes: dict[str, tuple[int, Any]]) -> tuple[ClusterReader, FakeApi]:
    api = FakeApi(routes)
    r = ClusterReader("unused")
    r._api = api  # the client the context manager would build from the kubeconfig
    return r, api


ROUTES: dict[str, tuple[int, Any]] = {
    "/api/v1/namespaces/apps/secrets": (200, {"items": [secret(1, "superseded"), secret(2, "pending-upgrade")]}),
    "/apis/apps/v1": (200, {"resources": [{"kind": "Deployment", "name": "deployments", "namespaced": True}]}),
    "/api/v1": (200, {"resources": [{"kind": "Secret", "name": "secrets", "namespaced": True}]}),
    "/apis/apps/v1/namespaces/apps/deployments": (
        200,
        {"items": [{"metadata": {"name": "web", "annotations": {"a": "b"}}, "spec": {"replicas": 1, "template": {}}}]},
    ),
    "/api/v1/namespaces/apps/pods": (
        200,
        {"items": [{"metadata": {"name": "web-1"}, "spec": {"nodeName": "n1", "containers": [{"env": []}]}}]},
    ),
    "/api/v1/namespaces/apps/events": (403, {}),
}


def test_slim_keeps_no_data_and_no_pod_spec() -> None:
    assert slim("Secret", {"metadata": {"name": "s"}, "data": {"k": "djE="}}) == {
        "kind": "Secret",
        "metadata": {"name": "s"},
    }
    pod = slim("Pod", {"metadata": {"name": "p"}, "spec": {"nodeName": "n", "containers": [{"env": [{"value": "x"}]}]}})
    assert pod == {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"nodeName": "n"}, "status": {}}


def test_observe_reads_the_newest_revision_and_its_objects() -> None:
    r, api = reader(ROUTES)
    obs = r.observe("apps", "web", events=True)
    assert obs.number() == 2 and obs.release_status() == "pending-upgrade"
    assert "config" not in (obs.revision or {})  # the values are dropped as soon as they are decoded
    assert obs.objects[("Deployment", "apps", "web")] == {
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": 1},
        "status": {},
    }
    assert [p["metadata"]["name"] for p in obs.pods] == ["web-1"]
    assert obs.gaps == ("events: HTTP 403 Forbidden",)  # named, the rest still read
    assert api.paths.count("/apis/apps/v1") == 1


def test_release_secrets_that_cannot_be_read_are_unreadable() -> None:
    r, _ = reader({"/api/v1/namespaces/apps/secrets": (403, {})})
    with pytest.raises(Unreadable, match="HTTP 403"):
        r.observe("apps", "web")


def test_no_revision_means_nothing_to_look_at() -> None:
    r, _ = reader({"/api/v1/namespaces/apps/secrets": (200, {"items": []})})
    obs = r.observe("apps", "web")
    assert obs.revision is None and obs.objects == {}
