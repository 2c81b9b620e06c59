"""The release API end to end: HTTP -> chalice local -> SQS (moto) -> worker -> real helm -> real kube-apiserver.

Runs once per helm major (see conftest's ``helm_major``).
"""

from __future__ import annotations

import json

import pytest
import yaml

from devstack.stack import Stack
from tests.e2e.conftest import Api, ChartServer, free_port, helm_cli

pytestmark = pytest.mark.e2e
NS = "/v1/clusters/local/namespaces/e2e/releases"


def configmap(stack: Stack, name: str, namespace: str = "e2e") -> dict | None:
    """Read an object from the cluster with kubectl-free means: the kubernetes client, as a user would."""
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException

    api = config.new_client_from_config(str(stack.cfg.state_dir / "kubeconfig"))
    try:
        with api:
            cm = client.CoreV1Api(api).read_namespaced_config_map(name, namespace)
            return dict(cm.data or {})
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def test_cluster_is_registered_reachable_and_secret_free(api: Api, stack: Stack) -> None:
    status, cluster = api.call("GET", "/v1/clusters/local")
    assert status == 200
    assert cluster["reachable"] is True and cluster["server_version"].startswith("v1.")
    assert stack.kube.token() not in json.dumps(cluster)
    status, listed = api.call("GET", "/v1/clusters")
    assert "local" in [c["name"] for c in listed["clusters"]]
    status, nss = api.call("GET", "/v1/clusters/local/namespaces")
    assert "default" in [n["name"] for n in nss["namespaces"]]


def test_core_path(api: Api, stack: Stack, charts: ChartServer) -> None:
    chart1, chart2 = charts.url("demo-0.1.0.tgz"), charts.url("demo-0.2.0.tgz")
    # install (creating the namespace)
    op = api.run(
        "POST",
        NS,
        {
            "name": "web",
            "chart": chart1,
            "create_namespace": True,
            "values": {"greeting": "hello"},
            "description": "first",
        },
    )
    assert op["status"] == "succeeded", op
    assert op["result"]["revision"] == 1
    assert configmap(stack, "web-config") == {"greeting": "hello", "replicas": "1"}

    status, rel = api.call("GET", f"{NS}/web")
    assert status == 200
    assert (rel["status"], rel["revision"], rel["chart"], rel["chart_version"], rel["app_version"]) == (
        "deployed",
        1,
        "demo",
        "0.1.0",
        "0.1.0-app",
    )
    assert rel["notes"].strip() == "web says hello"
    assert rel["first_deployed"] and rel["last_deployed"]

    # upgrade: a values change is visible in the cluster object; set overrides values (helm precedence)
    op = api.run(
        "PUT", f"{NS}/web", {"chart": chart2, "values": "greeting: bonjour\nreplicas: 2\n", "set": ["replicas=3"]}
    )
    assert op["status"] == "succeeded", op
    assert configmap(stack, "web-config") == {"greeting": "bonjour", "replicas": "3"}

    status, hist = api.call("GET", f"{NS}/web/history")
    assert [(h["revision"], h["status"]) for h in hist["history"]] == [(2, "deployed"), (1, "superseded")]
    assert hist["history"][0]["chart"] == "demo-0.2.0"

    # rollback to the previous revision restores the value
    op = api.run("POST", f"{NS}/web/rollback", {})
    assert op["status"] == "succeeded", op
    assert configmap(stack, "web-config") == {"greeting": "hello", "replicas": "1"}
    status, rel = api.call("GET", f"{NS}/web?info=all")
    assert status == 200, rel
    assert rel["revision"] == 3 and rel["chart_version"] == "0.1.0"
    assert rel["values"] == {"greeting": "hello"}
    assert {"kind": "ConfigMap", "name": "web-config", "namespace": "e2e", "api_version": "v1"} in rel["resources"]
    assert {r["kind"] for r in rel["resources"]} == {"ConfigMap", "Service"}
    assert "kind: Service" in rel["manifest"]
    status, old = api.call("GET", f"{NS}/web?info=values&revision=2")
    assert old["values"] == {"greeting": "bonjour", "replicas": 3}

    # the store matches what helm itself reports
    helm_history = json.loads(helm_cli(stack, "history", "web", "-n", "e2e", "-o", "json"))
    _, hist = api.call("GET", f"{NS}/web/history")
    assert sorted((h["revision"], h["status"]) for h in helm_history) == sorted(
        (h["revision"], h["status"]) for h in hist["history"]
    )

    # list: per cluster, across clusters, with filters
    _, page = api.call("GET", "/v1/clusters/local/releases?namespace=e2e")
    assert "web" in [r["name"] for r in page["releases"]]
    _, page = api.call("GET", "/v1/releases?status=deployed&chart=demo&search=we")
    assert [r["name"] for r in page["releases"] if r["namespace"] == "e2e"] == ["web"]

    # uninstall removes the objects and the release from helm; the record stays, as uninstalled
    op = api.run("DELETE", f"{NS}/web")
    assert op["status"] == "succeeded", op
    assert configmap(stack, "web-config") is None
    assert "web" not in helm_cli(stack, "list", "-n", "e2e", "-q")
    _, rel = api.call("GET", f"{NS}/web")
    assert rel["status"] == "uninstalled"
    _, page = api.call("GET", "/v1/clusters/local/releases?namespace=e2e")
    assert "web" not in [r["name"] for r in page["releases"]]

    # operations are listed, newest first
    _, ops = api.call("GET", "/v1/operations?cluster=local&namespace=e2e&release=web")
    assert [o["action"] for o in ops["operations"]][:4] == ["uninstall", "rollback", "upgrade", "install"]


