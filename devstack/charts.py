"""A Helm chart repository on loopback: charts packaged with the real helm, an ``index.yaml`` written by the real
``helm repo index``, served over HTTP or HTTPS, optionally private.

The local stack serves ``examples/charts`` this way (a public server, whose archive URLs the README's curl
examples use, and a private repository with basic auth); the end-to-end tests serve the charts they write.

``ChartServer(www, helm, port)`` serves the directory ``www`` at ``base_url`` (``http://127.0.0.1:<port>``):

* ``package(chart_dir, sign=None) -> str``: ``helm package`` into ``www`` (``--sign`` with a :class:`SignWith`,
  which also writes ``<archive>.prov``), then regenerates ``index.yaml``; returns the archive's URL.
* ``add(archive) -> str``: copy an existing ``.tgz`` (and its ``.prov`` beside it, if any) in, reindex, URL.
* ``index()``: ``helm repo index www --url base_url`` (every archive in ``www``; called by the two above).
* ``url(archive) -> str``, ``base_url``, ``index_url``, ``close()``.

Keyword options: ``username`` + ``password`` (HTTP basic auth) and/or ``token`` (``Authorization: Bearer``):
when any is set, every request must carry one of them, else ``401`` with ``WWW-Authenticate: Basic``;
``tls`` (a :class:`devstack.tls.TlsFiles`) serves HTTPS with that certificate (clients trust ``tls.ca``);
``client_ca`` (with ``tls``) also requires a client certificate signed by that CA (mutual TLS; see
:func:`devstack.tls.client_tls`): a client without one fails the handshake.
"""

from __future__ import annotations

import base64
import functools
import hmac
import http.server
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .tls import TlsFiles

HELM_TIMEOUT_S = 60


@dataclass(frozen=True)
class SignWith:
    """What ``helm package --sign`` needs: a legacy GPG secret keyring and the signing key's name (uid)."""

    keyring: Path  # secring.gpg (``gpg --export-secret-keys``), passphrase-less
    key: str  # a name or email of the key's uid


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files from the repository directory; refuses requests without the configured credentials."""

    server: _RepoHttpServer
    timeout = 30  # seconds a connection may idle (also bounds a stalled TLS handshake)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self._authorized():
            super().do_GET()

    def do_HEAD(self) -> None:
        if self._authorized():
            super().do_HEAD()

    def list_directory(self, path: Any) -> None:  # no listings: a chart repository answers with index.yaml
        self.send_error(404, "Not found")

    def _authorized(self) -> bool:
        accepted = self.server.accepted
        if not accepted:
            return True
        given = self.headers.get("Authorization", "")
        if any(hmac.compare_digest(given.encode(), a.encode()) for a in accepted):
            return True
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="charthouse charts"')
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "13")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(b"unauthorized\n")
        return False


class _RepoHttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, port: int, handler: Callable[..., _Handler], accepted: tuple[str, ...], context: ssl.SSLContext | None
    ) -> None:
        self.accepted = accepted
        self.context = context
        super().__init__(("127.0.0.1", port), handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A refused TLS handshake (no or a wrong client certificate) or a client hanging up is not a server error.
        if not isinstance(sys.exc_info()[1], ssl.SSLError | ConnectionError | TimeoutError):
            super().handle_error(request, client_address)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        if self.context is not None:
            # The handshake happens on the handler's thread (first read), so a slow client never stalls accept().
            sock = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr


class ChartServer:
    def __init__(
        self,
        www: Path,
        helm: Path,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        tls: TlsFiles | None = None,
        client_ca: Path | None = None,
    ) -> None:
        if (username is None) != (password is None):
            raise ValueError("username and password go together")
        if client_ca is not None and tls is None:
            raise ValueError("client_ca needs tls")
        self.www = www
        self.helm = helm
        self.port = port
        self.username = username
        self.password = password
        self.token = token
        self.tls = tls
        self.client_ca = client_ca
        www.mkdir(parents=True, exist_ok=True)
        accepted: list[str] = []
        if username is not None and password is not None:
            accepted.append("Basic " + base64.b64encode(f"{username}:{password}".encode()).decode())
        if token is not None:
            accepted.append(f"Bearer {token}")
        context = None
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls.cert, tls.key)
            if client_ca is not None:
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(cafile=str(client_ca))
        handler = functools.partial(_Handler, directory=str(www))
        self._httpd = _RepoHttpServer(port, handler, tuple(accepted), context)
        self._lock = threading.Lock()  # one helm package/index at a time: index.yaml is rewritten each time
        threading.Thread(target=self._httpd.serve_forever, daemon=True, name=f"charts-{port}").start()

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def index_url(self) -> str:
        return f"{self.base_url}/index.yaml"

    def url(self, archive: str) -> str:
        return f"{self.base_url}/{archive}"

    def package(self, chart_dir: Path, sign: SignWith | None = None) -> str:
        """``helm package`` the chart into the served directory (signed: plus ``.prov``), reindex; its URL."""
        argv = ["package", str(chart_dir), "-d", str(self.www)]
        if sign is not None:
            argv += ["--sign", "--keyring", str(sign.keyring), "--key", sign.key]
        with self._lock:
            out = self._helm(*argv)
            # "Successfully packaged chart and saved it to: .../x.tgz"
            archive = out.strip().splitlines()[-1].rsplit("/", 1)[-1]
            self._index()
        return self.url(archive)

    def add(self, archive: Path) -> str:
        """Serve an existing archive (and ``<archive>.prov`` when it exists); reindex; its URL."""
        with self._lock:
            shutil.copy2(archive, self.www / archive.name)
            prov = archive.with_name(archive.name + ".prov")
            if prov.exists():
                shutil.copy2(prov, self.www / prov.name)
            self._index()
        return self.url(archive.name)

    def index(self) -> None:
        """Regenerate ``index.yaml`` from every archive in the directory, URLs under ``base_url``."""
        with self._lock:
            self._index()

    def _index(self) -> None:
        self._helm("repo", "index", str(self.www), "--url", self.base_url)

    def _helm(self, *args: str) -> str:
        done = subprocess.run(
            [str(self.helm), *args],
            capture_output=True,
            text=True,
            timeout=HELM_TIMEOUT_S,
            env={"HOME": str(self.www.parent), "PATH": "/usr/bin:/bin"},
        )
        if done.returncode != 0:
            raise RuntimeError(f"helm {args[0]} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
