"""The AWS emulator process: moto's WSGI application, served one request at a time.

moto's DynamoDB copies a table before each transaction and puts the copy back when the transaction is cancelled
(every 409 ReleaseLocked is one), so with concurrent requests it can undo other writers' items. Real DynamoDB
does not; serialising requests makes the emulator behave like it. Workers therefore poll the queue without long
polling (a long poll would hold the lock).

    python -m devstack.moto_server PORT
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def serialised(app: Wsgi) -> Wsgi:
    lock = threading.Lock()

    def call(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with lock:
            return list(app(environ, start_response))  # read the whole body inside the lock

    return call


def main(argv: list[str]) -> int:
    port = int(argv[1])
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request is noise
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, serialised(app), threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
