"""A fake Charthouse API on loopback, answering from a script, for the CLI's unit tests; ``run`` runs the CLI
against it."""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from charthouse_cli.main import main

OP = {
    "id": "op-1",
    "action": "install",
    "status": "queued",
    "created_at": "2026-11-21T10:00:00+00:00",
    "updated_at": "2026-11-21T10:00:00+00:00",
    "release": {"cluster": "local", "namespace": "default", "name": "web"},
}


class FakeApi:
    """Answers from a script: ``routes[(METHOD, path)]`` is a list of (status, body, headers), used in turn
    (the last one repeats). Every request is recorded with its headers and decoded body."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[tuple[int, Any, dict[str, str]]]] = {}
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                route, _, query = self.path.partition("?")
                body: Any = raw
                if self.headers.get("Content-Type") == "application/json" and raw:
                    body = json.loads(raw)
                fake.requests.append(
                    {
                        "method": self.command,
                        "path": route,
                        "query": query,
                        "headers": dict(self.headers.items()),
                        "body": body,
                    }
                )
                answers = fake.routes.get((self.command, route)) or [
                    (404, {"error": {"code": "NotFound", "message": f"no route {route}", "details": {}}}, {})
                ]
                status, data, headers = answers.pop(0) if len(answers) > 1 else answers[0]
                payload = b"" if data is None else json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def on(self, method: str, path: str, *answers: tuple[int, Any] | tuple[int, Any, dict[str, str]]) -> None:
        self.routes[(method, path)] = [(a[0], a[1], a[2] if len(a) > 2 else {}) for a in answers]  # type: ignore[misc]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def run(api: FakeApi | None, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    endpoint = ["--endpoint", api.url] if api else []
    code = main([*argv, *endpoint], stdout=out, stderr=err, stdin=io.StringIO(stdin))
    return code, out.getvalue(), err.getvalue()


def op(status: str, **more: Any) -> dict[str, Any]:
    return {**OP, "status": status, **more}


def chart_archive(name: str = "demo", version: str = "1.0.0") -> bytes:
    """A real, tiny packaged chart (``<name>/Chart.yaml`` and one template)."""
    import gzip
    import tarfile

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for path, text in (
            ("Chart.yaml", f"apiVersion: v2\nname: {name}\nversion: {version}\n"),
            ("templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"),
        ):
            data = text.encode()
            info = tarfile.TarInfo(f"{name}/{path}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)
