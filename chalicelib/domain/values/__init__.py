"""Turn a request's values inputs into the ONE values mapping handed to helm.

The service never puts values on the helm command line (they would show in ``ps`` and in
logs). Instead the four user inputs are combined here, with helm's own precedence, into a
single mapping; the caller writes :func:`to_helm_file` to a ``0600`` file and runs
``helm ... -f <file>``. Helm then applies its normal rule: chart defaults < ``-f`` file.

Precedence (what ``helm`` does in ``pkg/cli/values.Options.MergeValues``)::

    chart defaults < values (our file) < --set-json < --set < --set-string

Like helm, ``--set-json``, ``--set`` and ``--set-string`` are applied *into* the mapping built
so far, one assignment at a time (``strvals.ParseInto``), not merged as separate overlays.
That matters for lists: ``values: {ports: [{name: http, port: 80}]}`` plus
``set: ports[0].port=8080`` keeps ``name: http``, exactly as helm does.

Everything in this module is pure: no I/O, no logging, no mutation of the caller's objects.
Every rejection is an :class:`~chalicelib.errors.InvalidInput` (or its subclass
:class:`~chalicelib.errors.PayloadTooLarge` when a limit is exceeded) whose ``field`` names
the request field, qualified with a path where that helps (``values.image.tag``,
``set[2]``, ``set.image.tag``). Messages never echo more than a short snippet of input.

YAML dialect (``values`` given as a string)
    Parsed with PyYAML's *safe* loader (YAML 1.1, like helm's go-yaml v2), adjusted where
    the two disagree, so that a document means here what it means in a helm ``-f`` file
    (checked against helm 3.19 and 4.1):

    * timestamps/dates (``2024-01-01``) stay strings, as in helm;
    * unquoted ``y``/``Y``/``n``/``N`` are booleans (go-yaml v2 does this; PyYAML does not);
      ``yes/no/on/off/true/false`` in YAML's spellings are booleans in both;
    * base-60 numbers (``22:22``) stay strings (PyYAML would read 1342);
    * ``1e3``, ``1.0e3``, ``-.5`` are floats; ``0o17``, ``017``, ``0X1F``, ``0B1`` are ints;
    * a bare ``=`` or ``<<`` value is a string; ``!!binary`` is the decoded text (rejected if
      it is not UTF-8); a duplicate key keeps its last value (all as in helm).

    Mapping keys must be strings. YAML 1.1 reads unquoted keys such as ``on``, ``off``,
    ``yes``, ``no``, ``y``, ``n``, ``true``, ``null`` or ``1`` as non-strings, and helm then
    silently renames them (``on:`` becomes ``"true":``). Here they are rejected, naming the
    path, the key as written and its line, and asking for quotes. Values keep their YAML
    type: ``enabled: on`` is ``True``, as in helm.

    A second document (``---``) is rejected (helm 3 would ignore it, helm 4 merge it).
    Anchors, aliases and ``<<`` merge keys are allowed; each alias counts at the full size of
    what it expands to (see :class:`Limits`), so "billion laughs" documents are rejected
    after a few events, before anything is built.

Numbers (a helm limitation this design inherits)
    Helm decodes numbers in ``-f`` files (and in ``--set-json``) as float64, but ``--set``
    integers as int64. Moving ``--set`` into the file therefore changes two things a chart
    can observe: integers beyond 2**53 lose precision, and a template that prints an integer
    of 1,000,000 or more without a filter (``{{ .Values.n }}``) renders ``1e+06`` instead of
    ``1000000`` (``| int`` and ``toJson`` are unaffected).

Output
    :func:`to_helm_file` emits JSON. JSON is valid YAML, every string in it is quoted, so
    helm's YAML 1.1 parser cannot reinterpret ``"on"``, ``"y"``, ``"1.10"`` or
    ``"2024-01-01"``; what helm reads is exactly the mapping built here.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import yaml
from yaml.reader import ReaderError

from chalicelib.errors import InvalidInput, PayloadTooLarge

try:
    from yaml import CSafeLoader as _SafeLoaderBase
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoaderBase  # type: ignore[assignment]

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_INDEX",
    "MAX_NESTED_NAME_LEVEL",
    "JSONValue",
    "Limits",
    "SetKind",
    "combine",
    "digest",
    "merge",
    "parse_set",
    "parse_values",
    "to_helm_file",
]

JSONValue: TypeAlias = None | bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"]
"""A JSON document: what every public function here accepts and returns."""

SetKind: TypeAlias = Literal["set", "set_string", "set_json"]

MAX_INDEX = 65536
"""Largest list index accepted in a ``--set`` path (helm's ``strvals.MaxIndex``)."""

MAX_NESTED_NAME_LEVEL = 30
"""Most dots after key names accepted in one ``--set`` path (helm's
``strvals.MaxNestedNameLevel``)."""

_SNIPPET = 40
_MAX_INT = 2**1024  # beyond this an integer is not a float64 either; helm cannot read it


@dataclass(frozen=True)
class Limits:
    """Size limits for one request's values. All must be positive.

    ``max_bytes``
        Longest accepted YAML text (UTF-8 bytes), longest ``--set`` input of one field,
        and largest result, measured as its compact JSON serialisation (UTF-8 bytes).
    ``max_depth``
        Deepest nesting of containers: ``{}`` has depth 1, ``{"a": [1]}`` depth 2. Also
        the most segments in one ``--set`` path.
    ``max_nodes``
        Most scalars (mapping keys included) plus containers in a parsed document, with
        every YAML alias counted at its expanded size and every ``None`` that pads a list
        after ``name[i]=...`` counted. Guards against alias bombs and index padding.
    ``max_set_entries``
        Most assignments in one ``set``/``set_string``/``set_json`` field.
    """

    max_bytes: int = 1_000_000
    max_depth: int = 64
    max_nodes: int = 100_000
    max_set_entries: int = 1000

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_depth", "max_nodes", "max_set_entries"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive integer")


