"""The compat surfaces (helm-engine, Cloudpods) through the Chalice app: each seed request, its answer's shape,
authorization as /v1, refusals naming the field, and the /v1 additions they use (moto, fake helm)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import bootstrap
from tests.functional.conftest import Api

CHART = "https://charts.example.com/demo-1.2.3.tgz"
ENGINE = "/api/namespaces/apps/releases"
V1 = "/v1/clusters/prod/namespaces/apps/releases"
SECRET = "s3cr3t-db-password-value"


@pytest.fixture
def synced(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The worker runs while a compat request waits (as the local stack's workers do)."""
    intake = bootstrap.get().intake
    original = intake.wait

    def wait(op_id: str, seconds: float) -> Any:
        api.drain()
        return original(op_id, 0)

    monkeypatch.setattr(intake, "wait", wait)
    api.register()
    yield api


def engine_install_body() -> dict[str, Any]:
    """003's install body, as written (its empty strings and falses)."""
    body: dict[str, Any] = {
        k: False
        for k in (
            "dry_run disable_hooks wait devel atomic skip_crds sub_notes create_namespace dependency_update verify"
        ).split()
    }
    body.update({k: "" for k in "description values ca_file cert_file key_file insecure_skip_verify keyring".split()})
    body.update({"password": "", "repo": "", "username": "", "version": "", "set": [], "set_string": []})
    return body


def test_helm_engine_lifecycle(synced: Api) -> None:
    api = synced
    body = {**engine_install_body(), "values": f"greeting: hi\npassword: {SECRET}\n"}
    status, out = api.call("POST", f"{ENGINE}/web?chart={CHART}", body)
    assert status == 200 and out["code"] == 0, out
    assert out["data"]["status"] == "deployed" and out["data"]["revision"] == "1"
    status, out = api.call("GET", f"{ENGINE}/web")
    assert out["code"] == 0 and out["data"]["greeting"] == "hi" and SECRET not in json.dumps(out)
    out = api.call("GET", f"{ENGINE}/web?info=values&output=yaml")[1]
    assert out["code"] == 0 and "greeting: hi" in out["data"]
    up = {**engine_install_body(), "force": False, "install": False, "recreate": False, "cleanup_on_fail": False}
    up["set"] = ["greeting=bonjour"]
    out = api.call("PUT", f"{ENGINE}/web?chart={CHART}", up)[1]
    assert out["code"] == 0 and out["data"]["revision"] == "2", out
    out = api.call("GET", f"{ENGINE}/web/histories")[1]
    assert [h["revision"] for h in out["data"]] == [1, 2]
    rollback = {"dry_run": False, "disable_hooks": False, "wait": False, "force": False, "recreate": False}
    out = api.call("PUT", f"{ENGINE}/web/versions/1", {**rollback, "cleanup_on_fail": False, "history_max": 10})[1]
    assert out["code"] == 0 and out["data"]["revision"] == "3", out
    out = api.call("GET", f"{ENGINE}?all=false&by_date=true&sort_reverse=true&limit=10&offset=0&filter=^w")[1]
    assert [r["name"] for r in out["data"]] == ["web"] and out["data"][0]["chart"] == "demo-1.2.3"
    out = api.call("GET", ENGINE, {"all_namespaces": True, "deployed": True, "filter": "x$"})[1]
    assert out == {"code": 0, "data": []}
    assert api.call("DELETE", f"{ENGINE}/web")[1] == {"code": 0}
    assert api.call("GET", f"{ENGINE}/web/histories")[1] == {"code": 0, "data": []}  # uninstalled, history gone


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (f"{ENGINE}/web?chart={CHART}&token=abc", {}, "token"),
        (f"{ENGINE}/web?chart={CHART}&kubePassword=abc", {}, "kubePassword"),
        (f"{ENGINE}/web?chart={CHART}", {"password": "pw"}, "password"),
        (f"{ENGINE}/web?chart={CHART}", {"repo": "https://nowhere.example.com"}, "repo"),
        (f"{ENGINE}/web?chart={CHART}&endpoint=https://10.0.0.1:6443", {}, "endpoint"),
        (f"{ENGINE}/web?chart={CHART}", {"bogus": 1}, "bogus"),
        (f"{ENGINE}/web", {}, "chart"),
    ],
)
def test_helm_engine_refuses_what_it_cannot_honour(synced: Api, path: str, body: Any, field: str) -> None:
    status, out = synced.call("POST", path, body)
    assert status == 200 and out["code"] == 1 and out["error"].startswith(field), out
    assert "abc" not in out["error"] and "pw" not in out["error"]


