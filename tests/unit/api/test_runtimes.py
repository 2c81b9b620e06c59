"""The runtime and Git repository routes: a declaration in, its view out (never a secret), bad bodies named, the
caller's rights on the destination, the webhook's own rules (no token, bounded body, signature)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.core import catalog
from tests.fakes import FakeGit
from tests.functional.conftest import Api
from tests.functional.test_plans import tgz

URL = "https://git.example.com/team/deploy.git"
CHART = "https://charts.example.com/demo-1.2.3.tgz"
BODY: dict[str, Any] = {
    "source": {"git": {"url": URL, "revision": "main", "path": "env", "username": "bot", "password": "tok-123456"}},
    "destination": {"cluster": "prod", "namespaces": ["apps"]},
    "sync": {"webhook_secret": "webhook-secret-0123456789"},
}


@pytest.fixture(autouse=True)
def chart_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """The chart URL answers an archive: a runtime's plan records its digest (the catalog fetches it as helm would)."""
    monkeypatch.setattr(catalog, "fetch", lambda *args, **kwargs: tgz(version="1.2.3"))


def test_declare_read_list_and_delete(api: Api, git: FakeGit) -> None:
    api.register()
    git.commit(URL, {"env/releases.yaml": f"releases:\n- name: web\n  chart: {CHART}\n"})
    status, out = api.call("PUT", "/v1/runtimes/shop", BODY)
    assert status == 201 and out["name"] == "shop" and out["status"]["phase"] == "new"
    assert "tok-123456" not in json.dumps(out) and "webhook-secret" not in json.dumps(out)
    assert api.call("PUT", "/v1/runtimes/shop", BODY)[0] == 200
    assert api.call("GET", "/v1/runtimes/shop")[1]["source"]["git"]["credentials"] is True
    assert [r["name"] for r in api.call("GET", "/v1/runtimes")[1]["runtimes"]] == ["shop"]
    status, plan = api.call("POST", "/v1/runtimes/shop/plan")
    assert status == 200 and [r["action"] for r in plan["releases"]] == ["install"]
    status, out = api.call("DELETE", "/v1/runtimes/shop?prune=false")
    assert status == 200 and out == {"name": "shop", "deleted": True, "operations": [], "errors": []}
    assert api.call("GET", "/v1/runtimes/shop")[0] == 404


def test_bad_declarations_name_the_field(api: Api) -> None:
    api.register()
    for body, field in (
        ({**BODY, "destination": {"cluster": "prod", "namespaces": []}}, "destination.namespaces"),
        ({**BODY, "source": {"git": {"url": "ftp://x/y.git"}}}, "source.git.url"),
        ({**BODY, "sync": {"webhook_secret": "short"}}, "sync.webhook_secret"),
    ):
        status, out = api.call("PUT", "/v1/runtimes/shop", body)
        assert status == 422 and out["error"]["details"]["field"] == field, out
    assert api.call("PUT", "/v1/runtimes/Shop_1", BODY)[0] == 422
    status, out = api.call("DELETE", "/v1/runtimes/shop?prune=maybe")
    assert status == 422 and out["error"]["details"]["field"] == "prune"


def test_a_caller_without_rights_on_the_destination_is_refused(api: Api) -> None:
    api.register()
    nobody = bootstrap.get().tokens.create("nobody")
    assert api.call("PUT", "/v1/runtimes/shop", BODY, token=nobody)[0] == 403
    assert api.call("PUT", "/v1/runtimes/shop", BODY)[0] == 201
    for method, path in (("GET", "/v1/runtimes/shop"), ("POST", "/v1/runtimes/shop/sync")):
        assert api.call(method, path, token=nobody)[0] == 403
    assert api.call("GET", "/v1/runtimes", token=nobody)[0] == 403  # no read rule anywhere: refused by the guard


def test_the_webhook_needs_no_token_but_a_signature(api: Api) -> None:
    api.register()
    api.call("PUT", "/v1/runtimes/shop", BODY)
    resp = api.c.http.post("/v1/runtimes/shop/webhook", headers={"Content-Type": "application/json"}, body=b"{}")
    assert resp.status_code == 401 and "shop" not in resp.body.decode()
    big = b"{" + b" " * (2 << 20) + b"}"
    resp = api.c.http.post("/v1/runtimes/shop/webhook", headers={"Content-Type": "application/json"}, body=big)
    assert resp.status_code == 413


def test_git_repositories_are_admin_only_and_kept_while_used(api: Api, git: FakeGit) -> None:
    api.register()
    nobody = bootstrap.get().tokens.create("nobody")
    repo = {"url": URL, "username": "bot", "password": "tok-123456"}
    assert api.call("PUT", "/v1/git-repositories/deploy", repo, token=nobody)[0] == 403
    status, out = api.call("PUT", "/v1/git-repositories/deploy", repo)
    assert status == 201 and out["credentials"] is True and "tok-123456" not in json.dumps(out)
    body = {**BODY, "source": {"git": {"repository": "deploy", "path": "env"}}}
    assert api.call("PUT", "/v1/runtimes/shop", body)[0] == 201
    status, out = api.call("DELETE", "/v1/git-repositories/deploy")
    assert status == 409 and out["error"]["details"]["runtimes"] == ["shop"]
    api.call("DELETE", "/v1/runtimes/shop")
    assert api.call("DELETE", "/v1/git-repositories/deploy")[0] == 204
    assert api.call("GET", "/v1/git-repositories/deploy")[0] == 404
    assert api.call("GET", "/v1/git-repositories")[1] == {"repositories": []}
