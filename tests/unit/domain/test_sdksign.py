"""SDK-HMAC-SHA256: a request signed by huaweicloudsdkcore's own signer verifies; any change to what it covers does not
(a differential test: the SDK signs, this module verifies). The body's hash is always computed from the body received;
``UNSIGNED-PAYLOAD`` is accepted only where the route allows it; the date and the host must be signed."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from chalicelib.domain import sdksign
from chalicelib.errors import Unauthenticated

AK, SK = "CHAKTEST", "secret-key-value"
PATH = "/cce/cam/v3/clusters/local/namespace/default/releases/web"


def signed(
    method: str = "GET",
    path: str = PATH,
    query: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    content_type: str = "application/json",
    unsigned_payload: bool = False,
    extra: dict[str, str] | None = None,
) -> sdksign.SignedRequest:
    """Sign with the SDK's signer, then see the request as the service receives it."""
    req = SdkRequest(
        method=method,
        schema="http",
        host="127.0.0.1:8000",
        resource_path=path,
        query_params=query or [],
        header_params={
            "Content-Type": content_type,
            "X-Project-Id": "p",
            "User-Agent": "huaweicloud-usdk-python/3.0",
            **(extra or {}),
        },
        body=body,
    )
    Signer(BasicCredentials(AK, SK, "p")).sign(req)
    headers = {k.lower(): str(v) for k, v in req.header_params.items()}
    return sdksign.SignedRequest(method, path, tuple(query or ()), headers, body, unsigned_payload)


def check(req: sdksign.SignedRequest, secret: str = SK) -> None:
    sdksign.verify(secret, req, sdksign.parse_authorization(req.headers["authorization"]))


@pytest.mark.parametrize(
    "req",
    [
        signed(),
        signed(query=[("namespace", "default"), ("chart_id", "a b~c")]),
        signed("POST", "/cce/cam/v3/clusters/local/releases", body=b'{"name": "web"}'),
        signed(
            "POST",
            "/v2/charts",
            body=b"--b\r\n...",
            content_type="multipart/form-data; boundary=b",
            unsigned_payload=True,
        ),
        signed(
            "PUT",
            "/v1/policies/p1",
            body=b'{"rules": []}',
            extra={"X-Sdk-Content-Sha256": hashlib.sha256(b'{"rules": []}').hexdigest()},
        ),
        signed("DELETE", "/v2/charts/6f1c2a52-0d3c-4f53-9a55-63a3c1b0c0de"),
    ],
)
def test_what_the_sdk_signs_verifies(req: sdksign.SignedRequest) -> None:
    assert sdksign.is_signed(req.headers["authorization"])
    check(req)
    assert sdksign.parse_authorization(req.headers["authorization"]).access_key == AK


def test_a_multipart_body_is_unsigned_as_the_sdk_sends_it_on_an_upload_route_only() -> None:
    req = signed("POST", "/v2/charts", body=b"original", content_type="multipart/form-data; boundary=b")
    assert req.headers["x-sdk-content-sha256"] == "UNSIGNED-PAYLOAD"
    check(replace(req, body=b"other", unsigned_payload=True))
    with pytest.raises(Unauthenticated, match="UNSIGNED-PAYLOAD is accepted only on chart uploads"):
        check(req)  # the route does not allow it


def test_a_body_signed_unsigned_elsewhere_is_refused_whatever_the_body() -> None:
    """The finding: a JSON route signed with X-Sdk-Content-Sha256 (the SDK sends it for any content type that is not
    JSON) was verified without its body, so a body swapped after signing was accepted."""
    req = signed("PUT", "/v1/policies/p1", body=b'{"rules": []}', content_type="text/plain")
    assert req.headers["x-sdk-content-sha256"] == "UNSIGNED-PAYLOAD"
    for body in (b'{"rules": []}', b'{"rules": [{"verbs": ["admin"]}]}'):
        with pytest.raises(Unauthenticated, match="UNSIGNED-PAYLOAD"):
            check(replace(req, body=body))


