"""Repository specs: what is refused, field by field, and what is kept as a secret."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from chalicelib.core.repositories import RepositorySpec
from chalicelib.errors import InvalidInput

CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "url"),
        ({"url": "ftp://x"}, "url"),
        ({"url": "https://u:p@x"}, "url"),
        ({"url": "https://x?token=1"}, "url"),
        ({"url": "oci://x y"}, "url"),
        ({"url": "https://x", "username": "u"}, "password"),
        ({"url": "https://x", "password": "p"}, "username"),
        ({"url": "https://x", "username": "u", "password": "p", "token": "t"}, "token"),
        ({"url": "https://x", "client_certificate": CERT}, "client_key"),
        ({"url": "https://x", "ca_bundle": "not pem"}, "ca_bundle"),
        ({"url": "https://x", "ca_bundle": CERT}, "ca_bundle"),  # PEM-shaped but not a certificate
        ({"url": "https://x", "keyring": "%%%"}, "keyring"),
        ({"url": "https://x", "plain_http": True}, "plain_http"),
        ({"url": "https://x", "colour": "red"}, "colour"),
        ({"url": "https://x", "insecure_skip_tls_verify": "yes"}, "insecure_skip_tls_verify"),
    ],
)
def test_repository_spec_refused(body: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        RepositorySpec.from_json("repo", body, allow_http=True)
    assert exc.value.field == field


def test_repository_spec() -> None:
    spec = RepositorySpec.from_json(
        "r",
        {"url": "oci://reg.example:5000/charts/", "username": "u", "password": "p", "plain_http": True},
        allow_http=True,
    )
    assert (spec.url, spec.kind, spec.secret) == (
        "oci://reg.example:5000/charts",
        "oci",
        {"username": "u", "password": "p"},
    )
    ring = base64.b64encode(b"\x99\x01keyring").decode()
    http = RepositorySpec.from_json("r", {"url": "https://charts.example", "token": "t0k", "keyring": ring}, True)
    assert http.kind == "http" and set(http.secret) == {"token", "keyring"}
    with pytest.raises(InvalidInput) as exc:
        RepositorySpec.from_json("uploaded", {"url": "https://x"}, True)
    assert exc.value.field == "repository"
    with pytest.raises(InvalidInput) as exc:
        RepositorySpec.from_json("r", {"url": "http://x"}, allow_http=False)
    assert exc.value.field == "url"
