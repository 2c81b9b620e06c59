"""Who is calling, per mode: the IAM identity and JWT claims API Gateway puts in the request context, bearer
tokens; a mode never accepts another mode's credentials."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.app import Request

from chalicelib.core.auth import Principal, authenticate
from chalicelib.domain.sdksign import SignedRequest
from chalicelib.errors import Unauthenticated

ARN = "arn:aws:sts::123456789012:assumed-role/deployer/ci-run"


class Tokens:
    def lookup(self, token: str) -> str | None:
        return "ci" if token == "cht_" + "a" * 43 else None


def request(headers: dict[str, str] | None = None, context: dict[str, Any] | None = None) -> Request:
    event = {
        "multiValueQueryStringParameters": None,
        "headers": headers or {},
        "pathParameters": None,
        "requestContext": {"httpMethod": "GET", "resourcePath": "/v1/releases", **(context or {})},
        "stageVariables": None,
        "isBase64Encoded": False,
        "body": None,
    }
    return Request(event)


def test_iam_identity() -> None:
    who = authenticate(request(context={"identity": {"userArn": ARN, "sourceIp": "10.0.0.1"}}), "iam", Tokens())
    assert who == Principal(ARN, "iam")


def test_jwt_claims_and_groups() -> None:
    claims = {"sub": "u-1", "cognito:groups": "[team-a team-b]"}
    who = authenticate(request(context={"authorizer": {"claims": claims}}), "jwt", Tokens())
    assert who.id == "jwt:u-1" and who.names == ("jwt:u-1", "group:team-a", "group:team-b")


def test_bearer_token() -> None:
    who = authenticate(request({"authorization": "Bearer cht_" + "a" * 43}), "token", Tokens())
    assert who == Principal("token:ci", "token")
    with pytest.raises(Unauthenticated, match="not valid"):
        authenticate(request({"authorization": "Bearer cht_" + "b" * 43}), "token", Tokens())


@pytest.mark.parametrize(
    ("mode", "req"),
    [
        ("iam", request({"authorization": "Bearer cht_" + "a" * 43})),  # a token is no IAM identity
        ("token", request(context={"identity": {"userArn": ARN}})),  # an identity in the context is not trusted locally
        ("jwt", request(context={"identity": {"userArn": ARN}})),
        ("iam", request(context={"identity": {"userArn": None}})),
        ("token", request({"authorization": "Basic dTpw"})),
    ],
)
def test_a_mode_takes_only_its_own_credentials(mode: str, req: Request) -> None:
    with pytest.raises(Unauthenticated):
        authenticate(req, mode, Tokens())


def test_x_auth_token_is_a_bearer_token_locally() -> None:
    who = authenticate(request({"x-auth-token": "cht_" + "a" * 43}), "token", Tokens())
    assert who == Principal("token:ci", "token")
    with pytest.raises(Unauthenticated):
        authenticate(request({"x-auth-token": "cht_" + "a" * 43}), "iam", Tokens())


class Signers:
    def authenticate(self, req: SignedRequest) -> Principal:
        return Principal("token:owner", "token")


SIGNED = {"authorization": "SDK-HMAC-SHA256 Access=CHAK1, SignedHeaders=x-sdk-date, Signature=" + "0" * 64}


def test_a_signed_request_is_the_key_owners_in_every_mode() -> None:
    signed = SignedRequest("GET", "/v2/charts", (), SIGNED, b"")
    for mode in ("iam", "jwt", "token"):
        who = authenticate(request(SIGNED), mode, Tokens(), Signers(), signed, gateway_checked=False)
        assert who.id == "token:owner"
    with pytest.raises(Unauthenticated, match="not accepted"):
        authenticate(request(SIGNED), "token", Tokens())


@pytest.mark.parametrize("mode", ["iam", "jwt"])
def test_without_the_gateway_authorizer_the_context_is_not_trusted(mode: str) -> None:
    context = {"identity": {"userArn": ARN}, "authorizer": {"claims": {"sub": "u-1"}}}
    assert authenticate(request(context=context), mode, Tokens()).id in (ARN, "jwt:u-1")
    with pytest.raises(Unauthenticated, match="access key"):
        authenticate(request(context=context), mode, Tokens(), gateway_checked=False)
