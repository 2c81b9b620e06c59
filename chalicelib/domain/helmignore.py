"""Which files of a chart directory helm packages: its ``.helmignore`` rules, as helm reads them
(``pkg/ignore/rules.go`` and the directory loader), so a chart built from Git holds what ``helm package`` would.

Helm's rules, one a line, evaluated in order, the first match deciding:

* blank lines and lines starting with ``#`` are skipped; surrounding spaces are trimmed; ``**`` is refused;
* ``pattern/`` matches directories only (ignoring a directory ignores everything under it);
* ``/pattern`` and a pattern with a ``/`` match the whole path from the chart's root; a pattern without one
  matches the base name only;
* patterns are Go's ``filepath.Match``: ``*`` (no ``/``), ``?``, ``[a-z]``, ``[^a-z]``, ``\\`` escapes;
* ``!pattern`` (helm's reading, kept as it is): a path that does *not* match it is ignored, one that matches
  goes on to the next rule;
* helm adds ``templates/.?*`` after the file's rules (hidden files under ``templates/``).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from chalicelib.errors import InvalidInput

FILE = ".helmignore"
DEFAULTS = ("templates/.?*",)


@dataclass(frozen=True)
class Pattern:
    raw: str
    regex: re.Pattern[str]
    negate: bool
    must_dir: bool
    base_only: bool

    def matches(self, path: str) -> bool:
        return bool(self.regex.fullmatch(posixpath.basename(path) if self.base_only else path))


@dataclass(frozen=True)
class Rules:
    patterns: tuple[Pattern, ...]

    @classmethod
    def parse(cls, text: str, where: str = FILE) -> Rules:
        patterns = []
        for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), 1):
            pattern = _pattern(line, f"{where} line {number}")
            if pattern is not None:
                patterns.append(pattern)
        for rule in DEFAULTS:
            default = _pattern(rule, "default rule")
            assert default is not None
            patterns.append(default)
        return cls(tuple(patterns))

    def ignored(self, path: str, is_dir: bool) -> bool:
        """Helm's ``Rules.Ignore`` for a path relative to the chart's root."""
        if path in ("", ".", "./"):
            return False
        for p in self.patterns:
            if p.negate:
                if p.must_dir and not is_dir:
                    return True
                if not p.matches(path):
                    return True
                continue
            if p.must_dir and not is_dir:
                continue
            if p.matches(path):
                return True
        return False


def packaged(files: dict[str, bytes], where: str) -> dict[str, bytes]:
    """The files of a chart directory (paths relative to it) that helm packages: walked as helm walks them, a
    directory ignored with everything under it."""
    raw = files.get(FILE)
    rules = Rules.parse(raw.decode("utf-8", "replace") if raw is not None else "", f"{where}: {FILE}")
    dirs: dict[str, bool] = {}

    def dir_ignored(path: str) -> bool:
        if path not in dirs:
            parent = posixpath.dirname(path)
            dirs[path] = (bool(parent) and dir_ignored(parent)) or rules.ignored(path, True)
        return dirs[path]

    out = {}
    for path, data in files.items():
        parent = posixpath.dirname(path)
        if (parent and dir_ignored(parent)) or rules.ignored(path, False):
            continue
        out[path] = data
    return out


def _pattern(line: str, where: str) -> Pattern | None:
    rule = line.strip()
    if not rule or rule.startswith("#"):
        return None
    if "**" in rule:
        raise InvalidInput(where, f"{rule!r}: double-star (**) syntax is not supported (helm refuses it)")
    raw = rule
    negate = rule.startswith("!")
    if negate:
        rule = rule[1:]
    must_dir = rule.endswith("/")
    if must_dir:
        rule = rule[:-1]
    anchored = rule.startswith("/")
    base_only = not anchored and "/" not in rule
    if anchored:
        rule = rule[1:]
    return Pattern(raw, _compile(rule, where, raw), negate, must_dir, base_only)


def _compile(glob: str, where: str, raw: str) -> re.Pattern[str]:
    """Go's ``filepath.Match`` pattern as a regular expression (``/`` is the separator)."""
    out, i, n = [], 0, len(glob)
    while i < n:
        c = glob[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\":
            i += 1
            if i >= n:
                raise InvalidInput(where, f"{raw!r}: a pattern cannot end with \\ (syntax error in pattern)")
            out.append(re.escape(glob[i]))
        elif c == "[":
            end, cls = _class(glob, i + 1, where, raw)
            out.append(cls)
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out))


def _class(glob: str, i: int, where: str, raw: str) -> tuple[int, str]:
    """A ``[...]`` class starting after its ``[``, read as Go reads it: (index of its ``]``, the regex class).
    An unescaped ``-`` or ``]`` where a character is expected, or an unclosed class, is a syntax error."""
    negate = i < len(glob) and glob[i] == "^"
    if negate:
        i += 1
    parts: list[str] = []
    while True:
        if i < len(glob) and glob[i] == "]" and parts:
            break
        lo, i = _class_char(glob, i, where, raw)
        if i < len(glob) and glob[i] == "-":
            hi, i = _class_char(glob, i + 1, where, raw)
            if hi < lo:
                raise InvalidInput(where, f"{raw!r}: the range {lo}-{hi} is empty (syntax error in pattern)")
            parts.append(f"{re.escape(lo)}-{re.escape(hi)}")
        else:
            parts.append(re.escape(lo))
    return i, "[" + ("^" if negate else "") + "".join(parts) + "]"


def _class_char(glob: str, i: int, where: str, raw: str) -> tuple[str, int]:
    """One character of a class (``\\`` escapes), and the index after it."""
    if i < len(glob) and glob[i] == "\\":
        i += 1
    elif i < len(glob) and glob[i] in "-]":
        raise InvalidInput(where, f"{raw!r}: an unescaped {glob[i]} in a [] class (syntax error in pattern)")
    if i >= len(glob):
        raise InvalidInput(where, f"{raw!r}: an unclosed [ (syntax error in pattern)")
    return glob[i], i + 1
