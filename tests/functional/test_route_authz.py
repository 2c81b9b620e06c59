"""Every route of every door declares its authorization, and the guard enforces it before the handler runs.

The walk covers ``routes.TABLE`` whole (nothing skipped): a caller granted every verb but the one a route needs is
refused in that door's own way (``/v1``'s 403 and error shape; helm-engine's HTTP 200 ``{"code": 1}``), and the
refusal is audited as ``denied`` with the cluster and namespace the request named (in its path, query or body, as
the route's scope declares: the test reads the declaration to place them). ``SELF`` routes are about the caller
only; ``PUBLIC`` ones need no credentials.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from app import app
from chalicelib import bootstrap
from chalicelib.api import console
from chalicelib.api.routes import TABLE, Route, Source
from chalicelib.core.authz import PUBLIC, SELF, VERBS
from tests.emulated import KUBECONFIG
from tests.functional.conftest import Api

CLUSTER, NAMESPACE = "prod", "team-a-web"
PARAMS = {
    "cluster": CLUSTER,
    "namespace": NAMESPACE,
    "name": "web",
    "operation_id": "op-0",
    "repository": "r",
    "chart": "c",
    "policy": "p",
    "token": "t",
    "asset": "main.js",
    "revision": "1",
    "access_key": "CHAK0",
    "cluster_id": CLUSTER,
    "chart_id": "c0",
    "runtime": "rt",
    "product": CLUSTER,
}
ROUTES = sorted(TABLE)
INLINE = {"inline": {"releases": [{"name": "web", "chart": "https://c.example/web-1.0.0.tgz"}]}}


def grant(api: Api, name: str, rules: list[dict[str, Any]]) -> str:
    token = bootstrap.get().tokens.create(name)
    status, body = api.call("PUT", f"/v1/policies/{name}", {"principals": [f"token:{name}"], "rules": rules})
    assert status in (200, 201), body
    return token


def deepest(src: Source) -> Source:
    """Where a value is read last (a body field that falls back to the query string: the query string)."""
    while isinstance(src.default, Source):
        src = src.default
    return src


def place(src: Source, value: str, params: dict[str, str], query: dict[str, str], body: dict[str, Any]) -> None:
    src = deepest(src)
    if src.place == "path":
        params[src.name] = value
    elif src.place == "query":
        query[src.name] = value
    else:
        *parents, last = src.name.split(".")
        at = body
        for part in parents:
            at = at.setdefault(part, {})
        at[last] = [value] if last == "namespaces" else value


def build(api: Api, declared: Route) -> tuple[str, dict[str, Any] | None]:
    """The route's path and body, the cluster and namespace placed where its scope reads them; the things its
    lookups read (a runtime, an operation) exist, on that cluster and namespace."""
    params, query, body = dict(PARAMS), {}, {}
    for scope in declared.scopes:
        if scope.cluster is not None:
            value = CLUSTER
            if deepest(scope.cluster).name == "endpoint":  # helm-engine names a cluster by its API server
                value = bootstrap.get().registry.get(CLUSTER).server
            place(scope.cluster, value, params, query, body)
        if scope.namespace is not None:
            place(scope.namespace, NAMESPACE, params, query, body)
    if "{runtime}" in declared.path:
        name = f"{PARAMS['product']}-rt" if "deploymentruntimes" in declared.path else "rt"
        runtime = {"source": INLINE, "destination": {"cluster": CLUSTER, "namespaces": [NAMESPACE]}}
        status, out = api.call("PUT", f"/v1/runtimes/{name}", runtime)
        assert status in (200, 201), out
    if "{operation_id}" in declared.path:
        install = {"name": "web", "chart": "https://c.example/web-1.0.0.tgz"}
        status, op = api.call("POST", f"/v1/clusters/{CLUSTER}/namespaces/{NAMESPACE}/releases", install)
        assert status == 202, op
        params["operation_id"] = op["id"]
    path = re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], declared.path)
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    if body or declared.method in ("PUT", "POST"):
        return path, body
    return path, None


def call(api: Api, method: str, path: str, body: dict[str, Any] | None, token: str) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    kwargs: dict[str, Any] = {"headers": headers}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    resp = getattr(api.c.http, method.lower())(path, **kwargs)
    try:
        return resp.status_code, resp.json_body
    except ValueError:
        return resp.status_code, resp.body


def test_the_walk_covers_every_route_of_the_app() -> None:
    served = {(m, path) for path, entries in app.routes.items() for m in entries}
    assert served == set(TABLE)


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_refuses_a_caller_without_its_verb_in_its_doors_way(api: Api, method: str, path: str) -> None:
    declared = TABLE[(method, path)]
    api.register(CLUSTER)
    PARAMS["version"] = console.asset_version()
    url, body = build(api, declared)
    if declared.verb == PUBLIC:  # health, the console's files, the webhook (its own secret)
        status, _ = call(api, method, url, body, "")
        assert status in ((302, 200) if method == "GET" else (401,)), (url, status)
        return
    if declared.verb == SELF:  # about the caller only: any signed-in caller is answered, none is refused
        nobody = grant(api, "nobody", [{"verbs": ["read"], "clusters": ["none"], "namespaces": ["none"]}])
        status, answer = call(api, method, url, body, nobody)
        assert status not in (401, 403), answer
        return
    needed = declared.verb
    others = [v for v in VERBS if v not in (needed, "admin")]
    caller = grant(api, "allbut", [{"verbs": others, "clusters": ["*"], "namespaces": ["*"]}])
    status, answer = call(api, method, url, body, caller)
    if declared.door.name == "helm-engine":
        assert status == 200 and answer["code"] == 1 and f"may not {needed}" in answer["error"], answer
    else:
        assert status == 403, (url, status, answer)
        assert answer["error"]["code"] == "Forbidden" and answer["error"]["details"]["permission"] == needed, answer
    entries = api.call("GET", "/v1/audit?principal=token:allbut")[1]["entries"]
    assert [(e["method"], e["route"], e["result"]) for e in entries] == [(method, path, "denied")], entries
    where = {k: entries[0][k] for k in ("cluster", "namespace") if k in entries[0]}
    assert where == named(declared), where


def named(declared: Route) -> dict[str, str]:
    """The cluster and namespace a request to the route names, as its scope declares (a path parameter the path
    has, a query or body field, or a lookup of the runtime or operation it addresses)."""
    out: dict[str, str] = {}
    for scope in declared.scopes:
        for what, src, value in (("cluster", scope.cluster, CLUSTER), ("namespace", scope.namespace, NAMESPACE)):
            if src is not None and (deepest(src).place != "path" or f"{{{deepest(src).name}}}" in declared.path):
                out[what] = value
        if scope.lookup is not None:
            out.update(cluster=CLUSTER, namespace=NAMESPACE)
    return out


SCOPED = [k for k in ROUTES if TABLE[k].verb not in (PUBLIC, SELF, "admin") and "cluster" in named(TABLE[k])]


@pytest.mark.parametrize(("method", "path"), SCOPED)
def test_every_scoped_route_refuses_every_verb_on_another_cluster(api: Api, method: str, path: str) -> None:
    """Every verb, on another cluster: refused on the cluster the request named (in its path, query or body)."""
    declared = TABLE[(method, path)]
    api.register(CLUSTER)
    other = KUBECONFIG.replace("127.0.0.1:1", "127.0.0.1:2")  # another API server (helm-engine's endpoint=)
    assert api.call("PUT", "/v1/clusters/dev", {"kubeconfig": other})[0] == 201
    url, body = build(api, declared)
    elsewhere = grant(api, "elsewhere", [{"verbs": list(VERBS), "clusters": ["dev"], "namespaces": ["*"]}])
    status, answer = call(api, method, url, body, elsewhere)
    if declared.door.name == "helm-engine":
        assert status == 200 and answer["code"] == 1 and "may not" in answer["error"], answer
    else:
        assert status == 403 and answer["error"]["code"] == "Forbidden", answer
    entry = api.call("GET", "/v1/audit?principal=token:elsewhere")[1]["entries"][0]
    assert (entry["result"], entry["cluster"]) == ("denied", CLUSTER), entry


def test_public_routes_are_only_health_the_console_and_the_webhook() -> None:
    public = sorted(path for (_, path), declared in TABLE.items() if declared.verb == PUBLIC)
    assert public == sorted(["/", "/ui", "/ui/v/{version}/{asset}", "/v1/health", "/v1/runtimes/{runtime}/webhook"]), (
        public
    )
