"""One place that scrubs secrets from text bound for a log line, an error message or a response."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import yaml

from chalicelib.domain import yamlguard
from chalicelib.errors import InvalidInput

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # presigned URLs and any URL query string (may carry signatures or tokens)
    (re.compile(r"(https?://[^\s?\"']+)\?[^\s\"']*"), r"\1?<redacted>"),
    # bearer tokens, EKS tokens, basic auth
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1<redacted>"),
    (re.compile(r"k8s-aws-v1\.[A-Za-z0-9_-]+"), "k8s-aws-v1.<redacted>"),
    (
        re.compile(r"(?i)\b(token|password|secret|client-key-data|client-certificate-data)(\s*[:=]\s*)\S+"),
        r"\1\2<redacted>",
    ),
    # user:password@ in URLs
    (re.compile(r"(https?://)[^/\s:@]+:[^/\s@]+@"), r"\1<redacted>@"),
)

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


# ---------------------------------------------------------------- values and manifests

MASK = "<redacted>"
SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "secrets",
        "token",
        "tokens",
        "key",
        "keys",
        "apikey",
        "privatekey",
        "credential",
        "credentials",
        "creds",
    }
)
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_DOC_SPLIT = re.compile(r"^(---[^\n]*\n)", re.MULTILINE)
_SECRET_KIND = re.compile(r"^kind:\s*[\"']?Secret[\"']?\s*$", re.MULTILINE)

Path = tuple[str | int, ...]


def secret_key(key: object) -> bool:
    """Whether a values key looks like it holds a secret (``dbPassword``, ``api_key``, ``TOKEN``, ``secrets``)."""
    if not isinstance(key, str):
        return False
    words = [w.lower() for w in _WORD.findall(key)]
    joined = "".join(words)
    return any(w in SECRET_WORDS for w in words) or joined in SECRET_WORDS


def _mask_all(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _mask_all(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_mask_all(v) for v in node]
    return MASK if node is not None else None


def mask_values(values: Any, sensitive: Iterable[Path] = ()) -> Any:
    """``values`` with every secret-looking key and every ``set_sensitive`` path masked (structure kept)."""
    marked = {tuple(p) for p in sensitive}

    def walk(node: Any, path: Path) -> Any:
        if path in marked:
            return _mask_all(node)
        if isinstance(node, dict):
            return {k: _mask_all(v) if secret_key(k) else walk(v, (*path, k)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, (*path, i)) for i, v in enumerate(node)]
        return node

    return walk(values, ())


def sensitive_strings(values: Any, sensitive: Iterable[Path] = ()) -> tuple[str, ...]:
    """The literal strings ``mask_values`` hides, to scrub them from helm's messages too."""
    original, masked = values, mask_values(values, sensitive)
    found: list[str] = []

    def walk(a: Any, b: Any) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for k in a:
                walk(a[k], b.get(k))
        elif isinstance(a, list) and isinstance(b, list):
            for x, y in zip(a, b, strict=False):
                walk(x, y)
        elif b == MASK and a is not None and not isinstance(a, bool):
            found.append(str(a))

    walk(original, masked)
    return tuple(dict.fromkeys(found))


def mask_manifest(manifest: str) -> str:
    """A rendered manifest with the ``data`` and ``stringData`` values of every Secret masked."""
    if not _SECRET_KIND.search(manifest):
        return manifest
    parts = _DOC_SPLIT.split(manifest)  # [doc, sep, doc, sep, doc...]
    return "".join(_mask_secret_doc(p) if i % 2 == 0 else p for i, p in enumerate(parts))


def _mask_secret_doc(doc: str) -> str:
    if not _SECRET_KIND.search(doc):
        return doc
    try:
        data = yamlguard.load(doc, "manifest", yamlguard.MANIFEST)
    except (yaml.YAMLError, InvalidInput):
        # not parseable: keep only the lines that cannot carry secret data
        return (
            "".join(line for line in doc.splitlines(keepends=True) if line.lstrip().startswith("#"))
            + f"# (a Secret that could not be parsed: {MASK})\n"
        )
    if not isinstance(data, dict):
        return doc
    for section in ("data", "stringData"):
        if isinstance(data.get(section), dict):
            data[section] = {k: MASK for k in data[section]}
    comments = "".join(line for line in doc.splitlines(keepends=True) if line.startswith("#"))
    return comments + yaml.safe_dump(data, sort_keys=False)
