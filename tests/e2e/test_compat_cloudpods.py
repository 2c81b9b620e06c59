"""Cloudpods kubeserver's release surface end to end: every request example of its document (seeds 000), sent as
written with the local cluster and a registered repository's chart (real helm, real kube-apiserver, HTTP)."""

from __future__ import annotations

import json

from devstack.stack import Stack, request
from tests.e2e.conftest import Api


def test_every_cloudpods_example(api: Api, stack: Stack) -> None:
    repo = stack.repo
    assert repo is not None
    body = {"url": repo.base_url, "username": repo.username, "password": repo.password}
    assert api.call("PUT", "/v1/repositories/bitnami-new", body)[0] in (200, 201)

    create = {
        "chart_name": "bitnami-new/hello",
        "cluster": "local",
        "namespace": "default",
        "release_name": "etcd-release",
    }
    # the document's chart show (climc k8s-chart-show bitnami-new <chart>), read as .chart.chart.values
    status, detail = api.call("GET", "/api/charts/hello?repo=bitnami-new")
    assert status == 200 and detail["chart"]["chart"]["values"]["greeting"] == "hello", detail
    assert detail["chart"]["chart"]["metadata"]["name"] == "hello" and detail["chart"]["repo"] == "bitnami-new"

    status, rel = api.call("POST", "/api/releases", create)
    assert status == 200, rel
    assert rel["status"] == "deployed" and rel["version"] == 1 and rel["type"] == "external"
    assert {"configmap", "k8s_service"} <= set(rel["resources"]), rel["resources"]

    # the document's list example, as written (its path is the repository list, its query has a stray "?")
    status, repos = api.call("GET", "/api/repos?all=true&cluster=local?details=false&limit=20&offset=0&type=external")
    assert status == 200 and "bitnami-new" in [r["name"] for r in repos["data"]]
    status, page = api.call("GET", "/api/releases?all=true&cluster=local&details=false&limit=20&offset=0&type=external")
    assert status == 200 and "etcd-release" in [r["name"] for r in page["data"]] and page["total"] >= 1
    status, shown = api.call("GET", "/api/releases/etcd-release")
    assert status == 200 and shown["name"] == "etcd-release" and shown["config"] == {}
    assert shown["resources"]["configmap"][0]["name"] == "etcd-release-hello"

    upgrade = {"chart_name": "bitnami-new/hello", "release_name": "etcd-release", "values_json": {"greeting": "hi"}}
    status, up = api.call("PUT", "/api/releases/etcd-release", upgrade)
    assert status == 200 and up["version"] == 2 and up["config"] == {"greeting": "hi"}, up

    status, history = api.call("GET", "/api/releases/etcd-release/history")
    assert status == 200 and [h["revision"] for h in history] == [1, 2]
    assert set(history[0]) >= {"chart", "description", "revision", "status", "updated"}

    status, back = api.call("POST", "/api/releases/etcd-release/rollback", {"revision": 2})
    assert status == 200 and back["version"] == 3

    status, gone = api.call("DELETE", "/api/releases/etcd-release")
    assert status == 200 and gone["status"] == "uninstalled"
    assert repo.password not in json.dumps([rel, page, shown, up, back])


def test_a_principal_limited_to_one_namespace_is_refused_on_both_surfaces(api: Api, stack: Stack) -> None:
    token = api.call("POST", "/v1/tokens", {"name": "team-compat"})[1]["token"]
    rules = [{"verbs": ["read", "install", "uninstall"], "clusters": ["local"], "namespaces": ["team"]}]
    status, _ = api.call("PUT", "/v1/policies/team-compat", {"principals": ["token:team-compat"], "rules": rules})
    assert status in (200, 201)
    chart = "http://127.0.0.1:1/never-fetched-0.1.0.tgz"
    status, out = request("POST", f"{stack.api}/api/namespaces/default/releases/x?chart={chart}", {}, token=token)
    assert status == 200 and out["code"] == 1 and "may not install" in out["error"], out
    body = {"chart_name": chart, "cluster": "local", "namespace": "default", "release_name": "x"}
    status, out = request("POST", f"{stack.api}/api/releases", body, token=token)
    assert status == 403 and out["error"]["code"] == "Forbidden", out
    entries = api.call("GET", "/v1/audit?principal=token:team-compat")[1]["entries"]
    assert {e["path"] for e in entries} >= {"/api/releases", "/api/namespaces/default/releases/x"}
