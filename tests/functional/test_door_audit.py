"""The audit log records the real outcome at every door, with the cluster and namespace the request resolved to
(issue 27.7), and a caller with no rule on a cluster cannot tell whether it exists (27.8). Through the HTTP
surface (chalice.test.Client, moto, fake helm)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.compat import cce, cce_shapes
from tests.functional.conftest import Api

CHART = "https://charts.example.com/demo-1.2.3.tgz"
ENGINE = "/api/namespaces/apps/releases"
SECRET = "webhook-secret-0123456789"


@pytest.fixture
def synced(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The worker runs while a compat request waits (as the local stack's workers do)."""
    intake = bootstrap.get().intake
    original = intake.wait

    def wait(op_id: str, seconds: float) -> Any:
        api.drain()
        return original(op_id, 0)

    monkeypatch.setattr(intake, "wait", wait)
    monkeypatch.setattr(cce, "WAIT_S", 0)
    api.register("prod")
    yield api


def principal(api: Api, name: str, rules: list[dict[str, Any]] | None = None) -> str:
    token = bootstrap.get().tokens.create(name)
    if rules:
        body = {"principals": [f"token:{name}"], "rules": rules}
        assert api.call("PUT", f"/v1/policies/{name}", body)[0] in (200, 201)
    return token


def audit(api: Api, query: str) -> list[dict[str, Any]]:
    status, body = api.call("GET", f"/v1/audit?{query}")
    assert status == 200, body
    return list(body["entries"])


