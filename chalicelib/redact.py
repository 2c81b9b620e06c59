"""One place that scrubs secrets from text bound for a log line, an error message or a response."""

from __future__ import annotations

import re

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # presigned URLs and any URL query string (may carry signatures or tokens)
    (re.compile(r"(https?://[^\s?\"']+)\?[^\s\"']*"), r"\1?<redacted>"),
    # bearer tokens, EKS tokens, basic auth
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1<redacted>"),
    (re.compile(r"k8s-aws-v1\.[A-Za-z0-9_-]+"), "k8s-aws-v1.<redacted>"),
    (re.compile(r"(?i)\b(token|password|secret|client-key-data|client-certificate-data)(\s*[:=]\s*)\S+"),
     r"\1\2<redacted>"),
    # user:password@ in URLs
    (re.compile(r"(https?://)[^/\s:@]+:[^/\s@]+@"), r"\1<redacted>@"),
)  # fmt: skip

MAX_MESSAGE = 2000


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Return ``text`` with known secret shapes and the given literal ``secrets`` replaced."""
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, "<redacted>")
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def short(text: str, limit: int = MAX_MESSAGE) -> str:
    """Redacted and bounded: for error messages shown to callers."""
    text = redact(text.strip())
    return text if len(text) <= limit else text[: limit - 3] + "..."
