"""Huawei Cloud's ``SDK-HMAC-SHA256`` request signature, computed exactly as ``huaweicloudsdkcore`` signs.

The SDK sends ``Authorization: SDK-HMAC-SHA256 Access=<ak>, SignedHeaders=<a;b;c>, Signature=<hex>`` and
``X-Sdk-Date: <YYYYMMDDTHHMMSSZ>``. The signature is HMAC-SHA256(secret key, string to sign) where::

    string to sign    = "SDK-HMAC-SHA256" \\n <X-Sdk-Date> \\n hex(sha256(canonical request))
    canonical request = METHOD \\n canonical URI \\n canonical query \\n canonical headers \\n signed headers \\n
                        payload hash

* canonical URI: the decoded path, each segment percent-encoded (``~`` kept), ending with ``/``;
* canonical query: ``key=value`` pairs, both percent-encoded, sorted by key then value, joined by ``&``;
* canonical headers: ``name:value`` (lower-case name, trimmed value) for each signed header, one per line;
* payload hash: ``X-Sdk-Content-Sha256`` when the SDK sent it (``UNSIGNED-PAYLOAD`` for a body that is not JSON,
  like a multipart upload), else the SHA-256 of the body (of the empty string for none).

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
    payload = req.headers.get(CONTENT_HEADER) or (hashlib.sha256(req.body).hexdigest() if req.body else EMPTY_HASH)
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


def string_to_sign(canonical: str, date: str) -> str:
    return f"{ALGORITHM}\n{date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"


def signature(secret_key: str, req: SignedRequest, signed_headers: tuple[str, ...]) -> str:
    date = req.headers.get(DATE_HEADER) or ""
    text = string_to_sign(canonical_request(req, signed_headers), date)
    return hmac.new(secret_key.encode(), text.encode(), hashlib.sha256).hexdigest()


def verify(secret_key: str, req: SignedRequest, auth: Authorization) -> None:
    """``Unauthenticated`` unless ``auth`` is a valid signature of ``req`` with ``secret_key``. The date header
    must be one of the signed headers (else an old signature could be given a fresh date)."""
    if DATE_HEADER not in auth.signed_headers:
        raise Unauthenticated("X-Sdk-Date must be one of the signed headers")
    if auth.signed_headers != tuple(sorted(auth.signed_headers)):
        raise Unauthenticated("SignedHeaders must be sorted, as the SDK sends them")
    expected = signature(secret_key, req, auth.signed_headers)
    if not hmac.compare_digest(expected, auth.signature):
        raise Unauthenticated("the request signature does not match (check the access key's secret and the clock)")
