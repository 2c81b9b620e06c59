"""Scopes read from the store: an operation's release, a runtime's destination; nothing for what does not exist."""

from __future__ import annotations

from chalicelib.api import scopes
from chalicelib.api.routes import Ask, Target
from tests.fakes import FakeHelm
from tests.functional.conftest import Api

CHART = "https://charts.example.com/demo-1.2.3.tgz"


def ask(**params: str) -> Ask:
    return Ask(params, {}, {})


def test_an_operation_is_authorized_on_its_release(api: Api, helm: FakeHelm) -> None:
    api.register()
    status, op = api.call("POST", "/v1/clusters/prod/namespaces/apps/releases", {"name": "web", "chart": CHART})
    assert status == 202
    assert scopes.operation_release(ask(operation_id=op["id"])) == [Target("prod", "apps")]
    assert scopes.operation_release(ask(operation_id="op-unknown")) == []


def test_a_runtime_is_authorized_on_every_namespace_of_its_destination(api: Api, helm: FakeHelm) -> None:
    api.register()
    body = {
        "source": {"inline": {"releases": [{"name": "web", "chart": CHART}]}},
        "destination": {"cluster": "prod", "namespaces": ["apps", "jobs"]},
    }
    assert api.call("PUT", "/v1/runtimes/shop", body)[0] == 201
    assert scopes.stored_runtime(ask(runtime="shop")) == [Target("prod", "apps"), Target("prod", "jobs")]
    assert scopes.stored_runtime(ask(runtime="nope")) == [] and scopes.runtime_destination("") == []