def test_helm_engine_refuses_recreate_on_upgrade_and_rollback(synced: Api) -> None:
    out = synced.call("PUT", f"{ENGINE}/web?chart={CHART}", {"recreate": True})[1]
    assert out["code"] == 1 and out["error"].startswith("recreate")
    assert synced.call("PUT", f"{ENGINE}/web/versions/1", {"recreate": True})[1]["error"].startswith("recreate")


def test_helm_engine_charts_repositories_envs(synced: Api) -> None:
    out = synced.call("GET", "/api/envs")[1]
    assert out["code"] == 0 and out["data"]["HELM_VERSION"] == "v4.0.0-fake"
    assert synced.call("PUT", "/api/repositories")[1] == {"code": 0}
    assert synced.call("GET", "/api/repositories/charts?keyword=nothing-like-this")[1] == {"code": 0, "data": []}
    assert synced.call("GET", "/api/charts/upload")[1] == {"code": 0, "data": []}
    assert synced.call("GET", "/api/charts?chart=nochart")[1]["error"].startswith("chart")


def cloudpods_create(api: Api, **extra: Any) -> tuple[int, Any]:
    body = {"chart_name": CHART, "cluster": "prod", "namespace": "apps", "release_name": "etcd-release", **extra}
    return api.call("POST", "/api/releases", body)


def test_cloudpods_lifecycle(synced: Api) -> None:
    api = synced
    status, rel = cloudpods_create(api, values=f"password: {SECRET}\n")
    assert status == 200, rel
    assert rel["name"] == "etcd-release" and rel["status"] == "deployed" and rel["version"] == 1
    assert rel["type"] == "external" and rel["cluster"] == "prod" and isinstance(rel["resources"], dict)
    assert SECRET not in json.dumps(rel)
    status, page = api.call("GET", "/api/releases?all=true&cluster=prod&details=false&limit=20&offset=0&type=external")
    assert status == 200 and page["total"] == 1 and page["data"][0]["name"] == "etcd-release", page
    assert api.call("GET", "/api/releases?name=etcd-release&deployed=true")[1]["total"] == 1
    assert api.call("GET", "/api/releases?type=internal")[1]["total"] == 0
    status, shown = api.call("GET", "/api/releases/etcd-release")
    assert status == 200 and shown["id"] == rel["id"] and "config" in shown
    body = {"chart_name": CHART, "release_name": "etcd-release", "values_json": {"image": {"tag": "3.5.8"}}}
    status, up = api.call("PUT", "/api/releases/etcd-release", body)
    assert status == 200 and up["version"] == 2, up
    status, hist = api.call("GET", "/api/releases/etcd-release/history")
    assert status == 200 and [h["revision"] for h in hist] == [1, 2]
    assert set(hist[0]) >= {"chart", "description", "revision", "status", "updated"}
    status, back = api.call("POST", "/api/releases/etcd-release/rollback", {"revision": 1})
    assert status == 200 and back["version"] == 3
    status, gone = api.call("DELETE", "/api/releases/etcd-release?cluster=prod&namespace=apps")
    assert status == 200 and gone["status"] == "uninstalled"
    assert api.call("GET", "/api/releases/etcd-release")[0] == 404


def test_cloudpods_refuses_naming_the_field(synced: Api) -> None:
    cloudpods_create(synced)
    status, out = synced.call("PUT", "/api/releases/etcd-release", {"chart_name": CHART, "recreate": True})
    assert status == 422 and out["error"]["details"]["field"] == "recreate"
    status, out = synced.call("GET", "/api/releases?colour=blue")
    assert status == 422 and out["error"]["details"]["field"] == "colour"


