"""The AWS calls of an operation run in the request (``Prefer: wait=N``), counted where botocore makes them, through
the whole app (guard, hall, run, finish): a count is deterministic, so it is asserted exactly. docs/PERFORMANCE.md
("Calls of a sync operation") lists them."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.client import BaseClient

from chalicelib import bootstrap
from chalicelib.core.authz import Policy
from chalicelib.core.repositories import Repository
from tests.functional.conftest import Api

CHART = "https://charts.example.com/demo-1.2.3.tgz"
NS = "/v1/clusters/prod/namespaces/apps/releases"
ACCEPT_FINISH_AUDIT = {"dynamodb:TransactWriteItems": 2, "dynamodb:PutItem": 1}


@contextmanager
def counted() -> Iterator[Counter[str]]:
    """Every AWS call made meanwhile, whichever client made it, as ``service:Operation`` -> count."""
    calls: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def counting(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        calls[f"{client.meta.service_model.endpoint_prefix}:{operation}"] += 1
        return original(client, operation, params)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BaseClient, "_make_api_call", counting)
        yield calls


def sync(api: Api, method: str, path: str, body: dict[str, Any], token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token or api.token}", "Prefer": "wait=20"}
    resp = getattr(api.c.http, method.lower())(path, headers=headers, body=json.dumps(body))
    return resp.status_code, resp.json_body


VERBS = (
    ("install", "POST", NS, {"name": "web", "chart": CHART, "timeout": 15}),
    ("upgrade", "PUT", f"{NS}/web", {"chart": CHART, "timeout": 15, "values": {"a": 1}}),
    ("rollback", "POST", f"{NS}/web/rollback", {"timeout": 15}),
    ("uninstall", "DELETE", f"{NS}/web?timeout=15", {}),
)
# Warm (the cluster and the repositories cached, the cluster's credentials too): the release record (the check), the
# accept, the finish, the audit entry; a rollback also reads the revisions it may go to.
WARM = {
    "install": {"dynamodb:GetItem": 1, **ACCEPT_FINISH_AUDIT},
    "upgrade": {"dynamodb:GetItem": 1, **ACCEPT_FINISH_AUDIT},
    "rollback": {"dynamodb:GetItem": 1, "dynamodb:Query": 1, **ACCEPT_FINISH_AUDIT},
    "uninstall": {"dynamodb:GetItem": 1, **ACCEPT_FINISH_AUDIT},
}


def each_verb(api: Api, token: str | None = None) -> dict[str, dict[str, int]]:
    out = {}
    for verb, method, path, body in VERBS:
        with counted() as calls:
            status, op = sync(api, method, path, body, token)
        assert status in (200, 201) and op["status"] == "succeeded", op
        out[verb] = dict(calls)
    return out


def test_a_warm_sync_operation_makes_the_accept_the_finish_and_no_read_twice(api: Api) -> None:
    api.register()
    api.register("other")
    with counted() as cold:  # the first install of the container: the cluster, its credentials, the repositories
        status, op = sync(api, "POST", "/v1/clusters/other/namespaces/apps/releases", VERBS[0][3])
    assert status == 201, op
    assert cold == {
        "dynamodb:GetItem": 3,  # cluster, release record, repositories' version
        "dynamodb:Query": 1,  # the repositories (the chart URL's credentials)
        "secretsmanager:GetSecretValue": 1,
        **ACCEPT_FINISH_AUDIT,
    }, cold
    # prod: its registration and credentials not yet cached
    first = {"dynamodb:GetItem": 2, "secretsmanager:GetSecretValue": 1, **ACCEPT_FINISH_AUDIT}
    assert each_verb(api) == {**WARM, "install": first}
    assert each_verb(api) == WARM  # again on the same release, everything cached


def test_a_caller_with_a_policy_has_it_read_once_per_request(api: Api) -> None:
    api.register()
    bootstrap.get().authorizer.put(
        Policy.from_json("deployers", {"principals": ["token:dev"], "rules": [{"verbs": ["admin"]}]})
    )
    dev = bootstrap.get().tokens.create("dev")
    sync(api, "POST", "/v1/clusters/prod/namespaces/warm/releases", VERBS[0][3], dev)  # warms the cache
    policies_read = {"dynamodb:Query": 1}  # the policies, once: by the guard, reused by the hall
    got = each_verb(api, dev)
    assert got == {verb: dict(Counter(calls) + Counter(policies_read)) for verb, calls in WARM.items()}, got


def test_a_repository_written_elsewhere_makes_the_cached_accept_check_again(api: Api) -> None:
    """A repository registered by another container bumps the version: this container's cached list is stale,
    its accept fails on the version, and the request is checked again with fresh reads (one more accept)."""
    api.register()
    sync(api, "POST", NS, VERBS[0][3])  # caches the cluster and the repositories
    store = bootstrap.get().store
    elsewhere = Repository(
        "elsewhere", "https://other.example.com", "http", "", False, False, False, (), None, 1.0, 1.0
    )
    store.put_repository("elsewhere", elsewhere.to_item())  # as another container's PUT writes it
    with counted() as calls:
        status, op = sync(api, "PUT", f"{NS}/web", VERBS[1][3])
    assert status == 200 and op["status"] == "succeeded", op
    assert calls["dynamodb:TransactWriteItems"] == 3, calls  # the failed accept, the accept, the finish
    assert calls["dynamodb:Query"] == 1 and calls["dynamodb:GetItem"] == 4, calls  # fresh: cluster, release, version
