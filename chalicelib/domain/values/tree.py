"""Values trees: the JSON type every parser here produces, the size limits, and the one validating copy.

Every parser in this package (the YAML dialect, the ``--set`` forms, the values files) ends by passing what it
built through :func:`validated` or :func:`finish`, which check and copy it: mapping keys are strings, values are
JSON types, floats are finite, integers fit a float64, strings are valid Unicode, depth, node count and JSON size
are within :class:`Limits`. The copy shares no container with its input, so YAML aliases and objects owned by
the caller are never mutated later.

Rejections are :class:`~chalicelib.errors.InvalidInput` (or :class:`~chalicelib.errors.PayloadTooLarge` past a
limit) naming the request field, qualified with a path (``values.image.tag``). Messages quote user input only as
a short snippet (:func:`snip`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, TypeAlias

from chalicelib.errors import InvalidInput, PayloadTooLarge

__all__ = [
    "DEFAULT_LIMITS",
    "JSONValue",
    "Limits",
    "MarkedKey",
    "canonical",
    "check_text_size",
    "copy_tree",
    "describe",
    "finish",
    "json_spelling",
    "key_path",
    "merge_into",
    "snip",
    "validated",
]

JSONValue: TypeAlias = None | bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"]
"""A JSON document: what every public function of the package accepts and returns."""

SNIPPET = 40
"""Longest excerpt of user input quoted in a message."""

_MAX_INT = 2**1024  # beyond this an integer is not a float64 either; helm cannot read it


@dataclass(frozen=True)
class Limits:
    """Size limits for one request's values. All must be positive.

    ``max_bytes``
        Longest accepted YAML text (UTF-8 bytes), longest ``--set`` input of one field, longest total text of
        the values files, and largest result, measured as its compact JSON serialisation (UTF-8 bytes).
    ``max_depth``
        Deepest nesting of containers: ``{}`` has depth 1, ``{"a": [1]}`` depth 2. Also the most segments in
        one ``--set`` path.
    ``max_nodes``
        Most scalars (mapping keys included) plus containers in a parsed document, with every YAML alias
        counted at its expanded size and every ``None`` that pads a list after ``name[i]=...`` counted.
        Guards against alias bombs and index padding.
    ``max_set_entries``
        Most assignments in one ``set``/``set_string``/``set_json`` field.
    ``max_files``
        Most documents in ``values_files``.
    """

    max_bytes: int = 1_000_000
    max_depth: int = 64
    max_nodes: int = 100_000
    max_set_entries: int = 1000
    max_files: int = 64

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_depth", "max_nodes", "max_set_entries", "max_files"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive integer")


DEFAULT_LIMITS = Limits()


# --------------------------------------------------------------------------- message helpers


def snip(text: str) -> str:
    """A short, quoted, escaped excerpt of user input that is safe to put in a message."""
    if len(text) > SNIPPET:
        text = text[:SNIPPET] + "..."
    return json.dumps(text, ensure_ascii=True)


def key_path(field: str, key: str) -> str:
    """``field`` qualified with one mapping key, shortened so messages stay small."""
    if len(key) > SNIPPET:
        key = key[:SNIPPET] + "..."
    return f"{field}.{key}"


def describe(value: object) -> str:
    """A type name for messages: 'a string', 'null', ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def json_spelling(value: object) -> str:
    """How a non-string scalar is spelled in JSON: True -> 'true', None -> 'null'."""
    return json.dumps(value, allow_nan=False)


def _json_spelling_or_repr(value: object) -> str:
    try:
        return json_spelling(value)
    except (TypeError, ValueError):
        return repr(value)


@dataclass(frozen=True)
class MarkedKey:
    """Stands in for a mapping key that YAML did not read as a string, so that the validation walk can name
    both the path and the key as the user wrote it, with its line."""

    text: str
    line: int
    value: Any


def _bad_key_message(key: object) -> str:
    if isinstance(key, MarkedKey):
        return (
            f"key {snip(key.text)} on line {key.line} is read by YAML 1.1 as "
            f"{describe(key.value)}, not a string; quote it (helm would turn it into "
            f"{snip(_json_spelling_or_repr(key.value))})"
        )
    return f"mapping keys must be strings, found {describe(key)} key {snip(_json_spelling_or_repr(key))}"


def _unsupported(value: object) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "binary values (!!binary) are not supported"
    if isinstance(value, tuple):
        return "ordered maps and pairs (!!omap, !!pairs) are not supported"
    if isinstance(value, (set, frozenset)):
        return "sets (!!set) are not supported"
    return f"unsupported value type {type(value).__name__}"


