"""The Lambda function behind ``Custom::HelmRelease``: CloudFormation's request goes to the custom resource use case
as it came, and its answer is the function's."""

from __future__ import annotations

from typing import Any

from chalice.test import Client

from chalicelib import bootstrap


class FakeCustomResource:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append(event)
        return {"accepted": event["RequestType"], "operation": "op-1"}


def test_the_request_reaches_the_custom_resource_use_case() -> None:
    from types import SimpleNamespace

    from app import app

    resource = FakeCustomResource()
    bootstrap.override(SimpleNamespace(custom_resource=resource))  # type: ignore[arg-type]
    try:
        event = {"RequestType": "Create", "ResponseURL": "https://cfn.example/answer", "ResourceProperties": {}}
        with Client(app) as client:
            answer = client.lambda_.invoke("helm_release_resource", event).payload
    finally:
        bootstrap.override(None)
    assert answer == {"accepted": "Create", "operation": "op-1"} and resource.events == [event]
