"""End-to-end fixtures: the whole local stack (real kube-apiserver, real helm, moto server, chalice local, workers)
on free ports in a temp dir, once per helm major; a chart server on loopback; an HTTP client that checks every
response against the OpenAPI document."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.charts import ChartServer
from devstack.stack import ROOT, Stack, StackConfig, free_port, request
from tests.e2e.openapi_check import ResponseChecker
from tests.e2e.repos import (
    published,  # noqa: F401 - the fixture: charts in the stack's repo and registry, once per stack
)

HELMS = {"helm4": ROOT / "layers/helm/build/v4/helm", "helm3": ROOT / "layers/helm/build/v3/helm"}
TERMINAL = ("succeeded", "failed")


# ---------------------------------------------------------------- charts


DEMO_TEMPLATES = {
    "configmap.yaml": """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
  labels: {app: {{ .Release.Name }}}
data:
  greeting: {{ .Values.greeting | quote }}
  replicas: {{ .Values.replicas | quote }}
""",
    "service.yaml": """apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-svc
spec:
  selector: {app: {{ .Release.Name }}}
  ports:
  - port: 80
    protocol: TCP
""",
    "NOTES.txt": "{{ .Release.Name }} says {{ .Values.greeting }}\n",
}
SCHEMA = """{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
 "properties": {"greeting": {"type": "string"}, "replicas": {"type": "integer", "minimum": 1}}}"""


def write_chart(root: Path, name: str, version: str, greeting: str = "hello") -> Path:
    chart = root / f"src-{name}-{version}"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(
        yaml.safe_dump({"apiVersion": "v2", "name": name, "version": version, "appVersion": f"{version}-app"})
    )
    (chart / "values.yaml").write_text(yaml.safe_dump({"greeting": greeting, "replicas": 1}))
    (chart / "values.schema.json").write_text(SCHEMA)
    for file, text in DEMO_TEMPLATES.items():
        (chart / "templates" / file).write_text(text)
    return chart


def serve_charts(root: Path, helm: Path) -> ChartServer:
    """The test charts (demo 0.1.0 and 0.2.0), packaged with the real helm and served on a free port."""
    server = ChartServer(root / "www", helm, free_port())
    for version in ("0.1.0", "0.2.0"):
        server.package(write_chart(root, "demo", version))
    return server


# ---------------------------------------------------------------- the API client


class Api:
    def __init__(self, base: str, checker: ResponseChecker) -> None:
        self.base = base
        self.checker = checker

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        status, data = request(method, self.base + path, body)
        self.checker.check(method, path, status, data)
        return status, data

    def wait(self, op: dict[str, Any], timeout: float = 180) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, data = self.call("GET", f"/v1/operations/{op['id']}")
            assert status == 200, data
            if data["status"] in TERMINAL:
                return data
            time.sleep(0.2)
        raise AssertionError(f"operation {op['id']} did not finish within {timeout} s")

    def run(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """A mutating call that must be accepted; returns the finished operation."""
        status, op = self.call(method, path, body)
        assert status == 202, op
        return self.wait(op)


@pytest.fixture(scope="session")
def checker() -> ResponseChecker:
    return ResponseChecker()


@pytest.fixture(scope="session", params=sorted(HELMS))
def helm_major(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def stack(helm_major: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    binary = HELMS[helm_major]
    if not binary.exists():
        pytest.fail(f"{binary} is missing: run layers/helm/build.sh (make test does)")
    cfg = StackConfig.isolated(tmp_path_factory.mktemp(f"stack-{helm_major}"), binary, workers=2)
    with Stack(cfg) as running:
        yield running
    shutil.rmtree(cfg.state_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def charts(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChartServer]:
    server = serve_charts(tmp_path_factory.mktemp("charts"), stack.cfg.helm_binary)
    yield server
    server.close()


@pytest.fixture(scope="session")
def api(stack: Stack, checker: ResponseChecker) -> Api:
    return Api(stack.api, checker)


def helm_cli(stack: Stack, *args: str) -> str:
    """Run the same helm binary directly against the same cluster, as a user would, for cross-checks."""
    home = stack.cfg.state_dir / "helm-home"
    home.mkdir(exist_ok=True)
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "KUBECONFIG": str(stack.cfg.state_dir / "kubeconfig")}
    done = subprocess.run([str(stack.cfg.helm_binary), *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout
