"""Huawei Cloud's ``SDK-HMAC-SHA256`` request signature, computed exactly as ``huaweicloudsdkcore`` signs.

The SDK sends ``Authorization: SDK-HMAC-SHA256 Access=<ak>, SignedHeaders=<a;b;c>, Signature=<hex>`` and
``X-Sdk-Date: <YYYYMMDDTHHMMSSZ>``. The signature is HMAC-SHA256(secret key, string to sign) where::

    string to sign    = "SDK-HMAC-SHA256" \\n <X-Sdk-Date> \\n hex(sha256(canonical request))
    canonical request = METHOD \\n canonical URI \\n canonical query \\n canonical headers \\n signed headers \\n
                        payload hash

* canonical URI: the decoded path, each segment percent-encoded (``~`` kept), ending with ``/``;
* canonical query: ``key=value`` pairs, both percent-encoded, sorted by key then value, joined by ``&``;
* canonical headers: ``name:value`` (lower-case name, trimmed value) for each signed header, one per line;
* payload hash: the SHA-256 of the body (of the empty string for none), always computed here from the body
  received. The SDK sends ``X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`` for a body that is not JSON (a multipart
  upload) and signs that word instead of the hash: accepted only where the route allows it
  (``SignedRequest.unsigned_payload``: the chart uploads); any other value of the header must be the body's hash.

``X-Sdk-Date`` and ``Host`` must be among the signed headers (the SDK signs every header it sends, those two
included), so a signature is bound to its time and to the service it was made for.

Pure functions: who owns an access key, its secret, and replays are the business of ``core/access_keys``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from chalicelib.errors import Unauthenticated

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
DATE_HEADER = "x-sdk-date"
CONTENT_HEADER = "x-sdk-content-sha256"
HOST_HEADER = "host"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_HASH = hashlib.sha256(b"").hexdigest()
_AUTH = re.compile(
    r"^SDK-HMAC-SHA256\s+Access=([A-Za-z0-9_-]{1,128}),\s*SignedHeaders=([a-z0-9;._-]{1,1024}),\s*"
    r"Signature=([0-9a-f]{64})\s*$"
)


@dataclass(frozen=True)
class SignedRequest:
    """What the signature covers, as the service received it."""

    method: str
    path: str  # decoded, without the query
    query: tuple[tuple[str, str], ...]
    headers: Mapping[str, str]  # names in lower case
    body: bytes
    unsigned_payload: bool = False  # the route takes a body the SDK does not hash (a multipart chart upload)


@dataclass(frozen=True)
class Authorization:
    access_key: str
    signed_headers: tuple[str, ...]
    signature: str


def is_signed(authorization: str | None) -> bool:
    return (authorization or "").startswith(ALGORITHM + " ")


def parse_authorization(header: str) -> Authorization:
    found = _AUTH.match(header.strip())
    if not found:
        raise Unauthenticated(
            "the SDK-HMAC-SHA256 Authorization header is malformed "
            "(expected Access=..., SignedHeaders=..., Signature=...)"
        )
    return Authorization(found.group(1), tuple(found.group(2).split(";")), found.group(3))


def signed_at(headers: Mapping[str, str]) -> datetime:
    raw = headers.get(DATE_HEADER)
    if not raw:
        raise Unauthenticated("a signed request needs the X-Sdk-Date header")
    try:
        return datetime.strptime(raw, DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise Unauthenticated("X-Sdk-Date must be YYYYMMDDTHHMMSSZ (UTC)") from exc


def _encode(text: str) -> str:
    return quote(text, safe="~")


def canonical_uri(path: str) -> str:
    uri = "/".join(_encode(segment) for segment in unquote(path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(query: tuple[tuple[str, str], ...]) -> str:
    return "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(query))


def canonical_request(req: SignedRequest, signed_headers: tuple[str, ...]) -> str:
    lines = []
    for name in signed_headers:
        value = req.headers.get(name)
        if value is None:
            raise Unauthenticated(f"the signed header {name} is missing from the request")
        lines.append(f"{name}:{value.strip()}")
    payload = payload_hash(req)
    return "\n".join(
        [
            req.method.upper(),
            canonical_uri(req.path),
            canonical_query(req.query),
            "\n".join(lines) + "\n",
            ";".join(signed_headers),
            payload,
        ]
    )


def payload_hash(req: SignedRequest) -> str:
    """The last line of the canonical request: the SHA-256 of the body as received (the SDK hashes an empty body
    whatever the header says), or ``UNSIGNED-PAYLOAD`` where the route allows it."""
    if not req.body:
        return EMPTY_HASH
    declared = req.headers.get(CONTENT_HEADER)
    if declared == UNSIGNED_PAYLOAD:
        if not req.unsigned_payload:
            raise Unauthenticated(
                "X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD is accepted only on chart uploads; sign the body's SHA-256"
            )
        return UNSIGNED_PAYLOAD
    actual = hashlib.sha256(req.body).hexdigest()
    if declared is not None and declared != actual:
        raise Unauthenticated("X-Sdk-Content-Sha256 is not the SHA-256 of the body received")
    return actual


def string_to_sign(canonical: str, date: str) -> str:
    return f"{ALGORITHM}\n{date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"


def signature(secret_key: str, req: SignedRequest, signed_headers: tuple[str, ...]) -> str:
    date = req.headers.get(DATE_HEADER) or ""
    text = string_to_sign(canonical_request(req, signed_headers), date)
    return hmac.new(secret_key.encode(), text.encode(), hashlib.sha256).hexdigest()


def verify(secret_key: str, req: SignedRequest, auth: Authorization) -> None:
    """``Unauthenticated`` unless ``auth`` is a valid signature of ``req`` with ``secret_key``. The date header
    must be one of the signed headers (else an old signature could be given a fresh date), and so must the host."""
    if DATE_HEADER not in auth.signed_headers:
        raise Unauthenticated("X-Sdk-Date must be one of the signed headers")
    if HOST_HEADER not in auth.signed_headers:
        raise Unauthenticated("Host must be one of the signed headers")
    if auth.signed_headers != tuple(sorted(auth.signed_headers)):
        raise Unauthenticated("SignedHeaders must be sorted, as the SDK sends them")
    expected = signature(secret_key, req, auth.signed_headers)
    if not hmac.compare_digest(expected, auth.signature):
        raise Unauthenticated("the request signature does not match (check the access key's secret and the clock)")
