"""A real Git server on loopback: Debian git's ``git-http-backend`` (smart HTTP, clone/fetch/push) behind a small
threaded HTTP server that asks for basic auth, so runtimes read a repository the way they would read GitLab's.

``GitServer(root, port, username, password)`` serves the bare repositories under ``root``; ``create(name)`` makes
``<name>.git`` (push allowed, any commit id fetchable: ``uploadpack.allowAnySHA1InWant``) and returns its URL
(``http://127.0.0.1:<port>/<name>.git``, no credentials in it). The local stack creates ``deploy.git`` and
writes the URL and credentials to ``<state>/git-credentials.json`` (0600); clone and push with
``git -c http.extraHeader="Authorization: Basic ..."`` or a credential helper, or use :func:`commit_files`.
"""

from __future__ import annotations

import base64
import hmac
import http.server
import os
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

BACKEND = Path("/usr/lib/git-core/git-http-backend")
GIT = "git"
TIMEOUT_S = 60
MAX_BODY = 64 << 20


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _GitHttpServer
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._cgi()

    def do_POST(self) -> None:
        self._cgi()

    def _cgi(self) -> None:
        given = self.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), self.server.accepted.encode()):
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="charthouse git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.send_error(413)
            return
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": self.server.username,
            "REMOTE_ADDR": self.client_address[0],
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
        }
        done = subprocess.run([str(BACKEND)], input=body, env=env, capture_output=True, timeout=TIMEOUT_S, check=False)
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = done.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                headers.append((key.strip(), value.strip()))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _GitHttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, root: Path, username: str, password: str) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.root = root
        self.username = username
        self.accepted = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


class GitServer:
    def __init__(self, root: Path, port: int, username: str, password: str) -> None:
        if not BACKEND.exists():
            raise RuntimeError(f"{BACKEND} is missing: install Debian's git (make setup does)")
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.username = username
        self.password = password
        self._httpd = _GitHttpServer(port, root, username, password)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def create(self, name: str) -> str:
        """A bare repository ``<name>.git`` (kept if it exists); its URL."""
        repo = self.root / f"{name}.git"
        if not repo.exists():
            _git(["init", "--bare", "--initial-branch=main", str(repo)])
            for key, value in (("http.receivepack", "true"), ("uploadpack.allowAnySHA1InWant", "true")):
                _git(["--git-dir", str(repo), "config", key, value])
        return f"{self.base_url}/{name}.git"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _git(args: list[str], cwd: Path | None = None) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "charthouse",
        "GIT_AUTHOR_EMAIL": "charthouse@localhost",
        "GIT_COMMITTER_NAME": "charthouse",
        "GIT_COMMITTER_EMAIL": "charthouse@localhost",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
    }
    done = subprocess.run(
        [GIT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {args[0]} failed: {done.stderr.strip()[:500]}")
    return done.stdout.strip()


def commit_files(url: str, username: str, password: str, files: dict[str, str | None], message: str) -> str:
    """Clone ``url`` (main), write ``files`` (None deletes one), commit and push over HTTP; the new commit id."""
    auth = "Authorization: Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    with tempfile.TemporaryDirectory(prefix="charthouse-git-") as tmp:
        work = Path(tmp) / "work"
        _git(["-c", f"http.extraHeader={auth}", "clone", "--quiet", url, str(work)])
        _git(["checkout", "-B", "main"], cwd=work)
        for name, text in files.items():
            path = work / name
            if text is None:
                path.unlink(missing_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        _git(["add", "-A"], cwd=work)
        _git(["commit", "--quiet", "--allow-empty", "-m", message], cwd=work)
        _git(["-c", f"http.extraHeader={auth}", "push", "--quiet", "origin", "main"], cwd=work)
        return _git(["rev-parse", "HEAD"], cwd=work)