# --------------------------------------------------------------------------- the validating copy


class _Walker:
    """Validates a decoded document and returns a fresh copy of it (see the module docstring).

    A running lower bound of the JSON size is checked against ``max_bytes`` as it goes, so aliased or repeated
    big strings are stopped before anything is serialised.
    """

    def __init__(self, field: str, limits: Limits) -> None:
        self.field = field
        self.limits = limits
        self.nodes = 0
        self.size = 0

    def _count(self, nodes: int, size: int) -> None:
        self.nodes += nodes
        self.size += size
        if self.nodes > self.limits.max_nodes:
            raise PayloadTooLarge(self.field, f"more than {self.limits.max_nodes} values and keys")
        if self.size > self.limits.max_bytes:
            raise PayloadTooLarge(self.field, f"larger than {self.limits.max_bytes} bytes as JSON")

    def walk(self, value: object, where: str, depth: int) -> JSONValue:
        """Validate and copy ``value`` found at ``where`` (a field path), ``depth`` containers deep."""
        if value is None or isinstance(value, bool):
            self._count(1, 5)
            return value
        if isinstance(value, int):
            if not -_MAX_INT < value < _MAX_INT:
                raise InvalidInput(where, "integer is out of range")
            self._count(1, value.bit_length() * 3 // 10 + 1)  # at most its digit count
            return int(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidInput(where, "NaN and infinite numbers are not allowed")
            self._count(1, 3)
            return value
        if isinstance(value, str):
            self._check_str(value, where)
            self._count(1, len(value) + 2)
            return value
        if isinstance(value, dict):
            self._enter(where, depth)
            self._count(1, 2)
            out: dict[str, JSONValue] = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise InvalidInput(where, _bad_key_message(key))
                self._check_str(key, where)
                self._count(1, len(key) + 4)
                out[key] = self.walk(item, key_path(where, key), depth + 1)
            return out
        if isinstance(value, list):
            self._enter(where, depth)
            self._count(1, 2)
            return [self.walk(item, f"{where}[{index}]", depth + 1) for index, item in enumerate(value)]
        raise InvalidInput(where, _unsupported(value))

    def _enter(self, where: str, depth: int) -> None:
        if depth + 1 > self.limits.max_depth:
            raise PayloadTooLarge(where, f"nested deeper than {self.limits.max_depth} levels")

    @staticmethod
    def _check_str(text: str, where: str) -> None:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(where, "contains an invalid Unicode surrogate") from None


def validated(value: object, field: str, limits: Limits) -> tuple[JSONValue, int]:
    """Validate and copy one JSON value; returns it and its node count."""
    walker = _Walker(field, limits)
    out = walker.walk(value, field, 0)
    return out, walker.nodes


def canonical(values: JSONValue) -> str:
    """Compact JSON with sorted keys: equal trees give equal text."""
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def finish(data: dict[str, Any], field: str, limits: Limits) -> tuple[dict[str, Any], int]:
    """Validate a whole result and enforce the exact JSON size limit. Returns a fresh copy and its node count."""
    out, nodes = validated(data, field, limits)
    assert isinstance(out, dict)
    if len(canonical(out).encode("utf-8")) > limits.max_bytes:
        raise PayloadTooLarge(field, f"larger than {limits.max_bytes} bytes as JSON")
    return out, nodes


def check_text_size(texts: list[str], field: str, limits: Limits) -> None:
    """The UTF-8 size of ``texts`` together is at most ``max_bytes``; no lone surrogates."""
    try:
        total = sum(len(text.encode("utf-8")) for text in texts)
    except UnicodeEncodeError:
        raise InvalidInput(field, "contains an invalid Unicode surrogate") from None
    if total > limits.max_bytes:
        raise PayloadTooLarge(field, f"larger than {limits.max_bytes} bytes")


# --------------------------------------------------------------------------- copy and deep merge


def copy_tree(value: Any) -> Any:
    """A copy of a JSON tree that shares no container with it."""
    if isinstance(value, dict):
        return {key: copy_tree(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_tree(item) for item in value]
    return value


def merge_into(target: dict[str, Any], overlay: dict[str, Any]) -> None:
    """Helm's ``mergeMaps`` in place: mappings merge recursively, for any other pair the overlay's value wins.
    ``target`` is modified; nothing from ``overlay`` is shared."""
    for key, value in overlay.items():
        current = target.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merge_into(current, value)
        else:
            target[key] = copy_tree(value)
