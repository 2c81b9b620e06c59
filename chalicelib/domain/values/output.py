"""What leaves the values package: the file handed to helm and the digest a release record keeps.

:func:`to_helm_file` emits JSON. JSON is valid YAML and every string in it is quoted, so helm's YAML 1.1 parser
cannot reinterpret ``"on"``, ``"y"``, ``"1.10"`` or ``"2024-01-01"``; what helm reads is exactly the mapping
built by :func:`~chalicelib.domain.values.merge.combine`. The service never puts values on the helm command line
(they would show in ``ps`` and in logs): the caller writes this text to a ``0600`` file and runs
``helm ... -f <file>``.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from chalicelib.domain.values.tree import canonical

__all__ = ["digest", "to_helm_file"]

# Characters that JSON leaves raw but that a YAML 1.1 reader (helm's) rejects or treats as
# line breaks: DEL, C1 controls (NEL included), LS, PS, BOM and the two non-characters.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


def _check_tree(value: object, depth: int = 0) -> None:
    """Precondition check for the output functions (a programming error, not user input)."""
    if depth > 1000:
        raise ValueError("values nested too deeply")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError("values keys must be strings; use combine() first")
            _check_tree(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_tree(item, depth + 1)
    elif not (value is None or isinstance(value, (str, int, float))):
        raise TypeError(f"unsupported value type {type(value).__name__}")


def to_helm_file(values: dict[str, Any]) -> str:
    """The text of the values file for ``helm -f``: JSON, keys sorted, newline-terminated.

    JSON is YAML, and every string in it is double-quoted, so helm's YAML 1.1 parser reads back exactly
    ``values``: ``"on"``, ``"y"``, ``"1.10"``, ``"007"`` or ``"2024-01-01"`` stay strings. Non-ASCII text is
    written as UTF-8, except characters YAML forbids or treats as line breaks, which are written as ``\\uXXXX``
    escapes (valid in both). Deterministic: equal mappings give equal text.

    ``values`` must be JSON data with string keys, as returned by ``combine``; the caller writes the text to a
    file created with mode ``0600``. Raises ``TypeError`` or ``ValueError`` (NaN, infinity) if it is not.
    """
    _check_tree(values)
    text = json.dumps(values, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return _YAML_UNSAFE.sub(lambda found: f"\\u{ord(found.group()):04x}", text) + "\n"


def digest(values: dict[str, Any]) -> str:
    """``"sha256:<64 hex>"`` of the canonical JSON of ``values`` (sorted keys, compact, UTF-8). Records *that*
    values changed without storing them. Same precondition as :func:`to_helm_file`."""
    _check_tree(values)
    return "sha256:" + hashlib.sha256(canonical(values).encode("utf-8")).hexdigest()