DEFAULT_LIMITS = Limits()


# --------------------------------------------------------------------------- helpers


def _snip(text: str) -> str:
    """A short, quoted, escaped excerpt of user input that is safe to put in a message."""
    if len(text) > _SNIPPET:
        text = text[:_SNIPPET] + "..."
    return json.dumps(text, ensure_ascii=True)


def _key_path(field: str, key: str) -> str:
    """``field`` qualified with one mapping key, shortened so messages stay small."""
    if len(key) > _SNIPPET:
        key = key[:_SNIPPET] + "..."
    return f"{field}.{key}"


def _describe(value: object) -> str:
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


def _json_spelling(value: object) -> str:
    """How a non-string scalar is spelled in JSON: True -> 'true', None -> 'null'."""
    return json.dumps(value, allow_nan=False)


class _Walker:
    """Validates a decoded document and returns a fresh copy of it.

    Checks: mapping keys are strings, values are JSON types, floats are finite, integers fit
    a float64, strings are valid Unicode, depth <= max_depth, node count <= max_nodes, and a
    running lower bound of the JSON size <= max_bytes (so aliased or repeated big strings are
    stopped before anything is serialised). The copy shares no container with the input, so
    aliases in YAML and objects owned by the caller are never mutated later.
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
        """Validate and copy ``value`` found at ``where`` (a field path), ``depth``
        containers deep."""
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
                out[key] = self.walk(item, _key_path(where, key), depth + 1)
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


def _bad_key_message(key: object) -> str:
    if isinstance(key, _YamlKey):
        return (
            f"key {_snip(key.text)} on line {key.line} is read by YAML 1.1 as "
            f"{_describe(key.value)}, not a string; quote it (helm would turn it into "
            f"{_snip(_json_spelling_or_repr(key.value))})"
        )
    return f"mapping keys must be strings, found {_describe(key)} key {_snip(_json_spelling_or_repr(key))}"


def _json_spelling_or_repr(value: object) -> str:
    try:
        return _json_spelling(value)
    except (TypeError, ValueError):
        return repr(value)


def _unsupported(value: object) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "binary values (!!binary) are not supported"
    if isinstance(value, tuple):
        return "ordered maps and pairs (!!omap, !!pairs) are not supported"
    if isinstance(value, (set, frozenset)):
        return "sets (!!set) are not supported"
    return f"unsupported value type {type(value).__name__}"


def _validated(value: object, field: str, limits: Limits) -> tuple[JSONValue, int]:
    """Validate and copy one JSON value; returns it and its node count."""
    walker = _Walker(field, limits)
    out = walker.walk(value, field, 0)
    return out, walker.nodes


def _canonical(values: JSONValue) -> str:
    return json.dumps(
        values,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def _finish(data: dict[str, Any], field: str, limits: Limits) -> tuple[dict[str, Any], int]:
    """Validate a whole result; enforce the exact JSON size limit. Returns a fresh copy
    and its node count."""
    out, nodes = _validated(data, field, limits)
    assert isinstance(out, dict)
    if len(_canonical(out).encode("utf-8")) > limits.max_bytes:
        raise PayloadTooLarge(field, f"larger than {limits.max_bytes} bytes as JSON")
    return out, nodes


# --------------------------------------------------------------------------- YAML


@dataclass(frozen=True)
class _YamlKey:
    """Stands in for a mapping key that YAML did not read as a string, so that the
    validation walk can name both the path and the key as the user wrote it."""

    text: str
    line: int
    value: Any


class _ValuesLoader(_SafeLoaderBase):
    """PyYAML's safe loader with helm-compatible scalar typing (see module docstring)."""

    bool_values = {**_SafeLoaderBase.bool_values, "y": True, "n": False}

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        for key_node, _ in node.value:  # flattened by now: ``<<`` merges are resolved
            if isinstance(key_node, yaml.ScalarNode):
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, str) and key in mapping:
                    marked = _YamlKey(key_node.value, key_node.start_mark.line + 1, key)
                    mapping[marked] = mapping.pop(key)
        return mapping


