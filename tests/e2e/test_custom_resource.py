"""The CloudFormation custom resource ``Custom::HelmRelease`` end to end: its Lambda handler is invoked (as
CloudFormation invokes it) with real request shapes, the operation runs through the queue and the workers against
the real cluster, and a loopback HTTP server standing in for the presigned S3 ResponseURL receives exactly one PUT
per request, with the right Status, PhysicalResourceId and Reason.

Runs once per helm major (see conftest's ``helm_major``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from devstack.stack import ROOT, Stack
from tests.e2e.conftest import ChartServer, helm_cli

pytestmark = pytest.mark.e2e
NS = "cfn"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/charthouse-e2e/5b9f3c90-0000-11ef-8000-0a1b2c3d4e5f"
SIGNATURE = "X-Amz-Signature=0123456789abcdef-not-to-be-logged"


class ResponseUrls:
    """A loopback HTTP server that records every PUT, as the presigned S3 URL of CloudFormation would."""

    def __init__(self) -> None:
        self.puts: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with owner.lock:
                    owner.puts.append((self.path, json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, request_id: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/cfn-responses/{request_id}?{SIGNATURE}"

    def answers(self, request_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [body for path, body in self.puts if path.startswith(f"/cfn-responses/{request_id}?")]

    def wait(self, request_id: str, timeout: float = 180) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.answers(request_id)
            if got:
                time.sleep(1.0)  # a second answer would arrive about now: the test counts them
                return got[0]
            time.sleep(0.2)
        raise AssertionError(f"no answer to request {request_id} within {timeout} s")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def responses() -> Iterator[ResponseUrls]:
    server = ResponseUrls()
    yield server
    server.close()


def invoke(stack: Stack, event: dict[str, Any]) -> dict[str, Any]:
    """Invoke the deployed function's handler with the stack's environment (devstack/invoke.py)."""
    done = subprocess.run(
        [sys.executable, "-m", "devstack.invoke", "helm_release_resource"],
        cwd=ROOT,
        env=stack.env(),
        input=json.dumps(event),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    (stack.logs / "invoke.log").open("a").write(done.stderr)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def event(
    responses: ResponseUrls,
    request_type: str,
    props: dict[str, Any],
    physical: str | None = None,
    old: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A request as CloudFormation sends it (every scalar property a string)."""
    request_id = str(uuid.uuid4())
    out: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:charthouse-dev-helm_release_resource",
        "ResponseURL": responses.url(request_id),
        "StackId": STACK_ID,
        "RequestId": request_id,
        "LogicalResourceId": "HelloRelease",
        "ResourceType": "Custom::HelmRelease",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:x", **props},
    }
    if physical is not None:
        out["PhysicalResourceId"] = physical
    if old is not None:
        out["OldResourceProperties"] = {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:x", **old}
    return out


def props(chart: str, name: str = "web", **extra: Any) -> dict[str, Any]:
    return {
        "Cluster": "local",
        "Namespace": NS,
        "Name": name,
        "Chart": chart,
        "Options": {"CreateNamespace": "true", "Timeout": "120"},
        **extra,
    }


def answered(responses: ResponseUrls, ev: dict[str, Any]) -> dict[str, Any]:
    answer = responses.wait(ev["RequestId"])
    assert len(responses.answers(ev["RequestId"])) == 1, "answered more than once"
    for key in ("StackId", "RequestId", "LogicalResourceId"):
        assert answer[key] == ev[key]
    return answer


def helm_status(stack: Stack, name: str) -> dict[str, Any] | None:
    listed = json.loads(helm_cli(stack, "list", "-n", NS, "--deployed", "--failed", "--pending", "-o", "json"))
    return next((r for r in listed if r["name"] == name), None)


def test_create_update_replace_delete_through_cloudformation_requests(
    stack: Stack, charts: ChartServer, responses: ResponseUrls
) -> None:
    chart1, chart2 = charts.url("demo-0.1.0.tgz"), charts.url("demo-0.2.0.tgz")

    # Create -> install (values as a YAML document keep their types)
    create = event(responses, "Create", props(chart1, Values="greeting: from-cfn\nreplicas: 2\n"))
    assert "operation_id" in invoke(stack, create)
    answer = answered(responses, create)
    assert answer["Status"] == "SUCCESS", answer
    assert answer["PhysicalResourceId"] == f"local/{NS}/web"
    assert answer["Data"]["Revision"] == "1" and answer["Data"]["Status"] == "deployed"
    assert helm_status(stack, "web")["status"] == "deployed"  # type: ignore[index]
    values = json.loads(helm_cli(stack, "get", "values", "web", "-n", NS, "-o", "json"))
    assert values == {"greeting": "from-cfn", "replicas": 2}

    # the same request again (Lambda retries an invocation): still one answer, one operation
    invoke(stack, create)
    time.sleep(2)
    assert len(responses.answers(create["RequestId"])) == 1

    # Update of chart and values -> upgrade, same PhysicalResourceId
    update = event(
        responses,
        "Update",
        props(chart2, Values={"greeting": "updated"}),
        f"local/{NS}/web",
        props(chart1, Values="greeting: from-cfn\nreplicas: 2\n"),
    )
    invoke(stack, update)
    answer = answered(responses, update)
    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", f"local/{NS}/web"), answer
    rel = helm_status(stack, "web")
    assert rel is not None and rel["revision"] == "2" and rel["chart"] == "demo-0.2.0"

    # Update of the name -> replacement: a new release and a new PhysicalResourceId; then CloudFormation deletes
    # the old one
    replace = event(responses, "Update", props(chart2, name="web2"), f"local/{NS}/web", props(chart2))
    invoke(stack, replace)
    answer = answered(responses, replace)
    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", f"local/{NS}/web2"), answer
    delete_old = event(responses, "Delete", props(chart2), f"local/{NS}/web")
    invoke(stack, delete_old)
    answer = answered(responses, delete_old)
    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", f"local/{NS}/web"), answer
    assert helm_status(stack, "web") is None and helm_status(stack, "web2") is not None

    # Create of a name that is taken fails at once, with a PhysicalResourceId naming no release, whose Delete
    # (CloudFormation's rollback) leaves the existing release alone
    taken = event(responses, "Create", props(chart1, name="web2"))
    invoke(stack, taken)
    answer = answered(responses, taken)
    assert answer["Status"] == "FAILED" and "ReleaseExists" in answer["Reason"], answer
    assert answer["PhysicalResourceId"].startswith("charthouse:none:")
    rollback = event(responses, "Delete", props(chart1, name="web2"), answer["PhysicalResourceId"])
    invoke(stack, rollback)
    assert answered(responses, rollback)["Status"] == "SUCCESS"
    assert helm_status(stack, "web2") is not None

    # Create with a chart that does not exist: the operation fails, the answer says why
    missing = event(responses, "Create", props(charts.url("nothing-9.9.9.tgz"), name="broken"))
    invoke(stack, missing)
    answer = answered(responses, missing)
    assert answer["Status"] == "FAILED" and "NotFound" in answer["Reason"], answer
    cleanup = event(responses, "Delete", props(chart1, name="broken"), answer["PhysicalResourceId"])
    invoke(stack, cleanup)
    assert answered(responses, cleanup)["Status"] == "SUCCESS"

    # Delete of a resource that was never created, and of a cluster nobody registered
    for physical in (f"local/{NS}/never-created", f"nowhere/{NS}/web"):
        never = event(responses, "Delete", props(chart1), physical)
        invoke(stack, never)
        answer = answered(responses, never)
        assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", physical), answer

    # Delete -> uninstall
    delete = event(responses, "Delete", props(chart2, name="web2"), f"local/{NS}/web2")
    invoke(stack, delete)
    assert answered(responses, delete)["Status"] == "SUCCESS"
    assert helm_status(stack, "web2") is None

    # the presigned URL's signature never reached a log
    for log in stack.logs.glob("*.log"):
        assert SIGNATURE not in log.read_text(errors="replace"), log.name
