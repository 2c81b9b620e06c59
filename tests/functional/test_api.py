"""The API through chalice.test.Client with moto and a fake helm: routing, validation, the pipeline, the store."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.fakes import FakeHelm
from tests.functional.conftest import Api

CHART = "https://charts.example.com/demo-1.2.3.tgz"
NS = "/v1/clusters/prod/namespaces/apps/releases"


def install(api: Api, name: str = "web", **extra: object) -> dict:
    status, op = api.call("POST", NS, {"name": name, "chart": CHART, **extra})
    assert status == 202, op
    return op


def test_cluster_registration_keeps_secrets_out_of_responses_and_the_table(api: Api) -> None:
    api.register()
    status, body = api.call("GET", "/v1/clusters")
    assert status == 200
    assert [c["name"] for c in body["clusters"]] == ["prod"]
    assert "s3cr3t" not in json.dumps(body)
    items = boto3.client("dynamodb").scan(TableName="charthouse")["Items"]
    assert "s3cr3t" not in json.dumps(items)
    secret = boto3.client("secretsmanager").get_secret_value(SecretId="charthouse/clusters/prod")
    assert "s3cr3t-token-value" in secret["SecretString"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"kubeconfig": "a: [", "context": "x"}, "kubeconfig"),
        ({"kubeconfig": {"clusters": [], "current-context": "x"}}, "kubeconfig"),
        ({"server": "http://insecure", "ca_data": "x", "token": "t"}, "server"),
        ({"server": "https://k8s:6443", "token": "t"}, "ca_data"),
        ({"eks": {"name": "c", "region": "nowhere"}}, "eks.region"),
        ({"eks": {"name": "c", "region": "eu-west-1", "role_arn": "arn:nope"}}, "eks.role_arn"),
    ],
)
def test_cluster_validation_names_the_field(api: Api, body: dict, field: str) -> None:
    status, err = api.call("PUT", "/v1/clusters/prod", body)
    assert status in (400, 422)
    assert err["error"]["details"]["field"] == field


def test_kubeconfig_with_exec_plugin_is_refused(api: Api) -> None:
    kc = {
        "clusters": [{"name": "c", "cluster": {"server": "https://x:443"}}],
        "users": [{"name": "u", "user": {"exec": {"command": "/bin/sh"}}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    status, err = api.call("PUT", "/v1/clusters/prod", {"kubeconfig": kc})
    assert status == 422
    assert "exec" in err["error"]["message"]


def test_install_upgrade_rollback_uninstall_through_the_queue(api: Api, helm: FakeHelm) -> None:
    api.register()
    op = install(api, values={"greeting": "hello"})
    assert op["status"] == "queued" and op["action"] == "install"
    assert api.drain() == 1
    status, done = api.call("GET", f"/v1/operations/{op['id']}")
    assert status == 200 and done["status"] == "succeeded", done
    assert done["result"] == {"status": "deployed", "revision": 1}

    status, rel = api.call("GET", f"{NS}/web")
    assert (rel["status"], rel["revision"], rel["chart"], rel["chart_version"]) == ("deployed", 1, "demo", "1.2.3")

    status, op = api.call("PUT", f"{NS}/web", {"chart": CHART, "values": "greeting: hi\n"})
    assert status == 202
    api.drain()
    status, hist = api.call("GET", f"{NS}/web/history")
    assert [(h["revision"], h["status"]) for h in hist["history"]] == [(2, "deployed"), (1, "superseded")]

    status, op = api.call("POST", f"{NS}/web/rollback", {})
    assert status == 202
    api.drain()
    status, rel = api.call("GET", f"{NS}/web?info=values")
    assert rel["revision"] == 3 and rel["values"] == {"greeting": "hello"}

    status, op = api.call("DELETE", f"{NS}/web")
    assert status == 202, op
    api.drain()
    status, rel = api.call("GET", f"{NS}/web")
    assert rel["status"] == "uninstalled"
    status, listed = api.call("GET", "/v1/releases")
    assert listed["releases"] == []
    status, listed = api.call("GET", "/v1/releases?status=uninstalled")
    assert [r["name"] for r in listed["releases"]] == ["web"]


def test_second_mutation_while_one_is_queued_is_locked(api: Api) -> None:
    api.register()
    op = install(api)
    status, err = api.call("PUT", f"{NS}/web", {"chart": CHART, "install": True})
    assert status == 409
    assert err["error"]["code"] == "ReleaseLocked"
    assert err["error"]["details"]["operation_id"] == op["id"]
    # other releases are not affected
    install(api, name="other")


def test_duplicate_install_is_a_conflict(api: Api) -> None:
    api.register()
    install(api)
    api.drain()
    status, err = api.call("POST", NS, {"name": "web", "chart": CHART})
    assert status == 409 and err["error"]["code"] == "ReleaseExists"


def test_failed_chart_fetch_fails_the_operation_with_a_reason(api: Api) -> None:
    api.register()
    op = install(api, chart="https://charts.example.com/missing-1.0.0.tgz")
    api.drain()
    _, done = api.call("GET", f"/v1/operations/{op['id']}")
    assert done["status"] == "failed"
    assert done["error"]["code"] == "ChartNotFound"
    status, _ = api.call("GET", f"{NS}/web")
    assert status == 404  # nothing half-written
    # the lease was freed: a new install may run
    install(api)


def test_unreachable_cluster_fails_the_operation_and_frees_the_lease(api: Api, helm: FakeHelm) -> None:
    api.register()
    helm.unreachable = True
    op = install(api)
    api.drain()
    _, done = api.call("GET", f"/v1/operations/{op['id']}")
    assert done["status"] == "failed" and done["error"]["code"] == "ClusterUnreachable"
    install(api)


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({"name": "Bad_Name", "chart": CHART}, "name", 422),
        ({"name": "a" * 54, "chart": CHART}, "name", 422),
        ({"name": "web"}, "chart", 422),
        ({"name": "web", "chart": "/etc/passwd"}, "chart", 422),
        ({"name": "web", "chart": "file:///etc/passwd"}, "chart", 422),
        ({"name": "web", "chart": CHART, "timeout": "forever"}, "timeout", 422),
        ({"name": "web", "chart": CHART, "timeout": 100000}, "timeout", 422),
        ({"name": "web", "chart": CHART, "version": "--devel"}, "version", 422),
        ({"name": "web", "chart": CHART, "wait": "yes"}, "wait", 422),
        ({"name": "web", "chart": CHART, "values": "- a list"}, "values", 422),
        ({"name": "web", "chart": CHART, "bogus": 1}, "bogus", 422),
        ({"name": "web", "chart": CHART, "labels": {"a": 1}}, "labels.a", 422),
        ({"name": "web", "chart": CHART, "max_history": -1}, "max_history", 422),
    ],
)
def test_install_validation_names_the_field(api: Api, body: dict, field: str, status: int) -> None:
    api.register()
    got, err = api.call("POST", NS, body)
    assert got == status, err
    assert err["error"]["details"]["field"] == field


def test_malformed_json_is_a_400_in_the_error_shape(api: Api) -> None:
    api.register()
    status, err = api.call("POST", NS, "{not json")
    assert status == 400 and err["error"]["code"] == "InvalidInput"


def test_unknown_things_are_404(api: Api) -> None:
    assert api.call("GET", "/v1/clusters/nope")[0] == 404
    assert api.call("POST", "/v1/clusters/nope/namespaces/x/releases", {"name": "a", "chart": CHART})[0] == 404
    assert api.call("GET", "/v1/operations/op-123")[0] == 404
    api.register()
    assert api.call("GET", f"{NS}/ghost")[0] == 404
    assert api.call("PUT", f"{NS}/ghost", {"chart": CHART})[0] == 404


def test_generate_name_and_name_template(api: Api) -> None:
    api.register()
    status, op = api.call("POST", NS, {"generate_name": True, "chart": CHART})
    assert status == 202 and op["release"]["name"].startswith("demo-")
    status, op = api.call("POST", NS, {"name_template": "{{ randAlpha 5 | lower }}-app", "chart": CHART})
    assert status == 202 and op["release"]["name"] == "abcde-app"


def test_dry_run_answers_at_once_and_records_nothing(api: Api) -> None:
    api.register()
    status, out = api.call("POST", NS, {"name": "web", "chart": CHART, "dry_run": True})
    assert status == 200
    assert "ConfigMap" in out["manifest"] and out["resources"][0]["kind"] == "ConfigMap"
    assert api.call("GET", f"{NS}/web")[0] == 404


def test_list_filters_and_pagination(api: Api) -> None:
    api.register()
    for n in range(5):
        install(api, name=f"app-{n}")
    api.drain()
    status, page = api.call("GET", "/v1/clusters/prod/releases?limit=2")
    assert status == 200 and len(page["releases"]) == 2 and page["next_token"]
    seen = [r["name"] for r in page["releases"]]
    while page["next_token"]:
        _, page = api.call("GET", f"/v1/clusters/prod/releases?limit=2&next_token={page['next_token']}")
        seen += [r["name"] for r in page["releases"]]
    assert sorted(seen) == [f"app-{n}" for n in range(5)]
    _, page = api.call("GET", "/v1/releases?search=p-3")
    assert [r["name"] for r in page["releases"]] == ["app-3"]
    _, page = api.call("GET", "/v1/releases?chart=demo&status=deployed&namespace=apps")
    assert len(page["releases"]) == 5
    assert api.call("GET", "/v1/releases?status=sleeping")[0] == 422
    assert api.call("GET", "/v1/releases?next_token=garbage!")[0] == 422


def test_operations_list_filters(api: Api) -> None:
    api.register()
    install(api, name="a")
    install(api, name="b")
    _, page = api.call("GET", "/v1/operations?cluster=prod&release=b")
    assert [o["release"]["name"] for o in page["operations"]] == ["b"]
    _, page = api.call("GET", "/v1/operations?status=queued")
    assert len(page["operations"]) == 2


def test_delete_cluster_with_releases_needs_force(api: Api) -> None:
    api.register()
    install(api)
    api.drain()
    assert api.call("DELETE", "/v1/clusters/prod")[0] == 409
    assert api.call("DELETE", "/v1/clusters/prod?force=true")[0] == 204
    assert api.call("GET", "/v1/clusters/prod")[0] == 404


def test_values_digest_follows_the_values_helm_holds(api: Api) -> None:
    api.register()
    install(api, values={"greeting": "hello"})
    api.drain()
    _, first = api.call("GET", f"{NS}/web")
    api.call("PUT", f"{NS}/web", {"chart": CHART, "values": {"greeting": "hi"}})
    api.drain()
    _, second = api.call("GET", f"{NS}/web")
    assert second["values_digest"] != first["values_digest"]
    api.call("POST", f"{NS}/web/rollback", {"revision": 1})
    api.drain()
    _, third = api.call("GET", f"{NS}/web")
    assert third["values_digest"] == first["values_digest"]


def test_helm_test_is_an_operation_listing_each_test(api: Api) -> None:
    api.register()
    install(api)
    api.drain()
    status, op = api.call("POST", f"{NS}/web/test", {"timeout": 60})
    assert status == 202 and op["action"] == "test" and op["request"]["timeout_s"] == 60, op
    api.drain()
    done = api.call("GET", f"/v1/operations/{op['id']}")[1]
    assert done["status"] == "succeeded", done
    assert done["result"]["tests"] == [
        {"name": "web-test", "kind": "Pod", "phase": "Succeeded", "started_at": None, "completed_at": None}
    ]
    assert api.call("POST", f"{NS}/ghost/test", {})[0] == 404
    assert api.call("POST", f"{NS}/web/test", {"filter": "x"})[1]["error"]["details"]["field"] == "filter"
