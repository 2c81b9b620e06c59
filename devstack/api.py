"""The local stack's API server: Chalice's own local server (what ``chalice local`` runs) in N processes on one port.

``chalice local`` serves every request on a thread of one Python process, so however many cores the machine has,
concurrent requests share one interpreter's lock: one core's worth of Python. Its listen backlog is also
socketserver's default of 5: a burst of more connections than that waits for the client's SYN to be sent again (a
second or more). Deployed, each request has a Lambda container to itself, so neither limit exists there.

Here the listening socket is bound once with a backlog of ``BACKLOG``, then ``processes - 1`` children are forked
after the app is imported (nothing in it has opened a connection yet: ``chalicelib.bootstrap`` builds its clients
on the first request). Every process serves the same socket with Chalice's own request handler and gateway (the
same event, routing and authorizer code as ``chalice local``), threads inside each; an idle process takes the next
connection. The parent stops its children on SIGTERM/SIGINT, and a child dies with its parent (``PR_SET_PDEATHSIG``).

    python -m devstack.api --stage local --port 8000 --processes 2
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import signal
import socketserver
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BACKLOG = 128
PR_SET_PDEATHSIG = 1


def server_class() -> type[socketserver.TCPServer]:
    """Chalice's threaded server with a real backlog, taking connections off a shared non-blocking socket."""
    from chalice.local import ThreadedHTTPServer

    class Server(ThreadedHTTPServer):
        request_queue_size = BACKLOG
        allow_reuse_address = True

    return Server


def build(stage: str, host: str, port: int) -> Any:
    """The ``LocalDevServer`` of ``chalice local --stage <stage>``, bound (and listening) but not serving yet."""
    from chalice.cli import factory as chalice_factory
    from chalice.deploy.validate import validate_routes
    from chalice.local import CustomLocalChalice, LocalChalice, LocalDevServer

    factory = chalice_factory.CLIFactory(str(ROOT), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    app = config.chalice_app
    validate_routes(app.routes)
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)  # what chalice.local.create_local_server does
    app.__class__ = CustomLocalChalice
    return LocalDevServer(app, config, host, port, server_cls=server_class())


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the parent's SIGTERM handler still stops the children
        pass


def serve(stage: str, host: str, port: int, processes: int) -> None:
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")  # as chalice local
    server = build(stage, host, port)
    server.server.socket.setblocking(False)  # a process that loses the race for a connection goes back to select
    children: list[int] = []
    for _ in range(max(1, processes) - 1):
        pid = os.fork()
        if pid == 0:
            _die_with_parent()
            children.clear()
            break
        children.append(pid)

    def stop(signum: int, _frame: Any) -> None:
        for child in children:
            try:
                os.kill(child, signal.SIGTERM)
            except ProcessLookupError:
                pass
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if children:
        print(f"Serving on http://{host}:{port} ({processes} processes)", flush=True)
    server.server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m devstack.api", description="The local API (chalice local, N processes)."
    )
    p.add_argument("--stage", default="local")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--processes", type=int, default=1, help="processes serving the port (default 1)")
    a = p.parse_args(argv)
    os.environ["AWS_CHALICE_CLI_MODE"] = "true"  # as the chalice CLI sets it
    serve(a.stage, a.host, a.port, a.processes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