def test_a_principal_limited_to_one_namespace_is_refused_on_each_surface(synced: Api) -> None:
    api = synced
    status, _ = api.call(
        "PUT",
        "/v1/policies/team",
        {
            "principals": ["token:team"],
            "rules": [{"verbs": ["read", "install"], "clusters": ["prod"], "namespaces": ["apps"]}],
        },
    )
    assert status == 201
    team = bootstrap.get().tokens.create("team")
    out = api.call("POST", f"/api/namespaces/other/releases/web?chart={CHART}", {}, token=team)[1]
    assert out["code"] == 1 and "may not install" in out["error"]
    assert api.call("POST", f"{ENGINE}/web?chart={CHART}", {}, token=team)[1]["code"] == 0
    assert api.call("DELETE", f"{ENGINE}/web", token=team)[1]["code"] == 1
    body = {"chart_name": CHART, "cluster": "prod", "namespace": "other", "release_name": "x"}
    status, out = api.call("POST", "/api/releases", body, token=team)
    assert status == 403 and out["error"]["code"] == "Forbidden"
    assert api.call("DELETE", "/api/releases/web", token=team)[0] == 403
    entries = api.call("GET", "/v1/audit?limit=50")[1]
    assert any(e["route"].startswith("/api/") for e in entries.get("entries", entries.get("audit", [])))


# ---------------------------------------------------------------- the /v1 additions they use


def test_a_release_being_installed_reads_as_pending(api: Api) -> None:
    api.register()
    assert api.call("POST", V1, {"name": "web", "chart": CHART})[0] == 202
    status, rec = api.call("GET", f"{V1}/web")
    assert status == 200 and rec["status"] == "pending-install" and rec["revision"] == 0
    api.drain()
    api.call("PUT", f"{V1}/web", {"chart": CHART})
    assert api.call("GET", f"{V1}/web")[1]["status"] == "pending-upgrade"
    assert [r["status"] for r in api.call("GET", "/v1/releases")[1]["releases"]] == ["pending-upgrade"]
    assert [r["status"] for r in api.call("GET", "/v1/releases?sort=name")[1]["releases"]] == ["pending-upgrade"]
    api.drain()
    assert api.call("GET", f"{V1}/web")[1]["status"] == "deployed"


def test_rollback_dry_run_and_no_previous_revision(api: Api) -> None:
    api.register()
    api.call("POST", V1, {"name": "web", "chart": CHART})
    api.drain()
    status, out = api.call("POST", f"{V1}/web/rollback", {})
    assert (
        status == 409
        and out["error"]["code"] == "NoPreviousRevision"
        and "no revision before 1" in out["error"]["message"]
    )
    api.call("PUT", f"{V1}/web", {"chart": CHART})
    api.drain()
    status, out = api.call("POST", f"{V1}/web/rollback", {"dry_run": True})
    assert status == 200 and out["rollback_to"]["revision"] == 1 and out["new_revision"] == 3
    assert api.call("GET", f"{V1}/web")[1]["revision"] == 2  # nothing ran


def test_list_sort_and_filter(api: Api) -> None:
    api.register()
    for name in ("b-web", "a-db", "c-web"):
        api.call("POST", V1, {"name": name, "chart": CHART})
        api.drain()
    names = lambda q: [r["name"] for r in api.call("GET", f"/v1/releases?{q}")[1]["releases"]]  # noqa: E731
    assert names("sort=name&order=desc") == ["c-web", "b-web", "a-db"]
    assert sorted(names("sort=last_deployed")) == ["a-db", "b-web", "c-web"]  # the fake stamps whole seconds
    assert names("filter=web$&sort=name") == ["b-web", "c-web"]
    assert names("filter=(a%2B)%2B$") == []  # (a+)+$: no catastrophic backtracking
    status, page = api.call("GET", "/v1/releases?sort=name&limit=2")
    assert [r["name"] for r in page["releases"]] == ["a-db", "b-web"] and page["next_token"]
    status, out = api.call("GET", "/v1/releases?filter=(a)\\1")
    assert status == 422 and out["error"]["details"]["field"] == "filter"
    assert api.call("GET", "/v1/releases?filter=" + "a" * 200)[0] == 422
    assert api.call("GET", "/v1/releases?sort=size")[0] == 422


def test_health_get_yaml_and_refresh_all(api: Api) -> None:
    health = api.call("GET", "/v1/health", token="")[1]
    assert health["helm_version"] == "v4.0.0-fake" and health["version"]
    api.register()
    api.call("POST", V1, {"name": "web", "chart": CHART})
    api.drain()
    resp = api.c.http.get(f"{V1}/web?output=yaml", headers=api.auth)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/yaml"
    assert b"name: web" in resp.body
    assert api.call("POST", "/v1/repositories/refresh")[1] == {"repositories": [], "failed": []}
    assert api.call("GET", f"{V1}/web?output=xml")[0] == 422


