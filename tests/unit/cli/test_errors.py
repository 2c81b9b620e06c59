"""API errors: their text, and the exit code each status maps to."""

from __future__ import annotations

import pytest

from charthouse_cli.errors import ApiError
from tests.unit.cli.fakeapi import FakeApi, run


@pytest.mark.parametrize(
    "status,code,exit_code",
    [
        (404, "ReleaseNotFound", 4),
        (409, "ReleaseLocked", 3),
        (422, "InvalidInput", 2),
        (400, "InvalidInput", 2),
        (502, "ClusterUnreachable", 1),
        (500, "InternalError", 1),
        (403, "Forbidden", 1),
    ],
)
def test_api_errors_map_to_exit_codes(fake: FakeApi, status: int, code: str, exit_code: int) -> None:
    body = {"error": {"code": code, "message": "it went wrong", "details": {"operation_id": "op-9"}}}
    fake.on("DELETE", "/v1/clusters/local/namespaces/default/releases/web", (status, body))
    rc, out, err = run(fake, "release", "delete", "web")
    assert rc == exit_code
    assert out == ""
    assert f"{code} ({status}): it went wrong" in err and "op-9" in err


def test_api_error_text() -> None:
    err = ApiError(422, "InvalidInput", "must be a mapping", {"field": "values"})
    assert str(err) == "InvalidInput (422): must be a mapping [field: values]" and err.exit_code == 2
