"""The release routes of /v1: a verb in, an accepted operation out (202 and where to poll), the release and its
history read from the store, bad input named (400 for a body that is no JSON object, 422 naming the field), a
release locked by a running operation (409 naming it), an Idempotency-Key replayed. (The cluster and operation
routes are tested with their modules.)"""

from __future__ import annotations

import json

import pytest

from chalicelib import bootstrap
from tests.fakes import FakeHelm
from tests.functional.conftest import Api

CHART = "https://charts.example.com/demo-1.2.3.tgz"
RELEASES = "/v1/clusters/prod/namespaces/apps/releases"


def test_install_is_accepted_then_read_from_the_store(api: Api, helm: FakeHelm) -> None:
    api.register()
    resp = api.c.http.post(
        RELEASES,
        headers={"Content-Type": "application/json", **api.auth},
        body=json.dumps({"name": "web", "chart": CHART}),
    )
    op = resp.json_body
    assert resp.status_code == 202 and op["status"] == "queued" and op["action"] == "install"
    assert resp.headers["Location"] == f"/v1/operations/{op['id']}"
    assert helm.calls == []  # nothing ran in the request: the worker runs it
    api.drain()
    status, release = api.call("GET", f"{RELEASES}/web")
    assert status == 200 and release["status"] == "deployed" and release["revision"] == 1
    status, history = api.call("GET", f"{RELEASES}/web/history")
    assert status == 200 and [r["revision"] for r in history["history"]] == [1]
    assert api.call("GET", f"/v1/operations/{op['id']}")[1]["status"] == "succeeded"


def test_upgrade_rollback_and_uninstall(api: Api, helm: FakeHelm) -> None:
    api.register()
    api.call("POST", RELEASES, {"name": "web", "chart": CHART, "values": {"data": {"a": "1"}}})
    api.drain()
    assert api.call("PUT", f"{RELEASES}/web", {"chart": CHART, "values": {"data": {"a": "2"}}})[0] == 202
    api.drain()
    assert api.call("POST", f"{RELEASES}/web/rollback", {})[0] == 202
    api.drain()
    status, release = api.call("GET", f"{RELEASES}/web?info=values")
    assert status == 200 and release["revision"] == 3 and release["values"] == {"data": {"a": "1"}}
    assert api.call("DELETE", f"{RELEASES}/web")[0] == 202
    api.drain()
    assert "prod/apps/web" not in helm.releases


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "web"}, 422, "chart"),
        ({"name": "web", "chart": CHART, "colour": "blue"}, 422, "colour"),
        ({"name": "Web_1", "chart": CHART}, 422, "name"),
        ({"name": "web", "chart": CHART, "timeout": "forever"}, 422, "timeout"),
        ("[1, 2]", 400, "body"),
        ("{not json", 400, "body"),
    ],
)
def test_bad_install_bodies_are_named(api: Api, body: object, status: int, field: str) -> None:
    api.register()
    got, out = api.call("POST", RELEASES, body)
    assert got == status and out["error"]["details"]["field"] == field, out


def test_an_unknown_cluster_is_404_and_a_bad_query_422(api: Api) -> None:
    assert api.call("POST", "/v1/clusters/nowhere/namespaces/apps/releases", {"name": "w", "chart": CHART})[0] == 404
    api.register()
    status, out = api.call("GET", f"{RELEASES}/web?info=secrets")
    assert status == 422 and out["error"]["details"]["field"] == "info"
    status, out = api.call("GET", "/v1/releases?limit=0")
    assert status == 422 and out["error"]["details"]["field"] == "limit"
    assert api.call("GET", f"{RELEASES}/nothing")[0] == 404


def test_a_release_locked_by_a_queued_operation_is_409_naming_it(api: Api) -> None:
    api.register()
    op = api.call("POST", RELEASES, {"name": "web", "chart": CHART})[1]
    status, out = api.call("PUT", f"{RELEASES}/web", {"chart": CHART, "install": True})
    assert status == 409 and out["error"]["code"] == "ReleaseLocked"
    assert out["error"]["details"]["operation_id"] == op["id"]


def test_an_idempotency_key_replays_the_same_operation(api: Api) -> None:
    api.register()
    headers = {"Content-Type": "application/json", "Idempotency-Key": "deploy-42", **api.auth}
    body = json.dumps({"name": "web", "chart": CHART})
    first = api.c.http.post(RELEASES, headers=headers, body=body).json_body
    again = api.c.http.post(RELEASES, headers=headers, body=body).json_body
    assert again["id"] == first["id"]
    other = api.c.http.post(RELEASES, headers=headers, body=json.dumps({"name": "api", "chart": CHART}))
    assert other.status_code == 422 and other.json_body["error"]["details"]["field"] == "Idempotency-Key"


def test_a_caller_without_the_verb_is_refused(api: Api) -> None:
    api.register()
    nobody = bootstrap.get().tokens.create("nobody")
    status, out = api.call("POST", RELEASES, {"name": "web", "chart": CHART}, token=nobody)
    assert status == 403 and out["error"]["code"] == "Forbidden"
    assert api.call("GET", "/v1/releases", token=nobody)[0] == 403
