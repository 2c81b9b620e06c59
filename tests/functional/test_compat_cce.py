"""Huawei CCE's routes through the Chalice app (moto, fake helm): shapes, mapping, auth (token and AK/SK), scopes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from chalicelib import bootstrap
from chalicelib.compat import cce, cce_shapes
from chalicelib.domain import multipart
from tests.functional.conftest import Api
from tests.functional.test_charts_api import tgz

C = "/cce/cam/v3/clusters"
SECRET = "s3cr3t-db-password-value"


@pytest.fixture(autouse=True)
def no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """The functional tests deliver operations themselves (``api.drain``): nothing to wait for."""
    monkeypatch.setattr(cce, "WAIT_S", 0)


def call(
    api: Api, method: str, path: str, body: Any = None, token: str | None = None, **headers: str
) -> tuple[int, Any]:
    sent = {"Content-Type": "application/json", "X-Auth-Token": api.token if token is None else token, **headers}
    resp = getattr(api.c.http, method.lower())(path, headers=sent, body=json.dumps(body) if body is not None else None)
    return resp.status_code, resp.json_body


def upload(api: Api, name: str = "demo", version: str = "1.0.0", token: str | None = None) -> tuple[int, Any]:
    ctype, data = multipart.encode(
        [
            ("parameters", json.dumps({"override": True, "source": "package"}), None),
            ("content", tgz(name, version), "c.tgz"),
        ],
        "b0undary",
    )
    headers = {"Content-Type": ctype, "X-Auth-Token": api.token if token is None else token}
    resp = api.c.http.post("/v2/charts", headers=headers, body=data)
    return resp.status_code, resp.json_body


def installed(api: Api, name: str = "web", namespace: str = "team-a") -> dict[str, Any]:
    api.register()
    status, chart = upload(api)
    assert status == 201, chart
    body = {
        "name": name,
        "namespace": namespace,
        "version": "1.0.0",
        "chart_id": chart["id"],
        "values": {"imageTag": "v2", "db": {"password": SECRET}},
    }
    status, created = call(api, "POST", f"{C}/prod/releases", body)
    assert status == 201 and created["status"] == "PENDING_INSTALL", created
    api.drain()
    return chart


def test_upload_list_show_values_download_delete_a_chart(api: Api) -> None:
    status, chart = upload(api)
    assert status == 201, chart
    assert chart["id"] == cce_shapes.chart_uuid("demo", "1.0.0") and chart["name"] == "demo"
    assert chart["version"] == "1.0.0" and chart["public"] is False
    status, charts = call(api, "GET", "/v2/charts")
    assert status == 200 and [c["id"] for c in charts] == [chart["id"]]
    status, shown = call(api, "GET", f"/v2/charts/{chart['id']}")
    assert status == 200 and json.loads(shown["values"]) == {"greeting": "hi"}
    status, values = call(api, "GET", f"/v2/charts/{chart['id']}/values")
    assert status == 200 and values == {"values": {"basic": {"greeting": "hi"}}}
    resp = api.c.http.get(f"/v2/charts/{chart['id']}/archive", headers={"X-Auth-Token": api.token, "Accept": "*/*"})
    assert resp.status_code == 200 and resp.body[:2] == b"\x1f\x8b"
    status, gone = call(api, "DELETE", f"/v2/charts/{chart['id']}")
    assert status == 200 and gone["id"] == chart["id"]
    status, err = call(api, "GET", f"/v2/charts/{chart['id']}")
    assert status == 404, err


def test_update_a_chart_with_another_archive(api: Api) -> None:
    _, chart = upload(api)
    ctype, data = multipart.encode([("content", tgz("demo", "1.1.0"), "c.tgz")], "xx")
    resp = api.c.http.put(
        f"/v2/charts/{chart['id']}", headers={"Content-Type": ctype, "X-Auth-Token": api.token}, body=data
    )
    assert resp.status_code == 200 and resp.json_body["version"] == "1.1.0", resp.json_body
    ctype, data = multipart.encode([("content", tgz("other", "1.0.0"), "c.tgz")], "xx")
    resp = api.c.http.put(
        f"/v2/charts/{chart['id']}", headers={"Content-Type": ctype, "X-Auth-Token": api.token}, body=data
    )
    assert resp.status_code == 422 and "content" in resp.json_body["error"]["message"]


def test_release_lifecycle_in_cce_shapes(api: Api) -> None:
    chart = installed(api)
    rel = f"{C}/prod/namespace/team-a/releases/web"
    status, shown = call(api, "GET", rel)
    assert status == 200, shown
    assert shown["status"] == "DEPLOYED" and shown["version"] == 1 and shown["chart_name"] == "demo"
    assert shown["cluster_name"] == "prod" and shown["cluster_id"] == cce_shapes.cluster_uuid("prod")
    assert SECRET not in json.dumps(shown) and isinstance(shown["values"], str)
    # the derived cluster id addresses the same cluster
    status, same = call(api, "GET", f"{C}/{shown['cluster_id']}/namespace/team-a/releases/web")
    assert status == 200 and same["name"] == "web"
    status, listed = call(api, "GET", f"{C}/prod/releases?namespace=team-a")
    assert status == 200 and [r["name"] for r in listed] == ["web"], listed
    _, recorded = upload(api, "demo", "0.1.0")  # the fake helm records every release as chart version 0.1.0
    status, listed = call(api, "GET", f"{C}/prod/releases?chart_id={recorded['id']}")
    assert status == 200 and [r["name"] for r in listed] == ["web"], listed
    status, listed = call(api, "GET", f"{C}/prod/releases?chart_id={chart['id']}")
    assert status == 200 and listed == [], listed
    status, listed = call(api, "GET", f"{C}/prod/releases?chart_id={cce_shapes.chart_uuid('demo', '9.9.9')}")
    assert status == 404, listed
    status, up = call(api, "PUT", rel, {"action": "upgrade", "chart_id": chart["id"], "values": {"imageTag": "v3"}})
    assert status == 200 and up["status"] == "PENDING_UPGRADE", up
    api.drain()
    status, back = call(api, "PUT", rel, {"action": "rollback", "parameters": {"release_version": 1}})
    assert status == 200 and back["status"] == "PENDING_ROLLBACK", back
    api.drain()
    status, history = call(api, "GET", rel + "/history")
    assert status == 200 and [h["version"] for h in history] == [3, 2, 1], history
    assert history[0]["status"] == "DEPLOYED" and history[1]["status_description"].startswith("superseded")
    status, gone = call(api, "DELETE", rel)
    assert status == 200, gone
    api.drain()
    status, shown = call(api, "GET", rel)
    assert status in (200, 404)


def test_refused_fields_name_the_field(api: Api) -> None:
    chart = installed(api)
    body = {"name": "x", "namespace": "team-a", "chart_id": chart["id"], "parameters": {"recreate": True}}
    status, err = call(api, "POST", f"{C}/prod/releases", body)
    assert status == 422 and err["error"]["details"]["field"] == "parameters.recreate", err
    status, err = call(api, "POST", f"{C}/prod/releases", {**body, "parameters": {}, "version": "2.0.0"})
    assert status == 422 and err["error"]["details"]["field"] == "version", err
    status, err = call(api, "POST", f"{C}/prod/releases", {**body, "parameters": {}, "colour": 1})
    assert status == 422 and "colour" in err["error"]["message"], err
    status, err = call(api, "POST", f"{C}/nowhere/releases", {**body, "parameters": {}})
    assert status == 404, err


def test_a_principal_limited_to_one_namespace(api: Api) -> None:
    chart = installed(api)
    team = bootstrap.get().tokens.create("team-a")
    rules = [
        {
            "verbs": ["read", "install", "upgrade", "rollback", "uninstall"],
            "clusters": ["prod"],
            "namespaces": ["team-a"],
        }
    ]
    status, _ = api.call("PUT", "/v1/policies/team-a", {"principals": ["token:team-a"], "rules": rules})
    assert status in (200, 201)
    body = {"name": "db", "namespace": "team-b", "chart_id": chart["id"]}
    status, err = call(api, "POST", f"{C}/prod/releases", body, token=team)
    assert status == 403, err
    status, err = call(api, "GET", f"{C}/prod/namespace/team-b/releases/web", token=team)
    assert status == 403, err
    status, err = call(api, "DELETE", f"{C}/prod/namespace/team-b/releases/web", token=team)
    assert status == 403, err
    status, ok = call(api, "GET", f"{C}/prod/namespace/team-a/releases/web", token=team)
    assert status == 200, ok
    status, err = upload(api, "other", token=team)  # charts need the charts verb on every cluster
    assert status == 403, err
    status, audit = api.call("GET", "/v1/audit?principal=token:team-a")
    assert status == 200 and any(e["status"] == 403 for e in audit["entries"]), audit


def sign(
    ak: str,
    sk: str,
    method: str,
    path: str,
    body: bytes = b"",
    query: list[tuple[str, str]] | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    """The headers huaweicloudsdkcore's own signer puts on a request to the test client's host."""
    req = SdkRequest(
        method=method,
        schema="http",
        host="localhost",
        resource_path=path,
        query_params=query or [],
        header_params={"Content-Type": content_type, "X-Project-Id": "p1", "User-Agent": "sdk"},
        body=body,
    )
    Signer(BasicCredentials(ak, sk, "p1")).sign(req)
    return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in req.header_params.items()}


def test_access_keys_sign_requests_once_and_can_be_revoked(api: Api) -> None:
    installed(api)
    status, key = api.call("POST", "/v1/access-keys", {"description": "ci"})
    assert status == 201 and key["access_key"] and key["secret_key"], key
    path = f"{C}/prod/namespace/team-a/releases/web"
    headers = sign(key["access_key"], key["secret_key"], "GET", path)
    resp = api.c.http.get(path, headers=headers)
    assert resp.status_code == 200 and resp.json_body["name"] == "web", resp.json_body
    resp = api.c.http.get(path, headers=headers)  # the same signature again: a replay
    assert resp.status_code == 401 and "replay" in resp.json_body["error"]["message"]
    query = [("namespace", "team-a")]
    headers = sign(key["access_key"], key["secret_key"], "GET", f"{C}/prod/releases", query=query)
    resp = api.c.http.get(f"{C}/prod/releases?namespace=team-a", headers=headers)
    assert resp.status_code == 200 and len(resp.json_body) == 1, resp.json_body
    headers = sign(key["access_key"], "wrong-secret", "GET", path)
    assert api.c.http.get(path, headers=headers).status_code == 401
    headers = {**sign(key["access_key"], key["secret_key"], "GET", path), "X-Sdk-Date": "20200101T000000Z"}
    assert api.c.http.get(path, headers=headers).status_code == 401  # older than 15 minutes
    status, listed = api.call("GET", "/v1/access-keys")
    assert status == 200 and [k["id"] for k in listed["access_keys"]] == [key["access_key"]]
    assert key["secret_key"] not in json.dumps(listed)
    status, _ = api.call("DELETE", f"/v1/access-keys/{key['access_key']}")
    assert status == 204
    headers = sign(key["access_key"], key["secret_key"], "GET", path)
    bootstrap.get().access_keys._known.clear()  # noqa: SLF001 - another container: no cached secret
    assert api.c.http.get(path, headers=headers).status_code == 401


def test_v1_upload_takes_a_multipart_form_too(api: Api) -> None:
    ctype, data = multipart.encode([("chart", tgz("formed", "0.1.0"), "formed-0.1.0.tgz")], "zz")
    resp = api.c.http.post("/v1/charts", headers={"Content-Type": ctype, **api.auth}, body=data)
    assert resp.status_code == 201 and resp.json_body["name"] == "formed", resp.json_body
    ctype, data = multipart.encode([("other", b"x", None)], "zz")
    resp = api.c.http.post("/v1/charts", headers={"Content-Type": ctype, **api.auth}, body=data)
    assert resp.status_code == 422 and resp.json_body["error"]["details"]["field"] == "chart", resp.json_body


def test_a_dry_run_installs_nothing_and_masks_values(api: Api) -> None:
    chart = installed(api)
    body = {
        "name": "trial",
        "namespace": "team-a",
        "chart_id": chart["id"],
        "values": {"db": {"password": SECRET}},
        "parameters": {"dry_run": True},
    }
    status, shown = call(api, "POST", f"{C}/prod/releases", body)
    assert status == 201 and shown["status_description"].startswith("dry run"), shown
    assert SECRET not in json.dumps(shown) and json.loads(shown["values"])["db"]["password"] == "******"
    status, _ = call(api, "GET", f"{C}/prod/namespace/team-a/releases/trial")
    assert status == 404
