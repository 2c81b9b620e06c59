"""The PUT to a presigned URL, against a small HTTP server on loopback: the body as given, an empty Content-Type
(what the signature expects), and a refusal raised as OSError."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from chalicelib.adapters.http import presigned


class Receiver:
    """Records each PUT; answers 200, or 403 on paths under /refused."""

    def __init__(self) -> None:
        self.puts: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.puts.append({"path": self.path, "type": self.headers.get("Content-Type"), "body": body})
                self.send_response(403 if self.path.startswith("/refused") else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def test_put_sends_the_body_with_an_empty_content_type(receiver: Receiver) -> None:
    presigned.put(receiver.url + "/response?X-Amz-Signature=abc", b'{"Status": "SUCCESS"}')
    assert receiver.puts == [{"path": "/response?X-Amz-Signature=abc", "type": "", "body": b'{"Status": "SUCCESS"}'}]


def test_a_refused_put_raises_oserror(receiver: Receiver) -> None:
    with pytest.raises(OSError):
        presigned.put(receiver.url + "/refused", b"{}")
    assert len(receiver.puts) == 1
