"""Values for install and upgrade: the request fields, with no parsing of their own.

The CLI holds no copy of the service's values rules. Each ``-f`` file (``-`` is standard input, once) is read
as text and sent, in order, in the request's ``values_files`` list as ``{"name": <as given>, "content": <text>}``;
the service reads them in helm's YAML dialect and merges them like ``helm -f a.yaml -f b.yaml`` (later files
win, maps merge key by key). ``--set``, ``--set-string`` and ``--set-json`` go to the API's ``set``,
``set_string`` and ``set_json`` lists as the raw strings, unchanged and in order; the service parses them and
applies them over the files with helm's precedence (files < set_json < set < set_string). A file the service
refuses comes back as a 422 whose message names the file and the line (exit code 2).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from .errors import UsageError

STDIN_NAME = "<stdin>"
"""The name ``-f -`` is sent under (the service quotes it in its messages)."""


def read_files(files: Iterable[str], stdin: IO[str] | None = None) -> list[dict[str, str]]:
    """``-f`` files as ``values_files`` items, in order: ``{"name": ..., "content": ...}``."""
    out: list[dict[str, str]] = []
    used_stdin = False
    for name in files:
        if name == "-":
            if used_stdin:
                raise UsageError("-f -: standard input can be read only once")
            used_stdin = True
            out.append({"name": STDIN_NAME, "content": (stdin or sys.stdin).read()})
            continue
        try:
            text = Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{name}: cannot read values file: {getattr(exc, 'strerror', None) or exc}") from None
        out.append({"name": name, "content": text})
    return out


def request_fields(
    files: list[str] | None,
    set_: list[str] | None,
    set_string: list[str] | None,
    set_json: list[str] | None,
    stdin: IO[str] | None = None,
) -> dict[str, Any]:
    """The ``values_files``/``set``/``set_string``/``set_json`` fields of a request body (only those given)."""
    out: dict[str, Any] = {}
    if files:
        out["values_files"] = read_files(files, stdin)
    for field, items in (("set", set_), ("set_string", set_string), ("set_json", set_json)):
        if items:
            out[field] = list(items)
    return out
