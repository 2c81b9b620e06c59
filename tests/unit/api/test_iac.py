"""The function Terraform invokes: its time budget from the Lambda context, and a refusal or a failed operation
raised as a function error whose message names the cause (Terraform fails the apply with it)."""

from __future__ import annotations

import pytest

from chalicelib.api import iac
from chalicelib.api.iac import ReleaseInvocationFailed
from tests.fakes import FakeHelm
from tests.functional.conftest import Api


def test_a_refused_input_is_a_function_error_naming_the_field(api: Api, helm: FakeHelm) -> None:
    api.register()
    event = {"cluster": "prod", "namespace": "apps", "name": "web", "tf": {"action": "create", "prev_input": None}}
    with pytest.raises(ReleaseInvocationFailed) as refused:
        api.invoke("helm_release_invocation", event)
    assert str(refused.value).startswith("InvalidInput: ") and "Chart" in str(refused.value)


def test_the_budget_comes_from_the_lambda_context(api: Api, helm: FakeHelm, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[float] = []

    def handle(self: object, event: object, budget_s: float) -> dict[str, object]:
        seen.append(budget_s)
        return {}

    monkeypatch.setattr(iac.TerraformReleases, "handle", handle)
    api.invoke("helm_release_invocation", {}, seconds=60)
    assert 60 - iac.ANSWER_MARGIN_S - 1 < seen[0] <= 60 - iac.ANSWER_MARGIN_S
