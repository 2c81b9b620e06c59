"""A real Kubernetes control plane on loopback, run as child processes: etcd, kube-apiserver and (by default)
kube-controller-manager and kube-scheduler.

Objects are stored and served exactly as by a cluster (helm releases, ConfigMaps, Services, CRDs...) and the
controllers reconcile them: Deployments make ReplicaSets and Pods, Jobs make Pods, namespaces get service accounts
with tokens, the garbage collector deletes dependents, the scheduler binds Pods to Nodes. There is no kubelet:
Nodes and what runs on them come from ``devstack.nodes`` (simulated). With ``controllers=False`` it is an
envtest-style API server alone, where nothing reconciles anything.

Typical use::

    with LocalKube(Path("/tmp/kube")) as kube:
        kube.write_kubeconfig(Path("/tmp/kube/kubeconfig"))
        ...  # run helm / kubectl with KUBECONFIG pointing there

State (PKI and etcd data) lives in ``state_dir`` and survives ``stop()``: starting again on the same
directory serves the same objects. Binaries come from ``scripts/install-kube.sh``; certificates and keys from
``devstack.tls``.
"""

from __future__ import annotations

import atexit
import base64
import dataclasses
import fcntl
import json
import os
import random
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Final, Self, TypeAlias

from .tls import Authority, Subject, rsa_key_pair

__all__ = [
    "DEFAULT_PORTS",
    "KubeBinaryMissing",
    "KubePorts",
    "KubeStartError",
    "LocalKube",
    "binaries",
    "controller_binaries",
    "free_ports",
]

INSTALL_HINT: Final = "run scripts/install-kube.sh"
# kube-apiserver is looked up in the cache first: the flags below are for 1.20 (e.g. --insecure-port
# was removed in 1.24), so an unrelated newer kube-apiserver on PATH must not win.
_APISERVER_SUBPATH: Final = Path("kube/bin/kube-apiserver")
_CONTROLLER_MANAGER: Final = "kube-controller-manager"
_SCHEDULER: Final = "kube-scheduler"
_STOP_GRACE_SECONDS: Final = 10.0
_POLL_SECONDS: Final = 0.1
_LOG_TAIL_LINES: Final = 40
# etcd's default backend quota is 2 GiB; helm keeps every revision in a Secret, so fill tests get close.
_ETCD_QUOTA_BYTES: Final = 8 * 1024**3
_SERVICE_CIDR: Final = "10.0.0.0/16"  # a /24 runs out of ClusterIPs after ~250 Services
_SA_ISSUER: Final = "https://kubernetes.default.svc.cluster.local"
_ADMIN_USER: Final = "charthouse-admin"
# The names RBAC's bootstrap policy binds to the controllers' roles (system:kube-controller-manager, ...).
_CONTROLLER_MANAGER_USER: Final = "system:kube-controller-manager"
_SCHEDULER_USER: Final = "system:kube-scheduler"
# Everything the API server's certificate must name: loopback, the `kubernetes` Service's first ClusterIP, and
# the in-cluster DNS names (a client inside the simulated cluster would use them).
_APISERVER_DNS: Final = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
_APISERVER_IPS: Final = ("127.0.0.1", "10.0.0.1")
_CONTEXT: Final = "local"

_Probe: TypeAlias = Callable[[], bool]


class KubeBinaryMissing(FileNotFoundError):
    """etcd or kube-apiserver is not installed; the message says how to install them."""


class KubeStartError(RuntimeError):
    """The control plane did not become ready; the message carries the tail of the relevant log."""


@dataclass(frozen=True)
class KubePorts:
    """Loopback TCP ports used by one LocalKube: etcd client, etcd peer, and the API server (HTTPS)."""

    etcd: int = 23790
    etcd_peer: int = 23800
    api: int = 16443


DEFAULT_PORTS: Final = KubePorts()


