"""The whole service on one machine: a real Kubernetes control plane with simulated nodes, emulated AWS, the API
and its workers.

``python -m devstack`` (what ``make run`` calls) starts it on the ``local`` stage's embedded defaults and stops
everything on Ctrl-C or SIGTERM. The end-to-end tests start the same ``Stack`` on free ports in a temp dir.
"""

from __future__ import annotations

import argparse
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
from .dynamodb import LocalDynamo
from .gitserver import GitServer
from .kube import KubePorts, KubeStartError, LocalKube, free_port_numbers
from .lifecycle import StackBusy, StateLock, adopt_orphans, kill_tree, orphans, reap
from .nodes import NodeConfig, node_names
from .registry import OciRegistry, PushedChart

log = logging.getLogger("devstack")
ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT_EVERY_S = 5.0
STOP_GRACE_S = 1.5  # the stack's processes get this long to exit on SIGTERM before they are killed
START_WAIT_S = 30.0  # how long `make run` waits for a stack still stopping on the same state dir
REPO_USER = "charthouse"  # the private chart repository's and the OCI registry's user; the password is random


@dataclass(frozen=True)
class StackConfig:
    state_dir: Path
    stage: str = "local"
    api_port: int = 8000
    aws_port: int = 4566  # moto: SQS, S3, Secrets Manager, EventBridge
    dynamodb_port: int = 4567  # DynamoDB Local (AWS_ENDPOINT_URL_DYNAMODB)
    store_in_memory: bool = False  # DynamoDB Local in memory (the tests' stacks) or on disk under the state dir
    kube_ports: KubePorts = field(default_factory=KubePorts)
    helm_binary: Path = ROOT / "layers" / "helm" / "build" / "v4" / "helm"
    workers: int = 2
    api_processes: int = 1  # processes serving the API's port (devstack/api.py); 0: `chalice local` itself
    cluster: str = "local"
    charts_port: int = 8079  # serves examples/charts as http://127.0.0.1:<port>/<name>-<version>.tgz
    repo_port: int = 8078  # a private chart repository (basic auth or bearer token) serving examples/charts
    registry_port: int = 5000  # an OCI registry (docker-registry, TLS + htpasswd) with examples/charts pushed
    git_port: int = 8077  # a Git server (git-http-backend, basic auth) with deploy.git, for runtimes
    sweep_every_s: float = 60.0  # the stale-lease sweep, as scheduled when deployed
    reconcile_every_s: float = 300.0  # the scheduled reconcile of every cluster (deployed: per stage, 15 min)
    lease_grace_s: int | None = None  # None: the service's default
    extra_env: tuple[tuple[str, str], ...] = ()  # more environment for the API, workers and scheduler (tests)
    nodes: NodeConfig = field(default_factory=NodeConfig)  # the simulated nodes (devstack.nodes) and their pace

    @classmethod
    def isolated(cls, state_dir: Path, helm_binary: Path, **overrides: Any) -> StackConfig:
        """A stack on free loopback ports with the ``test`` stage, beside any other (tests, benchmarks)."""
        api, aws, dynamodb, charts, etcd, peer, kube, repo, registry, git = free_port_numbers(10)
        overrides.setdefault("store_in_memory", True)  # a test's stack: its snapshot keeps the table across restarts
        return cls(
            state_dir=state_dir,
            stage="test",
            api_port=api,
            aws_port=aws,
            dynamodb_port=dynamodb,
            kube_ports=KubePorts(etcd, peer, kube),
            helm_binary=helm_binary,
            charts_port=charts,
            repo_port=repo,
            registry_port=registry,
            git_port=git,
            **overrides,
        )


# the ports of an isolated stack kept in <state-dir>/ports.json besides the cluster's (every server it starts)
ISOLATED_PORTS = ("api_port", "aws_port", "dynamodb_port", "charts_port", "repo_port", "registry_port", "git_port")


def free_port() -> int:
    return free_port_numbers(1)[0]


