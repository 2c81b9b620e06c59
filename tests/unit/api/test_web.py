"""The HTTP plumbing every route shares: one mapping from domain errors to status codes (never a stack trace),
request bodies and queries read with errors that name the field, ``?output=yaml``."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from chalicelib import errors
from chalicelib.api import web


def _request(raw: bytes | str | None = b"", content_type: str = "application/json", **query: str) -> Any:
    return SimpleNamespace(raw_body=raw, headers={"content-type": content_type}, query_params=query or None)


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (errors.InvalidInput("chart", "is required"), 422),
        (errors.InvalidInput("body", "is not valid JSON"), 400),
        (errors.PayloadTooLarge("body", "too big"), 413),
        (errors.Unauthenticated("no credentials"), 401),
        (errors.Forbidden("no"), 403),
        (errors.ReleaseNotFound("gone"), 404),
        (errors.ClusterNotFound("gone"), 404),
        (errors.ReleaseLocked("busy", operation_id="op-1"), 409),
        (errors.ReleaseExists("taken"), 409),
        (errors.HelmError("helm failed", returncode=1), 502),
        (errors.ClusterUnreachable("down"), 502),
        (errors.DependencyUnavailable("DynamoDB down"), 503),
        (errors.CharthouseError("unclassified"), 500),
    ],
)
def test_each_domain_error_has_its_status(exc: errors.CharthouseError, status: int) -> None:
    resp = web.error_response(exc)
    assert resp.status_code == status and resp.headers["Content-Type"] == "application/json"
    assert resp.body["error"]["code"] == exc.code and resp.body["error"]["message"] == exc.message


def test_details_travel_with_the_error() -> None:
    resp = web.error_response(errors.ReleaseLocked("busy", operation_id="op-1"))
    assert resp.body["error"]["details"] == {"operation_id": "op-1"}
    resp = web.error_response(errors.InvalidInput("values.port", "must be a number"))
    assert resp.body["error"]["details"]["field"] == "values.port"


def test_handled_turns_errors_into_responses_and_never_shows_a_stack_trace(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @web.handled
    def ok(name: str) -> dict[str, str]:
        return {"hello": name}

    @web.handled
    def refused() -> None:
        raise errors.Forbidden("token:ci may not install in prod/apps")

    @web.handled
    def broken() -> None:
        raise KeyError("secret-internal-detail")

    assert ok(name="x") == {"hello": "x"} and ok.__name__ == "ok"
    assert refused().status_code == 403
    caplog.set_level(logging.ERROR, logger="chalicelib.api.web")
    resp = broken()
    assert resp.status_code == 500 and resp.body["error"]["code"] == "InternalError"
    assert "secret-internal-detail" not in json.dumps(resp.body) and "Traceback" not in json.dumps(resp.body)
    assert "broken" in caplog.text  # the log keeps what the caller is not shown


@pytest.mark.parametrize("raw", [b"", b"  \n", None])
def test_an_empty_body_is_an_empty_object(raw: bytes | None) -> None:
    assert web.json_body(_request(raw)) == {}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "is not valid JSON"),
        (b"\xff\xfe", "is not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, ""),
    ],
)
def test_a_body_that_is_no_json_object_is_a_400_naming_the_body(raw: bytes, message: str) -> None:
    with pytest.raises(errors.InvalidInput) as err:
        web.json_body(_request(raw))
    assert err.value.field == "body" and message in str(err.value)
    assert web.error_response(err.value).status_code in (400, 413)


def test_a_body_over_the_limit_is_413() -> None:
    with pytest.raises(errors.PayloadTooLarge):
        web.json_body(_request(b'{"a": "' + b"x" * web.MAX_BODY_BYTES + b'"}'))
    assert web.json_body(_request(b'{"a": 1}')) == {"a": 1}


def test_a_form_over_its_limit_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(errors.PayloadTooLarge):
        web.form_body(_request(b"x" * 101, "multipart/form-data; boundary=b"), max_bytes=100)


def test_query_bools() -> None:
    assert web.query_bools({"all": "TRUE", "x": "y", "wait": "0"}, ("all", "wait")) == {
        "all": True,
        "x": "y",
        "wait": False,
    }
    with pytest.raises(errors.InvalidInput) as err:
        web.query_bools({"all": "yes"}, ("all",))
    assert err.value.field == "all"


def test_query_and_limit() -> None:
    assert web.query(_request(b"", cluster="prod")) == {"cluster": "prod"} and web.query(_request()) == {}
    assert web.limit({}) == 100 and web.limit({"limit": "7"}) == 7
    for bad in ("0", "1001", "many"):
        with pytest.raises(errors.InvalidInput) as err:
            web.limit({"limit": bad})
        assert err.value.field == "limit"


def test_output_as_yaml_or_json() -> None:
    body = {"name": "web", "values": {"port": "22:22"}}
    assert web.output(body, None) is body and web.output(body, "json") is body
    resp = web.output(body, "yaml")
    assert resp.headers["Content-Type"] == "application/yaml" and yaml.safe_load(resp.body) == body
    with pytest.raises(errors.InvalidInput) as err:
        web.output(body, "xml")
    assert err.value.field == "output"


def test_page() -> None:
    assert web.page([{"a": 1}], "t", "releases") == {"releases": [{"a": 1}], "next_token": "t"}
