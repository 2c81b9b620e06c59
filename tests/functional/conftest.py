"""Functional tests: the Chalice app through chalice.test.Client, AWS emulated in-process by moto, helm faked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from chalice.local import LambdaContext
from chalice.test import Client
from moto import mock_aws

from chalicelib import bootstrap
from chalicelib.adapters.store import table_definition
from chalicelib.config import QUEUE_NAME, Settings
from tests.emulated import KUBECONFIG
from tests.fakes import FakeGit, FakeHelm

BUCKET = "charthouse-charts"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        boto3.client("dynamodb").create_table(**table_definition("charthouse"))
        url = boto3.client("sqs").create_queue(QueueName=QUEUE_NAME, Attributes={"FifoQueue": "true"})["QueueUrl"]
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield url


@pytest.fixture
def helm() -> FakeHelm:
    return FakeHelm()


@pytest.fixture
def git() -> FakeGit:
    return FakeGit()


@pytest.fixture
def client(aws: str, helm: FakeHelm, git: FakeGit) -> Iterator[Client]:
    bootstrap.override(
        bootstrap.build(
            Settings(queue_url=aws, helm_binary="/nonexistent", chart_bucket=BUCKET, auth_mode="token"),
            helm=helm,
            git=git,
        )
    )
    from app import app

    with Client(app) as c:
        yield c
    bootstrap.override(None)


class Api:
    """Small helpers over the test client: JSON in, (status, JSON) out, and a queue drain."""

    def __init__(self, client: Client, queue_url: str) -> None:
        self.c = client
        self.queue_url = queue_url
        self.token = bootstrap.get().tokens.create("admin")  # an admin (CHARTHOUSE_ADMINS defaults to token:admin)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        """A JSON call as the admin (or as ``token``; ``token=""`` sends no credentials)."""
        auth = self.auth if token is None else ({"Authorization": f"Bearer {token}"} if token else {})
        kwargs: dict[str, Any] = {"headers": {"Content-Type": "application/json", **auth}}
        if body is not None:
            kwargs["body"] = body if isinstance(body, str) else json.dumps(body)
        resp = getattr(self.c.http, method.lower())(path, **kwargs)
        return resp.status_code, resp.json_body

    def exchange(self, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any, dict[str, str]]:
        """A JSON call as the admin with extra ``headers`` (``If_Match`` sends ``If-Match``): status, body and the
        answer's headers (lower-case names)."""
        sent = {"Content-Type": "application/json", **self.auth, **{k.replace("_", "-"): v for k, v in headers.items()}}
        kwargs: dict[str, Any] = {"headers": sent}
        if body is not None:
            kwargs["body"] = json.dumps(body)
        resp = getattr(self.c.http, method.lower())(path, **kwargs)
        return resp.status_code, resp.json_body, {k.lower(): v for k, v in resp.headers.items()}

    def drain(self) -> int:
        """Deliver every queued message to the worker handler, as SQS would."""
        sqs = boto3.client("sqs")
        count = 0
        while True:
            msgs = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                return count
            for m in msgs:
                event = self.c.events.generate_sqs_event(queue_name=QUEUE_NAME, message_bodies=[m["Body"]])
                self.invoke("execute_operations", event)
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
                count += 1

    def invoke(self, function: str, event: Any, seconds: int = 900) -> Any:
        """Call a Lambda handler as Lambda would, with ``seconds`` of run time (the test client gives 3 s)."""
        from app import app

        return app.handler_map[function](event, LambdaContext(function, 1024, max_runtime_ms=seconds * 1000))

    def register(self, name: str = "prod") -> None:
        status, body = self.call("PUT", f"/v1/clusters/{name}", {"kubeconfig": KUBECONFIG})
        assert status == 201, body


@pytest.fixture
def api(client: Client, aws: str) -> Api:
    return Api(client, aws)


# ------------------------------------------------------------ the packaged stage (tests/functional/test_deploy*.py)

DEPLOY_STAGE = "prod"


def _chalice_package(out: Path, *args: str) -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    cmd = [str(Path(sys.executable).parent / "chalice"), "package", "--stage", DEPLOY_STAGE, *args, str(out)]
    done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="session")
def sam(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """``make package STAGE=prod``'s template (sam.json beside deployment.zip), packaged once per session."""
    from deploy.merge_template import merge_template

    out = tmp_path_factory.mktemp("sam")
    merge = out / "merge.json"
    merge.write_text(json.dumps(merge_template(DEPLOY_STAGE)))
    _chalice_package(out / "pkg", "--merge-template", str(merge))
    path = out / "pkg" / "sam.json"
    return path, json.loads(path.read_text())


@pytest.fixture(scope="session")
def terraform(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """``make package-terraform STAGE=prod``'s directory (completed chalice.tf.json), packaged once per session."""
    from deploy.terraform import TF_FILE, complete

    out = tmp_path_factory.mktemp("tf") / "pkg"
    _chalice_package(out, "--pkg-format", "terraform")
    path = out / TF_FILE
    tf = complete(json.loads(path.read_text()), DEPLOY_STAGE)
    path.write_text(json.dumps(tf, indent=2))
    return out, tf