class Stack:
    def __init__(self, cfg: StackConfig) -> None:
        self.cfg = cfg
        self.logs = cfg.state_dir / "logs"
        self.kube = LocalKube(cfg.state_dir / "kube", cfg.kube_ports, self.logs)
        dynamo_dir = None if cfg.store_in_memory else cfg.state_dir / "dynamodb"
        dynamo = LocalDynamo(cfg.dynamodb_port, dynamo_dir, self.logs / "dynamodb.log")
        self.aws = LocalAws(cfg.aws_port, cfg.state_dir / "aws-state.json", self.logs / "aws.log", dynamo)
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
        self.git: GitServer | None = None  # the Git server; deploy.git's URL and credentials in git_credentials_file
        self.git_credentials_file = cfg.state_dir / "git-credentials.json"
        self.deploy_repo = ""
        self.started_at = time.time()
        self._lock = StateLock(cfg.state_dir)
        self.adopts_orphans = False  # set by main(), which makes this process the reaper of orphans below it

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.cfg.api_port}"

    def env(self) -> dict[str, str]:
        """The environment of the API and the workers (the stage's config.json adds its own on top)."""
        return {
            **os.environ,
            "AWS_ENDPOINT_URL": self.aws.endpoint,
            "AWS_ENDPOINT_URL_DYNAMODB": self.aws.dynamo.endpoint,
            "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": self.aws.dynamo.endpoint,  # the table's stream (devstack/streams.py)
            "CHARTHOUSE_LOCAL_STREAM_CHECKPOINT": str(self.cfg.state_dir / "streams-checkpoint.json"),
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
            "CHARTHOUSE_LOCAL_STARTED_AT": repr(self.started_at),  # older unfinished operations were interrupted
            "CHARTHOUSE_EVENT_BUS": self.aws.event_bus,
            "CHARTHOUSE_CHART_BUCKET": self.aws.bucket,
            "CHARTHOUSE_INDEX_CACHE_DIR": str(self.cfg.state_dir / "index-cache"),
            **({"CHARTHOUSE_LEASE_GRACE": str(self.cfg.lease_grace_s)} if self.cfg.lease_grace_s is not None else {}),
            **dict(self.cfg.extra_env),
        }

    # ------------------------------------------------------------ lifecycle

    def start(self, wait_s: float = 0) -> None:
        """Start every part, in order. Another stack on the same state dir: wait up to ``wait_s`` for it to finish
        stopping, then ``StackBusy``."""
        self._lock.acquire(wait_s)
        self.started_at = time.time()
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
            self._start_git_server()
            log.info(
                "starting DynamoDB Local on %s and emulated AWS (moto) on %s",
                self.aws.dynamo.endpoint,
                self.aws.endpoint,
            )
            self.aws.start()
            log.info(
                "starting the API (chalice local's server, --stage %s, %d process(es)) on %s",
                self.cfg.stage,
                self.cfg.api_processes,
                self.api,
            )
            self._spawn("api", self._api_argv())
            self._wait_for_api()
            self.token = admin_token(self.aws, self.cfg.state_dir / "token")
            _TOKENS[self.api] = self.token
            self._register_cluster()
            for n in range(self.cfg.workers):
                self._spawn(f"worker-{n}", [sys.executable, "-m", "devstack.worker"])
            self._spawn("scheduler", [sys.executable, "-m", "devstack.scheduler"])
            # the pipes from the table's stream to the bus: every operation's state-change event
            self._spawn("streams", [sys.executable, "-m", "devstack.streams"])
            self._wait_for_nodes()
            self._snapshotter = threading.Thread(target=self._snapshots, daemon=True)
            self._snapshotter.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop everything within seconds, operations in flight or not: the stack's own processes get SIGTERM and
        ``STOP_GRACE_S`` to exit, then are killed with every process below them (a worker's helm runs in a group
        of its own); then the emulator saves its state, and the cluster stops. An operation cut off here is
        recovered when the stack starts again (``Recovery.interrupted``)."""
        self._stop_snapshots.set()
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for name, proc in zip(self._names, self._procs, strict=True):
            try:
                proc.wait(timeout=max(0.05, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.info("%s did not stop within %.0f s: killing it and what it runs", name, STOP_GRACE_S)
                kill_tree(proc.pid)
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
        if self.git is not None:
            self.git.close()
            self.git = None
        kube = threading.Thread(target=self._stop_kube, daemon=True)  # beside the emulator's save: seconds saved
        kube.start()
        try:
            self.aws.stop()
        finally:
            kube.join()
            if self.adopts_orphans:
                self.stop_orphans()
            self._lock.release()

    def _stop_kube(self) -> None:
        try:
            self.kube.stop()
        except Exception:  # noqa: BLE001 - a thread's error would vanish: say it
            log.exception("stopping the cluster failed")

    def stop_orphans(self) -> int:
        """Kill what a killed process left running below this one (a helm whose worker died); the stack's own
        children are not touched. Only meaningful after ``lifecycle.adopt_orphans()`` (``adopts_orphans``)."""
        adopted = orphans(self._own_pids())
        for pid in adopted:
            kill_tree(pid)
            reap(pid)
        return len(adopted)

    def reap_orphans(self) -> None:
        """Reap adopted orphans that exited on their own (no zombie left behind)."""
        for pid in orphans(self._own_pids()):
            reap(pid, timeout_s=0)

    def _own_pids(self) -> set[int]:
        own = {p.pid for p in self._procs} | set(self.kube.pids)
        for server in (self.aws.pid, self.aws.dynamo.pid, self.registry.pid if self.registry else None):
            if server is not None:
                own.add(server)
        return own

    def supervise(self) -> list[str]:
        """One look at the children. As Lambda starts a new instance for a lost one, a worker or the scheduler that
        exited is started again, and so is a kube-apiserver (etcd keeps the objects). Returns the names of the
        others that exited: the stack cannot run without them."""
        dead = self.dead()
        if "kube-apiserver" in dead:
            log.warning("the kube-apiserver exited; starting it again")
            self.kube.restart_apiserver()
        for index, name in enumerate(self._names):
            if name in dead and (name.startswith("worker-") or name in ("scheduler", "streams")):
                log.warning("%s exited (code %s); starting it again", name, self._procs[index].returncode)
                self._spawn(name, [str(a) for a in self._procs[index].args], at=index)  # type: ignore[union-attr]
        return self.dead()

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

    def pid(self, name: str) -> int | None:
        """The process id of the component ``name`` (``api``, ``worker-0``, ...), None if there is none."""
        for n, proc in zip(self._names, self._procs, strict=True):
            if n == name:
                return proc.pid
        return None

    def _api_argv(self) -> list[str]:
        """Chalice's local server in ``api_processes`` processes on one port (devstack/api.py); 0: ``chalice local``
        itself (one process, socketserver's backlog of 5), to compare with."""
        port = str(self.cfg.api_port)
        if self.cfg.api_processes == 0:
            chalice = str(Path(sys.executable).parent / "chalice")
            return [chalice, "local", "--stage", self.cfg.stage, "--port", port, "--no-autoreload"]
        processes = str(self.cfg.api_processes)
        return [
            sys.executable,
            "-m",
            "devstack.api",
            "--stage",
            self.cfg.stage,
            "--port",
            port,
            "--processes",
            processes,
        ]

    def _spawn(self, name: str, argv: list[str], at: int | None = None) -> None:
        """Start a child (its log in logs/<name>.log); ``at``: in place of the one at that index (a restart)."""
        with open(self.logs / f"{name}.log", "ab") as out:  # the child keeps its own copy of the descriptor
            proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C reaches only main(), which stops the children in order
            )
        if at is not None:
            self._procs[at] = proc
            return
        self._procs.append(proc)
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

    def _start_git_server(self) -> None:
        """The Git server (git-http-backend behind basic auth) with an empty ``deploy.git``; its URL and credentials
        in ``git-credentials.json`` (0600), kept across restarts like the repository's."""
        creds = local_credentials(self.credentials_file)
        log.info("starting the Git server (git-http-backend) on 127.0.0.1:%d", self.cfg.git_port)
        self.git = GitServer(self.cfg.state_dir / "git", self.cfg.git_port, REPO_USER, creds["password"])
        self.deploy_repo = self.git.create("deploy")
        fd = os.open(self.git_credentials_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"url": self.deploy_repo, "username": REPO_USER, "password": creds["password"]}, fh, indent=2)

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
Web console: {api}/ui/  sign in with the admin token {token}
Example chart: {chart}
A web app to wait for: {webapp} ("wait": true; its Pods run on simulated nodes, no container runs:
  KUBECONFIG={kubeconfig} layers/helm/build/kubectl get pods)
