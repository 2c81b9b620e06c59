"""Simulated nodes for the local cluster: a small agent that plays the kubelet's part. No container ever runs.

``NodeAgent(api_client, NodeConfig(...))`` registers ``count`` Nodes (``node-1``...) with capacity, keeps them
Ready (a Lease renewed every ``lease_every`` seconds, the Ready condition's heartbeat every ``status_every``), and
for every Pod the scheduler binds to one of them:

* writes the status a kubelet would, step by step, as ``devstack.podstatus`` computes it (Pending -> Running ->
  Ready; containers that finish -> Succeeded/Failed; the failure conventions ``:fail``, ``:never-ready`` and the
  ``charthouse.dev/exit-code`` annotation);
* records the ``BackOff`` Warning event a kubelet records for a crash-looping container (its count grows with
  the restarts);
* removes a Pod that is being deleted (``deletionTimestamp`` set) with grace period 0, as a kubelet does once
  its containers are gone, so that Deployments roll, namespaces finish terminating and uninstalls return.

It also gives every Service of type LoadBalancer an address (``status.loadBalancer.ingress``, from 172.31.0.0/16),
as a cloud's load-balancer controller would: helm waits for one.

Pods and Services are seen through watches (re-listed when they end), so a transition is written within milliseconds of being
due. What the agent writes is a pure function of the Pod and the time the node accepted it, so a restarted agent
carries on where it stopped: a Pod keeps its ``startTime`` and the timeline is counted from it.

``python -m devstack.nodes --kubeconfig FILE [--nodes 3] [--start-delay S] ...`` runs it until SIGTERM/SIGINT
(``devstack.stack`` starts it beside the cluster). ``wait_for_nodes(api_client, names, timeout)`` returns once the
Nodes are Ready and schedulable (no taint left by the node lifecycle controller).

The ``kubernetes`` client is imported lazily (as elsewhere in the project: it is slow to import).
"""

from __future__ import annotations

import argparse
import datetime
import functools
import heapq
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, cast

from .podstatus import Placement, Timings, desired_status, owned_fields

if TYPE_CHECKING:
    from kubernetes.client import ApiClient, CoordinationV1Api, CoreV1Api

__all__ = ["NodeAgent", "NodeConfig", "main", "node_names", "wait_for_nodes"]

log = logging.getLogger("devstack.nodes")

SIMULATED_LABEL: Final = "charthouse.dev/simulated"
LEASE_NAMESPACE: Final = "kube-node-lease"
KUBELET_VERSION: Final = "v1.20.2"
_STRATEGIC: Final = "application/strategic-merge-patch+json"
_MERGE: Final = "application/merge-patch+json"
_WATCH_SECONDS: Final = 240  # the server ends a watch after this; the agent lists again and carries on
_RETRY_SECONDS: Final = 0.5
_SLACK_SECONDS: Final = 0.005  # wake a hair after a step is due, never just before it

Json = dict[str, Any]


@dataclass(frozen=True)
class NodeConfig:
    """The simulated nodes: how many, their size, and how fast their Pods move (see podstatus.Timings)."""

    count: int = 3
    prefix: str = "node"
    cpu: str = "8"
    memory: str = "32Gi"
    max_pods: int = 110
    timings: Timings = field(default_factory=Timings)
    lease_every: float = 10.0
    status_every: float = 30.0


def node_names(config: NodeConfig) -> list[str]:
    return [f"{config.prefix}-{i}" for i in range(1, config.count + 1)]


def _json(response: object) -> Json:
    """The body of a call made with ``_preload_content=False`` (a urllib3 response): plain JSON, not models."""
    data: Json = json.loads(cast(Any, response).data)
    return data