def _construct_plain_str(loader: _ValuesLoader, node: yaml.Node) -> str:
    assert isinstance(node, yaml.ScalarNode)
    return loader.construct_scalar(node)


def _construct_int(loader: _ValuesLoader, node: yaml.Node) -> int | str:
    assert isinstance(node, yaml.ScalarNode)
    text = loader.construct_scalar(node)
    if ":" in text:  # base 60: a string in helm
        return text
    try:  # 0x1F, 0X1F, 0b1, 0B1, 0o17, 0O17 with optional sign, like Go's ParseInt(s, 0, 64)
        return int(text.replace("_", ""), 0)
    except ValueError:
        return loader.construct_yaml_int(node)  # 017 (YAML 1.1 octal) and plain decimals


def _construct_float(loader: _ValuesLoader, node: yaml.Node) -> float | str:
    assert isinstance(node, yaml.ScalarNode)
    text = loader.construct_scalar(node)
    if ":" in text:  # base 60: a string in helm
        return text
    return loader.construct_yaml_float(node)


def _construct_binary(loader: _ValuesLoader, node: yaml.Node) -> str:
    assert isinstance(node, yaml.ScalarNode)
    data = loader.construct_yaml_binary(node)
    try:
        return data.decode("utf-8")  # helm reads !!binary as the decoded text
    except UnicodeDecodeError:
        raise yaml.constructor.ConstructorError(
            None, None, "!!binary data that is not UTF-8 text is not supported", node.start_mark
        ) from None


_ValuesLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_plain_str)
_ValuesLoader.add_constructor("tag:yaml.org,2002:value", _construct_plain_str)
_ValuesLoader.add_constructor("tag:yaml.org,2002:merge", _construct_plain_str)  # `<<` as a value
_ValuesLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_ValuesLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)
_ValuesLoader.add_constructor("tag:yaml.org,2002:binary", _construct_binary)
_ValuesLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:y|Y|n|N)$"), list("yYnN"))
# Registered after PyYAML's own resolvers, so these only see what those left as strings.
_ValuesLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^[-+]?0(?:[bB][01_]+|[oO][0-7_]+|[xX][0-9a-fA-F_]+)$"),
    list("-+0"),
)
_ValuesLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\.[0-9][0-9_]*|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?$"),
    list("-+.0123456789"),
)


def _yaml_error(field: str, exc: yaml.YAMLError) -> InvalidInput:
    """A safe message for a PyYAML error: position and problem, never the input line."""
    if isinstance(exc, yaml.MarkedYAMLError):
        problem = "; ".join(part for part in (exc.context, exc.problem) if part) or "syntax error"
        if len(problem) > 120:
            problem = problem[:120] + "..."
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            return InvalidInput(
                field,
                f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}",
            )
        return InvalidInput(field, f"invalid YAML: {problem}")
    if isinstance(exc, ReaderError):
        return InvalidInput(
            field,
            f"invalid YAML: character at position {exc.position} is not allowed",
        )
    return InvalidInput(field, "invalid YAML")


