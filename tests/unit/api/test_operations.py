"""How /v1 asks for an operation and answers one: the Idempotency-Key, ``Prefer: wait=N`` bounded by the function's
remaining time, and the operation routes (one, a list filtered to what the caller may read)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib.api import operations
from chalicelib.errors import InvalidInput
from tests.fakes import FakeHelm
from tests.functional.conftest import Api

CHART = "https://charts.example.com/demo-1.2.3.tgz"
RELEASES = "/v1/clusters/prod/namespaces/apps/releases"


def request(headers: dict[str, str], remaining_ms: int | None = None, **extra: Any) -> Any:
    context = SimpleNamespace(get_remaining_time_in_millis=lambda: remaining_ms) if remaining_ms else None
    base = {"method": "POST", "path": RELEASES, "uri_params": {}, "query_params": None, "lambda_context": context}
    return SimpleNamespace(headers=headers, **{**base, **extra})


@pytest.mark.parametrize(
    ("prefer", "wait"),
    [
        ("wait=10", 10),
        ("respond-async, wait=7", 7),
        ("wait=600", operations.MAX_WAIT_S),
        ("wait=soon", None),
        ("", None),
    ],
)
def test_prefer_wait_is_read_as_rfc_7240_says_and_bounded(prefer: str, wait: int | None) -> None:
    assert operations.preferred_wait(request({"prefer": prefer} if prefer else {})) == wait


def test_the_budget_never_runs_past_the_functions_own_time() -> None:
    assert operations.inline_budget(request({"prefer": "wait=20"})) == 20.0
    assert (
        operations.inline_budget(request({"prefer": "wait=20"}, remaining_ms=12_000)) == 12 - operations.LAMBDA_MARGIN_S
    )
    assert operations.inline_budget(request({})) is None


def test_an_idempotency_key_names_the_request_it_came_with() -> None:
    one = operations.idempotency(request({"idempotency-key": "k-1"}), {"name": "web"})
    same = operations.idempotency(request({"idempotency-key": "k-1"}), {"name": "web"})
    other = operations.idempotency(request({"idempotency-key": "k-1"}), {"name": "api"})
    assert one and same and other and one == same and one.request_hash != other.request_hash
    assert operations.idempotency(request({}), {}) is None
    with pytest.raises(InvalidInput) as refused:
        operations.idempotency(request({"idempotency-key": "no spaces"}), {})
    assert refused.value.details["field"] == "Idempotency-Key"


def test_an_operation_is_read_and_listed(api: Api, helm: FakeHelm) -> None:
    api.register()
    status, op = api.call("POST", RELEASES, {"name": "web", "chart": CHART})
    assert status == 202
    assert api.call("GET", f"/v1/operations/{op['id']}")[1]["id"] == op["id"]
    status, page = api.call("GET", "/v1/operations?release=web")
    assert status == 200 and [o["id"] for o in page["operations"]] == [op["id"]]
    status, missing = api.call("GET", "/v1/operations/op-nope")
    assert status == 404 and missing["error"]["code"] == "OperationNotFound"
