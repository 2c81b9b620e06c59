"""Every route of every door declares its authorization, and the guard enforces it before the handler runs.

The walk covers ``routes.TABLE`` whole (nothing skipped): a caller granted every verb but the one a route needs is
refused in that door's own way (``/v1``'s 403 and error shape; helm-engine's HTTP 200 ``{"code": 1}``), and the
refusal is audited as ``denied`` with the cluster and namespace the request named (in its path, query or body, as
the route's scope declares: the test reads the declaration to place them). ``SELF`` routes are about the caller
only; ``PUBLIC`` ones need no credentials.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from app import app
from chalicelib import bootstrap
from chalicelib.adapters.store import table_definition
from chalicelib.api import console
from chalicelib.api.routes import TABLE, Route, Source
from chalicelib.config import QUEUE_NAME, Settings
from chalicelib.core.authz import PUBLIC, SELF, VERBS
from tests.emulated import KUBECONFIG
from tests.fakes import FakeGit, FakeHelm
from tests.functional.conftest import BUCKET, Api

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
_NAMES = itertools.count()


@pytest.fixture(scope="module")
def stack() -> Iterator[Api]:
    """One emulated stack for the whole walk (a principal of its own per test): clusters prod and dev (another API
    server), the runtimes rt and prod-rt on prod/team-a-web, and an operation there."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {
            "AWS_ACCESS_KEY_ID": "t",
            "AWS_SECRET_ACCESS_KEY": "t",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            mp.setenv(key, value)
        mp.delenv("AWS_ENDPOINT_URL", raising=False)
        with mock_aws():
            boto3.client("dynamodb").create_table(**table_definition("charthouse"))
            queue = boto3.client("sqs").create_queue(QueueName=QUEUE_NAME, Attributes={"FifoQueue": "true"})
            boto3.client("s3").create_bucket(Bucket=BUCKET)
            settings = Settings(
                queue_url=queue["QueueUrl"], helm_binary="/nonexistent", chart_bucket=BUCKET, auth_mode="token"
            )
            bootstrap.override(bootstrap.build(settings, helm=FakeHelm(), git=FakeGit()))
            with Client(app) as client:
                api = Api(client, queue["QueueUrl"])
                api.register(CLUSTER)
                other = KUBECONFIG.replace("127.0.0.1:1", "127.0.0.1:2")  # another API server (helm-engine's endpoint=)
                assert api.call("PUT", "/v1/clusters/dev", {"kubeconfig": other})[0] == 201
                for name in ("rt", f"{PARAMS['product']}-rt"):
                    runtime = {"source": INLINE, "destination": {"cluster": CLUSTER, "namespaces": [NAMESPACE]}}
                    status, out = api.call("PUT", f"/v1/runtimes/{name}", runtime)
                    assert status in (200, 201), out
                install = {"name": "web", "chart": "https://c.example/web-1.0.0.tgz"}
                status, op = api.call("POST", f"/v1/clusters/{CLUSTER}/namespaces/{NAMESPACE}/releases", install)
                assert status == 202, op
                PARAMS["operation_id"] = op["id"]
                PARAMS["version"] = console.asset_version()
                yield api
            bootstrap.override(None)


_POLICIES: set[str] = set()


def grant(api: Api, policy: str, rules: list[dict[str, Any]]) -> tuple[str, str]:
    """A principal of its own (the policy's name and a number) under the policy ``policy`` (``rules``, written
    once): its id and its token."""
    if policy not in _POLICIES:
        body = {"principals": [f"token:{policy}-*"], "rules": rules}
        status, answer = api.call("PUT", f"/v1/policies/{policy}", body)
        assert status in (200, 201), answer
        _POLICIES.add(policy)
    name = f"{policy}-{next(_NAMES)}"
    return f"token:{name}", bootstrap.get().tokens.create(name)


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


def build(declared: Route) -> tuple[str, dict[str, Any] | None]:
    """The route's path and body, the cluster and namespace placed where its scope reads them (the things its
    lookups read, a runtime or an operation, are on that cluster and namespace: ``stack``)."""
    params, query, body = dict(PARAMS), {}, {}
    for scope in declared.scopes:
        if scope.cluster is not None:
            value = CLUSTER
            if deepest(scope.cluster).name == "endpoint":  # helm-engine names a cluster by its API server
                value = bootstrap.get().registry.get(CLUSTER).server
            place(scope.cluster, value, params, query, body)
        if scope.namespace is not None:
            place(scope.namespace, NAMESPACE, params, query, body)
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
def test_every_route_refuses_a_caller_without_its_verb_in_its_doors_way(stack: Api, method: str, path: str) -> None:
    api = stack
    declared = TABLE[(method, path)]
    url, body = build(declared)
    if declared.verb == PUBLIC:  # health, the console's files, the webhook (its own secret)
        status, _ = call(api, method, url, body, "")
        assert status in ((302, 200) if method == "GET" else (401,)), (url, status)
        return
    if declared.verb == SELF:  # about the caller only: any signed-in caller is answered, none is refused
        _, nobody = grant(api, "nobody", [{"verbs": ["read"], "clusters": ["none"], "namespaces": ["none"]}])
        status, answer = call(api, method, url, body, nobody)
        assert status not in (401, 403), answer
        return
    needed = declared.verb
    others = [v for v in VERBS if v not in (needed, "admin")]
    who, caller = grant(api, f"allbut-{needed}", [{"verbs": others, "clusters": ["*"], "namespaces": ["*"]}])
    status, answer = call(api, method, url, body, caller)
    if declared.door.name == "helm-engine":
        assert status == 200 and answer["code"] == 1 and f"may not {needed}" in answer["error"], answer
    else:
        assert status == 403, (url, status, answer)
        assert answer["error"]["code"] == "Forbidden" and answer["error"]["details"]["permission"] == needed, answer
    entries = api.call("GET", f"/v1/audit?principal={who}")[1]["entries"]
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
def test_every_scoped_route_refuses_every_verb_on_another_cluster(stack: Api, method: str, path: str) -> None:
    """Every verb, on another cluster: refused on the cluster the request named (in its path, query or body)."""
    api = stack
    declared = TABLE[(method, path)]
    url, body = build(declared)
    who, elsewhere = grant(api, "elsewhere", [{"verbs": list(VERBS), "clusters": ["dev"], "namespaces": ["*"]}])
    status, answer = call(api, method, url, body, elsewhere)
    if declared.door.name == "helm-engine":
        assert status == 200 and answer["code"] == 1 and "may not" in answer["error"], answer
    else:
        assert status == 403 and answer["error"]["code"] == "Forbidden", answer
    entry = api.call("GET", f"/v1/audit?principal={who}")[1]["entries"][0]
    assert (entry["result"], entry["cluster"]) == ("denied", CLUSTER), entry


def test_public_routes_are_only_health_the_console_and_the_webhook() -> None:
    public = sorted(path for (_, path), declared in TABLE.items() if declared.verb == PUBLIC)
    assert public == sorted(["/", "/ui", "/ui/v/{version}/{asset}", "/v1/health", "/v1/runtimes/{runtime}/webhook"]), (
        public
    )
