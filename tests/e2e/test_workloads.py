"""Real workloads through the HTTP API, with both helm majors (conftest's ``stack``): charts shaped like the ones
people install go through install (wait) -> upgrade (wait) -> rollback (wait) -> uninstall (wait) on the local
cluster, whose controllers and simulated nodes (devstack.nodes) make Deployments, StatefulSets, DaemonSets and Jobs
reach the states helm waits for. Failures on purpose use the nodes' conventions (README: image tag ``:fail``, the
``charthouse.dev/exit-code`` annotation).

The charts are fixtures: ``examples/charts/webapp`` (also the README's walkthrough) and ``tests/e2e/charts/*``.
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devstack.charts import ChartServer
from devstack.stack import Stack
from tests.e2e.conftest import Api, free_port, helm_cli

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).parent / "charts"
WAIT = {"wait": True, "timeout": 120}


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def workload_charts(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Archive URLs of the fixture charts, packaged with the stack's helm; ``webapp`` as the stack serves it."""
    server = ChartServer(tmp_path_factory.mktemp("workload-charts"), stack.cfg.helm_binary, free_port())
    urls = {chart.name: server.package(chart) for chart in sorted(FIXTURES.iterdir()) if chart.is_dir()}
    urls["webapp"] = stack.example_charts["webapp"]
    yield urls
    server.close()


@dataclass(frozen=True)
class Cluster:
    """The stack's cluster as the tests look at it: a kubernetes ApiClient (admin), and how long a rollout may still
    be finishing when helm returns from a wait (see ``rolled_out``)."""

    api: Any
    settle_s: float


@pytest.fixture(scope="module")
def k8s(stack: Stack, helm_major: str) -> Iterator[Cluster]:
    from kubernetes import config

    api_client = config.new_client_from_config(str(stack.kubeconfig))
    # helm 3 polls the API server until the rollout is done: nothing may be left to settle. helm 4's watcher starts
    # from a list that the API server may serve from its watch cache, a moment behind the upgrade; under the whole
    # suite's load it once returned with the old generation's status, so its rollouts get a few seconds.
    yield Cluster(api_client, settle_s=0.0 if helm_major == "helm3" else 15.0)
    api_client.close()


def core(k8s: Cluster) -> Any:
    from kubernetes import client

    return client.CoreV1Api(k8s.api)


def apps(k8s: Cluster) -> Any:
    from kubernetes import client

    return client.AppsV1Api(k8s.api)


def batch(k8s: Cluster) -> Any:
    from kubernetes import client

    return client.BatchV1Api(k8s.api)


def releases(ns: str) -> str:
    return f"/v1/clusters/local/namespaces/{ns}/releases"


def succeeded(op: dict[str, Any]) -> dict[str, Any]:
    assert op["status"] == "succeeded", json.dumps(op, indent=2)
    return op


def install(api: Api, ns: str, name: str, chart: str, values: dict[str, Any] | None = None, **opts: Any) -> dict:
    body = {"name": name, "chart": chart, "create_namespace": True, "values": values or {}, **WAIT, **opts}
    return api.run("POST", releases(ns), body)


def upgrade(api: Api, ns: str, name: str, chart: str, values: dict[str, Any], **opts: Any) -> dict:
    return api.run("PUT", f"{releases(ns)}/{name}", {"chart": chart, "values": values, **WAIT, **opts})


def rollback(api: Api, ns: str, name: str) -> dict:
    return api.run("POST", f"{releases(ns)}/{name}/rollback", dict(WAIT))


def uninstall(api: Api, ns: str, name: str) -> dict:
    return api.run("DELETE", f"{releases(ns)}/{name}?wait=true&timeout=120")


def history(api: Api, ns: str, name: str) -> list[tuple[int, str]]:
    status, hist = api.call("GET", f"{releases(ns)}/{name}/history")
    assert status == 200, hist
    return [(h["revision"], h["status"]) for h in hist["history"]]


