"""Putting and showing a runtime, shared by /v1/runtimes and Nautes: the body parsed once, the runtime as shown."""

from __future__ import annotations

import pytest

from chalicelib.api import runtime_access
from chalicelib.core.auth import Principal
from chalicelib.errors import InvalidInput, RuntimeNotFound
from tests.fakes import FakeHelm
from tests.functional.conftest import Api

CHART = "https://charts.example.com/demo-1.2.3.tgz"
BODY = {
    "source": {"inline": {"releases": [{"name": "web", "chart": CHART}]}},
    "destination": {"cluster": "prod", "namespaces": ["apps"]},
}


def test_a_runtime_is_put_then_shown(api: Api, helm: FakeHelm, monkeypatch: pytest.MonkeyPatch) -> None:
    api.register()
    monkeypatch.setattr(runtime_access, "principal", lambda: Principal("token:admin", "token"))  # the request's
    out, created = runtime_access.put_runtime("shop", BODY)
    assert created and out["name"] == "shop"
    again, created = runtime_access.put_runtime("shop", BODY)
    assert not created
    shown = runtime_access.view("shop")
    assert "owner" not in shown  # recorded to re-check its grants, never shown
    assert shown["destination"] == {"cluster": "prod", "namespaces": ["apps"]} and shown["status"]["phase"] == "new"


def test_a_bad_name_or_body_is_named_and_an_unknown_runtime_is_not_found(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime_access, "principal", lambda: Principal("token:admin", "token"))
    with pytest.raises(InvalidInput) as refused:
        runtime_access.view("Not_A_Name")
    assert refused.value.details["field"] == "runtime"
    with pytest.raises(InvalidInput) as refused:
        runtime_access.put_runtime("shop", {**BODY, "colour": "blue"})
    assert refused.value.details["field"] == "colour"
    with pytest.raises(RuntimeNotFound):
        runtime_access.view("nope")