def _scan_yaml(text: str, field: str, limits: Limits) -> None:
    """Stream the YAML events once, before building anything, and enforce limits.

    Rejects a second document, nesting deeper than ``max_depth``, more than ``max_nodes``
    nodes with every alias counted at the size of what it refers to, and aliases to an
    anchor that is undefined or still open (a recursive structure). It stops at the first
    violation, so an alias bomb or a megabyte of ``[`` costs only a few events.
    """
    max_nodes, max_depth = limits.max_nodes, limits.max_depth
    # One frame per open collection: [expanded size, height, anchor]. A scalar has height
    # 0, a collection 1 + the height of its tallest child.
    stack: list[list[Any]] = []
    anchors: dict[str, tuple[int, int]] = {}  # anchor -> (expanded size, height)
    total = 0
    documents = 0

    def count(size: int, height: int) -> None:
        nonlocal total
        total += size
        if total > max_nodes:
            raise PayloadTooLarge(
                field,
                f"more than {max_nodes} values and keys (aliases count at their expanded size)",
            )
        if len(stack) + height > max_depth:
            raise PayloadTooLarge(field, f"nested deeper than {max_depth} levels")

    def attach(size: int, height: int) -> None:
        if stack:
            stack[-1][0] += size
            stack[-1][1] = max(stack[-1][1], height + 1)

    for event in yaml.parse(text, Loader=_ValuesLoader):
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise InvalidInput(field, "must be a single YAML document (found a second '---')")
        elif isinstance(event, yaml.ScalarEvent):
            count(1, 0)
            attach(1, 0)
            if event.anchor is not None:
                anchors[event.anchor] = (1, 0)
        elif isinstance(event, yaml.AliasEvent):
            anchor = event.anchor or ""
            if anchor not in anchors:
                raise InvalidInput(field, f"alias *{_snip(anchor)[1:-1]} is undefined or recursive")
            size, height = anchors[anchor]
            count(size, height)
            attach(size, height)
        elif isinstance(event, yaml.CollectionStartEvent):
            stack.append([1, 1, event.anchor])
            count(1, 0)
        elif isinstance(event, yaml.CollectionEndEvent):
            size, height, anchor = stack.pop()
            if anchor is not None:
                anchors[anchor] = (size, height)
            attach(size, height)


def _load_yaml(text: str, field: str, limits: Limits) -> object:
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(field, "contains an invalid Unicode surrogate") from None
    if len(encoded) > limits.max_bytes:
        raise PayloadTooLarge(field, f"YAML is larger than {limits.max_bytes} bytes")
    try:
        _scan_yaml(text, field, limits)
        loader = _ValuesLoader(text)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise _yaml_error(field, exc) from None
    except RecursionError:  # pragma: no cover - the scan bounds the depth first
        raise PayloadTooLarge(field, "nested too deeply") from None
    except ValueError:  # an integer with more digits than Python will convert
        raise InvalidInput(field, "contains a number that cannot be read") from None


# --------------------------------------------------------------------------- values


