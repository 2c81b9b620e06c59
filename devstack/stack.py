"""The whole service on one machine: a real Kubernetes control plane with simulated nodes, emulated AWS, the API
and its workers.

``python -m devstack`` (what ``make run`` calls) starts it on the ``local`` stage's embedded defaults and stops
everything on Ctrl-C or SIGTERM. The end-to-end tests start the same ``Stack`` on free ports in a temp dir.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.adapters.store import Store
from chalicelib.core.auth import Tokens
from chalicelib.errors import NotFound

from .aws import LocalAws
from .charts import ChartServer
from .kube import KubePorts, LocalKube, free_port_numbers
from .nodes import NodeConfig, node_names
from .registry import OciRegistry, PushedChart

log = logging.getLogger("devstack")
ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT_EVERY_S = 5.0
REPO_USER = "charthouse"  # the private chart repository's and the OCI registry's user; the password is random


@dataclass(frozen=True)
class StackConfig:
    state_dir: Path
    stage: str = "local"
    api_port: int = 8000
    aws_port: int = 4566
    kube_ports: KubePorts = field(default_factory=KubePorts)
    helm_binary: Path = ROOT / "layers" / "helm" / "build" / "v4" / "helm"
    workers: int = 2
    cluster: str = "local"
    charts_port: int = 8079  # serves examples/charts as http://127.0.0.1:<port>/<name>-<version>.tgz
    repo_port: int = 8078  # a private chart repository (basic auth or bearer token) serving examples/charts
    registry_port: int = 5000  # an OCI registry (docker-registry, TLS + htpasswd) with examples/charts pushed
    sweep_every_s: float = 60.0  # the stale-lease sweep, as scheduled when deployed
    reconcile_every_s: float = 300.0  # the scheduled reconcile of every cluster (deployed: per stage, 15 min)
    lease_grace_s: int | None = None  # None: the service's default
    extra_env: tuple[tuple[str, str], ...] = ()  # more environment for the API, workers and scheduler (tests)
    nodes: NodeConfig = field(default_factory=NodeConfig)  # the simulated nodes (devstack.nodes) and their pace

    @classmethod
    def isolated(cls, state_dir: Path, helm_binary: Path, **overrides: Any) -> StackConfig:
        """A stack on free loopback ports with the ``test`` stage, beside any other (tests, benchmarks)."""
        api, aws, charts, etcd, peer, kube, repo, registry = free_port_numbers(8)
        return cls(
            state_dir=state_dir,
            stage="test",
            api_port=api,
            aws_port=aws,
            kube_ports=KubePorts(etcd, peer, kube),
            helm_binary=helm_binary,
            charts_port=charts,
            repo_port=repo,
            registry_port=registry,
            **overrides,
        )


def free_port() -> int:
    return free_port_numbers(1)[0]


class Stack:
    def __init__(self, cfg: StackConfig) -> None:
        self.cfg = cfg
        self.logs = cfg.state_dir / "logs"
        self.kube = LocalKube(cfg.state_dir / "kube", cfg.kube_ports, self.logs)
        self.aws = LocalAws(cfg.aws_port, cfg.state_dir / "aws-state.json", self.logs / "aws.log")
        self._procs: list[subprocess.Popen[bytes]] = []
        self._names: list[str] = []
        self._stop_snapshots = threading.Event()
        self._snapshotter: threading.Thread | None = None
        self.charts: ChartServer | None = None
        self.example_charts: dict[str, str] = {}
        # The private chart servers (see chart_servers()): examples/charts in both, credentials in credentials_file.
        self.credentials_file = cfg.state_dir / "repo-credentials.json"
        self.token = ""  # the admin bearer token (also in <state_dir>/token, 0600)
        self.repo: ChartServer | None = None
        self.registry: OciRegistry | None = None
        self.example_repo_charts: dict[str, str] = {}  # name -> archive URL in the private repository
        self.example_oci: dict[str, PushedChart] = {}  # name -> its reference in the OCI registry

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.cfg.api_port}"

    def env(self) -> dict[str, str]:
        """The environment of the API and the workers (the stage's config.json adds its own on top)."""
        return {
            **os.environ,
            "AWS_ENDPOINT_URL": self.aws.endpoint,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "us-east-1",
            "CHARTHOUSE_DEFAULT_CLUSTER": self.cfg.cluster,  # the compat surfaces' cluster when none is named
            "CHARTHOUSE_STAGE": self.cfg.stage,  # the workers fetch charts: the SSRF guard admits loopback by stage
            "CHARTHOUSE_HELM_BINARY": str(self.cfg.helm_binary),
            "CHARTHOUSE_HELM_SERVER_SIDE": "false",
            "PYTHONUNBUFFERED": "1",
            "CHARTHOUSE_LOCAL_SWEEP_EVERY": str(self.cfg.sweep_every_s),
            "CHARTHOUSE_LOCAL_RECONCILE_EVERY": str(self.cfg.reconcile_every_s),
            "CHARTHOUSE_EVENT_BUS": self.aws.event_bus,
            "CHARTHOUSE_CHART_BUCKET": self.aws.bucket,
            "CHARTHOUSE_INDEX_CACHE_DIR": str(self.cfg.state_dir / "index-cache"),
            **({"CHARTHOUSE_LEASE_GRACE": str(self.cfg.lease_grace_s)} if self.cfg.lease_grace_s is not None else {}),
            **dict(self.cfg.extra_env),
        }

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        try:
            log.info(
                "starting Kubernetes (etcd, kube-apiserver, controller-manager, scheduler) on 127.0.0.1:%d",
                self.cfg.kube_ports.api,
            )
            self.kube.start()
            self.kube.write_kubeconfig(self.kubeconfig)
            log.info("starting %d simulated nodes (devstack.nodes)", self.cfg.nodes.count)
            self._spawn("nodes", self._nodes_argv())
            self.charts = ChartServer(self.cfg.state_dir / "charts", self.cfg.helm_binary, self.cfg.charts_port)
            for chart in sorted((ROOT / "examples" / "charts").iterdir()):
                self.example_charts[chart.name] = self.charts.package(chart)
            self._start_chart_servers()
            log.info("starting emulated AWS (moto) on %s", self.aws.endpoint)
            self.aws.start()
            log.info("starting the API (chalice local --stage %s) on %s", self.cfg.stage, self.api)
            chalice = str(Path(sys.executable).parent / "chalice")
            self._spawn(
                "api",
                [chalice, "local", "--stage", self.cfg.stage, "--port", str(self.cfg.api_port), "--no-autoreload"],
            )
            self._wait_for_api()
            self.token = admin_token(self.aws, self.cfg.state_dir / "token")
            _TOKENS[self.api] = self.token
            self._register_cluster()
            for n in range(self.cfg.workers):
                self._spawn(f"worker-{n}", [sys.executable, "-m", "devstack.worker"])
            self._spawn("scheduler", [sys.executable, "-m", "devstack.scheduler"])
            self._wait_for_nodes()
            self._snapshotter = threading.Thread(target=self._snapshots, daemon=True)
            self._snapshotter.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self._stop_snapshots.set()
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 20
        for proc in self._procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()
        self._names.clear()
        if self.charts is not None:
            self.charts.close()
            self.charts = None
        if self.repo is not None:
            self.repo.close()
            self.repo = None
        if self.registry is not None:
            self.registry.stop()
            self.registry = None
        try:
            self.aws.stop()
        finally:
            self.kube.stop()

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig of the local cluster (0600)."""
        return self.cfg.state_dir / "kubeconfig"

    # ------------------------------------------------------------ parts

    def _nodes_argv(self) -> list[str]:
        t = self.cfg.nodes.timings
        return [
            sys.executable,
            "-m",
            "devstack.nodes",
            f"--kubeconfig={self.kubeconfig}",
            f"--nodes={self.cfg.nodes.count}",
            f"--start-delay={t.start}",
            f"--ready-delay={t.ready}",
            f"--run-time={t.run}",
            f"--restart-every={t.restart}",
        ]

    def _wait_for_nodes(self, timeout: float = 60) -> None:
        """Until the simulated nodes are Ready and schedulable, so that the first install can wait on its Pods."""
        from kubernetes import config

        from .nodes import wait_for_nodes

        api_client = config.new_client_from_config(str(self.kubeconfig))  # type: ignore[no-untyped-call]
        with api_client:
            wait_for_nodes(api_client, node_names(self.cfg.nodes), timeout)

    def _spawn(self, name: str, argv: list[str]) -> None:
        with open(self.logs / f"{name}.log", "ab") as out:  # the child keeps its own copy of the descriptor
            self._procs.append(
                subprocess.Popen(
                    argv, cwd=ROOT, env=self.env(), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
            )
        self._names.append(name)

    def _start_chart_servers(self) -> None:
        """The private chart repository and the OCI registry, each holding examples/charts."""
        creds = local_credentials(self.credentials_file)
        self.repo = ChartServer(
            self.cfg.state_dir / "repo",
            self.cfg.helm_binary,
            self.cfg.repo_port,
            username=REPO_USER,
            password=creds["password"],
            token=creds["token"],
        )
        log.info("starting the OCI registry (docker-registry) on 127.0.0.1:%d", self.cfg.registry_port)
        self.registry = OciRegistry(
            self.cfg.state_dir / "registry",
            self.cfg.registry_port,
            REPO_USER,
            creds["password"],
            log_file=self.logs / "registry.log",
        )
        self.registry.start()
        for chart in sorted((ROOT / "examples" / "charts").iterdir()):
            url = self.repo.package(chart)
            self.example_repo_charts[chart.name] = url
            self.example_oci[chart.name] = self.registry.push(
                self.cfg.helm_binary, self.repo.www / url.rsplit("/", 1)[-1]
            )
        self.credentials_file.touch(mode=0o600)
        self.credentials_file.chmod(0o600)
        self.credentials_file.write_text(
            json.dumps(
                {
                    "repository": {
                        "url": self.repo.base_url,
                        "username": REPO_USER,
                        "password": creds["password"],
                        "token": creds["token"],
                    },
                    "registry": {
                        "url": self.registry.url,
                        "host": self.registry.host,
                        "username": REPO_USER,
                        "password": creds["password"],
                        "ca_file": str(self.registry.ca_file),
                    },
                },
                indent=2,
            )
            + "\n"
        )
        # ready-made bodies for PUT /v1/repositories/{name} (the README's curl walkthrough uses them)
        bodies = {
            "put-repository.json": {
                "url": self.repo.base_url,
                "username": REPO_USER,
                "password": creds["password"],
                "description": "the local stack's private chart repository",
            },
            "put-registry.json": {
                "url": self.registry.url,
                "username": REPO_USER,
                "password": creds["password"],
                "ca_bundle": self.registry.ca_pem,
                "description": "the local stack's OCI registry (TLS, its own CA)",
            },
        }
        for name, body in bodies.items():
            path = self.cfg.state_dir / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(body, fh, indent=2)

    def _wait_for_api(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._procs[-1].poll() is not None:
                raise RuntimeError(f"the API exited; see {self.logs / 'api.log'}")
            try:
                with urllib.request.urlopen(f"{self.api}/v1/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise RuntimeError(f"the API did not answer within {timeout:.0f} s; see {self.logs / 'api.log'}")

    def _register_cluster(self) -> None:
        body = {
            "server": self.kube.server,
            "ca_data": self.kube.ca_pem(),
            "token": self.kube.token(),
            "description": "the local stack's Kubernetes API server",
        }
        status, data = request("PUT", f"{self.api}/v1/clusters/{self.cfg.cluster}", body)
        if status not in (200, 201):
            raise RuntimeError(f"registering the local cluster failed: {status} {data}")

    def _snapshots(self) -> None:
        while not self._stop_snapshots.wait(SNAPSHOT_EVERY_S):
            try:
                self.aws.save()
            except Exception:  # noqa: BLE001 - a missed snapshot is retried on the next tick
                log.warning("snapshot failed; retrying in %.0f s", SNAPSHOT_EVERY_S)

    def dead(self) -> list[str]:
        """Names of child processes (the cluster's servers included) that exited on their own."""
        mine = [name for name, p in zip(self._names, self._procs, strict=True) if p.poll() is not None]
        return self.kube.dead() + mine


def local_credentials(path: Path) -> dict[str, str]:
    """The private chart servers' password and token: kept in ``path`` (0600) across restarts, else random."""
    try:
        saved = json.loads(path.read_text())["repository"]
        return {"password": str(saved["password"]), "token": str(saved["token"])}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    return {"password": secrets.token_urlsafe(18), "token": secrets.token_urlsafe(24)}


_TOKENS: dict[str, str] = {}  # API base URL -> the admin token of the stack serving it (this process's stacks)


def admin_token(aws: LocalAws, path: Path) -> str:
    """The stack's admin bearer token: the one in ``path`` (0600) while the table still knows it, else a new one
    (``CHARTHOUSE_ADMINS`` defaults to ``token:admin``)."""
    tokens = Tokens(Store(aws.resource("dynamodb"), aws.table))
    if path.exists():
        saved = path.read_text().strip()
        if tokens.lookup(saved) == "admin":
            return saved
    with contextlib.suppress(NotFound):
        tokens.delete("admin")
    token = tokens.create("admin")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    return token


def request(method: str, url: str, body: Any = None, timeout: float = 60, token: str | None = None) -> tuple[int, Any]:
    """A small JSON HTTP client (stdlib only). It sends the admin token of the stack serving ``url`` (started in
    this process) unless ``token`` is given; ``token=""`` sends no credentials."""
    if token is None:
        token = next((t for base, t in _TOKENS.items() if url.startswith(base + "/")), "")
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw) if raw else None
        except ValueError:
            return err.code, raw.decode("utf-8", "replace")


EXAMPLE = """
Charthouse is running: API {api}, cluster "{cluster}" (kubeconfig: {kubeconfig}).
Example chart: {chart}
A web app to wait for: {webapp} ("wait": true; its Pods run on simulated nodes, no container runs:
  KUBECONFIG={kubeconfig} layers/helm/build/kubectl get pods)
Private chart repository: {repo} (helm repo add --username {user} --password ...; also Bearer token)
OCI registry: {oci} (TLS, CA {ca}; helm registry login {host} --username {user} --ca-file {ca})
Their password and token: {creds} (e.g. {repo_chart}, {oci}/hello)
Logs: {logs}. Stop with Ctrl-C (state is kept in .local/; `make clean-state` forgets it).

Every call but /v1/health needs the admin token that is in {token_file} (0600; `python -m devstack token
create NAME` makes more, or POST /v1/tokens):
  export AUTH="Authorization: Bearer $(cat {token_file})"

Try it:
  curl -s -X POST {api}/v1/clusters/{cluster}/namespaces/default/releases -H "$AUTH" \\
       -H 'Content-Type: application/json' \\
       -d '{{"name": "hello", "chart": "{chart}", "values": {{"greeting": "hi"}}}}'
  curl -s -H "$AUTH" {api}/v1/operations/<id from the answer>
  curl -s -H "$AUTH" {api}/v1/clusters/{cluster}/namespaces/default/releases/hello
  KUBECONFIG={kubeconfig} {helm} list -A
"""


def chart_servers(stack: Stack) -> dict[str, str]:
    """The EXAMPLE banner's lines about the private chart repository and the OCI registry."""
    assert stack.repo is not None and stack.registry is not None
    return {
        "repo": stack.repo.base_url,
        "user": REPO_USER,
        "oci": stack.registry.url,
        "host": stack.registry.host,
        "ca": str(stack.registry.ca_file),
        "creds": str(stack.credentials_file),
        "repo_chart": stack.example_repo_charts.get("hello", ""),
    }


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="[devstack %(asctime)s] %(message)s", datefmt="%H:%M:%S")
    state = ROOT / ".local"
    stack = Stack(StackConfig(state_dir=state))
    stopping = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stack.start()
    print(
        EXAMPLE.format(
            api=stack.api,
            cluster=stack.cfg.cluster,
            kubeconfig=stack.kubeconfig,
            chart=stack.example_charts.get("hello", ""),
            webapp=stack.example_charts.get("webapp", ""),
            logs=stack.logs,
            helm=stack.cfg.helm_binary.relative_to(ROOT),
            token_file=state / "token",
            **chart_servers(stack),
        ),
        flush=True,
    )
    try:
        while not stopping.wait(1.0):
            if stack.dead():
                log.error("a component exited: %s; stopping (see %s)", ", ".join(stack.dead()), stack.logs)
                break
    finally:
        log.info("stopping")
        stack.stop()
        log.info("stopped; state kept in %s", state)
    return 0
