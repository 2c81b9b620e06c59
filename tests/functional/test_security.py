"""Authentication, authorization, redaction, audit and the SSRF guard, through the Chalice app (moto, fake helm)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from app import app
from chalicelib import bootstrap
from chalicelib.api import console
from chalicelib.api.routes import TABLE
from chalicelib.core.authz import PUBLIC
from tests.emulated import KUBECONFIG
from tests.functional.conftest import Api

NS = "/v1/clusters/prod/namespaces/{ns}/releases"
PARAMS = {
    "cluster": "prod",
    "namespace": "team-a-web",
    "name": "web",
    "operation_id": "op-0",
    "repository": "r",
    "chart": "c",
    "policy": "p",
    "token": "t",
    "asset": "main.js",
    "revision": "1",
    "access_key": "CHAK0",
    "cluster_id": "prod",
    "chart_id": "c0",
    "runtime": "rt",
    "product": "prod",
}
ROUTES = {key: declared.verb for key, declared in TABLE.items()}  # (method, path) -> the verb it declares
SECRET = "s3cr3t-db-password-value"
SENSITIVE = "sensitive-api-key-value"


def app_routes() -> set[tuple[str, str]]:
    return {(m, path) for path, entries in app.routes.items() for m in entries}


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PARAMS[m.group(1)], path)


def grant(api: Api, name: str, principals: list[str], rules: list[dict[str, Any]]) -> None:
    status, body = api.call("PUT", f"/v1/policies/{name}", {"principals": principals, "rules": rules})
    assert status in (200, 201), body


def test_every_route_has_a_permission() -> None:
    """Every route of the app is declared with its verb (an undeclared one would be admin-only), and no more."""
    assert app_routes() == set(ROUTES)


@pytest.mark.parametrize(("method", "path"), sorted(app_routes()))
def test_every_route_refuses_anonymous_callers(api: Api, method: str, path: str) -> None:
    if ROUTES[(method, path)] == PUBLIC:  # health, the OpenAPI document and the web console's static files
        PARAMS["version"] = console.asset_version()
        status = getattr(api.c.http, method.lower())(concrete(path)).status_code
        if path.endswith("/webhook"):  # public to API Gateway, but a push without the runtime's signature is refused
            status = api.call(method, concrete(path), {}, token="")[0]
            assert status == 401
            return
        assert status == (302 if path == "/" else 200)
        return
    status, body = api.call(method, concrete(path), {} if method in ("PUT", "POST") else None, token="")
    assert status == 401 and body["error"]["code"] == "Unauthenticated", body
    status, body = api.call(method, concrete(path), None, token="cht_" + "x" * 40)  # an unknown token
    assert status == 401, body


def test_cluster_and_namespace_scopes(api: Api) -> None:
    api.register("prod")
    api.register("dev")
    team = bootstrap.get().tokens.create("team-a")
    grant(
        api,
        "team-a",
        ["token:team-a"],
        [
            {"verbs": ["read"], "clusters": ["*"], "namespaces": ["team-a-*"]},
            {"verbs": ["install", "upgrade", "rollback"], "clusters": ["prod"], "namespaces": ["team-a-*"]},
        ],
    )
    ok = {"name": "web", "chart": "https://charts.example/web-1.0.0.tgz"}
    assert api.call("POST", NS.format(ns="team-a-web"), ok, token=team)[0] == 202
    for path in (
        "/v1/clusters/prod/namespaces/kube-system/releases",
        "/v1/clusters/dev/namespaces/team-a-web/releases",
    ):
        status, body = api.call("POST", path, ok, token=team)
        assert status == 403 and body["error"]["details"]["permission"] == "install", body
        assert "team-a" in body["error"]["message"]
    # install, but not uninstall
    status, body = api.call("DELETE", NS.format(ns="team-a-web") + "/web", None, token=team)
    assert status == 403 and body["error"]["details"] == {
        "permission": "uninstall",
        "cluster": "prod",
        "namespace": "team-a-web",
    }
    # admin-only things
    assert api.call("PUT", "/v1/clusters/other", {"kubeconfig": "x"}, token=team)[0] == 403
    assert api.call("GET", "/v1/audit", None, token=team)[0] == 403
    me = api.call("GET", "/v1/whoami", None, token=team)[1]
    assert me["id"] == "token:team-a" and me["admin"] is False and len(me["rules"]) == 2


def test_lists_show_only_what_the_caller_may_read(api: Api) -> None:
    api.register("prod")
    for ns in ("team-a-web", "team-b-web"):
        assert api.call("POST", NS.format(ns=ns), {"name": "web", "chart": "https://c.example/w-1.0.0.tgz"})[0] == 202
    api.drain()
    team = bootstrap.get().tokens.create("team-a")
    grant(api, "team-a", ["token:*-a"], [{"verbs": ["read"], "clusters": ["prod"], "namespaces": ["team-a-*"]}])
    names = [(r["namespace"], r["name"]) for r in api.call("GET", "/v1/releases", None, token=team)[1]["releases"]]
    assert names == [("team-a-web", "web")]
    assert len(api.call("GET", "/v1/releases")[1]["releases"]) == 2  # the admin sees both
    ops = api.call("GET", "/v1/operations", None, token=team)[1]["operations"]
    assert {o["release"]["namespace"] for o in ops} == {"team-a-web"}
    other = api.call("GET", "/v1/operations?namespace=team-b-web")[1]["operations"][0]["id"]
    assert api.call("GET", f"/v1/operations/{other}", None, token=team)[0] == 403
    assert api.call("GET", NS.format(ns="team-b-web") + "/web", None, token=team)[0] == 403
    assert [c["name"] for c in api.call("GET", "/v1/clusters", None, token=team)[1]["clusters"]] == ["prod"]


def test_values_are_masked_unless_revealed(api: Api) -> None:
    api.register("prod")
    body = {
        "name": "db",
        "chart": "https://c.example/db-1.0.0.tgz",
        "values": {"db": {"password": SECRET, "host": "db.internal"}},
        "set_sensitive": [f"api.auth={SENSITIVE}"],
    }
    status, op = api.call("POST", NS.format(ns="team-a-web"), body)
    assert status == 202 and SECRET not in json.dumps(op) and SENSITIVE not in json.dumps(op)
    api.drain()
    path = NS.format(ns="team-a-web") + "/db"
    masked = api.call("GET", path + "?info=values")[1]["values"]
    assert masked == {"db": {"password": "<redacted>", "host": "db.internal"}, "api": {"auth": "<redacted>"}}
    revealed = api.call("GET", path + "?info=values&reveal=true")[1]["values"]
    assert revealed["db"]["password"] == SECRET and revealed["api"]["auth"] == SENSITIVE
    reader = bootstrap.get().tokens.create("reader")
    grant(api, "reader", ["token:reader"], [{"verbs": ["read"]}])
    status, err = api.call("GET", path + "?info=values&reveal=true", None, token=reader)
    assert status == 403 and err["error"]["details"]["permission"] == "reveal"
    for listing in ("/v1/releases", "/v1/operations", path, path + "/history"):
        text = json.dumps(api.call("GET", listing)[1])
        assert SECRET not in text and SENSITIVE not in text, listing


def test_audit_records_mutations_and_refusals(api: Api) -> None:
    api.register("prod")
    assert api.call("POST", NS.format(ns="apps"), {"name": "web", "chart": "https://c.example/w-1.0.0.tgz"})[0] == 202
    nobody = bootstrap.get().tokens.create("nobody")
    assert api.call("DELETE", NS.format(ns="apps") + "/web", None, token=nobody)[0] == 403
    assert api.call("GET", "/v1/releases", None, token="")[0] == 401
    entries = api.call("GET", "/v1/audit?cluster=prod")[1]["entries"]
    install = next(e for e in entries if e["method"] == "POST" and e.get("release") == "web")
    assert install["principal"] == "token:admin" and install["result"] == "ok" and install["status"] == 202
    assert install["operation_id"].startswith("op-") and install["path"] == "/v1/clusters/prod/namespaces/apps/releases"
    denied = api.call("GET", "/v1/audit?principal=token:nobody")[1]["entries"]
    assert [(e["method"], e["result"], e["status"]) for e in denied] == [("DELETE", "denied", 403)]
    anonymous = api.call("GET", "/v1/audit?principal=anonymous")[1]["entries"]
    assert anonymous and anonymous[0]["status"] == 401
    assert api.call("GET", "/v1/audit?since=yesterday")[0] == 422
    assert api.call("GET", "/v1/audit?since=2100-01-01T00:00:00Z")[1]["entries"] == []


def test_tokens_are_stored_hashed_and_can_be_revoked(api: Api) -> None:
    status, created = api.call("POST", "/v1/tokens", {"name": "ci"})
    assert status == 201 and created["token"].startswith("cht_")
    import boto3

    table = json.dumps(boto3.resource("dynamodb").Table("charthouse").scan()["Items"], default=str)
    assert created["token"] not in table
    assert api.call("GET", "/v1/whoami", None, token=created["token"])[1]["id"] == "token:ci"
    assert api.call("POST", "/v1/tokens", {"name": "ci"})[0] == 409
    assert [t["name"] for t in api.call("GET", "/v1/tokens")[1]["tokens"]] == ["admin", "ci"]
    assert api.call("DELETE", "/v1/tokens/ci")[0] == 204
    assert api.call("GET", "/v1/whoami", None, token=created["token"])[0] == 401


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/x.tgz",
        "http://[fe80::1]/c.tgz",
        "http://[::ffff:169.254.169.254]/c.tgz",
        "oci://169.254.170.2/charts/x",
    ],
)
def test_ssrf_guard(api: Api, url: str) -> None:
    api.register("prod")
    status, err = api.call("POST", NS.format(ns="apps"), {"name": "web", "chart": url})
    assert status == 422 and err["error"]["details"]["field"] == "chart" and "metadata" in err["error"]["message"]
    status, err = api.call("PUT", "/v1/repositories/meta", {"url": url.rsplit("/", 1)[0]})
    assert status == 422 and err["error"]["details"]["field"] == "url", err


def test_a_clusters_added_masking_rules_hide_values_of_its_releases(api: Api) -> None:
    """Keys and paths a cluster names are masked in every release on it, including releases installed before the
    rule was added; the rules are shown on the cluster, and a bad rule is refused naming its field."""
    api.register("prod")
    body = {"name": "app", "chart": "https://c.example/app-1.0.0.tgz", "values": {"db": {"dsn": SECRET, "x": 1}}}
    assert api.call("POST", NS.format(ns="apps"), body)[0] == 202
    api.drain()
    path = NS.format(ns="apps") + "/app?info=values"
    assert api.call("GET", path)[1]["values"] == {"db": {"dsn": SECRET, "x": 1}}  # no rule names it yet
    rules = {"keys": ["DSN"], "paths": ["db.x"]}
    status, cluster = api.call("PUT", "/v1/clusters/prod", {"kubeconfig": KUBECONFIG, "masking": rules})
    assert status == 200 and cluster["masking"] == {"keys": ["dsn"], "paths": ["db.x"]}, cluster
    assert api.call("GET", path)[1]["values"] == {"db": {"dsn": "<redacted>", "x": "<redacted>"}}
    assert api.call("GET", path + "&reveal=true")[1]["values"]["db"]["dsn"] == SECRET
    status, err = api.call("PUT", "/v1/clusters/prod", {"kubeconfig": KUBECONFIG, "masking": {"paths": ["a=b"]}})
    assert status == 422 and err["error"]["details"]["field"] == "masking.paths[0]", err
