"""Terraform's door through the app: the release function invoked with the exact payloads ``aws_lambda_invocation``
sends with ``lifecycle_scope = "CRUD"`` (the module's ``jsonencode`` input plus the provider's ``tf`` key) on create,
update and destroy, and the data source's plain input; moto, fake helm, the worker driven from the queue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.api.iac import ReleaseInvocationFailed
from tests.fakes import FakeHelm
from tests.functional.conftest import Api

CHART = "https://charts.example.com/demo-1.2.3.tgz"
FUNCTION = "helm_release_invocation"


def module_input(name: str = "web", **changes: Any) -> dict[str, Any]:
    """What the module's ``jsonencode(local.input)`` gives (null for unset optional variables)."""
    return {
        "cluster": "prod",
        "namespace": "apps",
        "name": name,
        "chart": CHART,
        "version": None,
        "values": {"replicas": 2, "greeting": "hi"},
        "options": {},
        **changes,
    }


def crud(action: str, new: dict[str, Any], prev: dict[str, Any] | None = None) -> dict[str, Any]:
    """The provider's payload: the input with ``tf: {action, prev_input}`` (terraform_key ``tf``)."""
    return {**new, "tf": {"action": action, "prev_input": prev}}


@pytest.fixture
def worker(api: Api) -> Callable[[], None]:
    """The worker runs whatever is queued while the function waits (as the worker Lambda would, beside it)."""
    intake = bootstrap.get().intake
    waiting = intake.wait

    def drain_then_wait(operation_id: str, seconds: float) -> Any:
        api.drain()
        return waiting(operation_id, seconds)

    def start() -> None:
        intake.wait = drain_then_wait  # type: ignore[method-assign]

    return start


def test_create_update_and_destroy_install_upgrade_and_uninstall(
    api: Api, helm: FakeHelm, worker: Callable[[], None]
) -> None:
    api.register()
    worker()
    first = module_input()
    created = api.invoke(FUNCTION, crud("create", first))
    assert (created["revision"], created["status"], created["exists"]) == (1, "deployed", True)
    status, op = api.call("GET", f"/v1/operations/{created['operation_id']}")
    assert (status, op["action"], op["status"]) == (200, "install", "succeeded")
    assert api.invoke(FUNCTION, crud("create", first))["operation_id"] == created["operation_id"]  # a re-apply
    assert helm.calls.count("install") == 1

    second = module_input(values={"replicas": 3, "greeting": "hello"})
    updated = api.invoke(FUNCTION, crud("update", second, first))
    assert (updated["revision"], updated["status"]) == (2, "deployed")
    assert helm.releases["prod/apps/web"][-1]["config"] == {"replicas": 3, "greeting": "hello"}

    read = api.invoke(FUNCTION, {"cluster": "prod", "namespace": "apps", "name": "web", "read": True})
    assert (read["exists"], read["revision"], read["status"]) == (True, 2, "deployed")

    gone = api.invoke(FUNCTION, crud("delete", second, second))
    assert (gone["status"], gone["exists"]) == ("uninstalled", True)
    status, body = api.call("GET", "/v1/clusters/prod/namespaces/apps/releases/web")
    assert body["status"] == "uninstalled", body
    again = api.invoke(FUNCTION, crud("delete", second, second))  # destroy of what is gone already
    assert again["exists"] is False and helm.calls.count("uninstall") == 1


def test_a_new_name_installs_the_new_release_and_uninstalls_the_old_one(
    api: Api, helm: FakeHelm, worker: Callable[[], None]
) -> None:
    api.register()
    worker()
    old = module_input("web")
    api.invoke(FUNCTION, crud("create", old))
    new = module_input("web2")
    out = api.invoke(FUNCTION, crud("update", new, old))
    assert (out["name"], out["revision"], out["status"]) == ("web2", 1, "deployed")
    assert api.call("GET", "/v1/clusters/prod/namespaces/apps/releases/web")[1]["status"] == "uninstalled"
    assert api.call("GET", "/v1/clusters/prod/namespaces/apps/releases/web2")[1]["status"] == "deployed"


def test_the_data_source_reads_without_changing_anything(api: Api, helm: FakeHelm) -> None:
    api.register()
    out = api.invoke(FUNCTION, {"cluster": "prod", "namespace": "apps", "name": "nothing"})  # no tf key
    assert out == {"cluster": "prod", "namespace": "apps", "name": "nothing", "exists": False}
    assert helm.calls == []


def test_a_failed_operation_fails_the_apply_and_the_next_apply_tries_again(
    api: Api, helm: FakeHelm, worker: Callable[[], None]
) -> None:
    api.register()
    worker()
    broken = module_input(chart="https://charts.example.com/missing-1.0.0.tgz")
    with pytest.raises(ReleaseInvocationFailed) as first:
        api.invoke(FUNCTION, crud("create", broken))
    assert "failed: ChartNotFound" in str(first.value)
    with pytest.raises(ReleaseInvocationFailed) as second:
        api.invoke(FUNCTION, crud("create", broken))
    op_ids = [str(e.value).split()[1] for e in (first, second)]
    assert op_ids[0] != op_ids[1]  # a new attempt, not the failed operation again


def test_an_operation_still_running_is_found_again_by_the_next_apply(
    api: Api, helm: FakeHelm, worker: Callable[[], None]
) -> None:
    api.register()
    payload = crud("create", module_input())
    with pytest.raises(ReleaseInvocationFailed) as running:
        api.invoke(FUNCTION, payload, seconds=6)  # nobody runs the queue: the budget (1 s) runs out
    message = str(running.value)
    assert "is still queued" in message and "apply again" in message
    worker()
    done = api.invoke(FUNCTION, payload)
    assert message.split()[1] == done["operation_id"] and done["revision"] == 1


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        (crud("create", {**module_input(), "chart": None}), "Chart: is required"),
        (crud("create", {**module_input(), "name": "Not_A_Name"}), "name"),
        (crud("create", {**module_input(), "options": {"nope": True}}), "Options.nope"),
        ({**module_input(), "tf": {"action": "replace", "prev_input": None}}, "tf.action"),
        ("not an object", "input"),
    ],
)
def test_bad_input_fails_the_apply_naming_the_field(api: Api, helm: FakeHelm, payload: Any, named: str) -> None:
    api.register()
    with pytest.raises(ReleaseInvocationFailed) as refused:
        api.invoke(FUNCTION, payload)
    assert named in str(refused.value) and "InvalidInput" in str(refused.value)
    assert helm.calls == []


def test_the_same_checks_as_every_door_apply(api: Api, helm: FakeHelm, worker: Callable[[], None]) -> None:
    """An install over a release that exists is refused (the install check), and nothing ran."""
    api.register()
    worker()
    api.invoke(FUNCTION, crud("create", module_input()))
    with pytest.raises(ReleaseInvocationFailed) as exists:
        api.invoke(FUNCTION, crud("create", module_input(values={"other": 1})))
    assert str(exists.value).startswith("ReleaseExists:")
    assert helm.calls.count("install") == 1
