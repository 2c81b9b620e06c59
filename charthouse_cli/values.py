"""Values for install and upgrade: ``-f`` files merged client-side like helm, ``--set*`` passed through.

``-f`` files are read in order and deep-merged into one mapping: maps merge key by key, anything else (lists,
scalars, null) from a later file replaces the earlier value, as helm's ``-f a.yaml -f b.yaml`` does. The
result is sent as the request's ``values`` object. ``--set``, ``--set-string`` and ``--set-json`` go to the
API's ``set``, ``set_string`` and ``set_json`` lists unchanged and in order; the service applies them over the
values with helm's precedence (values < set_json < set < set_string).

Files are parsed in the YAML dialect helm reads (go-yaml v2, YAML 1.1), not PyYAML's defaults, so that a file
means the same here as in ``helm -f``: dates stay strings, ``y``/``n`` are booleans, ``22:22`` is a string,
``1e3`` is a float, ``0o17``/``0x1F``/``0b1`` are integers, and a mapping key must be a string (quote ``"on":``).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import yaml

from .errors import UsageError

STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
BOOL = "tag:yaml.org,2002:bool"
DROPPED_TAGS = ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value")
BOOLS = {"y": True, "yes": True, "on": True, "true": True, "n": False, "no": False, "off": False, "false": False}


class HelmYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader, adjusted where it and helm's YAML reader disagree."""

    def construct_yaml_bool(self, node: yaml.ScalarNode) -> bool:
        return BOOLS[str(self.construct_scalar(node)).lower()]

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int | str:  # type: ignore[override]
        text = str(self.construct_scalar(node))
        if ":" in text:  # base 60 is not read by helm: a string
            return text
        digits = text.replace("_", "")
        sign = -1 if digits.startswith("-") else 1
        digits = digits.lstrip("+-")
        prefix = digits[:2].lower()
        if prefix in ("0x", "0o", "0b"):
            return sign * int(digits[2:], {"0x": 16, "0o": 8, "0b": 2}[prefix])
        if len(digits) > 1 and digits.startswith("0"):
            return sign * int(digits, 8)
        return sign * int(digits)

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float | str:  # type: ignore[override]
        text = str(self.construct_scalar(node))
        if ":" in text:
            return text
        return super().construct_yaml_float(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        for key in mapping:
            if not isinstance(key, str):
                raise yaml.constructor.ConstructorError(
                    None, None, f"mapping key {key!r} is not a string: quote it (helm would rename it)", node.start_mark
                )
        return mapping


HelmYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in DROPPED_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
HelmYamlLoader.add_implicit_resolver(BOOL, re.compile(r"^(?:y|Y|n|N)$"), list("yYnN"))
HelmYamlLoader.add_implicit_resolver(
    INT, re.compile(r"^[-+]?0(?:[oO][0-7_]+|[xX][0-9a-fA-F_]+|[bB][01_]+)$"), list("-+0")
)
HelmYamlLoader.add_implicit_resolver(
    FLOAT,
    re.compile(r"^[-+]?(?:(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+|\.[0-9][0-9_]*)$"),
    list("-+0123456789."),
)
HelmYamlLoader.add_constructor(BOOL, HelmYamlLoader.construct_yaml_bool)
HelmYamlLoader.add_constructor(INT, HelmYamlLoader.construct_yaml_int)
HelmYamlLoader.add_constructor(FLOAT, HelmYamlLoader.construct_yaml_float)


def parse(text: str, source: str) -> dict[str, Any]:
    """One values document: a mapping (an empty file is ``{}``); anything else is a :class:`UsageError`."""
    try:
        docs = [d for d in yaml.load_all(text, Loader=HelmYamlLoader) if d is not None]  # noqa: S506 - safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UsageError(f"{source}: not valid YAML{where}: {problem}") from None
    if len(docs) > 1:
        raise UsageError(f"{source}: has more than one YAML document")
    data = docs[0] if docs else {}
    if not isinstance(data, dict):
        raise UsageError(f"{source}: must be a mapping of values, not a {type(data).__name__}")
    return data


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """A new mapping: ``override`` over ``base``, maps merged recursively (helm's ``mergeMaps``)."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def read_files(files: Iterable[str], stdin: IO[str] | None = None) -> dict[str, Any]:
    """``-f`` files (``-`` is standard input, once) merged in order."""
    merged: dict[str, Any] = {}
    used_stdin = False
    for name in files:
        if name == "-":
            if used_stdin:
                raise UsageError("-f -: standard input can be read only once")
            used_stdin = True
            text = (stdin or sys.stdin).read()
        else:
            try:
                text = Path(name).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise UsageError(f"{name}: cannot read values file: {getattr(exc, 'strerror', None) or exc}") from None
        merged = merge(merged, parse(text, name))
    return merged


def request_fields(
    files: list[str] | None,
    set_: list[str] | None,
    set_string: list[str] | None,
    set_json: list[str] | None,
    stdin: IO[str] | None = None,
) -> dict[str, Any]:
    """The ``values``/``set``/``set_string``/``set_json`` fields of a request body (only those given)."""
    out: dict[str, Any] = {}
    if files:
        out["values"] = read_files(files, stdin)
    for field, items in (("set", set_), ("set_string", set_string), ("set_json", set_json)):
        if items:
            out[field] = list(items)
    return out