def test_past_the_gateway_limit_the_answer_names_the_operation(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.compat import sync

    monkeypatch.setattr(sync, "WAIT_S", 0)  # nothing runs the queue here: the operation is still queued
    api.register()
    out = api.call("POST", f"{ENGINE}/web?chart={CHART}", {})[1]
    assert out["code"] == 1 and "poll GET /v1/operations/op-" in out["error"], out
    assert api.call("GET", f"{ENGINE}/web")[1] == {"code": 0, "data": {}}  # pending-install: nothing to show yet
    body = {"chart_name": CHART, "cluster": "prod", "namespace": "apps", "release_name": "pods"}
    status, op = api.call("POST", "/api/releases", body)
    assert status == 202 and op["status"] == "queued" and op["action"] == "install"
    status, shown = api.call("GET", "/api/releases/pods?cluster=prod&namespace=apps")
    assert status == 200 and shown["status"] == "pending-install"


def test_cloudpods_repository_list_example_as_written(api: Api) -> None:
    status, page = api.call("GET", "/api/repos?all=true&cluster=test122?details=false&limit=20&offset=0&type=external")
    assert status == 200 and page == {"data": [], "total": 0, "limit": 20, "offset": 0}


def test_helm_engine_upload_then_install_the_uploaded_chart(synced: Api) -> None:
    from chalicelib.domain import multipart
    from tests.functional.test_charts_api import tgz

    content_type, body = multipart.encode([("chart", tgz("demo", "1.0.0"), "demo-1.0.0.tgz")], "xyzBOUNDARYxyz")
    resp = synced.c.http.post("/api/charts/upload", headers={"Content-Type": content_type, **synced.auth}, body=body)
    out = resp.json_body
    assert resp.status_code == 200 and out["code"] == 0 and out["data"]["ref"] == "uploaded/demo", out
    listed = synced.call("GET", "/api/charts/upload")[1]
    assert listed["data"] == [{"name": "demo-1.0.0.tgz", "chart": "uploaded/demo", "version": "1.0.0"}]
    assert synced.call("POST", f"{ENGINE}/up?chart=uploaded/demo", {})[1]["code"] == 0
    content_type, body = multipart.encode([("chart", b"not a chart", "notes.txt")], "xyzBOUNDARYxyz")
    resp = synced.c.http.post("/api/charts/upload", headers={"Content-Type": content_type, **synced.auth}, body=body)
    assert resp.json_body["code"] == 1 and resp.json_body["error"].startswith("chart")


def test_dry_runs_answer_at_once_and_record_nothing(synced: Api) -> None:
    out = synced.call("POST", f"{ENGINE}/web?chart={CHART}", {"dry_run": True})[1]
    assert out["code"] == 0 and "manifest" in out["data"], out
    status, dry = synced.call(
        "POST", "/api/releases?cluster=prod&namespace=apps", {"chart_name": CHART, "release_name": "d", "dry_run": True}
    )
    assert status == 200 and dry["dry_run"] == "client" and dry["release"]["namespace"] == "apps", dry
    assert synced.call("GET", "/api/releases")[1]["total"] == 0
    assert synced.call("GET", f"{ENGINE}/web")[1]["code"] == 1


def etcd_tgz(version: str = "8.11.1", tag: str = "3.5.8") -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path, data in (
            ("etcd/Chart.yaml", f"apiVersion: v2\nname: etcd\nversion: {version}\nappVersion: 3.5.8\n".encode()),
            ("etcd/values.yaml", f"image:\n  tag: '{tag}'\nauth:\n  rbac:\n    create: true\n".encode()),
            ("etcd/README.md", b"# etcd\n"),
        ):
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def charts_server(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A chart server: the bitnami-new index lists etcd 8.11.1; every .tgz URL answers etcd's archive."""
    import yaml

    from chalicelib.core import catalog, repositories

    index = yaml.safe_dump(
        {"apiVersion": "v1", "entries": {"etcd": [{"name": "etcd", "version": "8.11.1", "urls": ["etcd-8.11.1.tgz"]}]}}
    ).encode()
    fetched: list[str] = []

    def fake_fetch(url: str, *rest: Any) -> bytes:
        fetched.append(url)
        if url.endswith(".tgz"):
            return etcd_tgz()
        return index

    monkeypatch.setattr(repositories, "fetch", fake_fetch)
    monkeypatch.setattr(catalog, "fetch", fake_fetch)
    return fetched


def test_cloudpods_chart_show_as_written(api: Api, charts_server: list[str]) -> None:
    assert api.call("PUT", "/v1/repositories/bitnami-new", {"url": "https://charts.example/bitnami"})[0] == 201
    status, out = api.call("GET", "/api/charts/etcd?repo=bitnami-new")  # climc k8s-chart-show bitnami-new etcd
    assert status == 200, out
    assert out["chart"]["chart"]["values"] == {"image": {"tag": "3.5.8"}, "auth": {"rbac": {"create": True}}}
    assert out["chart"]["chart"]["metadata"]["name"] == "etcd" and out["chart"]["chart"]["metadata"]["appVersion"]
    assert (out["chart"]["repo"], out["chart"]["name"], out["chart"]["version"]) == ("bitnami-new", "etcd", "8.11.1")
    assert charts_server[-1] == "https://charts.example/bitnami/etcd-8.11.1.tgz"
    # the same show as /v1's
    v1 = api.call("GET", "/v1/charts/bitnami-new/etcd?info=values&format=json")[1]
    assert v1["values"] == out["chart"]["chart"]["values"]
    status, out = api.call("GET", "/api/charts/etcd?repo=bitnami-new&version=9.9.9")
    assert status == 404, out
    status, out = api.call("GET", "/api/charts/etcd")
    assert status == 422 and out["error"]["details"]["field"] == "repo", out
    # helm-engine's static path keeps its meaning beside Cloudpods' /api/charts/{chart}
    assert api.call("GET", "/api/charts/upload")[1] == {"code": 0, "data": []}


def test_helm_engine_show_takes_every_reference_install_takes(synced: Api, charts_server: list[str]) -> None:
    url = "https://charts.example.com/etcd-8.11.1.tgz"
    out = synced.call("GET", f"/api/charts?chart={url}&info=values")[1]
    assert out == {"code": 0, "data": {"image": {"tag": "3.5.8"}, "auth": {"rbac": {"create": True}}}}, out
    assert charts_server[-1] == url
    out = synced.call("GET", f"/api/charts?chart={url}&info=chart")[1]
    assert out["code"] == 0 and out["data"]["name"] == "etcd", out
    out = synced.call("GET", "/api/charts?chart=http://169.254.169.254/latest/x.tgz&info=values")[1]
    assert out["code"] == 1 and out["error"].startswith("chart"), out
    synced.call("PUT", "/v1/repositories/bitnami-new", {"url": "https://charts.example/bitnami"})
    out = synced.call("GET", "/api/charts?chart=bitnami-new/etcd&info=all")[1]
    assert out["code"] == 0 and set(out["data"]) == {"chart", "values", "readme"}, out


def test_helm_engine_upload_replaces_and_audits_the_replaced_digest(synced: Api) -> None:
    import hashlib

    from chalicelib.domain import multipart

    first, second = etcd_tgz(tag="3.5.8"), etcd_tgz(tag="3.5.9")
    for data in (first, second):
        content_type, body = multipart.encode([("chart", data, "etcd-8.11.1.tgz")], "xyzBOUNDARYxyz")
        resp = synced.c.http.post(
            "/api/charts/upload", headers={"Content-Type": content_type, **synced.auth}, body=body
        )
        assert resp.status_code == 200 and resp.json_body["code"] == 0, resp.json_body
    assert resp.json_body["data"]["digest"] == hashlib.sha256(second).hexdigest()
    shown = synced.call("GET", "/api/charts?chart=uploaded/etcd&info=values")[1]
    assert shown["data"]["image"]["tag"] == "3.5.9", shown
    entries = synced.call("GET", "/v1/audit")[1]["entries"]
    uploads = [e for e in entries if e["route"] == "/api/charts/upload" and e["method"] == "POST"]
    assert len(uploads) == 2 and all(e["result"] == "ok" for e in uploads), uploads
    assert uploads[0]["reason"] == f"replaced sha256:{hashlib.sha256(first).hexdigest()}", uploads
    assert "reason" not in uploads[1], uploads
    # /v1 keeps its explicit overwrite
    resp = synced.c.http.post("/v1/charts", headers={"Content-Type": "application/gzip", **synced.auth}, body=first)
    assert resp.status_code == 409, resp.json_body
