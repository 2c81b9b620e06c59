"""Terraform's door, its pure parts: what an invocation asks (the provider's ``tf`` key) and which attempt an
input is on."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pytest

from chalicelib.core.terraform import TerraformReleases, TfRequest
from chalicelib.domain.models import Action, Idempotency, Operation, OperationStatus, ReleaseRef
from chalicelib.errors import InvalidInput

BASE = {"cluster": "prod", "namespace": "apps", "name": "web", "chart": "x/y"}


@pytest.mark.parametrize(
    ("event", "action", "prev"),
    [
        ({**BASE, "tf": {"action": "create", "prev_input": None}}, "create", None),
        ({**BASE, "tf": {"action": "update", "prev_input": {**BASE, "tf": {"x": 1}}}}, "update", BASE),
        ({**BASE, "tf": {"action": "delete", "prev_input": BASE}}, "delete", BASE),
        (BASE, "read", None),  # the data source: no tf key
        ({**BASE, "read": True, "tf": {"action": "create", "prev_input": None}}, "read", None),
    ],
)
def test_the_action_and_inputs_of_an_invocation(event: dict[str, Any], action: str, prev: Any) -> None:
    req = TfRequest.from_event(event)
    assert (req.action, req.props, req.prev) == (action, BASE, prev)


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ([], "input"),
        ({**BASE, "tf": {"action": "import"}}, "tf.action"),
        ({**BASE, "tf": "create"}, "tf.action"),
        ({**BASE, "tf": {"action": "update", "prev_input": "old"}}, "tf.prev_input"),
    ],
)
def test_a_malformed_invocation_names_the_field(event: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        TfRequest.from_event(event)
    assert refused.value.details["field"] == field


def test_the_same_input_is_the_same_request_and_another_is_not() -> None:
    one = TfRequest.from_event({**BASE, "tf": {"action": "create", "prev_input": None}})
    same = TfRequest.from_event(
        {"name": "web", "chart": "x/y", "namespace": "apps", "cluster": "prod", "tf": {"action": "create"}}
    )
    other = TfRequest.from_event({**BASE, "version": "1.0.0", "tf": {"action": "create", "prev_input": None}})
    assert one.digest() == same.digest() != other.digest()


class Hall:
    """The hall's replays: operations by idempotency key, as the store keeps them."""

    def __init__(self, ops: dict[str, Operation]) -> None:
        self.ops = ops

    def replayed(self, idem: Idempotency) -> Operation | None:
        return self.ops.get(idem.key)


def _op(status: OperationStatus) -> Operation:
    op = Operation.new(Action.INSTALL, ReleaseRef("prod", "apps", "web"), {}, ())
    return dataclasses.replace(op, status=status)


def test_a_failed_attempt_is_followed_by_a_new_one_and_a_running_one_is_waited_for() -> None:
    failed, running = _op(OperationStatus.FAILED), _op(OperationStatus.RUNNING)
    keys: list[str] = []

    def accept(idem: Idempotency) -> Operation:
        keys.append(idem.key)
        return running

    first_key = "tf:" + hashlib.sha256(b"d:install").hexdigest()[:48]
    door = TerraformReleases.__new__(TerraformReleases)
    door.releases = Hall({first_key: failed})  # type: ignore[assignment]
    assert door._attempt("d", "install", accept) is running
    assert keys == [f"{first_key}/{failed.id}"]  # the attempt after the failed one
    door.releases = Hall({first_key: failed, keys[0]: running})  # type: ignore[assignment]
    assert door._attempt("d", "install", lambda idem: pytest.fail("accepted again")) is running