def cce_call(api: Api, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", "X-Auth-Token": token}
    resp = getattr(api.c.http, method.lower())(path, headers=headers, body=json.dumps(body) if body else None)
    return resp.status_code, resp.json_body


# ---------------------------------------------------------------- 27.7: the real outcome, resolved where


def test_a_helm_engine_refusal_answers_200_and_is_audited_as_denied(synced: Api) -> None:
    api = synced
    reader = principal(api, "reader", [{"verbs": ["read"], "clusters": ["*"], "namespaces": ["*"]}])
    status, out = api.call("POST", f"{ENGINE}/web?chart={CHART}", {}, token=reader)
    assert status == 200 and out["code"] == 1 and "may not install" in out["error"], out
    (entry,) = audit(api, "principal=token:reader")
    assert (entry["result"], entry["status"], entry["method"]) == ("denied", 200, "POST"), entry
    assert (entry["cluster"], entry["namespace"], entry["release"]) == ("prod", "apps", "web"), entry
    assert entry["error_code"] == "Forbidden" and "may not install" in entry["reason"], entry


def test_a_refused_read_is_audited_at_every_door(synced: Api) -> None:
    api = synced
    other = principal(api, "other", [{"verbs": ["read"], "clusters": ["prod"], "namespaces": ["elsewhere"]}])
    out = api.call("GET", f"{ENGINE}/web", token=other)[1]
    assert out["code"] == 1 and "may not read" in out["error"], out
    assert api.call("GET", "/api/releases/web?cluster=prod&namespace=apps", token=other)[0] == 403
    assert cce_call(api, "GET", "/cce/cam/v3/clusters/prod/namespace/apps/releases/web", other)[0] == 403
    entries = audit(api, "principal=token:other")
    got = sorted((e["route"], e["result"], e["cluster"], e["namespace"]) for e in entries)
    assert got == [
        ("/api/namespaces/{namespace}/releases/{name}", "denied", "prod", "apps"),
        ("/api/releases/{name}", "denied", "prod", "apps"),
        ("/cce/cam/v3/clusters/{cluster_id}/namespace/{namespace}/releases/{name}", "denied", "prod", "apps"),
    ], got


def test_a_helm_engine_error_is_audited_as_an_error(synced: Api) -> None:
    api = synced
    status, out = api.call("POST", f"{ENGINE}/web?chart={CHART}", {"recreate": True})
    assert status == 200 and out["code"] == 1, out
    (entry,) = audit(api, "cluster=prod&namespace=apps")
    assert (entry["result"], entry["error_code"], entry["status"]) == ("error", "InvalidInput", 200), entry
    assert "recreate" in entry["reason"]


def test_compat_changes_are_audited_with_the_cluster_and_namespace_they_resolved_to(synced: Api) -> None:
    """helm-engine (the default cluster), Cloudpods (query and body) and CCE (cluster_id as Charthouse shows it):
    the audit's cluster and namespace filters find each."""
    api = synced
    assert api.call("POST", f"{ENGINE}/one?chart={CHART}", {})[1]["code"] == 0
    body = {"chart_name": CHART, "release_name": "two", "namespace": "apps"}
    status, out = api.call("POST", "/api/releases?cluster=prod", body)
    assert status == 200, out
    uuid = cce_shapes.cluster_uuid("prod")
    status, out = cce_call(api, "DELETE", f"/cce/cam/v3/clusters/{uuid}/namespace/apps/releases/two", api.token)
    assert status == 200, out
    entries = audit(api, "cluster=prod&namespace=apps")
    got = sorted((e["method"], e["route"], e.get("release"), e["result"]) for e in entries)
    assert got == [
        ("DELETE", "/cce/cam/v3/clusters/{cluster_id}/namespace/{namespace}/releases/{name}", "two", "ok"),
        ("POST", "/api/namespaces/{namespace}/releases/{name}", "one", "ok"),
        ("POST", "/api/releases", None, "ok"),
    ], got
    assert all(e["cluster"] == "prod" for e in entries)


def _push(api: Api, runtime: str, secret: str | None) -> int:
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push"}
    if secret is not None:
        headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return int(api.c.http.post(f"/v1/runtimes/{runtime}/webhook", headers=headers, body=body).status_code)


def test_webhook_deliveries_are_audited_accepted_or_refused_and_why(api: Api) -> None:
    api.register("prod")
    body = {
        "source": {"inline": {"releases": [{"name": "web", "chart": CHART}]}},
        "destination": {"cluster": "prod", "namespaces": ["apps"]},
        "sync": {"webhook_secret": SECRET, "suspend": True},
    }
    assert api.call("PUT", "/v1/runtimes/shop", body)[0] == 201
    assert _push(api, "shop", SECRET) == 202
    assert _push(api, "shop", "not-the-secret-0123") == 401
    assert _push(api, "shop", None) == 401
    assert _push(api, "nope", SECRET) == 401
    entries = list(reversed(audit(api, "since=0")))
    hooks = [
        (e["path"], e["principal"], e["result"], e.get("cluster"), e.get("namespace"))
        for e in entries
        if e["route"].endswith("/webhook")
    ]
    assert hooks == [
        ("/v1/runtimes/shop/webhook", "webhook:shop", "ok", "prod", "apps"),
        ("/v1/runtimes/shop/webhook", "anonymous", "denied", "prod", "apps"),
        ("/v1/runtimes/shop/webhook", "anonymous", "denied", "prod", "apps"),
        ("/v1/runtimes/nope/webhook", "anonymous", "denied", None, None),
    ], hooks
    reasons = [e.get("reason") for e in entries if e["route"].endswith("/webhook")][1:]
    assert all(reasons) and len(set(reasons)) == 3, reasons  # each refusal says why, differently


# ---------------------------------------------------------------- 27.8: authorization before existence


def _same(a: tuple[int, Any], b: tuple[int, Any], named_a: str, named_b: str) -> None:
    """Two answers that differ only by the name the request gave."""
    assert a[0] == b[0], (a, b)
    assert json.dumps(a[1]).replace(named_a, "X") == json.dumps(b[1]).replace(named_b, "X"), (a, b)


def test_a_caller_with_no_rule_on_a_cluster_cannot_tell_whether_it_exists(synced: Api) -> None:
    api = synced
    outsider = principal(api, "outsider", [{"verbs": ["read", "install"], "clusters": ["dev"], "namespaces": ["*"]}])
    for path in (
        "/api/releases?cluster={c}",
        "/api/releases/web?cluster={c}&namespace=apps",
        "/v1/operations?cluster={c}",
    ):
        known = api.call("GET", path.format(c="prod"), token=outsider)
        unknown = api.call("GET", path.format(c="nope"), token=outsider)
        assert known[0] == 403, known
        _same(known, unknown, "prod", "nope")
    # CCE's cluster_id: a name, or the id Charthouse shows for it
    for known_id in ("prod", cce_shapes.cluster_uuid("prod")):
        unknown_id = "nope" if known_id == "prod" else cce_shapes.cluster_uuid("nope")
        for method, path in (("GET", "/releases"), ("GET", "/namespace/apps/releases/web"), ("POST", "/releases")):
            body = {"namespace": "apps"} if method == "POST" else None
            known = cce_call(api, method, f"/cce/cam/v3/clusters/{known_id}{path}", outsider, body)
            unknown = cce_call(api, method, f"/cce/cam/v3/clusters/{unknown_id}{path}", outsider, body)
            assert known[0] == 403, known
            _same(known, unknown, known_id, unknown_id)
    # helm-engine's endpoint=: the registered cluster's API server, or one that names none
    server = bootstrap.get().registry.get("prod").server
    for method, path in (("GET", f"{ENGINE}/web"), ("GET", ENGINE), ("DELETE", f"{ENGINE}/web")):
        known = api.call(method, f"{path}?endpoint={server}", token=outsider)
        unknown = api.call(method, f"{path}?endpoint=https://10.9.9.9:6443", token=outsider)
        assert known[1]["code"] == 1 and "may not" in known[1]["error"], known
        _same(known, unknown, server, "https://10.9.9.9:6443")


def test_helm_engine_envs_needs_read(synced: Api) -> None:
    api = synced
    nobody = principal(api, "nobody")
    out = api.call("GET", "/api/envs", token=nobody)[1]
    assert out["code"] == 1 and "may not read" in out["error"], out
    reader = principal(api, "reader", [{"verbs": ["read"], "clusters": ["dev"], "namespaces": ["*"]}])
    assert api.call("GET", "/api/envs", token=reader)[1]["code"] == 0