def _cache_root() -> Path:
    env = os.environ.get("CHARTHOUSE_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "charthouse"


def binaries() -> tuple[Path, Path]:
    """Return ``(etcd, kube-apiserver)`` as absolute paths.

    etcd is taken from PATH (Debian's etcd-server), then from the cache's ``kube/bin``.
    kube-apiserver is taken from the cache (``$CHARTHOUSE_CACHE/kube/bin``, default
    ``~/.cache/charthouse``), then from PATH.
    Raises KubeBinaryMissing naming the missing binary and telling to run scripts/install-kube.sh.
    """
    cached_bin = _cache_root() / _APISERVER_SUBPATH.parent
    etcd = _first_executable([_which("etcd"), cached_bin / "etcd"])
    apiserver = _first_executable([cached_bin / "kube-apiserver", _which("kube-apiserver")])
    missing = [name for name, path in (("etcd", etcd), ("kube-apiserver", apiserver)) if path is None]
    if missing or etcd is None or apiserver is None:
        raise KubeBinaryMissing(
            f"{' and '.join(missing)} not found (looked on PATH and in {cached_bin}): {INSTALL_HINT}"
        )
    return etcd, apiserver


def controller_binaries() -> tuple[Path, Path]:
    """Return ``(kube-controller-manager, kube-scheduler)`` as absolute paths, from the cache then PATH.

    Raises KubeBinaryMissing naming the missing binary and telling to run scripts/install-kube.sh.
    """
    cached_bin = _cache_root() / _APISERVER_SUBPATH.parent
    found = {name: _first_executable([cached_bin / name, _which(name)]) for name in (_CONTROLLER_MANAGER, _SCHEDULER)}
    manager, scheduler = found[_CONTROLLER_MANAGER], found[_SCHEDULER]
    if manager is None or scheduler is None:
        missing = [name for name, path in found.items() if path is None]
        raise KubeBinaryMissing(
            f"{' and '.join(missing)} not found (looked in {cached_bin} and on PATH): {INSTALL_HINT}"
        )
    return manager, scheduler


def _which(name: str) -> Path | None:
    found = shutil.which(name)
    return Path(found) if found else None


def _first_executable(candidates: Sequence[Path | None]) -> Path | None:
    for path in candidates:
        if path is not None and path.is_file() and os.access(path, os.X_OK):
            return path.resolve()
    return None


def free_ports() -> KubePorts:
    """Pick three distinct loopback ports that are free right now (for tests).

    All three sockets are held open together so the kernel cannot hand out the same port twice; another
    process may still grab one before LocalKube binds it, which start() then reports as an error.
    """
    etcd, peer, api = free_port_numbers(3)
    return KubePorts(etcd=etcd, etcd_peer=peer, api=api)


# Below the kernel's ephemeral range (32768-60999 by default): a port picked there could be taken, before we bind
# it, by any outgoing connection on the machine (kube-apiserver opens many to etcd).
_PICK_RANGE: Final = (20000, 32768)


def free_port_numbers(count: int) -> list[int]:
    """``count`` distinct loopback ports, free right now, outside the ephemeral range (for tests)."""
    rng = random.SystemRandom()
    held: list[socket.socket] = []
    try:
        while len(held) < count:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.bind(("127.0.0.1", rng.randrange(*_PICK_RANGE)))
            except OSError:
                sock.close()
                continue
            held.append(sock)
        return [int(s.getsockname()[1]) for s in held]
    finally:
        for sock in held:
            sock.close()


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Without SO_REUSEADDR a port in TIME_WAIT would look busy although the servers can bind it.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# --- PKI ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pki:
    """File layout of the PKI directory; every file is made (or reused) by _ensure_pki."""

    root: Path

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.root / "apiserver.crt"

    @property
    def server_key(self) -> Path:
        return self.root / "apiserver.key"

    @property
    def sa_key(self) -> Path:
        return self.root / "sa.key"

    @property
    def sa_pub(self) -> Path:
        return self.root / "sa.pub"

    @property
    def tokens_csv(self) -> Path:
        return self.root / "tokens.csv"

    @property
    def admin_token(self) -> Path:
        return self.root / "admin.token"

    def client_cert(self, component: str) -> Path:
        return self.root / f"{component}.crt"

    def client_key(self, component: str) -> Path:
        return self.root / f"{component}.key"

    def kubeconfig(self, component: str) -> Path:
        return self.root / f"{component}.kubeconfig"


def _ensure_pki(pki: _Pki) -> None:
    """Make whatever is missing or stale: the cluster CA (kept, to sign later certificates), the API server's
    serving certificate, the controllers' client certificates, the service-account signing key pair and the admin
    token. What is there and valid is kept, so the CA and the token survive restarts (a kubeconfig stays valid).
    Every file is written atomically; an interrupted run is completed by the next one."""
    pki.root.mkdir(parents=True, exist_ok=True)
    pki.root.chmod(0o700)
    ca = Authority(pki.ca_cert, pki.ca_key, "charthouse-ca").ensure()
    ca.issue(
        pki.server_cert,
        pki.server_key,
        Subject("kube-apiserver", dns_names=_APISERVER_DNS, ip_addresses=_APISERVER_IPS),
    )
    for component, user in ((_CONTROLLER_MANAGER, _CONTROLLER_MANAGER_USER), (_SCHEDULER, _SCHEDULER_USER)):
        subject = Subject(user, server=False, dns_names=(), ip_addresses=())
        ca.issue(pki.client_cert(component), pki.client_key(component), subject)
    rsa_key_pair(pki.sa_key, pki.sa_pub)
    if not (pki.admin_token.exists() and pki.tokens_csv.exists()):
        token = secrets.token_hex(32)
        # Static token file format: token,user,uid,"group1,group2".
        _write_private(pki.tokens_csv, f"{token},{_ADMIN_USER},{_ADMIN_USER},system:masters\n")
        _write_private(pki.admin_token, token + "\n")


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600, replacing it atomically."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _kubeconfig_yaml(server: str, ca_data: str, user: str, credentials: dict[str, str]) -> str:
    """A one-context kubeconfig. Values are emitted as JSON strings (valid YAML) so that no character in them can
    change the meaning."""
    q = json.dumps
    lines = [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        f"- name: {_CONTEXT}",
        "  cluster:",
        f"    server: {q(server)}",
        f"    certificate-authority-data: {q(ca_data)}",
        "users:",
        f"- name: {q(user)}",
        "  user:",
        *(f"    {key}: {q(value)}" for key, value in credentials.items()),
        "contexts:",
        f"- name: {_CONTEXT}",
        "  context:",
        f"    cluster: {_CONTEXT}",
        f"    user: {q(user)}",
        "    namespace: default",
        f"current-context: {_CONTEXT}",
    ]
    return "\n".join(lines) + "\n"


# --- processes ---------------------------------------------------------------------------------------


@dataclass
class _Child:
    """One running server: its process (own session, so pid == process-group id) and log file."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    pid_file: Path


def _spawn(name: str, argv: list[str], log_path: Path, pid_file: Path) -> _Child:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # Appending keeps the history of earlier starts on the same state dir; the marker separates runs.
    with open(log_path, "ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(argv)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # A new session makes the child a process-group leader: stop() signals the whole group, and
            # a Ctrl-C in the terminal reaches only the test runner, which then stops us in order.
            start_new_session=True,
        )
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{proc.pid}\n")
    return _Child(name=name, proc=proc, log_path=log_path, pid_file=pid_file)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _terminate(child: _Child, grace: float) -> None:
    """SIGTERM the child's group, SIGKILL it after ``grace`` seconds, and reap it (no zombie)."""
    if child.proc.poll() is None:
        _signal_group(child.proc.pid, signal.SIGTERM)
        try:
            child.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(child.proc.pid, signal.SIGKILL)
            child.proc.wait()
    # Neither server forks, so reaping the leader empties the group; signalling the group again after
    # the reap could hit an unrelated process that reused the pid.
    child.pid_file.unlink(missing_ok=True)


def _kill_stale(pid_file: Path, marker: str) -> None:
    """Kill a server left running by a process that died without stop().

    Only a live process whose command line contains ``marker`` (this state dir) is touched, so a
    recycled pid belonging to something else is never signalled.
    """
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, ValueError):
        pid_file.unlink(missing_ok=True)
        return
    if marker in cmdline:
        _signal_group(pid, signal.SIGKILL)
        deadline = time.monotonic() + _STOP_GRACE_SECONDS
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(_POLL_SECONDS)  # it is not our child: init reaps it, we can only wait
    pid_file.unlink(missing_ok=True)


