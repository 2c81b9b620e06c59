"""``POST .../releases/{name}/test`` (helm test) end to end, with both helm majors: the chart's test Pods run on the
local cluster's simulated nodes; the operation lists each and its phase, a failing one fails the operation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.charts import ChartServer
from devstack.stack import Stack
from tests.e2e.conftest import Api, free_port

pytestmark = pytest.mark.e2e
NS = "/v1/clusters/local/namespaces/e2e-tests/releases"
FAILING_TEST = """apiVersion: v1
kind: Pod
metadata:
  name: "{{ .Release.Name }}-test-fails"
  annotations:
    helm.sh/hook: test
    charthouse.dev/exit-code: "3"
spec:
  restartPolicy: Never
  containers:
    - name: check
      image: busybox:1.36
      command: ["false"]
"""


@pytest.fixture(scope="module")
def failing_chart(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A chart whose only test exits non-zero (the simulated nodes' ``charthouse.dev/exit-code``)."""
    root: Path = tmp_path_factory.mktemp("failing-test-chart") / "failing"
    (root / "templates" / "tests").mkdir(parents=True)
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: failing\nversion: 0.1.0\n")
    (root / "templates" / "tests" / "test.yaml").write_text(FAILING_TEST)
    server = ChartServer(root.parent / "www", stack.cfg.helm_binary, free_port())
    yield server.package(root)
    server.close()


def test_the_tests_of_a_release_run_as_an_operation(api: Api, stack: Stack) -> None:
    body = {"name": "tested", "chart": stack.example_charts["webapp"], "create_namespace": True, "wait": True}
    assert api.run("POST", NS, body)["status"] == "succeeded"
    op = api.run("POST", f"{NS}/tested/test", {"timeout": 60})
    assert op["status"] == "succeeded" and op["action"] == "test", op
    tests = op["result"]["tests"]
    assert [(t["name"], t["kind"], t["phase"]) for t in tests] == [
        ("tested-webapp-test-connection", "Pod", "Succeeded")
    ]
    assert tests[0]["started_at"] and tests[0]["completed_at"]
    status, release = api.call("GET", f"{NS}/tested")
    assert status == 200 and release["status"] == "deployed" and release["revision"] == 1  # a test is no revision


def test_a_failing_test_fails_the_operation_and_names_the_pod(api: Api, failing_chart: str) -> None:
    assert api.run("POST", NS, {"name": "failing", "chart": failing_chart, "create_namespace": True})["status"] == (
        "succeeded"
    )
    op = api.run("POST", f"{NS}/failing/test", {"timeout": 60})
    assert op["status"] == "failed" and "failing-test-fails" in op["error"]["message"], op
    assert [t["phase"] for t in op["error"]["details"]["tests"]] == ["Failed"], json.dumps(op)
    status, err = api.call("POST", f"{NS}/never-installed/test", {})
    assert status == 404 and err["error"]["code"] == "ReleaseNotFound"
