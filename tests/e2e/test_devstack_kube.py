"""devstack.kube against the real binaries: helm 4 and helm 3 install into it, releases survive a restart, and the
controllers run with it and stop with it.

A missing binary fails these tests (as it fails the stacks of conftest.py): `make test` builds them all first."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.kube import KubeBinaryMissing, LocalKube, binaries, controller_binaries, free_ports
from devstack.nodes import wait_for_nodes

ROOT = Path(__file__).resolve().parents[2]
HELM4 = ROOT / "layers" / "helm" / "build" / "v4" / "helm"
HELM3 = ROOT / "layers" / "helm" / "build" / "v3" / "helm"

CHART_YAML = "apiVersion: v2\nname: tiny\nversion: 0.1.0\n"
VALUES_YAML = 'greeting: "hello"\n'
CONFIGMAP_YAML = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cm
data:
  greeting: {{ .Values.greeting | quote }}
"""


def _missing_binaries() -> str | None:
    try:
        binaries()
        controller_binaries()
    except KubeBinaryMissing as exc:
        return str(exc)
    absent = [str(p) for p in (HELM4, HELM3) if not os.access(p, os.X_OK)]
    return f"{', '.join(absent)} missing: run layers/helm/build.sh" if absent else None


pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True, scope="module")
def _binaries_present() -> None:
    missing = _missing_binaries()
    if missing is not None:
        pytest.fail(missing)


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    root = tmp_path / "tiny"
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text(CHART_YAML)
    (root / "values.yaml").write_text(VALUES_YAML)
    (root / "templates" / "configmap.yaml").write_text(CONFIGMAP_YAML)
    return root


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[LocalKube]:
    instance = LocalKube(tmp_path / "kube", free_ports())
    try:
        yield instance
    finally:
        instance.stop()


def _helm_env(tmp_path: Path, kubeconfig: Path) -> dict[str, str]:
    # helm writes cache/config/data under HOME by default: keep the test away from the developer's.
    home = tmp_path / "helm-home"
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "KUBECONFIG": str(kubeconfig),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }


def _helm(helm: Path, env: dict[str, str], *args: str) -> str:
    proc = subprocess.run([str(helm), *args], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, f"helm {' '.join(args)} failed:\n{proc.stderr}"
    return proc.stdout


def _get_json(kube: LocalKube, path: str) -> dict[str, Any]:
    context = ssl.create_default_context(cadata=kube.ca_pem())
    request = urllib.request.Request(kube.server + path, headers={"Authorization": f"Bearer {kube.token()}"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
    with opener.open(request, timeout=10) as response:
        body: dict[str, Any] = json.load(response)
    return body


def _releases(env: dict[str, str]) -> dict[str, str]:
    listed = json.loads(_helm(HELM4, env, "list", "-A", "--max", "0", "-o", "json"))
    return {f"{r['namespace']}/{r['name']}": r["status"] for r in listed}


def test_helm_releases_survive_restart(kube: LocalKube, chart: Path, tmp_path: Path) -> None:
    kube.start(timeout=60)
    kubeconfig = tmp_path / "kubeconfig"
    kube.write_kubeconfig(kubeconfig)
    assert kubeconfig.stat().st_mode & 0o777 == 0o600
    env = _helm_env(tmp_path, kubeconfig)

    # Helm 4 defaults to server-side apply; client-side keeps it compatible with the 1.20 API server.
    _helm(HELM4, env, "install", "r4", str(chart), "-n", "demo", "--create-namespace", "--server-side=false")
    _helm(HELM3, env, "install", "r3", str(chart), "-n", "demo", "--set", "greeting=bonjour")
    cm = _get_json(kube, "/api/v1/namespaces/demo/configmaps/r3-cm")
    assert cm["data"] == {"greeting": "bonjour"}

    pids = kube.pids
    assert len(pids) == 4  # etcd, kube-apiserver, kube-controller-manager, kube-scheduler
    kube.stop()
    kube.stop()  # idempotent
    assert not kube.running
    assert all(not Path(f"/proc/{pid}").exists() for pid in pids), "a server process (or zombie) survived stop()"

    # A fresh object on the same state dir, as after a developer restarts the stack.
    again = LocalKube(kube.state_dir, kube.ports)
    try:
        again.start(timeout=60)
        assert again.kubeconfig() == kubeconfig.read_text()  # same CA and token across restarts
        assert _releases(env) == {"demo/r4": "deployed", "demo/r3": "deployed"}
        cm = _get_json(again, "/api/v1/namespaces/demo/configmaps/r4-cm")
        assert cm["data"] == {"greeting": "hello"}
    finally:
        again.stop()


# ---------------------------------------------------------------- controllers and simulated nodes

WORKLOADS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: work}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "nginx:1.25", readinessProbe: {httpGet: {path: /, port: 80}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: done, namespace: work}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: job, image: busybox}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: broken, namespace: work}
spec:
  backoffLimit: 0
  template:
    metadata: {annotations: {"charthouse.dev/exit-code": "3"}}
    spec:
      restartPolicy: Never
      containers: [{name: job, image: busybox}]