def test_dry_run_returns_the_manifest_and_changes_nothing(api: Api, stack: Stack, charts: ChartServer) -> None:
    status, out = api.call(
        "POST",
        NS,
        {"name": "dry", "chart": charts.url("demo-0.1.0.tgz"), "dry_run": True, "set_string": {"greeting": "007"}},
    )
    assert status == 200, out
    assert 'greeting: "007"' in out["manifest"]
    assert out["notes"].strip() == "dry says 007"
    assert configmap(stack, "dry-config") is None
    assert api.call("GET", f"{NS}/dry")[0] == 404


def test_unknown_chart_fails_the_operation_and_records_nothing(api: Api, charts: ChartServer) -> None:
    op = api.run("POST", NS, {"name": "ghost", "chart": charts.url("nothing-9.9.9.tgz"), "create_namespace": True})
    assert op["status"] == "failed"
    assert op["error"]["code"] == "ChartNotFound", op["error"]
    assert api.call("GET", f"{NS}/ghost")[0] == 404


def test_bad_values_fail_with_helms_reason_and_are_recorded(api: Api, stack: Stack, charts: ChartServer) -> None:
    # rejected by the API before helm runs
    status, err = api.call("POST", NS, {"name": "bad", "chart": charts.url("demo-0.1.0.tgz"), "values": "- 1\n- 2"})
    assert status == 422 and err["error"]["details"]["field"] == "values"
    # accepted, then refused by the chart's values schema
    op = api.run(
        "POST",
        NS,
        {
            "name": "bad",
            "chart": charts.url("demo-0.1.0.tgz"),
            "create_namespace": True,
            "values": {"replicas": "many"},
        },
    )
    assert op["status"] == "failed"
    assert "replicas" in op["error"]["message"]
    assert stack.kube.token() not in json.dumps(op)


def test_duplicate_install_is_refused(api: Api, charts: ChartServer) -> None:
    body = {"name": "twice", "chart": charts.url("demo-0.1.0.tgz"), "create_namespace": True}
    assert api.run("POST", NS, body)["status"] == "succeeded"
    status, err = api.call("POST", NS, body)
    assert status == 409 and err["error"]["code"] == "ReleaseExists"
    assert api.run("DELETE", f"{NS}/twice")["status"] == "succeeded"


def test_unreachable_cluster(api: Api, stack: Stack, charts: ChartServer) -> None:
    dead = f"https://127.0.0.1:{free_port()}"
    status, _ = api.call(
        "PUT", "/v1/clusters/gone", {"server": dead, "ca_data": stack.kube.ca_pem(), "token": "not-a-real-token-123"}
    )
    assert status in (200, 201)
    status, cluster = api.call("GET", "/v1/clusters/gone")
    assert status == 200 and cluster["reachable"] is False and cluster["server_version"] is None
    assert api.call("GET", "/v1/clusters/gone/namespaces")[0] == 502
    op = api.run(
        "POST", "/v1/clusters/gone/namespaces/x/releases", {"name": "a", "chart": charts.url("demo-0.1.0.tgz")}
    )
    assert op["status"] == "failed" and op["error"]["code"] == "ClusterUnreachable", op["error"]
    assert "not-a-real-token-123" not in json.dumps(op)
    assert api.call("DELETE", "/v1/clusters/gone")[0] == 204


def test_upgrade_install_upsert_and_keep_history(api: Api, charts: ChartServer) -> None:
    path = f"{NS}/upsert"
    op = api.run(
        "PUT",
        path,
        {"chart": charts.url("demo-0.1.0.tgz"), "install": True, "create_namespace": True, "labels": {"team": "e2e"}},
    )
    assert op["status"] == "succeeded", op
    op = api.run(
        "PUT", path, {"chart": charts.url("demo-0.1.0.tgz"), "reuse_values": True, "set": {"greeting": "again"}}
    )
    assert op["status"] == "succeeded", op
    op = api.run("DELETE", path + "?keep_history=true")
    assert op["status"] == "succeeded", op
    _, rel = api.call("GET", path)
    assert rel["status"] == "uninstalled"
    _, hist = api.call("GET", path + "/history?max=1")
    assert len(hist["history"]) == 1 and hist["history"][0]["status"] == "uninstalled"


def test_openapi_document_is_served_and_responses_matched_it(api: Api, checker: object) -> None:
    status, doc = api.call("GET", "/v1/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    from openapi_spec_validator import validate

    validate(doc)
    # every response of this module was checked against the document by the client
    assert len(checker.checked) > 20  # type: ignore[attr-defined]


def test_kubeconfig_written_for_users(stack: Stack) -> None:
    kubeconfig = yaml.safe_load((stack.cfg.state_dir / "kubeconfig").read_text())
    assert kubeconfig["clusters"][0]["cluster"]["server"] == stack.kube.server
    assert (stack.cfg.state_dir / "kubeconfig").stat().st_mode & 0o077 == 0
