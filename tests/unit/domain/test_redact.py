"""Redaction: presigned URLs, bearer and EKS tokens, passwords in URLs and text, literal secrets."""

from __future__ import annotations

import pytest

from chalicelib.domain import redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("GET https://sts.amazonaws.com/?X-Amz-Signature=abc123&X-Amz-Credential=AKID", "X-Amz-Signature=abc123"),
        ("Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi.payload.sig"),
        ("token: k8s-aws-v1.aHR0cHM6Ly9zdHM", "aHR0cHM6Ly9zdHM"),
        ("fetching https://user:pa55word@charts.example.com/x.tgz", "pa55word"),
        ("password=hunter22", "hunter22"),
    ],
)
def test_redact(text: str, secret: str) -> None:
    assert secret not in redact.redact(text)


def test_redact_literal_secrets() -> None:
    assert "my-very-secret" not in redact.redact("x my-very-secret y", ("my-very-secret",))