def _log_tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


# --- the control plane -------------------------------------------------------------------------------


class LocalKube:
    """etcd + kube-apiserver (+ kube-controller-manager + kube-scheduler) on 127.0.0.1, with admin access by
    bearer token.

    Contract:
      * ``start()`` makes the PKI on first use, starts etcd then kube-apiserver, and, with ``controllers``
        (the default), kube-controller-manager and kube-scheduler. It returns once ``/readyz`` answers 200 to
        the admin token and, with controllers, once the ``default`` service account has its token (the proof
        that the controllers run and can sign tokens). On any failure it first stops what it started; a server
        that exits early or misses the timeout raises KubeStartError with the tail of that server's log,
        a busy port or locked state_dir raises KubeStartError, a missing binary KubeBinaryMissing, and
        anything else (e.g. KeyboardInterrupt) propagates unchanged.
      * ``stop()`` stops every server in the reverse order of their start (SIGTERM, SIGKILL after a grace
        period) and reaps them; idempotent. etcd data is kept, so a later ``start()`` on the same state_dir
        serves the same objects.
      * One LocalKube at a time may run on a state_dir (enforced by a lock file). Servers orphaned by a
        crashed owner are killed by the next ``start()`` on that state_dir.
      * Servers still running at interpreter exit are stopped by an atexit hook.
      * The controllers serve no port (nothing to collide with beside other stacks) and run without leader
        election (one of each; a restart does not wait for an old lease to expire). Each controller of the
        controller-manager acts as its own service account, as on a kubeadm cluster; the garbage collector is on.
    """

    def __init__(
        self,
        state_dir: Path,
        ports: KubePorts = DEFAULT_PORTS,
        log_dir: Path | None = None,
        controllers: bool = True,
    ) -> None:
        self.state_dir = Path(state_dir).absolute()
        self.ports = ports
        self.log_dir = Path(log_dir).absolute() if log_dir is not None else self.state_dir / "logs"
        self.controllers = controllers
        self._pki = _Pki(self.state_dir / "pki")
        self._pki_ready = False
        self._etcd_data = self.state_dir / "etcd"
        self._run_dir = self.state_dir / "run"
        self._children: list[_Child] = []
        self._lock: IO[bytes] | None = None

    # -- public API -------------------------------------------------------------------------------

    @property
    def server(self) -> str:
        """The API server URL, ``https://127.0.0.1:<api port>``."""
        return f"https://127.0.0.1:{self.ports.api}"

    @property
    def running(self) -> bool:
        """True while every server started by this object is alive."""
        return bool(self._children) and all(c.proc.poll() is None for c in self._children)

    @property
    def pids(self) -> tuple[int, ...]:
        """Process ids of the servers this object started and has not stopped yet, in start order (etcd first)."""
        return tuple(child.proc.pid for child in self._children)

    def dead(self) -> list[str]:
        """Names of the servers started by this object that have exited on their own."""
        return [child.name for child in self._children if child.proc.poll() is not None]

    def ca_pem(self) -> str:
        """PEM of the CA that signed the API server's certificate (creates the PKI if needed)."""
        self._ensure_pki()
        return self._pki.ca_cert.read_text()

    def token(self) -> str:
        """The admin bearer token (user in group system:masters; creates the PKI if needed)."""
        self._ensure_pki()
        return self._pki.admin_token.read_text().strip()

    def kubeconfig(self) -> str:
        """Kubeconfig YAML: CA embedded as certificate-authority-data, the admin token, and a current
        context named "local" with namespace "default". Self-contained: valid wherever it is copied."""
        ca_data = base64.b64encode(self.ca_pem().encode()).decode()
        return _kubeconfig_yaml(self.server, ca_data, _ADMIN_USER, {"token": self.token()})

    def write_kubeconfig(self, path: Path) -> None:
        """Write kubeconfig() to ``path`` with mode 0600 (it holds an admin token), replacing it atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_private(path, self.kubeconfig())

    def start(self, timeout: float = 120) -> None:
        """Start the servers in order, each once the previous is ready, within ``timeout`` seconds in all."""
        if self._children:
            raise KubeStartError(f"LocalKube on {self.state_dir} is already started")
        etcd_bin, apiserver_bin = binaries()
        manager_bin, scheduler_bin = controller_binaries() if self.controllers else (None, None)
        deadline = time.monotonic() + timeout
        self._acquire_state_dir()
        try:
            self._check_ports()
            self._ensure_pki()
            etcd = self._start_child("etcd", self._etcd_argv(etcd_bin))
            self._wait_ready(etcd, self._etcd_healthy, deadline)
            apiserver = self._start_child("kube-apiserver", self._apiserver_argv(apiserver_bin))
            self._wait_ready(apiserver, self._apiserver_ready, deadline)
            if manager_bin is not None and scheduler_bin is not None:
                self._write_controller_kubeconfigs()
                manager = self._start_child(_CONTROLLER_MANAGER, self._controller_manager_argv(manager_bin))
                self._start_child(_SCHEDULER, self._scheduler_argv(scheduler_bin))
                self._wait_ready(manager, self._service_account_token_exists, deadline)
        except BaseException:
            self.stop()
            raise
        atexit.register(self.stop)

    def stop(self) -> None:
        """Stop every server, the last started first (the API server needs etcd to shut down cleanly, the
        controllers need the API server). Idempotent."""
        atexit.unregister(self.stop)
        while self._children:
            _terminate(self._children.pop(), _STOP_GRACE_SECONDS)
        self._release_state_dir()

    def restart_apiserver(self, timeout: float = 60) -> None:
        """Stop the kube-apiserver if it still runs and start it again in its place (etcd keeps every object);
        returns once it is ready. The local stack does this when the API server exits on its own."""
        index = next(i for i, c in enumerate(self._children) if c.name == "kube-apiserver")
        old = self._children[index]
        _terminate(old, _STOP_GRACE_SECONDS)
        child = _spawn(old.name, [str(a) for a in old.proc.args], old.log_path, old.pid_file)  # type: ignore[union-attr]
        self._children[index] = child
        self._wait_ready(child, self._apiserver_ready, time.monotonic() + timeout)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals --------------------------------------------------------------------------------

    def _ensure_pki(self) -> None:
        if not self._pki_ready:
            _ensure_pki(self._pki)
            self._pki_ready = True

    def _acquire_state_dir(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir.chmod(0o700)
        lock = open(self.state_dir / "lock", "wb")  # noqa: SIM115 - held until stop()
        try:
            # The lock dies with its holder; the servers do not inherit it (Popen closes fds), so a
            # crashed owner frees the dir while its servers live on, and those are cleaned up below.
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise KubeStartError(f"{self.state_dir} is in use by another running LocalKube") from None
        self._lock = lock
        for name in (_SCHEDULER, _CONTROLLER_MANAGER, "kube-apiserver", "etcd"):
            # The trailing slash keeps /x/kube from matching a server of /x/kube2.
            _kill_stale(self._run_dir / f"{name}.pid", f"{self.state_dir}/")

    def _release_state_dir(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing drops the flock
            self._lock = None

    def _check_ports(self) -> None:
        busy = [f"{name}={port}" for name, port in dataclasses.asdict(self.ports).items() if not _port_is_free(port)]
        if busy:
            raise KubeStartError(f"loopback port(s) already in use: {', '.join(busy)}")

    def _start_child(self, name: str, argv: list[str]) -> _Child:
        child = _spawn(name, argv, self.log_dir / f"{name}.log", self._run_dir / f"{name}.pid")
        self._children.append(child)
        return child

    def _wait_ready(self, child: _Child, probe: _Probe, deadline: float) -> None:
        """Poll ``probe`` until it is true; fail fast if the child exits, or at the deadline."""
        while True:
            code = child.proc.poll()
            if code is not None:
                raise KubeStartError(
                    f"{child.name} exited with code {code} during start; log {child.log_path}:\n"
                    + _log_tail(child.log_path)
                )
            if probe():
                return
            if time.monotonic() >= deadline:
                raise KubeStartError(
                    f"{child.name} not ready before the timeout; log {child.log_path}:\n" + _log_tail(child.log_path)
                )
            time.sleep(_POLL_SECONDS)

    def _etcd_healthy(self) -> bool:
        body = _http_get(f"http://127.0.0.1:{self.ports.etcd}/health", headers={}, context=None)
        try:
            return body is not None and json.loads(body).get("health") == "true"
        except ValueError:
            return False

    def _apiserver_ready(self) -> bool:
        context = ssl.create_default_context(cadata=self.ca_pem())
        headers = {"Authorization": f"Bearer {self.token()}"}
        return _http_get(f"{self.server}/readyz", headers=headers, context=context) == b"ok"

    def _service_account_token_exists(self) -> bool:
        """The controller-manager is up and signs tokens: the ``default`` service account has its token Secret."""
        context = ssl.create_default_context(cadata=self.ca_pem())
        headers = {"Authorization": f"Bearer {self.token()}"}
        url = f"{self.server}/api/v1/namespaces/default/serviceaccounts/default"
        body = _http_get(url, headers=headers, context=context)
        try:
            return body is not None and bool(json.loads(body).get("secrets"))
        except ValueError:
            return False

    def _write_controller_kubeconfigs(self) -> None:
        """One kubeconfig per controller, naming its client certificate and key by path (they stay in the PKI)."""
        ca_data = base64.b64encode(self.ca_pem().encode()).decode()
        for component, user in ((_CONTROLLER_MANAGER, _CONTROLLER_MANAGER_USER), (_SCHEDULER, _SCHEDULER_USER)):
            credentials = {
                "client-certificate": str(self._pki.client_cert(component)),
                "client-key": str(self._pki.client_key(component)),
            }
            _write_private(self._pki.kubeconfig(component), _kubeconfig_yaml(self.server, ca_data, user, credentials))

    def _controller_manager_argv(self, binary: Path) -> list[str]:
        pki = self._pki
        return [
            str(binary),
            f"--kubeconfig={pki.kubeconfig(_CONTROLLER_MANAGER)}",
            "--leader-elect=false",
            "--port=0",
            "--secure-port=0",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={pki.sa_key}",
            f"--root-ca-file={pki.ca_cert}",
            "--enable-garbage-collector=true",
            "--controllers=*",
            # Each controller has its own client (service-account credentials); the defaults (20 QPS) make a
            # burst of installs wait on the client-side rate limiter, which a test run feels.
            "--kube-api-qps=100",
            "--kube-api-burst=200",
            "--profiling=false",
        ]

    def _scheduler_argv(self, binary: Path) -> list[str]:
        return [
            str(binary),
            f"--kubeconfig={self._pki.kubeconfig(_SCHEDULER)}",
            "--leader-elect=false",
            "--port=0",
            "--secure-port=0",
            "--profiling=false",
        ]

    def _etcd_argv(self, etcd: Path) -> list[str]:
        client = f"http://127.0.0.1:{self.ports.etcd}"
        peer = f"http://127.0.0.1:{self.ports.etcd_peer}"
        return [
            str(etcd),
            "--name=charthouse",
            f"--data-dir={self._etcd_data}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=charthouse={peer}",
            "--logger=zap",
            # A single member on loopback has no peer to wait for: a short election timeout lets it elect
            # itself sooner after (re)start. Defaults are sized for networks between machines.
            "--heartbeat-interval=10",
            "--election-timeout=100",
            # A throwaway dev store: losing the last writes on a machine crash is fine, fsync latency is not.
            "--unsafe-no-fsync",
            f"--quota-backend-bytes={_ETCD_QUOTA_BYTES}",
        ]

    def _apiserver_argv(self, apiserver: Path) -> list[str]:
        pki = self._pki
        # Without a controller-manager nothing mints service-account tokens, so that admission would reject Pods.
        admission = [] if self.controllers else ["--disable-admission-plugins=ServiceAccount"]
        return [
            str(apiserver),
            f"--etcd-servers=http://127.0.0.1:{self.ports.etcd}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.ports.api}",
            "--insecure-port=0",
            f"--tls-cert-file={pki.server_cert}",
            f"--tls-private-key-file={pki.server_key}",
            f"--client-ca-file={pki.ca_cert}",
            f"--token-auth-file={pki.tokens_csv}",
            "--authorization-mode=RBAC",
            f"--service-account-issuer={_SA_ISSUER}",
            f"--api-audiences={_SA_ISSUER}",
            f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
            f"--service-cluster-ip-range={_SERVICE_CIDR}",
            *admission,
            # Nothing else should write the `kubernetes` Endpoints; without this the server keeps
            # reconciling them against a lease nobody renews.
            "--endpoint-reconciler-type=none",
            "--allow-privileged=true",
            f"--cert-dir={self.state_dir / 'apiserver-certs'}",
            "--profiling=false",
        ]


def _http_get(url: str, headers: dict[str, str], context: ssl.SSLContext | None) -> bytes | None:
    """GET ``url``; the body on HTTP 200, None on any connection or HTTP error (i.e. "not ready yet")."""
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]  # loopback: never proxy
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(url, headers=headers)
    try:
        with opener.open(request, timeout=2) as response:
            body: bytes = response.read()
            return body if response.status == 200 else None
    except (urllib.error.URLError, OSError, ValueError):
        return None
