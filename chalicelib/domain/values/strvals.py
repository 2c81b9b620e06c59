"""Helm's ``--set`` syntax (``strvals``): ``set``, ``set_string``, ``set_json`` and ``set_sensitive``.

A field is parsed into a list of operations (:func:`parse_ops`), then applied *into* a mapping one at a time
(:func:`apply`), the way helm's ``strvals.ParseInto`` applies each flag into the values built so far. That
matters for lists: ``values: {ports: [{name: http, port: 80}]}`` plus ``set: ports[0].port=8080`` keeps
``name: http``, exactly as helm does. Paths, escapes, typing and limits follow helm (see :func:`parse_set`).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from chalicelib.domain.values.tree import (
    DEFAULT_LIMITS,
    JSONValue,
    Limits,
    check_text_size,
    describe,
    finish,
    json_spelling,
    key_path,
    merge_into,
    snip,
    validated,
)
from chalicelib.errors import InvalidInput, PayloadTooLarge

__all__ = [
    "MAX_INDEX",
    "MAX_NESTED_NAME_LEVEL",
    "Assign",
    "Budget",
    "MergeMapping",
    "Op",
    "SetKind",
    "apply",
    "parse_ops",
    "parse_set",
    "sensitive_paths",
]

SetKind: TypeAlias = Literal["set", "set_string", "set_json"]

MAX_INDEX = 65536
"""Largest list index accepted in a ``--set`` path (helm's ``strvals.MaxIndex``)."""

MAX_NESTED_NAME_LEVEL = 30
"""Most dots after key names accepted in one ``--set`` path (helm's ``strvals.MaxNestedNameLevel``)."""

_Segment: TypeAlias = str | int
_INDEX = re.compile(r"[0-9]{1,6}")
_HELM_INT = re.compile(r"[+-]?[0-9]{1,19}")


class _SyntaxProblem(Exception):
    """Raised inside the --set scanner; turned into InvalidInput with the right field."""

    error: type[InvalidInput] = InvalidInput


class _TooLarge(_SyntaxProblem):
    """A path or JSON value over a nesting limit; turned into PayloadTooLarge."""

    error = PayloadTooLarge


@dataclass(frozen=True)
class Assign:
    """``path = value``, applied like helm's ``strvals`` does."""

    path: tuple[_Segment, ...]
    value: JSONValue
    field: str


@dataclass(frozen=True)
class MergeMapping:
    """A whole JSON object given to ``set_json`` (helm 4's ``--set-json '{...}'``)."""

    mapping: dict[str, Any]
    field: str


Op: TypeAlias = Assign | MergeMapping


@functools.lru_cache(maxsize=8)
def _stop_pattern(stops: str) -> re.Pattern[str]:
    return re.compile("[" + re.escape(stops + "\\") + "]")


class _Scanner:
    """A cursor over one ``--set`` string with helm's escaping: ``\\x`` is a literal x."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str | None:
        return self.text[self.pos] if self.pos < len(self.text) else None

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def read_until(self, stops: str) -> tuple[str, str | None]:
        """Read to the first unescaped char in ``stops`` and consume it; return the text
        read (escapes resolved) and the stop char, or None at the end of input."""
        pattern = _stop_pattern(stops)
        text = self.text
        parts: list[str] = []
        while True:
            found = pattern.search(text, self.pos)
            if found is None:
                parts.append(text[self.pos :])
                self.pos = len(text)
                return "".join(parts), None
            at = found.start()
            parts.append(text[self.pos : at])
            if text[at] == "\\":
                if at + 1 >= len(text):
                    raise _SyntaxProblem("ends with a lone backslash")
                parts.append(text[at + 1])
                self.pos = at + 2
                continue
            self.pos = at + 1
            return "".join(parts), text[at]

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1


def render_path(path: tuple[_Segment, ...]) -> str:
    """A path in ``--set`` syntax, escaped so that :func:`parse_path` reads it back."""
    out = ""
    for segment in path:
        if isinstance(segment, int):
            out += f"[{segment}]"
        else:
            escaped = re.sub(r"([.\[\]\\=,])", r"\\\1", segment)
            out += ("." if out else "") + escaped
    return out


def _parse_path(scanner: _Scanner, limits: Limits) -> tuple[list[_Segment], str | None]:
    """Parse a strvals path up to an unescaped ``=`` or ``,`` or the end of input; return
    the segments and the stop (consumed; None at the end).

    ``a.b`` -> ["a", "b"]; ``a\\.b`` -> ["a.b"]; ``a[0].b[1][2]`` -> ["a", 0, "b", 1, 2].
    """
    segments: list[_Segment] = []
    dots = 0
    while True:
        key, stop = scanner.read_until(".[=,")
        if key == "":
            raise _SyntaxProblem("has an empty key name")
        segments.append(key)
        if stop == ".":
            dots += 1
            if dots > MAX_NESTED_NAME_LEVEL:
                raise _TooLarge(f"is nested more than {MAX_NESTED_NAME_LEVEL} levels (helm's limit)")
        elif stop == "[":
            stop = _parse_indexes(scanner, segments)
        if len(segments) > limits.max_depth:
            raise _TooLarge(f"has more than {limits.max_depth} segments")
        if stop != ".":
            return segments, stop


def _parse_indexes(scanner: _Scanner, segments: list[_Segment]) -> str | None:
    """After ``name[``: read ``i]`` and any further ``[j]``; consume and return the char
    that follows (``.``, ``=``, ``,`` or None at the end)."""
    while True:
        text, stop = scanner.read_until("]")
        if stop is None:
            raise _SyntaxProblem("has an unterminated '['")
        if not _INDEX.fullmatch(text):
            raise _SyntaxProblem("has a list index that is not a non-negative integer")
        index = int(text)
        if index > MAX_INDEX:
            raise _SyntaxProblem(f"has a list index greater than {MAX_INDEX}")
        segments.append(index)
        follow = scanner.peek()
        if follow is None:
            return None
        scanner.pos += 1
        if follow == "[":
            continue
        if follow in ".=,":
            return follow
        raise _SyntaxProblem("has unexpected text after ']'")


def _typed(text: str) -> JSONValue:
    """Helm's ``strvals.typedVal`` for ``--set``.

    ``true``/``false``/``null`` in any letter case become bool/None; ``0`` and int64
    integers that do not start with ``0`` (``+5`` and ``-7`` included) become ints;
    everything else stays a string: ``007``, ``1.5``, ``1e3``, ``0x1F``, `` 5``, ``yes``,
    ``9223372036854775808``.
    """
    folded = text.casefold()
    if folded == "true":
        return True
    if folded == "false":
        return False
    if folded == "null":
        return None
    if text == "0":
        return 0
    if text[:1] != "0" and _HELM_INT.fullmatch(text):
        number = int(text)
        if -(2**63) <= number < 2**63:
            return number
    return text


def _scalar_from_text(text: str, kind: SetKind) -> JSONValue:
    return text if kind == "set_string" else _typed(text)


def _read_strvals_value(scanner: _Scanner, kind: SetKind) -> JSONValue:
    """The value after ``=`` for --set/--set-string: ``{a,b}`` is a list, otherwise a
    scalar that runs to the next unescaped comma."""
    if scanner.peek() != "{":
        text, _ = scanner.read_until(",")
        return _scalar_from_text(text, kind)
    scanner.pos += 1
    items: list[JSONValue] = []
    while True:
        text, stop = scanner.read_until(",}")
        if stop is None:
            raise _SyntaxProblem("has a list that does not end with '}'")
        items.append(_scalar_from_text(text, kind))
        if stop == "}":
            break
    follow = scanner.peek()
    if follow == ",":
        scanner.pos += 1
    elif follow is not None:
        raise _SyntaxProblem("has unexpected text after '}'")
    return items


def _reject_constant(name: str) -> Any:
    raise _SyntaxProblem(f"has a non-finite JSON number ({name})")


_JSON_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _decode_json(text: str, start: int) -> tuple[object, int]:
    """One JSON value starting exactly at ``start``; returns it and the end offset."""
    try:
        value, end = _JSON_DECODER.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise _SyntaxProblem(f"has invalid JSON at character {exc.pos + 1}: {exc.msg}") from None
    except RecursionError:
        raise _TooLarge("has JSON nested too deeply") from None
    except ValueError:  # an integer too long for Python to convert
        raise _SyntaxProblem("has a JSON number that cannot be read") from None
    return value, end


def _read_json_value(scanner: _Scanner) -> object:
    """The value after ``=`` for --set-json: one JSON value, or nothing (null), then an
    optional comma."""
    scanner.skip_space()
    follow = scanner.peek()
    if follow is None or follow == ",":
        scanner.pos += follow is not None
        return None
    value, scanner.pos = _decode_json(scanner.text, scanner.pos)
    scanner.skip_space()
    follow = scanner.peek()
    if follow is not None:
        if follow != ",":
            raise _SyntaxProblem("has unexpected text after the JSON value")
        scanner.pos += 1
    return value


def _count_entry(field: str, limits: Limits, ops: list[Op]) -> None:
    if len(ops) >= limits.max_set_entries:
        raise PayloadTooLarge(field, f"more than {limits.max_set_entries} assignments")


def _ops_from_string(text: str, field: str, kind: SetKind, limits: Limits, ops: list[Op]) -> None:
    """Parse one helm-style flag value (``a=1,b.c[0]=x``) and append its operations."""
    if kind == "set_json" and text.lstrip().startswith("{"):
        scanner = _Scanner(text)
        scanner.skip_space()
        try:
            mapping, scanner.pos = _decode_json(text, scanner.pos)
            scanner.skip_space()
            if not scanner.at_end():
                raise _SyntaxProblem("has unexpected text after the JSON object")
        except _SyntaxProblem as problem:
            raise InvalidInput(field, f"JSON object {problem}") from None
        _count_entry(field, limits, ops)
        checked, _ = validated(mapping, field, limits)
        assert isinstance(checked, dict)  # the text starts with "{"
        ops.append(MergeMapping(checked, field))
        return
    scanner = _Scanner(text)
    number = 0
    while not scanner.at_end():
        number += 1
        start = scanner.pos
        try:
            path, stop = _parse_path(scanner, limits)
            if stop != "=":
                raise _SyntaxProblem("has no '=value'")
            value: object
            if kind == "set_json":
                value = _read_json_value(scanner)
            else:
                value = _read_strvals_value(scanner, kind)
        except _SyntaxProblem as problem:
            snippet = snip(text[start : max(scanner.pos, start + 1)])
            raise problem.error(field, f"assignment {number} ({snippet}) {problem}") from None
        _count_entry(field, limits, ops)
        checked, _ = validated(value, field, limits)
        ops.append(Assign(tuple(path), checked, field))


def _value_from_object(value: object, where: str, kind: SetKind, limits: Limits) -> JSONValue:
    """The value of one ``{"path": value}`` entry, converted for ``kind``."""
    converted: object = value
    if kind == "set_string" and not isinstance(value, str):
        if isinstance(value, (dict, list)):
            raise InvalidInput(where, f"set_string values must be scalars, not {describe(value)}")
        checked, _ = validated(value, where, limits)  # rejects NaN, bad types
        converted = json_spelling(checked)
    elif kind == "set" and isinstance(value, str):
        converted = _typed(value)
    checked, _ = validated(converted, where, limits)
    return checked


def _ops_from_object(raw: dict[Any, Any], field: str, kind: SetKind, limits: Limits, ops: list[Op]) -> None:
    for key, value in raw.items():
        if not isinstance(key, str):
            raise InvalidInput(field, "keys must be strings")
        where = key_path(field, key)
        if len(key) > limits.max_bytes:
            raise PayloadTooLarge(where, f"path is longer than {limits.max_bytes}")
        scanner = _Scanner(key)
        try:
            path, stop = _parse_path(scanner, limits)
            if stop is not None:
                raise _SyntaxProblem(f"has an unescaped {stop!r} (write \\{stop})")
        except _SyntaxProblem as problem:
            raise problem.error(where, f"path {problem}") from None
        _count_entry(field, limits, ops)
        converted = _value_from_object(value, where, kind, limits)
        ops.append(Assign(tuple(path), converted, where))


def parse_ops(raw: object, field: str, kind: SetKind, limits: Limits) -> list[Op]:
    """Turn one set/set_string/set_json input into its operations, in order."""
    if kind not in ("set", "set_string", "set_json"):
        raise ValueError(f"unknown set kind {kind!r}")
    ops: list[Op] = []
    if raw is None:
        pass
    elif isinstance(raw, str):
        check_text_size([raw], field, limits)
        _ops_from_string(raw, field, kind, limits, ops)
    elif isinstance(raw, list):
        for index, item in enumerate(raw):
            if not isinstance(item, str):
                raise InvalidInput(f"{field}[{index}]", "must be a string like 'path=value'")
        check_text_size(raw, field, limits)
        for index, item in enumerate(raw):
            _ops_from_string(item, f"{field}[{index}]", kind, limits, ops)
    elif isinstance(raw, dict):
        _ops_from_object(raw, field, kind, limits, ops)
    else:
        raise InvalidInput(
            field,
            "must be a JSON object of path: value, a list of 'path=value' strings, or one 'path=value,...' string",
        )
    return ops


class Budget:
    """Counts nodes created while applying assignments (list padding above all), so a
    thousand ``x{n}[65536]=1`` cannot allocate millions of ``None`` before the final
    check runs."""

    def __init__(self, limits: Limits, used: int) -> None:
        self.limit = limits.max_nodes
        self.used = used

    def charge(self, field: str, nodes: int) -> None:
        self.used += nodes
        if self.used > self.limit:
            raise PayloadTooLarge(field, f"more than {self.limit} values and keys")


_MISSING = object()


def _put(container: Any, segment: _Segment, value: Any, budget: Budget, field: str) -> None:
    if isinstance(container, dict):
        container[segment] = value
        return
    assert isinstance(segment, int)
    if segment >= len(container):
        budget.charge(field, segment + 1 - len(container))
        container.extend([None] * (segment + 1 - len(container)))
    container[segment] = value


def _assign(target: dict[str, Any], op: Assign, budget: Budget) -> None:
    """Apply ``op`` into ``target`` in place, the way helm's ``strvals.ParseInto`` does:

    * ``a.b=v`` creates ``a`` if missing, descends into it if it is a mapping, and fails if
      ``a`` holds anything else (a string, a list, null);
    * ``a[i]=v`` creates the list if missing, fails if ``a`` is not a list, and pads it with
      ``None`` up to ``i``; existing items are kept;
    * ``a[i].b=v`` descends into item ``i`` if it is a mapping and otherwise replaces it
      with a new mapping (helm does the same);
    * ``a[i][j]=v`` descends into item ``i`` if it is a list, creates one if it is missing
      or ``None``, and fails otherwise;
    * the last segment is simply overwritten.
    """
    path = op.path
    current: Any = target
    budget.charge(op.field, 1)
    for position, segment in enumerate(path[:-1]):
        following = path[position + 1]
        if isinstance(current, dict):
            existing = current.get(segment, _MISSING)
        else:
            assert isinstance(segment, int)
            existing = current[segment] if segment < len(current) else _MISSING
        child: Any
        if isinstance(following, str):
            if isinstance(existing, dict):
                child = existing
            elif existing is _MISSING or isinstance(current, list):
                child = {}
            else:
                raise _conflict(op, position, existing, "a mapping")
        else:
            if isinstance(existing, list):
                child = existing
            elif existing is _MISSING or (isinstance(current, list) and existing is None):
                child = []
            else:
                raise _conflict(op, position, existing, "a list")
        if child is not existing:
            budget.charge(op.field, 1)
            _put(current, segment, child, budget, op.field)
        current = child
    _put(current, path[-1], op.value, budget, op.field)


def _conflict(op: Assign, position: int, existing: object, wanted: str) -> InvalidInput:
    full = render_path(op.path)
    prefix = render_path(op.path[: position + 1])
    return InvalidInput(
        op.field,
        f"cannot set {snip(full)}: {snip(prefix)} is {describe(existing)}, not {wanted}",
    )


def apply(target: dict[str, Any], ops: list[Op], budget: Budget) -> None:
    """Apply ``ops`` in order into ``target`` (modified in place)."""
    for op in ops:
        if isinstance(op, MergeMapping):
            merge_into(target, op.mapping)
        else:
            _assign(target, op, budget)


def parse_set(raw: object, field: str, kind: SetKind, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Parse one ``set``/``set_string``/``set_json`` input into a nested mapping.

    ``raw`` forms:

    * ``None``: no assignments, ``{}``.
    * one string, exactly what would follow helm's flag: ``"a=1,b.c=x"``. Commas separate
      assignments; ``\\`` escapes the next character anywhere (``\\.``, ``\\,``, ``\\=``,
      ``\\\\``); a trailing comma is fine.
    * a list of such strings: each is one repeated flag (``--set x --set y``), applied in
      order. Errors name ``field[i]``.
    * a JSON object ``{"path": value}``, applied in key order. Only the key uses path
      syntax (so ``,``/``=`` in a key must be escaped, as in the string form); the value is
      taken literally: no escapes, no ``{a,b}`` lists, no comma splitting. Errors name
      ``field.path``.

    Paths follow helm's ``strvals``: ``.`` separates keys, ``name[i]`` indexes a list (``i``
    from 0 to :data:`MAX_INDEX`; missing items are padded with ``None``), ``name[i].x`` and
    ``name[i][j]`` nest. Empty key names are rejected (helm silently drops them).

    ``kind``:

    * ``"set"``: string values are typed like helm's ``--set`` (see :func:`_typed`):
      ``true``/``false``/``null`` in any case, ``0`` and int64 integers without a leading zero;
      all else is a string. ``a={x,y}`` is a list of typed items (``a={}`` is ``[""]`` as in
      helm). In the object form, strings are typed the same way and other JSON values are
      used as they are.
    * ``"set_string"``: every scalar is a string. ``a={x,y}`` is a list of strings. In the
      object form, non-string scalars become their JSON spelling (``3`` -> ``"3"``,
      ``true`` -> ``"true"``, ``null`` -> ``"null"``); lists and objects are rejected.
    * ``"set_json"``: the text after ``=`` is one JSON value (``a=[1,2],b={"c":1}``); an
      empty value is ``null``. A string that is a whole JSON object (``{"a":{"b":1}}``) is
      merged like a values file, as helm 4's ``--set-json`` does. In the object form the
      value is any JSON value, used as it is (a string stays a string).

    Raises :class:`InvalidInput` for syntax errors or type conflicts between assignments
    (``a=1,a.b=2``: ``a`` is an integer, not a mapping; helm fails too), and
    :class:`PayloadTooLarge` past ``limits``.
    """
    ops = parse_ops(raw, field, kind, limits)
    if not ops:
        return {}
    result: dict[str, Any] = {}
    apply(result, ops, Budget(limits, 0))
    checked, _ = finish(result, field, limits)
    return checked


MAX_PATH_CHARS = 1024


def parse_path(text: object, field: str, limits: Limits = DEFAULT_LIMITS) -> tuple[_Segment, ...]:
    """One values path in ``--set`` syntax and nothing else (``db.hosts[0].password``; ``\\.`` escapes a dot)."""
    if not isinstance(text, str) or not text or len(text) > MAX_PATH_CHARS:
        raise InvalidInput(field, f"must be a values path such as db.auth.password (at most {MAX_PATH_CHARS} chars)")
    scanner = _Scanner(text)
    try:
        segments, stop = _parse_path(scanner, limits)
    except _SyntaxProblem as problem:
        raise problem.error(field, f"{text!r} {problem}") from None
    if stop is not None:
        raise InvalidInput(field, f"{text!r} must be a path alone (no '=' or ',')")
    return tuple(segments)


def sensitive_paths(set_sensitive: object, limits: Limits = DEFAULT_LIMITS) -> tuple[tuple[str | int, ...], ...]:
    """The paths ``set_sensitive`` assigns (keys and list indexes), for masking."""
    paths = [op.path for op in parse_ops(set_sensitive, "set_sensitive", "set", limits) if isinstance(op, Assign)]
    return tuple(dict.fromkeys(paths))