def _lines(response: Any) -> Iterator[str]:
    """The lines of a streamed (watch) response as they arrive: one JSON event per line."""
    buffer = b""
    for chunk in response.stream(amt=None, decode_content=False):
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            yield line.decode("utf-8", errors="replace")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _stamp(moment: datetime.datetime, micro: bool = False) -> str:
    if micro:  # Lease times are MicroTime
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: object) -> datetime.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class NodeAgent:
    """The agent for one cluster. ``register()`` once, then ``run(stop)`` until ``stop`` is set.

    Thread use: ``run`` starts a watch thread and a heartbeat thread and syncs Pods on the calling thread; the
    Pod cache and the schedule are shared under one lock.
    """

    def __init__(self, api_client: ApiClient, config: NodeConfig) -> None:
        from kubernetes import client

        self.config = config
        self.names = node_names(config)
        self._core: CoreV1Api = client.CoreV1Api(api_client)
        self._leases: CoordinationV1Api = client.CoordinationV1Api(api_client)
        self._since = _now()
        self._lock = threading.Condition()
        self._pods: dict[str, Json] = {}  # uid -> the Pod as last seen (bound to one of our nodes)
        self._accepted: dict[str, datetime.datetime] = {}  # uid -> when this agent accepted it
        self._due: list[tuple[float, str]] = []  # (monotonic time, uid) heap of pending syncs
        self._ips: dict[str, str] = {}  # uid -> Pod IP
        self._next_ip = {name: 0 for name in self.names}
        self._next_lb_ip = 0

    # -- nodes ---------------------------------------------------------------------------------------------

    def register(self) -> None:
        """Create the Nodes (or take over existing ones) and publish their Ready status and Leases."""
        from kubernetes.client.exceptions import ApiException

        for index, name in enumerate(self.names):
            try:
                self._core.create_node(cast(Any, self._node(name, index)))
            except ApiException as exc:
                if exc.status != 409:
                    raise
            self._post_status(name, index)
            self._renew_lease(name)

    def _node(self, name: str, index: int) -> Json:
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "labels": {
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "beta.kubernetes.io/os": "linux",
                    "beta.kubernetes.io/arch": "amd64",
                    SIMULATED_LABEL: "true",
                },
            },
            "spec": {
                "podCIDR": self._pod_cidr(index),
                "podCIDRs": [self._pod_cidr(index)],
            },
        }

    @staticmethod
    def _node_ip(index: int) -> str:
        return f"172.30.0.{10 + index}"

    @staticmethod
    def _pod_cidr(index: int) -> str:
        return f"10.{101 + index}.0.0/16"

    def _post_status(self, name: str, index: int) -> None:
        now = _stamp(_now())
        resources = {
            "cpu": self.config.cpu,
            "memory": self.config.memory,
            "pods": str(self.config.max_pods),
            "ephemeral-storage": "100Gi",
        }

        def condition(kind: str, status: str, reason: str, message: str) -> Json:
            return {
                "type": kind,
                "status": status,
                "reason": reason,
                "message": message,
                "lastHeartbeatTime": now,
                "lastTransitionTime": _stamp(self._since),
            }

        status = {
            "capacity": resources,
            "allocatable": resources,
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "simulated"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "simulated"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "simulated"),
                condition(
                    "Ready",
                    "True",
                    "KubeletReady",
                    "simulated by charthouse: no container runs here",
                ),
            ],
            "addresses": [
                {"type": "InternalIP", "address": self._node_ip(index)},
                {"type": "Hostname", "address": name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": name,
                "systemUUID": name,
                "bootID": _stamp(self._since),
                "kernelVersion": "simulated",
                "osImage": "charthouse simulated node",
                "containerRuntimeVersion": "charthouse-simulated://1",
                "kubeletVersion": KUBELET_VERSION,
                "kubeProxyVersion": KUBELET_VERSION,
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        }
        self._core.patch_node_status(name, {"status": status}, _content_type=_STRATEGIC)

    def _renew_lease(self, name: str) -> None:
        from kubernetes.client.exceptions import ApiException

        spec = {
            "holderIdentity": name,
            "leaseDurationSeconds": 40,
            "renewTime": _stamp(_now(), micro=True),
        }
        try:
            self._leases.patch_namespaced_lease(name, LEASE_NAMESPACE, {"spec": spec}, _content_type=_MERGE)
        except ApiException as exc:
            if exc.status != 404:
                raise
            uid = _json(self._core.read_node(name, _preload_content=False))["metadata"]["uid"]
            owner = {"apiVersion": "v1", "kind": "Node", "name": name, "uid": uid}
            body = {
                "metadata": {"name": name, "ownerReferences": [owner]},
                "spec": spec,
            }
            self._leases.create_namespaced_lease(LEASE_NAMESPACE, cast(Any, body))

    def _heartbeat(self, stop: threading.Event) -> None:
        last_status = time.monotonic()
        while not stop.wait(self.config.lease_every):
            try:
                due = time.monotonic() - last_status >= self.config.status_every
                for index, name in enumerate(self.names):
                    self._renew_lease(name)
                    if due:
                        self._post_status(name, index)
                if due:
                    last_status = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - a missed heartbeat is retried on the next tick
                log.warning("heartbeat failed: %s", exc)
                try:
                    self.register()  # a Node deleted by hand comes back
                except Exception:  # noqa: BLE001
                    pass

    # -- pods ----------------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Watch, sync and heartbeat until ``stop`` is set."""
        # Pods bound to any node: the field selector leaves out the ones still waiting for the scheduler.
        pods = functools.partial(self._core.list_pod_for_all_namespaces, field_selector="spec.nodeName!=")
        services = self._core.list_service_for_all_namespaces
        watches = {
            "pod-watch": (pods, self._replace, self._on_pod_event),
            "service-watch": (services, self._address_all, self._on_service_event),
        }
        for name, (list_call, on_list, on_event) in watches.items():
            args = (stop, list_call, on_list, on_event)
            threading.Thread(target=self._watch, args=args, name=name, daemon=True).start()
        threading.Thread(target=self._heartbeat, args=(stop,), name="heartbeat", daemon=True).start()
        while not stop.is_set():
            for uid in self._take_due(stop):
                self._sync(uid)
        with self._lock:
            self._lock.notify_all()

    def _take_due(self, stop: threading.Event) -> list[str]:
        """Block until some Pod syncs are due (or ``stop``), and return their uids, each once."""
        with self._lock:
            while not stop.is_set():
                now = time.monotonic()
                if self._due and self._due[0][0] <= now:
                    uids: set[str] = set()
                    while self._due and self._due[0][0] <= now:
                        uids.add(heapq.heappop(self._due)[1])
                    return sorted(uids)
                timeout = (self._due[0][0] - now) if self._due else 1.0
                self._lock.wait(timeout=min(timeout, 1.0))
        return []

    def _schedule(self, uid: str, delay: float) -> None:
        """Sync ``uid`` in ``delay`` seconds (caller holds the lock)."""
        heapq.heappush(self._due, (time.monotonic() + delay, uid))
        self._lock.notify_all()

    def _watch(
        self,
        stop: threading.Event,
        list_call: Callable[..., Any],
        on_list: Callable[[Sequence[Json]], None],
        on_event: Callable[[str, Json], None],
    ) -> None:
        """List, then watch from that list's version, forever (listing again whenever the watch ends): ``on_list``
        gets every object listed, ``on_event`` each change (ADDED, MODIFIED, DELETED) as it comes."""
        while not stop.is_set():
            try:
                data = _json(list_call(_preload_content=False))
                on_list(data.get("items") or [])
                response: Any = list_call(
                    watch=True,
                    resource_version=str(data["metadata"]["resourceVersion"]),
                    allow_watch_bookmarks=True,
                    timeout_seconds=_WATCH_SECONDS,
                    _preload_content=False,
                    _request_timeout=(10, _WATCH_SECONDS + 30),
                )
                try:
                    for line in _lines(response):
                        if stop.is_set():
                            return
                        event = json.loads(line) if line else {}
                        kind, obj = event.get("type"), event.get("object") or {}
                        if kind == "ERROR":
                            raise RuntimeError(f"watch error: {obj.get('message')}")  # e.g. 410 Gone: list again
                        if kind in ("ADDED", "MODIFIED", "DELETED"):  # not BOOKMARK
                            on_event(str(kind), obj)
                finally:
                    response.release_conn()
            except Exception as exc:  # noqa: BLE001 - the watch is the agent's life: list again and go on
                if not stop.is_set():
                    log.warning("watch ended: %s; listing again", exc)
                    stop.wait(_RETRY_SECONDS)

    def _replace(self, pods: Sequence[Json]) -> None:
        with self._lock:
            seen = {}
            for pod in pods:
                if self._ours(pod):
                    seen[str(pod["metadata"]["uid"])] = pod
            for uid in set(self._pods) - set(seen):
                self._forget(uid)
            for uid, pod in seen.items():
                self._pods[uid] = pod
                self._schedule(uid, 0.0)

    def _on_pod_event(self, kind: str, pod: Json) -> None:
        uid = str((pod.get("metadata") or {}).get("uid"))
        with self._lock:
            if kind == "DELETED" or not self._ours(pod):
                self._forget(uid)
                return
            self._pods[uid] = pod
            self._schedule(uid, 0.0)

    # -- services ------------------------------------------------------------------------------------------

    def _address_all(self, services: Sequence[Json]) -> None:
        for service in services:
            self._give_address(service)

    def _on_service_event(self, kind: str, service: Json) -> None:
        if kind != "DELETED":
            self._give_address(service)

    def _give_address(self, service: Mapping[str, Any]) -> None:
        """A LoadBalancer Service without an address gets one, as from a cloud's load balancer."""
        from kubernetes.client.exceptions import ApiException

        spec, status = service.get("spec") or {}, service.get("status") or {}
        if spec.get("type") != "LoadBalancer" or (status.get("loadBalancer") or {}).get("ingress"):
            return
        n, self._next_lb_ip = self._next_lb_ip, self._next_lb_ip + 1
        ip = f"172.31.{(n // 250) % 256}.{n % 250 + 2}"
        meta = service["metadata"]
        body = {"status": {"loadBalancer": {"ingress": [{"ip": ip}]}}}
        try:
            self._core.patch_namespaced_service_status(meta["name"], meta["namespace"], body, _content_type=_MERGE)
        except ApiException as exc:
            if exc.status != 404:  # a Service deleted meanwhile needs nothing
                log.warning(
                    "service %s/%s: %s %s",
                    meta["namespace"],
                    meta["name"],
                    exc.status,
                    exc.reason,
                )

    # -- pod helpers ---------------------------------------------------------------------------------------

    def _ours(self, pod: Mapping[str, Any]) -> bool:
        return (pod.get("spec") or {}).get("nodeName") in self.names

    def _forget(self, uid: str) -> None:
        self._pods.pop(uid, None)
        self._accepted.pop(uid, None)
        self._ips.pop(uid, None)

    def _sync(self, uid: str) -> None:
        """Bring one Pod's status to what it should be now; delete it if it is being deleted."""
        from kubernetes.client.exceptions import ApiException

        with self._lock:
            pod = self._pods.get(uid)
            if pod is None:
                return
            accepted = self._accepted_at(uid, pod)
            placement = self._placement(uid, pod)
        meta = pod["metadata"]
        try:
            if meta.get("deletionTimestamp"):
                self._delete(pod)
                return
            status, next_change = desired_status(pod, accepted, _now(), placement, self.config.timings)
            if owned_fields(status) != owned_fields(pod.get("status") or {}):
                self._core.patch_namespaced_pod_status(
                    meta["name"],
                    meta["namespace"],
                    {"status": status},
                    _content_type=_STRATEGIC,
                )
                self._back_off_events(pod, status)
        except ApiException as exc:
            if exc.status == 404:
                with self._lock:
                    self._forget(uid)
                return
            log.warning(
                "pod %s/%s: %s %s; retrying",
                meta.get("namespace"),
                meta.get("name"),
                exc.status,
                exc.reason,
            )
            next_change = _RETRY_SECONDS
        if next_change is not None:
            with self._lock:
                if uid in self._pods:
                    self._schedule(uid, next_change + _SLACK_SECONDS)

    def _back_off_events(self, pod: Mapping[str, Any], status: Mapping[str, Any]) -> None:
        """The Warning event a kubelet records each time it backs off restarting a crashed container
        (``BackOff``, its count growing with the restarts), so that a crash loop shows in ``kubectl get events``
        and in a diagnosis as on a real node."""
        from kubernetes.client.exceptions import ApiException

        meta = pod["metadata"]
        before = {c.get("name"): c for c in (pod.get("status") or {}).get("containerStatuses") or []}
        for c in status.get("containerStatuses") or []:
            waiting = (c.get("state") or {}).get("waiting") or {}
            restarts = int(c.get("restartCount") or 0)
            if waiting.get("reason") != "CrashLoopBackOff" or restarts <= int(
                (before.get(c["name"]) or {}).get("restartCount") or 0
            ):
                continue
            name, stamp = f"{meta['name']}.{c['name']}.backoff", _stamp(_now())
            patch = {"count": restarts, "lastTimestamp": stamp}
            try:
                try:
                    self._core.patch_namespaced_event(name, meta["namespace"], patch, _content_type=_MERGE)
                except ApiException as exc:
                    if exc.status != 404:
                        raise
                    self._core.create_namespaced_event(meta["namespace"], cast(Any, self._event(pod, c["name"], name)))
            except ApiException as exc:  # an event is best effort, as a kubelet's is
                log.warning("event %s/%s: %s %s", meta["namespace"], name, exc.status, exc.reason)

    @staticmethod
    def _event(pod: Mapping[str, Any], container: str, name: str) -> Json:
        meta, stamp = pod["metadata"], _stamp(_now())
        node = str((pod.get("spec") or {}).get("nodeName") or "")
        return {
            "metadata": {"name": name, "namespace": meta["namespace"]},
            "involvedObject": {
                "apiVersion": "v1",
                "kind": "Pod",
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta.get("uid"),
                "fieldPath": f"spec.containers{{{container}}}",
            },
            "reason": "BackOff",
            "message": f"Back-off restarting failed container {container} in pod {meta['name']}",
            "type": "Warning",
            "source": {"component": "kubelet", "host": node},
            "reportingComponent": "kubelet",
            "reportingInstance": node,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
        }

    def _delete(self, pod: Mapping[str, Any]) -> None:
        meta = pod["metadata"]
        body = {"gracePeriodSeconds": 0, "preconditions": {"uid": meta["uid"]}}
        self._core.delete_namespaced_pod(
            meta["name"],
            meta["namespace"],
            body=cast(Any, body),
            grace_period_seconds=0,
        )

    def _accepted_at(self, uid: str, pod: Mapping[str, Any]) -> datetime.datetime:
        """When the node accepted the Pod: now for a new one; its ``startTime`` for one accepted before this agent
        started (so its timeline goes on rather than restarting)."""
        accepted = self._accepted.get(uid)
        if accepted is None:
            accepted = _parse_time((pod.get("status") or {}).get("startTime")) or _now()
            self._accepted[uid] = accepted
        return accepted

    def _placement(self, uid: str, pod: Mapping[str, Any]) -> Placement:
        node = str(pod["spec"]["nodeName"])
        index = self.names.index(node)
        ip = self._ips.get(uid) or (pod.get("status") or {}).get("podIP")
        if not ip:
            n = self._next_ip[node]
            self._next_ip[node] = n + 1
            ip = f"10.{101 + index}.{(n // 250) % 256}.{n % 250 + 2}"
        self._ips[uid] = str(ip)
        return Placement(host_ip=self._node_ip(index), pod_ip=str(ip))


def wait_for_nodes(api_client: ApiClient, names: Sequence[str], timeout: float = 60.0) -> None:
    """Return once every Node in ``names`` is Ready and carries no taint (the lifecycle controller removes the
    not-ready taint it put on a new Node); raise TimeoutError naming the ones that are not."""
    from kubernetes import client

    core = client.CoreV1Api(api_client)
    deadline = time.monotonic() + timeout
    waiting: list[str] = list(names)
    while True:
        listed = _json(core.list_node(label_selector=f"{SIMULATED_LABEL}=true", _preload_content=False))
        ready = {
            n["metadata"]["name"]
            for n in listed.get("items") or []
            if not (n.get("spec") or {}).get("taints")
            and any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in (n.get("status") or {}).get("conditions") or []
            )
        }
        waiting = [name for name in names if name not in ready]
        if not waiting:
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"simulated nodes not ready and schedulable within {timeout:.0f} s: {', '.join(waiting)}"
            )
        time.sleep(0.1)


