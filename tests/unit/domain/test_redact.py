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


def test_a_secret_that_is_an_alias_bomb_is_masked_whole() -> None:
    """A chart can render any text; a Secret built from nested aliases is neither expanded nor shown."""
    anchors = ["b0: &b0 [x, x, x, x, x, x, x, x, x, x]"]
    anchors += [f"b{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * 10) + "]" for i in range(1, 7)]
    doc = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n" + "\n".join(anchors) + "\nstringData: {x: *b6}\n"
    masked = redact.mask_manifest("kind: ConfigMap\n---\n" + doc)
    assert masked.startswith("kind: ConfigMap\n---\n") and len(masked) < 200
    assert "could not be parsed" in masked and "*b6" not in masked