def parse_values(raw: object, field: str = "values", limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Parse the ``values`` input into a JSON-serialisable mapping.

    ``raw`` is ``None`` (gives ``{}``), a JSON object (a ``dict``; its keys are literal,
    no path syntax), or a YAML string (see the module docstring for the dialect). A YAML
    document that is empty, only comments, or ``null`` gives ``{}`` (as in helm). The
    result is a fresh tree of ``dict``/``list``/``str``/``int``/``float``/``bool``/``None``
    with string keys, no shared containers, finite floats, and no dates.

    Raises :class:`InvalidInput` (``field`` or ``field.path.to.key``) for syntax errors, a
    second YAML document, a top level that is not a mapping, non-string keys, NaN/Inf,
    unsupported YAML types (``!!set``, ``!!omap``, ``!!pairs``, custom ``!tags``); and
    :class:`PayloadTooLarge` when ``limits`` are exceeded.
    """
    result, _ = _parse_values(raw, field, limits)
    return result


def _parse_values(raw: object, field: str, limits: Limits) -> tuple[dict[str, Any], int]:
    """:func:`parse_values`, also returning the result's node count."""
    if raw is None:
        return {}, 1
    data: object
    if isinstance(raw, str):
        data = _load_yaml(raw, field, limits)
    elif isinstance(raw, (dict, list, bool, int, float)):
        data = raw
    else:
        raise InvalidInput(field, "must be a YAML string or a JSON object")
    if data is None:
        return {}, 1
    if not isinstance(data, dict):
        raise InvalidInput(field, "must be a mapping at the top level")
    return _finish(data, field, limits)


# --------------------------------------------------------------------------- --set

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
class _Assign:
    """``path = value``, applied like helm's ``strvals`` does."""

    path: tuple[_Segment, ...]
    value: JSONValue
    field: str


@dataclass(frozen=True)
class _MergeMapping:
    """A whole JSON object given to ``set_json`` (helm 4's ``--set-json '{...}'``)."""

    mapping: dict[str, Any]
    field: str


_Op: TypeAlias = _Assign | _MergeMapping


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


def _render_path(path: tuple[_Segment, ...]) -> str:
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


def _count_entry(field: str, limits: Limits, ops: list[_Op]) -> None:
    if len(ops) >= limits.max_set_entries:
        raise PayloadTooLarge(field, f"more than {limits.max_set_entries} assignments")


def _ops_from_string(text: str, field: str, kind: SetKind, limits: Limits, ops: list[_Op]) -> None:
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
        checked, _ = _validated(mapping, field, limits)
        assert isinstance(checked, dict)  # the text starts with "{"
        ops.append(_MergeMapping(checked, field))
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
            snippet = _snip(text[start : max(scanner.pos, start + 1)])
            raise problem.error(field, f"assignment {number} ({snippet}) {problem}") from None
        _count_entry(field, limits, ops)
        checked, _ = _validated(value, field, limits)
        ops.append(_Assign(tuple(path), checked, field))


def _value_from_object(value: object, where: str, kind: SetKind, limits: Limits) -> JSONValue:
    """The value of one ``{"path": value}`` entry, converted for ``kind``."""
    converted: object = value
    if kind == "set_string" and not isinstance(value, str):
        if isinstance(value, (dict, list)):
            raise InvalidInput(where, f"set_string values must be scalars, not {_describe(value)}")
        checked, _ = _validated(value, where, limits)  # rejects NaN, bad types
        converted = _json_spelling(checked)
    elif kind == "set" and isinstance(value, str):
        converted = _typed(value)
    checked, _ = _validated(converted, where, limits)
    return checked


def _ops_from_object(raw: dict[Any, Any], field: str, kind: SetKind, limits: Limits, ops: list[_Op]) -> None:
    for key, value in raw.items():
        if not isinstance(key, str):
            raise InvalidInput(field, "keys must be strings")
        where = _key_path(field, key)
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
        ops.append(_Assign(tuple(path), converted, where))


def _check_text_size(texts: list[str], field: str, limits: Limits) -> None:
    try:
        total = sum(len(text.encode("utf-8")) for text in texts)
    except UnicodeEncodeError:
        raise InvalidInput(field, "contains an invalid Unicode surrogate") from None
    if total > limits.max_bytes:
        raise PayloadTooLarge(field, f"larger than {limits.max_bytes} bytes")


def _parse_ops(raw: object, field: str, kind: SetKind, limits: Limits) -> list[_Op]:
    """Turn one set/set_string/set_json input into its operations, in order."""
    if kind not in ("set", "set_string", "set_json"):
        raise ValueError(f"unknown set kind {kind!r}")
    ops: list[_Op] = []
    if raw is None:
        pass
    elif isinstance(raw, str):
        _check_text_size([raw], field, limits)
        _ops_from_string(raw, field, kind, limits, ops)
    elif isinstance(raw, list):
        for index, item in enumerate(raw):
            if not isinstance(item, str):
                raise InvalidInput(f"{field}[{index}]", "must be a string like 'path=value'")
        _check_text_size(raw, field, limits)
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


class _Budget:
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


def _put(container: Any, segment: _Segment, value: Any, budget: _Budget, field: str) -> None:
    if isinstance(container, dict):
        container[segment] = value
        return
    assert isinstance(segment, int)
    if segment >= len(container):
        budget.charge(field, segment + 1 - len(container))
        container.extend([None] * (segment + 1 - len(container)))
    container[segment] = value


def _assign(target: dict[str, Any], op: _Assign, budget: _Budget) -> None:
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


def _conflict(op: _Assign, position: int, existing: object, wanted: str) -> InvalidInput:
    full = _render_path(op.path)
    prefix = _render_path(op.path[: position + 1])
    return InvalidInput(
        op.field,
        f"cannot set {_snip(full)}: {_snip(prefix)} is {_describe(existing)}, not {wanted}",
    )


def _apply(target: dict[str, Any], ops: list[_Op], budget: _Budget) -> None:
    """Apply ``ops`` in order into ``target`` (modified in place)."""
    for op in ops:
        if isinstance(op, _MergeMapping):
            _merge_into(target, op.mapping)
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
    ops = _parse_ops(raw, field, kind, limits)
    if not ops:
        return {}
    result: dict[str, Any] = {}
    _apply(result, ops, _Budget(limits, 0))
    checked, _ = _finish(result, field, limits)
    return checked


# --------------------------------------------------------------------------- merge


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _merge_into(target: dict[str, Any], overlay: dict[str, Any]) -> None:
    """``merge`` in place: ``target`` is modified; nothing from ``overlay`` is shared."""
    for key, value in overlay.items():
        current = target.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            _merge_into(current, value)
        else:
            target[key] = _copy(value)


def merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Merge two values mappings the way helm merges ``-f`` files (``mergeMaps``).

    Mappings merge recursively; for any other pair the overlay's value wins (a list replaces
    the base list wholesale; a mapping replaces a scalar; a scalar replaces a mapping). A key
    whose overlay value is ``None`` is kept with the value ``None``: helm later treats a
    user-supplied null as "delete this key from the chart's defaults".

    Returns a new mapping that shares no container with ``base`` or ``overlay``; neither is
    modified. Both are expected to be JSON data (as returned by :func:`parse_values`).
    """
    out: dict[str, Any] = _copy(base)
    _merge_into(out, overlay)
    return out


def combine(
    values: object,
    set_: object,
    set_string: object,
    set_json: object,
    limits: Limits = DEFAULT_LIMITS,
    set_sensitive: object = None,
) -> dict[str, Any]:
    """Build the one mapping for helm's ``-f`` from the request fields.

    Order (helm's): ``values`` < ``set_json`` < ``set`` < ``set_string``; then ``set_sensitive`` (``set`` syntax,
    applied last; its paths are masked wherever values are shown: :func:`sensitive_paths`). ``values`` is parsed
    with :func:`parse_values`; then each set field's assignments are applied *into* the
    result so far, like helm's ``strvals.ParseInto`` (see :func:`parse_set` for the forms and
    :func:`_assign` for the rules). Errors name the field they come from: ``values``,
    ``set_json``, ``set``, ``set_string`` (qualified as described in :func:`parse_set`). Each
    limit applies per field and again to the combined result.
    """
    stages: tuple[tuple[str, object, SetKind], ...] = (
        ("set_json", set_json, "set_json"),
        ("set", set_, "set"),
        ("set_string", set_string, "set_string"),
        ("set_sensitive", set_sensitive, "set"),
    )
    result, nodes = _parse_values(values, "values", limits)
    for field, raw, kind in stages:
        ops = _parse_ops(raw, field, kind, limits)
        if ops:
            _apply(result, ops, _Budget(limits, nodes))
            result, nodes = _finish(result, field, limits)
    return result


def sensitive_paths(set_sensitive: object, limits: Limits = DEFAULT_LIMITS) -> tuple[tuple[str | int, ...], ...]:
    """The paths ``set_sensitive`` assigns (keys and list indexes), for masking."""
    paths = [op.path for op in _parse_ops(set_sensitive, "set_sensitive", "set", limits) if isinstance(op, _Assign)]
    return tuple(dict.fromkeys(paths))


# --------------------------------------------------------------------------- output

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

    JSON is YAML, and every string in it is double-quoted, so helm's YAML 1.1 parser reads
    back exactly ``values``: ``"on"``, ``"y"``, ``"1.10"``, ``"007"`` or ``"2024-01-01"``
    stay strings. Non-ASCII text is written as UTF-8, except characters YAML forbids or
    treats as line breaks, which are written as ``\\uXXXX`` escapes (valid in both).
    Deterministic: equal mappings give equal text.

    ``values`` must be JSON data with string keys, as returned by :func:`combine`; the
    caller writes the text to a file created with mode ``0600``. Raises ``TypeError`` or
    ``ValueError`` (NaN, infinity) if it is not.
    """
    _check_tree(values)
    text = json.dumps(values, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return _YAML_UNSAFE.sub(lambda found: f"\\u{ord(found.group()):04x}", text) + "\n"


def digest(values: dict[str, Any]) -> str:
    """``"sha256:<64 hex>"`` of the canonical JSON of ``values`` (sorted keys, compact,
    UTF-8). Records *that* values changed without storing them. Same precondition as
    :func:`to_helm_file`."""
    _check_tree(values)
    return "sha256:" + hashlib.sha256(_canonical(values).encode("utf-8")).hexdigest()