# --- command line ---------------------------------------------------------------------------------------------


def _parse(argv: Sequence[str]) -> tuple[str, NodeConfig]:
    defaults = NodeConfig()
    t = defaults.timings
    parser = argparse.ArgumentParser(
        prog="python -m devstack.nodes",
        description="Simulated nodes for the local cluster.",
    )
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--nodes", type=int, default=defaults.count)
    parser.add_argument(
        "--start-delay",
        type=float,
        default=t.start,
        help="seconds from accepted to running",
    )
    parser.add_argument(
        "--ready-delay",
        type=float,
        default=t.ready,
        help="seconds from running to ready (probes)",
    )
    parser.add_argument(
        "--run-time",
        type=float,
        default=t.run,
        help="seconds a finishing container runs",
    )
    parser.add_argument(
        "--restart-every",
        type=float,
        default=t.restart,
        help="crash-loop restart period",
    )
    args = parser.parse_args(list(argv))
    timings = Timings(
        start=args.start_delay,
        ready=args.ready_delay,
        run=args.run_time,
        restart=args.restart_every,
    )
    return str(args.kubeconfig), NodeConfig(count=args.nodes, timings=timings)


def main(argv: Sequence[str] | None = None) -> int:
    """Register the nodes and serve them until SIGTERM or SIGINT."""
    from kubernetes import config as kubeconfig

    logging.basicConfig(level=logging.INFO, format="[nodes %(asctime)s] %(message)s", datefmt="%H:%M:%S")
    path, config = _parse(sys.argv[1:] if argv is None else argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    api_client: ApiClient = kubeconfig.new_client_from_config(path)  # type: ignore[no-untyped-call]
    agent = NodeAgent(api_client, config)
    agent.register()
    log.info("serving %s (%s)", ", ".join(agent.names), config.timings)
    agent.run(stop)
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