Private chart repository: {repo} (helm repo add --username {user} --password ...; also Bearer token)
OCI registry: {oci} (TLS, CA {ca}; helm registry login {host} --username {user} --ca-file {ca})
Their password and token: {creds} (e.g. {repo_chart}, {oci}/hello)
Git server for runtimes: {git} (basic auth {user}; URL and password in {git_creds}; push with
  git -c http.extraHeader="Authorization: Basic $(printf '{user}:<password>' | base64)" push ...)
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
        "git": stack.deploy_repo,
        "git_creds": str(stack.git_credentials_file),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devstack", description="Run the local stack until Ctrl-C.")
    parser.add_argument("--state-dir", type=Path, default=ROOT / ".local", help="where state is kept (.local)")
    parser.add_argument(
        "--isolated",
        action="store_true",
        help="the test stage on free loopback ports (chosen once, kept in <state-dir>/ports.json), beside any other",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--api-processes", type=int, default=1, help="processes serving the API (default 1; 0: chalice local)"
    )
    parser.add_argument("--sweep-every", type=float, default=None, help="seconds between sweeps (default 60)")
    parser.add_argument("--lease-grace", type=int, default=None, help="seconds added to every lease")
    parser.add_argument("--wait", type=float, default=START_WAIT_S, help="seconds to wait for a stack still stopping")
    return parser.parse_args(argv)


