"""helm-engine's door: its envelope (always 200, ``code`` 0 with data or 1 with the error named), its fields
translated to Charthouse's, what it refuses to take (credentials in a URL or a body), and helm list's columns."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from chalicelib.compat import helm_engine as engine
from chalicelib.compat import sync
from chalicelib.domain.models import Action, Operation, OperationStatus, ReleaseRef
from chalicelib.errors import InvalidInput, ReleaseNotFound
from tests.functional.conftest import Api

ENGINE = "/api/namespaces/apps/releases"
CHART = "https://charts.example.com/demo-1.2.3.tgz"


def test_the_envelope() -> None:
    assert engine._answer(lambda: None) == {"code": 0}
    assert engine._answer(lambda: {"a": 1}) == {"code": 0, "data": {"a": 1}}

    def missing() -> None:
        raise ReleaseNotFound("release web not found")

    assert engine._answer(missing) == {"code": 1, "error": "release web not found"}
    op = dataclasses.replace(
        Operation.new(Action.INSTALL, ReleaseRef("prod", "apps", "web"), {}),
        status=OperationStatus.FAILED,
        error={"code": "HelmError", "message": "image pull failed"},
    )

    def failed() -> None:
        raise sync.Unfinished(sync.Ended(op))

    assert engine._answer(failed) == {"code": 1, "error": "image pull failed"}


def test_rollback_fields_are_translated() -> None:
    body = {"dry_run": True, "history_max": 5, "wait": False, "force": True}
    assert engine._translate(body, engine.ROLLBACK_FIELDS) == {
        "dry_run": True,
        "max_history": 5,
        "wait": False,
        "force": True,
    }


@pytest.mark.parametrize("field", ["recreate", "username", "password", "keyring", "insecure_skip_verify"])
def test_what_it_cannot_honour_is_refused_by_name(field: str) -> None:
    engine._refuse({field: False})  # helm-engine's clients send every field, false when unset
    engine._refuse({field: ""})
    with pytest.raises(InvalidInput) as err:
        engine._refuse({field: "x" if field != "recreate" else True})
    assert err.value.field == field


def test_a_release_in_helm_lists_columns() -> None:
    record: dict[str, Any] = {
        "name": "web",
        "namespace": "apps",
        "revision": 3,
        "status": "deployed",
        "chart": "demo",
        "chart_version": "1.2.3",
        "app_version": "1.0",
        "last_deployed": "2026-11-27T11:00:00Z",
    }
    assert engine._element(record) == {
        "name": "web",
        "namespace": "apps",
        "revision": "3",
        "updated": "2026-11-27T11:00:00Z",
        "status": "deployed",
        "chart": "demo-1.2.3",
        "chart_version": "1.2.3",
        "app_version": "1.0",
    }
    bare = engine._element({**record, "chart_version": None, "app_version": None, "last_deployed": None})
    assert (bare["chart"], bare["chart_version"], bare["app_version"], bare["updated"]) == ("demo", "", "", "")


@pytest.mark.parametrize("param", ["token", "kubeUserName", "kubePassword"])
def test_credentials_in_the_url_are_refused_and_never_echoed(api: Api, param: str) -> None:
    api.register()
    status, out = api.call("POST", f"{ENGINE}/web?chart={CHART}&{param}=hunter2-secret", {})
    assert status == 200 and out["code"] == 1 and out["error"].startswith(param)
    assert "hunter2-secret" not in out["error"]


def test_an_unknown_release_is_code_1(api: Api) -> None:
    api.register()
    status, out = api.call("GET", f"{ENGINE}/nothing")
    assert status == 200 and out["code"] == 1 and "not found" in out["error"]