"""


def _eventually(probe: Callable[[], object], what: str, timeout: float = 60) -> object:
    """Poll ``probe`` until it returns something truthy (and return it); fail naming ``what`` at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {value!r})")
        time.sleep(0.1)


def test_controllers_and_simulated_nodes_run_workloads_and_stop_cleanly(kube: LocalKube, tmp_path: Path) -> None:
    from kubernetes import client, config, utils

    kube.start(timeout=90)
    kubeconfig = tmp_path / "kubeconfig"
    kube.write_kubeconfig(kubeconfig)
    sa = _get_json(kube, "/api/v1/namespaces/default/serviceaccounts/default")
    assert sa["secrets"], "the controller-manager signs service-account tokens"

    # The node agent as the stack runs it: a child process of its own.
    log = (tmp_path / "nodes.log").open("wb")
    agent = subprocess.Popen(
        [sys.executable, "-m", "devstack.nodes", f"--kubeconfig={kubeconfig}", "--nodes=2"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    api = config.new_client_from_config(str(kubeconfig))
    try:
        wait_for_nodes(api, ["node-1", "node-2"], timeout=60)
        core, apps, batch = client.CoreV1Api(api), client.AppsV1Api(api), client.BatchV1Api(api)
        core.create_namespace({"metadata": {"name": "work"}})
        utils.create_from_yaml(api, yaml_objects=list(yaml.safe_load_all(WORKLOADS)))

        def deployment_available() -> bool:
            status = apps.read_namespaced_deployment_status("web", "work").status
            return status.available_replicas == 3 and status.ready_replicas == 3

        _eventually(deployment_available, "the Deployment's 3 replicas available")
        pods = core.list_namespaced_pod("work", label_selector="app=web").items
        assert {p.spec.node_name for p in pods} <= {"node-1", "node-2"}
        assert all(p.status.phase == "Running" and p.status.pod_ip for p in pods)
        _eventually(lambda: batch.read_namespaced_job_status("done", "work").status.succeeded == 1, "Job done")
        _eventually(lambda: batch.read_namespaced_job_status("broken", "work").status.failed == 1, "Job broken fails")
        broken = core.list_namespaced_pod("work", label_selector="job-name=broken").items[0]
        assert broken.status.phase == "Failed"
        assert broken.status.container_statuses[0].state.terminated.exit_code == 3

        # The garbage collector removes a Deployment's ReplicaSet and Pods; the agent removes deleted Pods.
        apps.delete_namespaced_deployment("web", "work", propagation_policy="Background")
        _eventually(lambda: not core.list_namespaced_pod("work", label_selector="app=web").items, "web pods gone")
        assert not apps.list_namespaced_replica_set("work").items
        # A namespace with Pods in it finishes terminating.
        core.delete_namespace("work")

        def namespace_gone() -> bool:
            return "work" not in {n.metadata.name for n in core.list_namespace().items}

        _eventually(namespace_gone, "namespace work deleted")
        assert agent.poll() is None, (tmp_path / "nodes.log").read_text()
    finally:
        api.close()
        agent.terminate()
        agent.wait(timeout=15)
        log.close()
    assert agent.returncode == 0, (tmp_path / "nodes.log").read_text()

    pids = kube.pids
    kube.stop()
    assert all(not Path(f"/proc/{pid}").exists() for pid in pids), "a server process (or zombie) survived stop()"