def config_of(args: argparse.Namespace) -> StackConfig:
    """The stack ``args`` ask for. Isolated ports are picked once per state dir, so a restart finds its cluster
    registration, kubeconfig and chart URLs where they were."""
    state: Path = args.state_dir.absolute()
    overrides: dict[str, Any] = {
        "workers": args.workers,
        "api_processes": args.api_processes,
        "store_in_memory": False,  # the table kept under state
    }  # the table kept under state
    if args.sweep_every is not None:
        overrides["sweep_every_s"] = args.sweep_every
    if args.lease_grace is not None:
        overrides["lease_grace_s"] = args.lease_grace
    if not args.isolated:
        return StackConfig(state_dir=state, **overrides)
    ports_file = state / "ports.json"
    try:
        p = json.loads(ports_file.read_text())
        ports = {"kube_ports": KubePorts(p["etcd"], p["peer"], p["kube"])} | {k: p[k] for k in ISOLATED_PORTS}
        return StackConfig(state_dir=state, stage="test", **ports, **overrides)
    except (OSError, ValueError, KeyError, TypeError):
        cfg = StackConfig.isolated(state, StackConfig.helm_binary, **overrides)
    state.mkdir(parents=True, exist_ok=True)
    k = cfg.kube_ports
    saved = {"etcd": k.etcd, "peer": k.etcd_peer, "kube": k.api}
    saved |= {name: getattr(cfg, name) for name in ISOLATED_PORTS}
    ports_file.write_text(json.dumps(saved) + "\n")
    return cfg


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="[devstack %(asctime)s] %(message)s", datefmt="%H:%M:%S")
    args = parse_args(argv)
    cfg = config_of(args)
    state = cfg.state_dir
    stack = Stack(cfg)
    stack.adopts_orphans = adopt_orphans()
    stopping = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        if stopping.is_set():
            return
        stopping.set()
        if starting.is_set():
            raise KeyboardInterrupt  # stop a start half-way: start() stops what it started

    starting = threading.Event()
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    starting.set()
    try:
        stack.start(wait_s=args.wait)
    except StackBusy as exc:
        log.error("%s", exc)
        return 1
    except KeyboardInterrupt:
        log.info("stopped while starting")
        return 130
    except (KubeStartError, RuntimeError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        log.error("the stack did not start: %s (logs in %s)", first, stack.logs)
        return 1
    finally:
        starting.clear()
    ready = state / "stack.json.tmp"  # written whole, then renamed: whoever waits for stack.json never reads half
    ready.write_text(json.dumps({"api": stack.api, "pid": os.getpid()}) + "\n")
    ready.replace(state / "stack.json")
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
            token=stack.token,
            **chart_servers(stack),
        ),
        flush=True,
    )
    try:
        while not stopping.wait(1.0):
            if stack.adopts_orphans:
                stack.reap_orphans()
            try:
                dead = stack.supervise()
            except KubeStartError as exc:
                dead = [str(exc).splitlines()[0]]
            if dead:
                log.error("a component exited: %s; stopping (see %s)", ", ".join(dead), stack.logs)
                break
    finally:
        log.info("stopping")
        started = time.monotonic()
        (state / "stack.json").unlink(missing_ok=True)
        stack.stop()
        log.info("stopped in %.1f s; state kept in %s", time.monotonic() - started, state)
    return 0