def test_a_declared_body_hash_must_be_the_bodys() -> None:
    body = b'{"name": "web"}'
    req = signed("POST", PATH, body=body, extra={"X-Sdk-Content-Sha256": hashlib.sha256(body).hexdigest()})
    check(req)
    with pytest.raises(Unauthenticated, match="not the SHA-256 of the body"):
        check(replace(req, body=b'{"name": "evil"}'))
    forged = signed("POST", PATH, body=b'{"name": "evil"}', extra={"X-Sdk-Content-Sha256": "0" * 64})
    with pytest.raises(Unauthenticated, match="not the SHA-256 of the body"):
        check(forged)


def test_an_empty_body_is_the_empty_hash_whatever_the_header() -> None:
    req = signed("DELETE", PATH, content_type="text/plain")
    assert req.headers["x-sdk-content-sha256"] == "UNSIGNED-PAYLOAD"
    check(req)  # the SDK hashes an empty body as the empty string
    with pytest.raises(Unauthenticated, match="UNSIGNED-PAYLOAD"):
        check(replace(req, body=b"smuggled"))


BODY = b'{"name": "web"}'


@pytest.mark.parametrize(
    "change",
    [
        {"method": "DELETE"},
        {"method": "PUT"},
        {"path": PATH.replace("web", "db")},
        {"path": PATH + "/history"},
        {"query": (("namespace", "kube-system"),)},
        {"query": (("namespace", "default"), ("namespace", "default"))},
        {"body": b'{"name": "evil"}'},
        {"body": BODY + b" "},
        {"body": b""},
    ],
)
def test_any_change_breaks_the_signature(change: dict[str, object]) -> None:
    req = signed("POST", PATH, query=[("namespace", "default")], body=BODY)
    check(req)
    with pytest.raises(Unauthenticated, match="does not match"):
        check(replace(req, **change))  # type: ignore[arg-type]


@pytest.mark.parametrize("header", ["host", "x-sdk-date", "x-project-id", "content-type", "user-agent"])
def test_a_change_to_any_signed_header_breaks_the_signature(header: str) -> None:
    req = signed("POST", PATH, body=BODY)
    assert header in sdksign.parse_authorization(req.headers["authorization"]).signed_headers
    changed = "20991231T000000Z" if header == "x-sdk-date" else req.headers[header] + "x"
    with pytest.raises(Unauthenticated, match="does not match"):
        check(replace(req, headers={**req.headers, header: changed}))


def test_the_host_must_be_signed() -> None:
    req = signed()
    auth = sdksign.parse_authorization(req.headers["authorization"])
    assert "host" in auth.signed_headers  # as the SDK signs it
    without = replace(auth, signed_headers=tuple(h for h in auth.signed_headers if h != "host"))
    unsigned_host = {k: v for k, v in req.headers.items() if k != "host"}
    with pytest.raises(Unauthenticated, match="Host must be one of the signed headers"):
        sdksign.verify(SK, replace(req, headers=unsigned_host), without)


def test_a_changed_header_or_secret_breaks_it() -> None:
    req = signed()
    with pytest.raises(Unauthenticated):
        check(replace(req, headers={**req.headers, "x-project-id": "other"}))
    with pytest.raises(Unauthenticated):
        check(req, "another-secret")
    missing = {k: v for k, v in req.headers.items() if k != "user-agent"}
    with pytest.raises(Unauthenticated, match="user-agent is missing"):
        check(replace(req, headers=missing))


def test_the_date_must_be_signed() -> None:
    req = signed()
    auth = sdksign.parse_authorization(req.headers["authorization"])
    unsigned_date = replace(auth, signed_headers=tuple(h for h in auth.signed_headers if h != "x-sdk-date"))
    with pytest.raises(Unauthenticated, match="X-Sdk-Date"):
        sdksign.verify(SK, req, unsigned_date)
    assert sdksign.signed_at(req.headers).year >= 2024
    with pytest.raises(Unauthenticated):
        sdksign.signed_at({"x-sdk-date": "yesterday"})
    with pytest.raises(Unauthenticated):
        sdksign.signed_at({})


