"""A real OCI registry on loopback for Helm charts: Debian's ``docker-registry`` (CNCF distribution 2.8) as our own
process, with a generated config in a state directory.

``OciRegistry(state_dir, port, username=None, password=None)``; ``start()`` / ``stop()`` (also a context manager).

* Storage: the filesystem, ``<state_dir>/data`` (kept across restarts).
* Auth: with ``username`` + ``password``, htpasswd basic auth (a bcrypt entry written by ``htpasswd -B``, from
  apache2-utils); without them, anonymous (anyone may pull and push).
* TLS: by default a certificate for 127.0.0.1 signed by a CA from :func:`devstack.tls.local_tls`
  (``<state_dir>/tls``, or the ``tls`` given); ``plain_http=True`` serves plain HTTP instead (helm then needs
  ``--plain-http``); ``client_tls=`` (a :func:`devstack.tls.client_tls`) also requires a client certificate signed by
  ``client_tls.ca`` (mutual TLS); ``tls_args()``, ``push`` and ``login`` then present ``client_tls.cert``/``.key``.

Attributes: ``host`` (``127.0.0.1:PORT``), ``url`` (``oci://127.0.0.1:PORT/charts``, where :meth:`push` puts
charts), ``base_url`` (``https://127.0.0.1:PORT``), ``ca_file`` / ``ca_pem`` (None with ``plain_http``),
``username``, ``password``, ``log_file`` (the registry's own log; default ``<state_dir>/registry.log``).

``push(helm, chart_tgz) -> PushedChart`` runs ``helm registry login`` (password on stdin) and ``helm push`` with a
throwaway ``HOME``/``HELM_CONFIG_HOME``; ``PushedChart.ref`` is ``oci://127.0.0.1:PORT/charts/<name>``, to use with
``--version``. ``login(helm, home)`` logs a given helm home in (for ``helm install oci://...`` afterwards);
``tls_args()`` is ``["--ca-file", ca]`` (or ``["--plain-http"]``) for any helm command that talks to it.
"""

from __future__ import annotations

import logging
import re
import secrets
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import yaml

from .tls import TlsFiles, local_tls

log = logging.getLogger(__name__)
REGISTRY_BINARY = Path("/usr/bin/docker-registry")
REPOSITORY = "charts"
HELM_TIMEOUT_S = 120


class RegistryMissing(RuntimeError):
    """The registry binary (or htpasswd) is not installed: run scripts/install-registry.sh (make setup does)."""


@dataclass(frozen=True)
class PushedChart:
    ref: str  # oci://127.0.0.1:PORT/charts/<name> (no tag: pass the version separately, as helm wants)
    name: str
    version: str
    digest: str  # sha256:... of the manifest, as `helm push` reported it


