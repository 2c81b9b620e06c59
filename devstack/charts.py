"""A chart archive server on loopback: charts packaged with the real helm, served over plain HTTP.

The local stack serves ``examples/charts`` this way so the README's curl examples have a chart URL that works
on a machine with no internet; the end-to-end tests serve the charts they write.
"""

from __future__ import annotations

import functools
import http.server
import subprocess
import threading
from pathlib import Path
from typing import Any


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class ChartServer:
    def __init__(self, www: Path, helm: Path, port: int) -> None:
        self.www = www
        self.helm = helm
        self.port = port
        www.mkdir(parents=True, exist_ok=True)
        handler = functools.partial(_QuietHandler, directory=str(www))
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def package(self, chart_dir: Path) -> str:
        """``helm package`` the chart into the served directory; returns its URL."""
        done = subprocess.run(
            [str(self.helm), "package", str(chart_dir), "-d", str(self.www)],
            capture_output=True, text=True, check=True, timeout=60,
            env={"HOME": str(self.www.parent), "PATH": "/usr/bin:/bin"},
        )  # fmt: skip
        archive = done.stdout.strip().rsplit("/", 1)[-1]  # "Successfully packaged chart and saved it to: .../x.tgz"
        return self.url(archive)

    def url(self, archive: str) -> str:
        return f"http://127.0.0.1:{self.port}/{archive}"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
