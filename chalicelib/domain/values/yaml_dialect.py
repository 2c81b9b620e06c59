"""Helm's YAML dialect: a values document read the way ``helm -f`` reads it.

Parsed with PyYAML's *safe* loader (YAML 1.1, like helm's go-yaml v2), adjusted where the two disagree, so
that a document means here what it means in a helm ``-f`` file (checked against helm 3.19 and 4.1):

* timestamps/dates (``2024-01-01``) stay strings, as in helm;
* unquoted ``y``/``Y``/``n``/``N`` are booleans (go-yaml v2 does this; PyYAML does not);
  ``yes/no/on/off/true/false`` in YAML's spellings are booleans in both;
* base-60 numbers (``22:22``) stay strings (PyYAML would read 1342);
* ``1e3``, ``1.0e3``, ``-.5``, ``09`` are numbers; ``0o17``, ``017``, ``0X1F``, ``0B1`` are ints;
* a bare ``=`` or ``<<`` value is a string; ``!!binary`` is the decoded text (rejected if it is not UTF-8); a
  duplicate key keeps its last value (all as in helm).

Mapping keys must be strings. YAML 1.1 reads unquoted keys such as ``on``, ``off``, ``yes``, ``no``, ``y``,
``n``, ``true``, ``null`` or ``1`` as non-strings, and helm then silently renames them (``on:`` becomes
``"true":``). Here they are rejected, naming the path, the key as written and its line, and asking for quotes.
Values keep their YAML type: ``enabled: on`` is ``True``, as in helm.

A second document (``---``) is rejected (helm 3 would ignore it, helm 4 merge it). Anchors, aliases and ``<<``
merge keys are allowed; each alias counts at the full size of what it expands to (see
:class:`~chalicelib.domain.values.tree.Limits`), so "billion laughs" documents are rejected after a few events,
before anything is built.

Numbers (a helm limitation this design inherits): helm decodes numbers in ``-f`` files (and in ``--set-json``)
as float64, but ``--set`` integers as int64. Moving ``--set`` into the file therefore changes two things a chart
can observe: integers beyond 2**53 lose precision, and a template that prints an integer of 1,000,000 or more
without a filter (``{{ .Values.n }}``) renders ``1e+06`` instead of ``1000000`` (``| int`` and ``toJson`` are
unaffected).
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import Any

import yaml
from yaml.reader import ReaderError

from chalicelib.domain import yamlguard
from chalicelib.domain.values.tree import DEFAULT_LIMITS, Limits, MarkedKey, finish
from chalicelib.errors import InvalidInput, PayloadTooLarge

try:
    from yaml import CSafeLoader as _SafeLoaderBase
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoaderBase  # type: ignore[assignment]

__all__ = [
    "BINARY_TAG",
    "FILE_REFUSED_TAGS",
    "TIMESTAMP_TAG",
    "load_document",
    "load_yaml",
    "parse_values",
    "parse_values_counted",
]

BINARY_TAG = "tag:yaml.org,2002:binary"
TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
FILE_REFUSED_TAGS = frozenset({BINARY_TAG, TIMESTAMP_TAG})
"""Explicit tags a values file may not use. Helm values have no binary or time type: helm silently turns
``!!binary`` into its decoded bytes as text (invalid UTF-8 included) and ``!!timestamp`` into the text as
written. A file that uses them is refused, naming the file and line, so its author says which text they mean."""


class _ValuesLoader(_SafeLoaderBase):
    """PyYAML's safe loader with helm-compatible scalar typing (see the module docstring)."""

    bool_values = {**_SafeLoaderBase.bool_values, "y": True, "n": False}

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        for key_node, _ in node.value:  # flattened by now: ``<<`` merges are resolved
            if isinstance(key_node, yaml.ScalarNode):
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, str) and key in mapping:
                    marked = MarkedKey(key_node.value, key_node.start_mark.line + 1, key)
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


_ValuesLoader.add_constructor(TIMESTAMP_TAG, _construct_plain_str)
_ValuesLoader.add_constructor("tag:yaml.org,2002:value", _construct_plain_str)
_ValuesLoader.add_constructor("tag:yaml.org,2002:merge", _construct_plain_str)  # `<<` as a value
_ValuesLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_ValuesLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)
_ValuesLoader.add_constructor(BINARY_TAG, _construct_binary)
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
            return InvalidInput(field, f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}")
        return InvalidInput(field, f"invalid YAML: {problem}")
    if isinstance(exc, ReaderError):
        return InvalidInput(field, f"invalid YAML: character at position {exc.position} is not allowed")
    return InvalidInput(field, "invalid YAML")


