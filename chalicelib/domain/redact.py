"""One place that scrubs secrets from text bound for a log line, an error message or a response."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from chalicelib.domain import fields, yamlguard
from chalicelib.domain import values as vals
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

# The masking rules for values (docs/SECURITY.md, "What is masked", lists them with examples that are the tests'
# data). A key's words are found by case and separators: ``dbPassword`` -> db, password; ``API_KEY`` -> api, key.
CREDENTIAL_WORDS = frozenset(  # a key whose LAST word is one of these names a credential
    {
        "password",
        "passwords",
        "passwd",
        "pwd",
        "pass",
        "passphrase",
        "token",
        "tokens",
        "secret",
        "apikey",
        "privatekey",
        "secretkey",
        "accesskey",
        "credential",
        "credentials",
        "creds",
    }
)
CREDENTIAL_PAIRS = frozenset(  # ... or whose last TWO words, joined, are one of these
    {
        "apikey",
        "privatekey",
        "secretkey",
        "accesskey",
        "signingkey",
        "encryptionkey",
        "masterkey",
        "clientkey",
        "authkey",
        "sharedkey",
        "accountkey",
        "sslkey",
        "tlskey",
    }
)
REFERENCE_FIRST_WORDS = frozenset({"existing"})  # existingSecret names a Secret: it is not one
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_DOC_SPLIT = re.compile(r"^(---[^\n]*\n)", re.MULTILINE)
_SECRET_KIND = re.compile(r"^kind:\s*[\"']?Secret[\"']?\s*$", re.MULTILINE)
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)([^/\s@]+)(@)")
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")

Path = tuple[str | int, ...]


def credential_key(key: object) -> bool:
    """Whether a values key names a credential: its last word is a credential word (``dbPassword``, ``API_TOKEN``,
    ``clientSecret``), or its last two words are a credential pair (``apiKey``, ``secret_key``, ``privateKey``),
    and its first word is not a reference word (``existingSecret`` names a Secret). ``secretName``,
    ``certKeyFilename``, ``passwordLength`` and ``imagePullSecrets`` end in other words: they stay visible."""
    if not isinstance(key, str):
        return False
    words = [w.lower() for w in _WORD.findall(key)]
    if not words or words[0] in REFERENCE_FIRST_WORDS:
        return False
    return words[-1] in CREDENTIAL_WORDS or "".join(words[-2:]) in CREDENTIAL_PAIRS


secret_key = credential_key  # the name older callers used


def key_words(key: str) -> str:
    """A key's words lower-cased and joined: ``connectionString``, ``connection_string`` and ``CONNECTION-STRING``
    are all ``connectionstring``. Added key rules (:class:`Masking`) are compared in this form."""
    return "".join(w.lower() for w in _WORD.findall(key))


@dataclass(frozen=True)
class Masking:
    """Rules added to the defaults: values ``paths`` masked with all below them (``set_sensitive``, or a cluster's
    or repository's ``masking.paths``), and key names (``masking.keys``, in :func:`key_words` form) whose values
    are masked wherever they occur, like a credential's."""

    paths: tuple[Path, ...] = ()
    keys: tuple[str, ...] = ()

    def __add__(self, other: Masking) -> Masking:
        return Masking(
            tuple(dict.fromkeys(tuple(p) for p in (*self.paths, *other.paths))),
            tuple(dict.fromkeys((*self.keys, *other.keys))),
        )

    def names_credential(self, key: object) -> bool:
        return credential_key(key) or (isinstance(key, str) and bool(self.keys) and key_words(key) in self.keys)

    def to_json(self) -> dict[str, list[str]]:
        """As a cluster or repository shows it (and stores it): keys as given to :func:`key_words`, paths in
        ``--set`` syntax."""
        return {"keys": list(self.keys), "paths": [vals.render_path(p) for p in self.paths]}

    @classmethod
    def from_json(cls, raw: object, field: str = "masking") -> Masking:
        """A cluster's or repository's ``masking``: ``{"keys": [...], "paths": [...]}``, both optional."""
        if raw is None:
            return NO_MASKING
        if not isinstance(raw, dict) or set(raw) - fields.MASKING.names:
            raise InvalidInput(field, 'must be an object with "keys" and/or "paths" (lists of strings)')
        keys, paths = raw.get("keys") or [], raw.get("paths") or []
        for name, items in (("keys", keys), ("paths", paths)):
            if not isinstance(items, list) or len(items) > MAX_RULES:
                raise InvalidInput(f"{field}.{name}", f"must be a list of at most {MAX_RULES} strings")
        words = []
        for i, key in enumerate(keys):
            if not isinstance(key, str) or not key_words(key) or len(key) > 256:
                raise InvalidInput(f"{field}.keys[{i}]", "must be a key name such as connectionString")
            words.append(key_words(key))
        parsed = [vals.parse_path(p, f"{field}.paths[{i}]") for i, p in enumerate(paths)]
        return cls(tuple(dict.fromkeys(parsed)), tuple(dict.fromkeys(words)))


NO_MASKING = Masking()
MAX_RULES = 100


def _mask_all(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _mask_all(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_mask_all(v) for v in node]
    return MASK if node is not None else None


def _mask_string(text: str) -> str:
    """A value masked for its shape, whatever its key: a private key whole, a URL's password."""
    if _PRIVATE_KEY.search(text):
        return MASK
    return _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), text)


def mask_values(values: Any, sensitive: Iterable[Path] = (), keys: Iterable[str] = ()) -> Any:
    """``values`` masked by the documented rules (structure kept, ``None`` and booleans shown):

    1. every ``set_sensitive`` path, with all below it (and every path a cluster's or repository's rules add);
    2. the value of a key that names a credential (:func:`credential_key`, or one of the added ``keys`` in
       :func:`key_words` form) when it is a scalar or a list of them (a mapping under such a key is walked by
       these same rules, so ``secret: {name: x}`` keeps the name);
    3. the ``data`` and ``stringData`` of every mapping with ``kind: Secret``, with all below them;
    4. in every string, a private key (``-----BEGIN ... PRIVATE KEY-----``) whole and a URL's password
       (``postgres://app:<redacted>@db``)."""
    marked = {tuple(p) for p in sensitive}
    named = Masking(keys=tuple(keys)).names_credential

    def walk(node: Any, path: Path, credential: bool) -> Any:
        if path in marked:
            return _mask_all(node)
        if isinstance(node, dict):
            is_secret = node.get("kind") == "Secret"
            return {
                k: _mask_all(v) if is_secret and k in ("data", "stringData") else walk(v, (*path, k), named(k))
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [walk(v, (*path, i), credential and not isinstance(v, dict)) for i, v in enumerate(node)]
        if credential and node is not None and not isinstance(node, bool):
            return MASK
        return _mask_string(node) if isinstance(node, str) else node

    return walk(values, (), False)


def sensitive_strings(values: Any, sensitive: Iterable[Path] = (), keys: Iterable[str] = ()) -> tuple[str, ...]:
    """The literal strings ``mask_values`` hides, to scrub them from helm's messages too."""
    original, masked = values, mask_values(values, sensitive, keys)
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
        elif isinstance(a, str) and isinstance(b, str) and a != b:  # a URL's password
            found.extend(m.group(2) for m in _URL_PASSWORD.finditer(a))

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