def eventually(probe: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    """Poll until ``probe`` returns something truthy; for what the controllers finish after helm has returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {value!r})")
        time.sleep(0.2)


def pods(k8s: Cluster, ns: str, selector: str) -> list[Any]:
    """The Pods matching ``selector`` that are not being deleted."""
    items = core(k8s).list_namespaced_pod(ns, label_selector=selector).items
    return [p for p in items if p.metadata.deletion_timestamp is None]


def ready(pod: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def rolled_out(k8s: Cluster, ns: str, name: str, replicas: int, image: str) -> None:
    """What a successful wait promises for a Deployment: its new ReplicaSet's Pods all ready, with the new image
    (checked at once, or within ``k8s.settle_s``)."""

    def check() -> None:
        deployment = apps(k8s).read_namespaced_deployment(name, ns)
        status = deployment.status
        assert status.observed_generation == deployment.metadata.generation
        assert (status.updated_replicas, status.available_replicas) == (replicas, replicas), status
        assert deployment.spec.template.spec.containers[0].image == image
        selector = ",".join(f"{k}={v}" for k, v in deployment.spec.selector.match_labels.items())
        current = [p for p in pods(k8s, ns, selector) if p.spec.containers[0].image == image]
        assert len(current) == replicas and all(ready(p) and p.status.phase == "Running" for p in current)

    deadline = time.monotonic() + k8s.settle_s
    while True:
        try:
            check()
            return
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


def nothing_left(k8s: Cluster, ns: str, hooks_kept: frozenset[str] = frozenset()) -> None:
    """After an uninstall: no Pod, Deployment, StatefulSet, DaemonSet or Job of the release is left (the garbage
    collector removes the Pods of deleted owners, the nodes remove deleted Pods), except the hook Jobs named in
    ``hooks_kept`` and their Pods (helm leaves a hook whose delete policy did not remove it)."""

    def leftovers() -> list[str]:
        jobs = {j.metadata.name for j in batch(k8s).list_namespaced_job(ns).items}
        kept_pods = {p.metadata.name for p in pods(k8s, ns, "") if p.metadata.labels.get("job-name") in hooks_kept}
        return sorted(
            [f"pod/{p.metadata.name}" for p in pods(k8s, ns, "") if p.metadata.name not in kept_pods]
            + [f"deployment/{d.metadata.name}" for d in apps(k8s).list_namespaced_deployment(ns).items]
            + [f"statefulset/{d.metadata.name}" for d in apps(k8s).list_namespaced_stateful_set(ns).items]
            + [f"daemonset/{d.metadata.name}" for d in apps(k8s).list_namespaced_daemon_set(ns).items]
            + [f"job/{name}" for name in jobs - hooks_kept]
        )

    deadline = time.monotonic() + 60
    while left := leftovers():
        assert time.monotonic() < deadline, f"still in namespace {ns} 60 s after the uninstall: {left}"
        time.sleep(0.2)
    assert {j.metadata.name for j in batch(k8s).list_namespaced_job(ns).items} == set(hooks_kept)


def configmap(k8s: Cluster, ns: str, name: str) -> dict[str, str]:
    return dict(core(k8s).read_namespaced_config_map(name, ns).data or {})


# ---------------------------------------------------------------- charts shaped like the ones people install


def test_web_app(api: Api, stack: Stack, k8s: Cluster, workload_charts: dict[str, str]) -> None:
    ns, chart = "wl-web", workload_charts["webapp"]
    op = succeeded(install(api, ns, "shop", chart))
    assert op["result"]["revision"] == 1
    rolled_out(k8s, ns, "shop-webapp", 2, "nginx:1.25")
    # The controllers did their part: a token for the chart's ServiceAccount, endpoints for the ready Pods.
    sa = core(k8s).read_namespaced_service_account("shop-webapp", ns)
    assert sa.secrets, "the token controller gave the ServiceAccount a token"
    assert {p.spec.service_account_name for p in pods(k8s, ns, "app.kubernetes.io/instance=shop")} == {"shop-webapp"}
    endpoints = eventually(
        lambda: core(k8s).read_namespaced_endpoints("shop-webapp", ns).subsets, "Service endpoints of the ready Pods"
    )
    assert len(endpoints[0].addresses) == 2
    _, rel = api.call("GET", f"{releases(ns)}/shop?info=resources")
    assert {r["kind"] for r in rel["resources"]} == {
        "ServiceAccount",
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "Ingress",
        "HorizontalPodAutoscaler",
    }
    assert rel["status"] == "deployed"

    # upgrade: a new image and a config change roll the Pods; wait returns once the new ones are ready
    values = {"image": {"tag": "1.26"}, "config": {"greeting": "bonjour"}}
    assert succeeded(upgrade(api, ns, "shop", chart, values))["result"]["revision"] == 2
    rolled_out(k8s, ns, "shop-webapp", 2, "nginx:1.26")
    assert configmap(k8s, ns, "shop-webapp")["GREETING"] == "bonjour"

    succeeded(rollback(api, ns, "shop"))
    rolled_out(k8s, ns, "shop-webapp", 2, "nginx:1.25")
    assert configmap(k8s, ns, "shop-webapp")["GREETING"] == "hello"
    assert history(api, ns, "shop") == [(3, "deployed"), (2, "superseded"), (1, "superseded")]

    succeeded(uninstall(api, ns, "shop"))
    nothing_left(k8s, ns)
    assert "shop" not in helm_cli(stack, "list", "-n", ns, "-q").split()


def test_chart_with_crds(api: Api, k8s: Cluster, workload_charts: dict[str, str]) -> None:
    from kubernetes import client

    ns, chart = "wl-crds", workload_charts["widgets"]
    custom = client.CustomObjectsApi(k8s.api)

    def widget() -> dict[str, Any]:
        found: dict[str, Any] = custom.get_namespaced_custom_object(
            "e2e.charthouse.dev", "v1", ns, "widgets", "w-widget"
        )
        return found

    succeeded(install(api, ns, "w", chart))
    assert widget()["spec"] == {"size": 3, "color": "blue"}
    rolled_out(k8s, ns, "w-widget-controller", 1, "example/widget-controller:2.0")

    succeeded(upgrade(api, ns, "w", chart, {"widget": {"size": 5, "color": "green"}}))
    assert widget()["spec"] == {"size": 5, "color": "green"}
    succeeded(rollback(api, ns, "w"))
    assert widget()["spec"] == {"size": 3, "color": "blue"}

    succeeded(uninstall(api, ns, "w"))
    nothing_left(k8s, ns)
    assert not custom.list_namespaced_custom_object("e2e.charthouse.dev", "v1", ns, "widgets")["items"]
    # helm never deletes what crds/ installed: the definition stays
    crds = client.ApiextensionsV1Api(k8s.api).list_custom_resource_definition().items
    assert "widgets.e2e.charthouse.dev" in {c.metadata.name for c in crds}


def test_parent_with_subchart_and_global_values(api: Api, k8s: Cluster, workload_charts: dict[str, str]) -> None:
    ns, chart = "wl-shop", workload_charts["shop"]
    succeeded(install(api, ns, "s", chart))
    rolled_out(k8s, ns, "s-frontend", 1, "registry.example.com/shop/frontend:1.0")
    rolled_out(k8s, ns, "s-cart", 1, "registry.example.com/shop/cart:1.0")
    # the parent's global values reach the subchart, over the subchart's own defaults
    assert configmap(k8s, ns, "s-cart") == {"environment": "staging", "registry": "registry.example.com"}
    assert configmap(k8s, ns, "s-frontend")["environment"] == "staging"

    values = {"global": {"environment": "production"}, "cart": {"replicaCount": 2}}
    succeeded(upgrade(api, ns, "s", chart, values))
    assert configmap(k8s, ns, "s-cart")["environment"] == "production"
    assert configmap(k8s, ns, "s-frontend")["environment"] == "production"
    rolled_out(k8s, ns, "s-cart", 2, "registry.example.com/shop/cart:1.0")

    succeeded(rollback(api, ns, "s"))
    assert configmap(k8s, ns, "s-cart")["environment"] == "staging"
    rolled_out(k8s, ns, "s-cart", 1, "registry.example.com/shop/cart:1.0")

    succeeded(uninstall(api, ns, "s"))
    nothing_left(k8s, ns)


def test_app_built_on_a_library_chart(api: Api, k8s: Cluster, workload_charts: dict[str, str]) -> None:
    ns, chart = "wl-lib", workload_charts["api"]
    succeeded(install(api, ns, "a", chart))
    rolled_out(k8s, ns, "a-api", 2, "example/api:3.1")
    env = apps(k8s).read_namespaced_deployment("a-api", ns).spec.template.spec.containers[0].env
    assert {e.name: e.value for e in env} == {"MODE": "read-write"}
    assert core(k8s).read_namespaced_service("a-api", ns).spec.ports[0].port == 80

    succeeded(upgrade(api, ns, "a", chart, {"replicaCount": 3, "image": "example/api:3.2"}))
    rolled_out(k8s, ns, "a-api", 3, "example/api:3.2")
    succeeded(rollback(api, ns, "a"))
    rolled_out(k8s, ns, "a-api", 2, "example/api:3.1")

    succeeded(uninstall(api, ns, "a"))
    nothing_left(k8s, ns)


def test_statefulset_and_daemonset(api: Api, stack: Stack, k8s: Cluster, workload_charts: dict[str, str]) -> None:
    ns, chart = "wl-data", workload_charts["datastore"]
    nodes = stack.cfg.nodes.count

    def settled(image: str, agent_image: str) -> None:
        sts = apps(k8s).read_namespaced_stateful_set("d-db", ns)
        assert sts.status.ready_replicas == 2 and sts.status.current_revision == sts.status.update_revision
        assert {p.spec.containers[0].image for p in pods(k8s, ns, "app=db")} == {image}
        ds = apps(k8s).read_namespaced_daemon_set("d-log-agent", ns).status
        assert (ds.desired_number_scheduled, ds.updated_number_scheduled, ds.number_ready) == (nodes, nodes, nodes)
        agents = pods(k8s, ns, "app=log-agent")
        assert len({p.spec.node_name for p in agents}) == nodes  # one per node
        assert {p.spec.containers[0].image for p in agents if ready(p)} == {agent_image}

    succeeded(install(api, ns, "d", chart))
    settled("postgres:15.4", "fluent/fluent-bit:2.1")
    assert sorted(p.metadata.name for p in pods(k8s, ns, "app=db")) == ["d-db-0", "d-db-1"]

    # a rolling update replaces the StatefulSet's Pods one by one (each deleted gracefully, then made again)
    values = {"database": {"image": "postgres:15.5"}, "logAgent": {"image": "fluent/fluent-bit:2.2"}}
    succeeded(upgrade(api, ns, "d", chart, values))
    settled("postgres:15.5", "fluent/fluent-bit:2.2")
    succeeded(rollback(api, ns, "d"))
    settled("postgres:15.4", "fluent/fluent-bit:2.1")

    succeeded(uninstall(api, ns, "d"))
    nothing_left(k8s, ns)


def _hook_runs(stack: Stack, ns: str, name: str) -> dict[str, tuple[datetime.datetime, datetime.datetime, str]]:
    """helm's own record of the release's hooks: name -> (started, completed, phase) of the last run."""
    status = json.loads(helm_cli(stack, "status", name, "-n", ns, "-o", "json"))
    runs = {}
    for hook in status.get("hooks") or []:
        last = hook.get("last_run") or {}
        if last.get("started_at"):
            runs[hook["name"]] = (_time(last["started_at"]), _time(last["completed_at"]), last["phase"])
    return runs


def _time(text: str) -> datetime.datetime:
    # Go writes nanoseconds; Python reads up to microseconds.
    head, _, rest = text.partition(".")
    fraction = "".join(ch for ch in rest if ch.isdigit())[:6]
    zone = rest[len("".join(ch for ch in rest if ch.isdigit())) :] or "Z"
    return datetime.datetime.fromisoformat(f"{head}.{fraction or '0'}{zone.replace('Z', '+00:00')}")


def test_hooks_with_weights_and_delete_policies(
    api: Api, stack: Stack, k8s: Cluster, workload_charts: dict[str, str]
) -> None:
    ns, chart = "wl-hooks", workload_charts["hooks"]
    # wait_for_jobs: the release's own Job has completed when the install returns; hooks always are waited for
    succeeded(install(api, ns, "h", chart, wait_for_jobs=True))
    assert batch(k8s).read_namespaced_job("h-warm-cache", ns).status.succeeded == 1
    rolled_out(k8s, ns, "h-app", 1, "example/app:1.0")
    jobs = {j.metadata.name: j for j in batch(k8s).list_namespaced_job(ns).items}
    assert "h-db-init" not in jobs  # hook-succeeded: deleted once it succeeded
    assert jobs["h-smoke"].status.succeeded == 1  # before-hook-creation: kept until the next run
    assert configmap(k8s, ns, "h-hook-settings") == {"image": "example/app:1.0"}
    runs = _hook_runs(stack, ns, "h")
    assert {runs[n][2] for n in ("h-hook-settings", "h-db-init", "h-smoke")} == {"Succeeded"}
    # weights: -10 completes before -5 starts; pre-install hooks before post-install ones
    assert runs["h-hook-settings"][1] <= runs["h-db-init"][0]
    assert runs["h-db-init"][1] <= runs["h-smoke"][0]

    succeeded(upgrade(api, ns, "h", chart, {"image": "example/app:2.0"}, wait_for_jobs=True))
    rolled_out(k8s, ns, "h-app", 1, "example/app:2.0")
    jobs = {j.metadata.name: j for j in batch(k8s).list_namespaced_job(ns).items}
    assert "h-migrate" not in jobs  # the pre-upgrade hook ran and was deleted (hook-succeeded)
    assert _hook_runs(stack, ns, "h")["h-migrate"][2] == "Succeeded"
    assert configmap(k8s, ns, "h-hook-settings") == {"image": "example/app:2.0"}  # re-created for this run

    succeeded(rollback(api, ns, "h"))
    rolled_out(k8s, ns, "h-app", 1, "example/app:1.0")

    succeeded(uninstall(api, ns, "h"))  # runs the pre-delete hook, which must succeed
    nothing_left(k8s, ns, hooks_kept=frozenset({"h-smoke"}))  # hook-succeeded removed h-goodbye


# ---------------------------------------------------------------- failures on purpose


def test_atomic_install_with_a_failing_image_is_rolled_back(
    api: Api, stack: Stack, k8s: Cluster, workload_charts: dict[str, str], helm_major: str
) -> None:
    ns = "wl-atomic"
    values = {"image": {"tag": "fail"}, "autoscaling": {"enabled": False}}
    op = install(api, ns, "broken", workload_charts["webapp"], values, atomic=True, timeout=8)
    assert op["status"] == "failed", op
    assert op["error"]["code"] == "HelmTimeout", op["error"]
    message = op["error"]["message"]
    # helm's reason, as each major words it: the wait ran out, and the release was removed because of atomic
    assert "uninstalled due to" in message and ("atomic" in message or "rollback-on-failure" in message), message
    if helm_major == "helm4":  # helm 4's watcher also names what was not ready
        assert "Deployment/wl-atomic/broken-webapp not ready" in message, message
    every_status = ("--deployed", "--failed", "--pending", "--superseded", "--uninstalled", "--uninstalling")
    assert "broken" not in helm_cli(stack, "list", "-n", ns, *every_status, "-q").split()
    nothing_left(k8s, ns)
    status, err = api.call("GET", f"{releases(ns)}/broken")
    assert status == 404 and err["error"]["code"] == "ReleaseNotFound", err


def test_failing_pre_upgrade_hook_keeps_the_previous_revision(
    api: Api, k8s: Cluster, workload_charts: dict[str, str]
) -> None:
    ns, chart = "wl-badhook", workload_charts["hooks"]
    succeeded(install(api, ns, "h", chart))
    op = upgrade(api, ns, "h", chart, {"image": "example/app:2.0", "preUpgrade": {"exitCode": "1"}})
    assert op["status"] == "failed", op
    assert "pre-upgrade" in op["error"]["message"], op["error"]
    # the Job failed because its Pod exited 1 (the annotation), and nothing of revision 2 was applied
    job = batch(k8s).read_namespaced_job("h-migrate", ns)
    assert job.status.failed == 1
    failed_pod = pods(k8s, ns, "job-name=h-migrate")[0]
    assert failed_pod.status.container_statuses[0].state.terminated.exit_code == 1
    assert history(api, ns, "h") == [(2, "failed"), (1, "deployed")]
    rolled_out(k8s, ns, "h-app", 1, "example/app:1.0")

    succeeded(uninstall(api, ns, "h"))
    nothing_left(k8s, ns, hooks_kept=frozenset({"h-smoke", "h-migrate"}))  # the failed hook stays, as helm leaves it


def test_failure_conventions_as_helm_sees_them(api: Api, k8s: Cluster, workload_charts: dict[str, str]) -> None:
    ns, chart = "wl-conventions", workload_charts["webapp"]
    fixed = {"replicaCount": 1, "autoscaling": {"enabled": False}}
    # :never-ready runs but never becomes ready: a wait fails, and the release is recorded failed
    op = install(api, ns, "idle", chart, {**fixed, "image": {"tag": "never-ready"}}, timeout=5)
    assert op["status"] == "failed" and op["error"]["code"] == "HelmTimeout", op
    (pod,) = pods(k8s, ns, "app.kubernetes.io/instance=idle")
    assert pod.status.phase == "Running" and not ready(pod)
    assert pod.status.container_statuses[0].state.running is not None
    _, rel = api.call("GET", f"{releases(ns)}/idle")
    assert rel["status"] == "failed", rel

    # :fail crash-loops: without wait the install succeeds, and the Pod shows what a kubelet would
    succeeded(install(api, ns, "crash", chart, {**fixed, "image": {"tag": "fail"}}, wait=False))

    def crash_looping() -> Any:
        found = pods(k8s, ns, "app.kubernetes.io/instance=crash")
        status = found[0].status.container_statuses if found else None
        return status and status[0].restart_count >= 2 and status[0].state.waiting and status[0]

    container = eventually(crash_looping, "the :fail Pod restarting in CrashLoopBackOff")
    assert container.state.waiting.reason == "CrashLoopBackOff"
    assert container.last_state.terminated.exit_code == 1

    for name in ("idle", "crash"):
        succeeded(uninstall(api, ns, name))
    nothing_left(k8s, ns)


def test_load_balancer_service_gets_an_address(api: Api, k8s: Cluster, workload_charts: dict[str, str]) -> None:
    # helm waits for a LoadBalancer Service's address; the simulated cluster hands one out as a cloud would
    ns, values = "wl-lb", {"service": {"type": "LoadBalancer"}, "replicaCount": 1, "autoscaling": {"enabled": False}}
    succeeded(install(api, ns, "edge", workload_charts["webapp"], values))
    ingress = core(k8s).read_namespaced_service("edge-webapp", ns).status.load_balancer.ingress
    assert ingress and ingress[0].ip.startswith("172.31."), ingress
    succeeded(uninstall(api, ns, "edge"))
    nothing_left(k8s, ns)