class OciRegistry:
    def __init__(
        self,
        state_dir: Path,
        port: int,
        username: str | None = None,
        password: str | None = None,
        *,
        tls: TlsFiles | None = None,
        plain_http: bool = False,
        client_tls: TlsFiles | None = None,
        log_file: Path | None = None,
        binary: Path = REGISTRY_BINARY,
    ) -> None:
        if (username is None) != (password is None):
            raise ValueError("username and password go together")
        self.state_dir = state_dir
        self.port = port
        self.username = username
        self.password = password
        self.plain_http = plain_http
        if client_tls is not None and plain_http:
            raise ValueError("client_tls needs TLS")
        self.client_tls = client_tls
        self.binary = binary
        self._tls = tls
        self.log_file = log_file or state_dir / "registry.log"
        self._proc: subprocess.Popen[bytes] | None = None

    # ------------------------------------------------------------ addresses

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"oci://{self.host}/{REPOSITORY}"

    @property
    def base_url(self) -> str:
        return f"{'http' if self.plain_http else 'https'}://{self.host}"

    @property
    def tls(self) -> TlsFiles | None:
        if self.plain_http:
            return None
        if self._tls is None:
            self._tls = local_tls(self.state_dir / "tls", "charthouse local registry")
        return self._tls

    @property
    def ca_file(self) -> Path | None:
        return self.tls.ca if self.tls else None

    @property
    def ca_pem(self) -> str | None:
        return self.tls.ca_pem if self.tls else None

    def tls_args(self) -> list[str]:
        """What a helm command talking to this registry needs for its transport (CA, client certificate)."""
        if self.tls is None:
            return ["--plain-http"]
        client = (
            ["--cert-file", str(self.client_tls.cert), "--key-file", str(self.client_tls.key)]
            if self.client_tls
            else []
        )
        return ["--ca-file", str(self.tls.ca), *client]

    # ------------------------------------------------------------ lifecycle

    def start(self, timeout: float = 20) -> None:
        if not self.binary.exists():
            raise RegistryMissing(f"{self.binary} is missing: run scripts/install-registry.sh (make setup does)")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        with open(self.log_file, "ab") as out:
            self._proc = subprocess.Popen(
                [str(self.binary), "serve", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={"PATH": "/usr/bin:/bin", "HOME": str(self.state_dir)},
            )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> OciRegistry:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _write_config(self) -> Path:
        http: dict[str, object] = {
            "addr": self.host,
            "secret": secrets.token_hex(16),
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        }
        if self.tls is not None:
            http["tls"] = {
                "certificate": str(self.tls.cert),
                "key": str(self.tls.key),
                **({"clientcas": [str(self.client_tls.ca)]} if self.client_tls else {}),
            }
        config: dict[str, object] = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}, "fields": {"service": "registry"}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.state_dir / "data")},
                "delete": {"enabled": True},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": http,
        }
        if self.username is not None and self.password is not None:
            config["auth"] = {"htpasswd": {"realm": "charthouse-registry", "path": str(self._write_htpasswd())}}
        path = self.state_dir / "config.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)
        return path

    def _write_htpasswd(self) -> Path:
        tool = shutil.which("htpasswd")
        if tool is None:
            raise RegistryMissing("htpasswd is missing: run scripts/install-registry.sh (apache2-utils)")
        # -n: print, -i: password from stdin (never on a command line), -B: bcrypt (the only hash distribution reads)
        done = subprocess.run(
            [tool, "-niB", str(self.username)],
            input=f"{self.password}\n",
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        path = self.state_dir / "htpasswd"
        path.write_text(done.stdout.strip() + "\n")
        path.chmod(0o600)
        return path

    def _wait_ready(self, timeout: float) -> None:
        context = ssl.create_default_context(cafile=str(self.tls.ca)) if self.tls else None
        if context is not None and self.client_tls is not None:
            context.load_cert_chain(self.client_tls.cert, self.client_tls.key)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited; see {self.log_file}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/v2/", timeout=2, context=context):
                    return
            except urllib.error.HTTPError as err:
                if err.code == 401:  # up, and asking for credentials
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"docker-registry did not answer within {timeout:.0f} s; see {self.log_file}")

    # ------------------------------------------------------------ helm

    def login(self, helm: Path, home: Path) -> None:
        """``helm registry login`` into this helm home (``HOME`` and ``HELM_CONFIG_HOME``); no-op when anonymous."""
        if self.username is None or self.password is None:
            return
        _helm(
            helm,
            home,
            ["registry", "login", self.host, "--username", self.username, "--password-stdin", *self.tls_args()],
            stdin=self.password,
        )

    def push(self, helm: Path, chart_tgz: Path) -> PushedChart:
        """Log in and ``helm push`` the archive to ``<url>``, with a throwaway helm home."""
        with tempfile.TemporaryDirectory(prefix="helm-push-") as tmp:
            home = Path(tmp)
            self.login(helm, home)
            out = _helm(helm, home, ["push", str(chart_tgz), self.url, *self.tls_args()])
        pushed = re.search(r"Pushed:\s*(\S+):(\S+)", out)
        digest = re.search(r"Digest:\s*(\S+)", out)
        if pushed is None:
            raise RuntimeError(f"helm push printed no 'Pushed:' line: {out!r}")
        name = pushed.group(1).rsplit("/", 1)[-1]
        return PushedChart(
            ref=f"oci://{pushed.group(1)}", name=name, version=pushed.group(2), digest=digest.group(1) if digest else ""
        )


def helm_env(home: Path) -> dict[str, str]:
    """A private helm home: config (registry logins, repositories), cache and data all inside ``home``."""
    return {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_DATA_HOME": str(home / "data"),
    }


def _helm(helm: Path, home: Path, args: list[str], stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(helm), *args], input=stdin, capture_output=True, text=True, timeout=HELM_TIMEOUT_S, env=helm_env(home)
    )
    if done.returncode != 0:
        raise RuntimeError(f"helm {' '.join(args[:2])} failed ({done.returncode}): {done.stderr.strip()}")
    # helm 3 prints "Pushed:"/"Digest:" on stderr, helm 4 on stdout: callers parse both.
    return done.stdout + done.stderr
