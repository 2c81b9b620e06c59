"""The AWS emulator process for SQS, S3, Secrets Manager and EventBridge: moto's WSGI application on threads.

DynamoDB is not served here but by AWS's DynamoDB Local (``devstack.dynamodb``): moto's DynamoDB restores a copy
of the table when a transaction is cancelled, which under concurrency undoes other writers' items, so requests had
to be served one at a time. Nothing here needs that any more, and the workers long-poll the queue.

moto's own long poll of a FIFO queue spins while a message is visible but its group is in flight, and it reads the
groups in flight once per poll, so a group's next message waited for the poll's end. ``long_poll`` replaces it:
each attempt is moto's own immediate receive, made under the queue's lock (two pollers never take one message), and
between attempts the poller sleeps on the queue's condition, which a new message or a deletion wakes.

    python -m devstack.moto_server PORT
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.sqs import models as sqs
from werkzeug.serving import run_simple

RECHECK_S = 1.0  # a message whose visibility timeout ends becomes receivable without a wake-up: look again


def long_poll() -> None:
    """Patch moto's SQS backend as the module's docstring says (moto 5.2, requirements-dev.txt)."""
    receive = sqs.SQSBackend.receive_message
    delete = sqs.Queue.delete_message

    def receive_message(
        self: Any,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[Any]:
        queue = self.get_queue(queue_name)
        deadline = time.monotonic() + (wait_seconds_timeout or 0)
        with queue._messages_lock:  # noqa: SLF001 - moto's condition, notified when a message is added
            while True:
                got: list[Any] = receive(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
                left = deadline - time.monotonic()
                if got or left <= 0:
                    return got
                queue._messages_lock.wait(min(left, RECHECK_S))  # noqa: SLF001

    def delete_message(self: Any, receipt_handle: str) -> None:
        with self._messages_lock:
            delete(self, receipt_handle)
            self._messages_lock.notify_all()  # the next message of its group may be received now

    sqs.SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
    sqs.Queue.delete_message = delete_message  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    port = int(argv[1])
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request is noise
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    long_poll()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, app, threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
