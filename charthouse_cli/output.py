"""Output: aligned tables and key/value blocks for people, ``-o json`` / ``-o yaml`` for scripts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any

import yaml

FORMATS = ("table", "json", "yaml")


def cell(value: object) -> str:
    """One table cell: empty for null, lower-case booleans, compact JSON for structures, one line."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return " ".join(str(value).split())


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Columns left-aligned to their widest cell, two spaces apart, no trailing spaces."""
    text_rows = [[cell(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in text_rows:
        for i, c in enumerate(row):
            widths[i] = max(widths[i], len(c))
    lines = []
    for row in [list(headers), *text_rows]:
        lines.append("  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip())
    return "\n".join(lines) + "\n"


def fields(pairs: Iterable[tuple[str, object]]) -> str:
    """``KEY:   value`` lines, values aligned; pairs whose value is None or empty are left out."""
    kept = [(k, cell(v)) for k, v in pairs if v is not None and v != "" and v != {} and v != []]
    width = max((len(k) for k, _ in kept), default=0) + 1
    return "".join(f"{(k + ':').ljust(width)}  {v}\n" for k, v in kept)


def short_time(value: object) -> str:
    """``2026-11-21T10:40:03.123456+00:00`` -> ``2026-11-21 10:40:03``; anything else as it is."""
    text = cell(value)
    if len(text) >= 19 and text[10] == "T":
        return text[:10] + " " + text[11:19]
    return text


def dump(data: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return yaml.safe_dump(data, sort_keys=True, allow_unicode=True, default_flow_style=False)


def emit(out: IO[str], data: Any, fmt: str, human: Callable[[Any], str]) -> None:
    """Print ``data`` as JSON/YAML, or through ``human`` for the table format."""
    out.write(dump(data, fmt) if fmt in ("json", "yaml") else human(data))
    out.flush()
