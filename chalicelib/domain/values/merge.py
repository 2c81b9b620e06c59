"""Helm's precedence: the request's values inputs combined into the ONE mapping handed to helm.

Precedence (what ``helm`` does in ``pkg/cli/values.Options.MergeValues``, with ``values`` standing where one
more ``-f`` file after the listed ones would)::

    chart defaults < values_files[0] < values_files[1] < ... < values
                   < set_json < set < set_string < set_sensitive

``values_files`` and ``values`` are merged like helm merges ``-f`` files (:func:`merge`: maps key by key, any
other value from a later file replaces the earlier one, a list replaces a list). ``--set-json``, ``--set`` and
``--set-string`` are then applied *into* the mapping built so far, one assignment at a time (helm's
``strvals.ParseInto``; see :mod:`~chalicelib.domain.values.strvals`), not merged as separate overlays.
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.values.strvals import Budget, SetKind, apply, parse_ops
from chalicelib.domain.values.tree import (
    DEFAULT_LIMITS,
    Limits,
    check_text_size,
    copy_tree,
    finish,
    merge_into,
    snip,
)
from chalicelib.domain.values.yaml_dialect import FILE_REFUSED_TAGS, parse_values_counted
from chalicelib.errors import InvalidInput, PayloadTooLarge

__all__ = ["MAX_FILE_NAME", "combine", "merge", "parse_values_files"]

MAX_FILE_NAME = 256
"""Longest ``name`` of a values file (it is only used in messages)."""

_FILE_KEYS = frozenset({"name", "content"})


def merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Merge two values mappings the way helm merges ``-f`` files (``mergeMaps``).

    Mappings merge recursively; for any other pair the overlay's value wins (a list replaces the base list
    wholesale; a mapping replaces a scalar; a scalar replaces a mapping). A key whose overlay value is ``None``
    is kept with the value ``None``: helm later treats a user-supplied null as "delete this key from the
    chart's defaults".

    Returns a new mapping that shares no container with ``base`` or ``overlay``; neither is modified. Both are
    expected to be JSON data (as returned by :func:`~chalicelib.domain.values.yaml_dialect.parse_values`).
    """
    out: dict[str, Any] = copy_tree(base)
    merge_into(out, overlay)
    return out


def _file_entry(item: object, where: str) -> tuple[str | None, str]:
    """``(name, content)`` of one ``values_files`` item: a YAML string, or ``{"name": ..., "content": ...}``."""
    if isinstance(item, str):
        return None, item
    if not isinstance(item, dict):
        raise InvalidInput(where, 'must be a YAML string or an object {"name": ..., "content": ...}')
    unknown = sorted(str(key) for key in item if key not in _FILE_KEYS)
    if unknown:
        raise InvalidInput(where, f"unknown key {snip(unknown[0])} (allowed: name, content)")
    content, name = item.get("content"), item.get("name")
    if not isinstance(content, str):
        raise InvalidInput(f"{where}.content", "must be a string (the file's YAML text)")
    if name is not None and (not isinstance(name, str) or not 0 < len(name) <= MAX_FILE_NAME):
        raise InvalidInput(f"{where}.name", f"must be a string of 1 to {MAX_FILE_NAME} characters")
    return name, content


def _in_file(err: InvalidInput, name: str) -> InvalidInput:
    """``err`` (same class and field) with the file's given name leading its message."""
    message = err.message.removeprefix(f"{err.field}: ")
    return type(err)(err.field, f"{snip(name)}: {message}", file=name)


def parse_values_files(
    raw: object, field: str = "values_files", limits: Limits = DEFAULT_LIMITS
) -> tuple[dict[str, Any], int]:
    """Parse ``values_files`` and merge them in order (later files win, maps merge deeply), like
    ``helm -f a.yaml -f b.yaml``; returns the merged mapping and its node count.

    ``raw`` is ``None`` or a list of at most ``limits.max_files`` items, each either a YAML text or an object
    ``{"name": "a.yaml", "content": "<YAML text>"}`` (``name`` optional, only used in messages). Each text is
    read in helm's dialect (:mod:`~chalicelib.domain.values.yaml_dialect`) and must be a mapping (an empty
    file is ``{}``); explicit ``!!binary`` and ``!!timestamp`` tags are refused (:data:`FILE_REFUSED_TAGS`).
    The texts together are at most ``limits.max_bytes`` UTF-8 bytes, and so is the merged result as JSON.

    Errors name ``field[i]`` (qualified with a path inside the file where that helps), and their message starts
    with the file's quoted name when one was given, and says the line for YAML errors:
    ``values_files[1]: "b.yaml": invalid YAML at line 3, column 5: ...``.
    """
    if raw is None:
        return {}, 1
    if not isinstance(raw, list):
        raise InvalidInput(field, 'must be a list of YAML strings or {"name": ..., "content": ...} objects')
    if len(raw) > limits.max_files:
        raise PayloadTooLarge(field, f"more than {limits.max_files} files")
    entries = [_file_entry(item, f"{field}[{index}]") for index, item in enumerate(raw)]
    check_text_size([content for _, content in entries], field, limits)
    merged: dict[str, Any] = {}
    for index, (name, content) in enumerate(entries):
        try:
            parsed, _ = parse_values_counted(content, f"{field}[{index}]", limits, FILE_REFUSED_TAGS)
        except InvalidInput as err:
            raise (err if name is None else _in_file(err, name)) from None
        merge_into(merged, parsed)
    return finish(merged, field, limits)


def combine(
    values: object,
    set_: object,
    set_string: object,
    set_json: object,
    limits: Limits = DEFAULT_LIMITS,
    set_sensitive: object = None,
    values_files: object = None,
) -> dict[str, Any]:
    """Build the one mapping for helm's ``-f`` from the request fields.

    Order (helm's, see the module docstring): ``values_files`` in order < ``values`` < ``set_json`` < ``set``
    < ``set_string``; then ``set_sensitive`` (``set`` syntax, applied last; its paths are masked wherever values
    are shown: :func:`~chalicelib.domain.values.strvals.sensitive_paths`). ``values_files`` is read with
    :func:`parse_values_files`, ``values`` with :func:`~chalicelib.domain.values.yaml_dialect.parse_values` and
    merged over them; then each set field's assignments are applied *into* the result so far, like helm's
    ``strvals.ParseInto`` (see :func:`~chalicelib.domain.values.strvals.parse_set` for the forms). Errors name
    the field they come from: ``values_files[i]``, ``values``, ``set_json``, ``set``, ``set_string``,
    ``set_sensitive`` (qualified as described there). Each limit applies per field and again to the combined
    result.
    """
    stages: tuple[tuple[str, object, SetKind], ...] = (
        ("set_json", set_json, "set_json"),
        ("set", set_, "set"),
        ("set_string", set_string, "set_string"),
        ("set_sensitive", set_sensitive, "set"),
    )
    if values_files is None:
        result, nodes = parse_values_counted(values, "values", limits)
    else:
        result, _ = parse_values_files(values_files, "values_files", limits)
        merge_into(result, parse_values_counted(values, "values", limits)[0])
        result, nodes = finish(result, "values", limits)
    for field, raw, kind in stages:
        ops = parse_ops(raw, field, kind, limits)
        if ops:
            apply(result, ops, Budget(limits, nodes))
            result, nodes = finish(result, field, limits)
    return result