@pytest.mark.parametrize(
    "header",
    ["SDK-HMAC-SHA256 Access=a", "SDK-HMAC-SHA256 Access=a, SignedHeaders=host, Signature=zz", "Bearer x"],
)
def test_malformed_authorization(header: str) -> None:
    with pytest.raises(Unauthenticated, match="malformed"):
        sdksign.parse_authorization(header)


def test_canonical_forms() -> None:
    assert sdksign.canonical_uri("/v2/charts") == "/v2/charts/"
    assert sdksign.canonical_uri("/a%20b/c~d") == "/a%20b/c~d/"
    assert sdksign.canonical_query((("b", "2"), ("a", "x y"), ("a", "1"))) == "a=1&a=x%20y&b=2"


def test_canonical_forms_of_slashes_and_the_date() -> None:
    assert sdksign.canonical_uri("/v2/charts/") == "/v2/charts/"  # one trailing slash, never two
    assert sdksign.canonical_query((("url", "a/b"), ("t", "~x"))) == "t=~x&url=a%2Fb"  # '/' encoded in a value
    assert sdksign.signed_at({"x-sdk-date": "20261207T193000Z"}) == datetime(2026, 12, 7, 19, 30, tzinfo=UTC)
    assert sdksign.signed_at({"x-sdk-date": "20261207T193000Z"}).tzinfo is UTC


def test_a_query_value_with_a_slash_verifies_as_the_sdk_signs_it() -> None:
    req = signed(query=[("repo", "https://charts.example/stable"), ("chart", "a/b")])
    check(req)
    with pytest.raises(Unauthenticated, match="does not match"):
        check(replace(req, query=(("repo", "https://charts.example/stable"), ("chart", "a"))))


def test_signed_headers_must_be_sorted() -> None:
    req = signed()
    auth = sdksign.parse_authorization(req.headers["authorization"])
    unsorted = replace(auth, signed_headers=tuple(reversed(auth.signed_headers)))
    with pytest.raises(Unauthenticated) as exc:
        sdksign.verify(SK, req, unsorted)
    assert exc.value.message == "SignedHeaders must be sorted, as the SDK sends them"


def _refusal(call: Callable[[], object]) -> str:
    with pytest.raises(Unauthenticated) as exc:
        call()
    return exc.value.message


def test_each_refusal_says_exactly_what_is_wrong() -> None:
    """The messages are the caller's only clue (a 401 says nothing else): each is asserted whole."""
    req = signed("POST", PATH, body=BODY)
    auth = sdksign.parse_authorization(req.headers["authorization"])
    no_host = replace(auth, signed_headers=tuple(h for h in auth.signed_headers if h != "host"))
    no_date = replace(auth, signed_headers=tuple(h for h in auth.signed_headers if h != "x-sdk-date"))
    unsigned = signed("PUT", PATH, body=BODY, content_type="text/plain")
    hashed = signed("POST", PATH, body=BODY, extra={"X-Sdk-Content-Sha256": "0" * 64})
    assert [
        _refusal(lambda: sdksign.parse_authorization("SDK-HMAC-SHA256 Access=a")),
        _refusal(lambda: sdksign.signed_at({})),
        _refusal(lambda: sdksign.signed_at({"x-sdk-date": "2026-12-07"})),
        _refusal(lambda: sdksign.verify(SK, req, no_date)),
        _refusal(lambda: sdksign.verify(SK, req, no_host)),
        _refusal(lambda: check(unsigned)),
        _refusal(lambda: check(hashed)),
        _refusal(lambda: check(req, "another-secret")),
    ] == [
        "the SDK-HMAC-SHA256 Authorization header is malformed (expected Access=..., SignedHeaders=..., Signature=...)",
        "a signed request needs the X-Sdk-Date header",
        "X-Sdk-Date must be YYYYMMDDTHHMMSSZ (UTC)",
        "X-Sdk-Date must be one of the signed headers",
        "Host must be one of the signed headers",
        "X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD is accepted only on chart uploads; sign the body's SHA-256",
        "X-Sdk-Content-Sha256 is not the SHA-256 of the body received",
        "the request signature does not match (check the access key's secret and the clock)",
    ]