def _scan_yaml(text: str, field: str, limits: Limits, refused_tags: frozenset[str]) -> None:
    """Stream the YAML events once, before building anything (:func:`chalicelib.domain.yamlguard.scan`, the
    guard every outside YAML goes through): a single document, at most ``max_depth`` deep and ``max_nodes``
    nodes with aliases counted at their expanded size, and no node tagged with one of ``refused_tags``."""

    def refuse(event: yaml.NodeEvent) -> None:
        tag = getattr(event, "tag", None)
        if tag in refused_tags:
            mark = event.start_mark
            where = "" if mark is None else f" at line {mark.line + 1}, column {mark.column + 1}"
            raise InvalidInput(
                field,
                f"!!{tag.rsplit(':', 1)[-1]}{where} is not allowed in a values file "
                "(helm values have no binary or time type): write the text itself, quoted",
            )

    budget = yamlguard.Budget(max_depth=limits.max_depth, max_nodes=limits.max_nodes, max_alias_nodes=None)
    yamlguard.scan(text, field, budget, too_large=PayloadTooLarge, loader=_ValuesLoader, check=refuse)


def load_yaml(text: str, field: str, limits: Limits, refused_tags: frozenset[str] = frozenset()) -> object:
    """Decode one YAML text in helm's dialect, unvalidated (see :func:`parse_values`). Nodes explicitly tagged
    with one of ``refused_tags`` (full tags such as :data:`BINARY_TAG`) are rejected with their line."""
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(field, "contains an invalid Unicode surrogate") from None
    if len(encoded) > limits.max_bytes:
        raise PayloadTooLarge(field, f"YAML is larger than {limits.max_bytes} bytes")
    try:
        _scan_yaml(text, field, limits, refused_tags)
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


def load_document(text: str, field: str, limits: Limits = DEFAULT_LIMITS) -> object:
    """A YAML file that *holds* values somewhere inside it (a runtime's releases file, whose ``values:`` items
    may be inline maps), read in helm's dialect as a values file is: the same scalar typing (``22:22`` a
    string, ``y`` true, dates strings), the same guard, and :data:`FILE_REFUSED_TAGS` refused with their line.

    The result is unvalidated: mapping keys YAML 1.1 did not read as strings stay as they are (the caller checks
    the keys of its own structure), and each part that becomes values must go through :func:`parse_values`,
    which validates it and names the field. Raises :class:`InvalidInput` naming ``field``."""
    return load_yaml(text, field, limits, FILE_REFUSED_TAGS)


def parse_values(raw: object, field: str = "values", limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Parse the ``values`` input into a JSON-serialisable mapping.

    ``raw`` is ``None`` (gives ``{}``), a JSON object (a ``dict``; its keys are literal, no path syntax), or a
    YAML string (see the module docstring for the dialect). A YAML document that is empty, only comments, or
    ``null`` gives ``{}`` (as in helm). The result is a fresh tree of ``dict``/``list``/``str``/``int``/
    ``float``/``bool``/``None`` with string keys, no shared containers, finite floats, and no dates.

    Raises :class:`InvalidInput` (``field`` or ``field.path.to.key``) for syntax errors, a second YAML
    document, a top level that is not a mapping, non-string keys, NaN/Inf, unsupported YAML types (``!!set``,
    ``!!omap``, ``!!pairs``, custom ``!tags``); and :class:`PayloadTooLarge` when ``limits`` are exceeded.
    """
    result, _ = parse_values_counted(raw, field, limits)
    return result


def parse_values_counted(
    raw: object, field: str, limits: Limits, refused_tags: frozenset[str] = frozenset()
) -> tuple[dict[str, Any], int]:
    """:func:`parse_values`, also returning the result's node count (and refusing ``refused_tags``, as
    :func:`load_yaml` does, when ``raw`` is YAML)."""
    if raw is None:
        return {}, 1
    data: object
    if isinstance(raw, str):
        data = load_yaml(raw, field, limits, refused_tags)
    elif isinstance(raw, (dict, list, bool, int, float)):
        data = raw
    else:
        raise InvalidInput(field, "must be a YAML string or a JSON object")
    if data is None:
        return {}, 1
    if not isinstance(data, dict):
        raise InvalidInput(field, "must be a mapping at the top level")
    return finish(data, field, limits)
