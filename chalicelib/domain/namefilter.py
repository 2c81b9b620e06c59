"""Release name filters by regular expression (helm list --filter) that cannot hang the service.

The pattern is parsed with Python's own regular expression parser, then matched by this module's matcher, not by
``re``: each (pattern node, position) pair is computed once, so a match costs at most nodes x positions^2 steps
whatever the pattern (no catastrophic backtracking: ``(a+)+$`` is as quick as ``a``). The pattern is at most
``MAX_PATTERN`` characters and a release name at most 53. What needs backtracking to mean anything (back
references, look-ahead and look-behind, conditionals) is refused with a message naming the field.

Matching is a search, as helm's ``MatchString``: anywhere in the name unless anchored with ``^``/``$``.
"""

from __future__ import annotations

import re
import re._constants as c  # the opcodes of the parsed pattern
import re._parser as p
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from chalicelib.errors import InvalidInput

MAX_PATTERN = 128
MAX_REPEAT = 64  # an explicit bound above this ({1,1000}) is read as unbounded: a name is at most 53 characters
Ends = frozenset[int]


@dataclass(frozen=True)
class NameFilter:
    """A compiled filter; ``matches(name)`` is linear in the pattern and quadratic in the (short) name."""

    pattern: str
    _tree: Any = field(repr=False, compare=False)

    @classmethod
    def parse(cls, name: str, pattern: str) -> NameFilter:
        if len(pattern) > MAX_PATTERN:
            raise InvalidInput(name, f"must be at most {MAX_PATTERN} characters")
        try:
            tree = p.parse(pattern)
        except (re.error, RecursionError, OverflowError) as exc:
            raise InvalidInput(name, f"is not a valid regular expression: {exc}") from exc
        _check(name, tree)
        return cls(pattern, tree)

    def matches(self, text: str) -> bool:
        memo: dict[tuple[int, int], Ends] = {}
        return any(_seq(self._tree, start, text, memo) for start in range(len(text) + 1))


_SUPPORTED = {c.LITERAL, c.NOT_LITERAL, c.ANY, c.IN, c.BRANCH, c.SUBPATTERN, c.MAX_REPEAT, c.MIN_REPEAT, c.AT}
_SUPPORTED |= {getattr(c, "POSSESSIVE_REPEAT", c.MAX_REPEAT), getattr(c, "ATOMIC_GROUP", c.SUBPATTERN)}


def _check(name: str, items: Any) -> None:
    for op, arg in items:
        if op not in _SUPPORTED:
            raise InvalidInput(name, f"uses {str(op).lower()}, which is not supported (back references, look-arounds)")
        if op is c.BRANCH:
            for alternative in arg[1]:
                _check(name, alternative)
        elif op is c.SUBPATTERN:
            _check(name, arg[-1])
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT) or op is getattr(c, "POSSESSIVE_REPEAT", None):
            _check(name, arg[2])
        elif op is getattr(c, "ATOMIC_GROUP", None):
            _check(name, arg)


def _seq(items: Any, start: int, text: str, memo: dict[tuple[int, int], Ends]) -> Ends:
    """Every position where ``items`` (a sequence) can end when it starts at ``start``."""
    key = (id(items), start)
    if key in memo:
        return memo[key]
    positions: Ends = frozenset({start})
    for op, arg in items:
        positions = frozenset(e for pos in positions for e in _one(op, arg, pos, text, memo))
        if not positions:
            break
    memo[key] = positions
    return positions


def _one(op: Any, arg: Any, pos: int, text: str, memo: dict[tuple[int, int], Ends]) -> Ends:
    here = text[pos] if pos < len(text) else None
    if op is c.LITERAL:
        return frozenset({pos + 1}) if here is not None and ord(here) == arg else frozenset()
    if op is c.NOT_LITERAL:
        return frozenset({pos + 1}) if here is not None and ord(here) != arg else frozenset()
    if op is c.ANY:
        return frozenset({pos + 1}) if here is not None and here != "\n" else frozenset()
    if op is c.IN:
        return frozenset({pos + 1}) if here is not None and _in_class(arg, here) else frozenset()
    if op is c.AT:
        return frozenset({pos}) if _at(arg, pos, text) else frozenset()
    if op is c.BRANCH:
        return frozenset(e for alternative in arg[1] for e in _seq(alternative, pos, text, memo))
    if op is c.SUBPATTERN:
        return _seq(arg[-1], pos, text, memo)
    if op is getattr(c, "ATOMIC_GROUP", None):
        return _seq(arg, pos, text, memo)
    low, high, body = arg  # a repeat, greedy, lazy or possessive alike: only whether it matches counts here
    high = min(high, len(text) + 1) if high <= MAX_REPEAT else len(text) + 1
    reached: set[int] = {pos} if low == 0 else set()
    frontier: Ends = frozenset({pos})
    for count in range(1, high + 1):
        frontier = frozenset(e for f in frontier for e in _seq(body, f, text, memo))
        if count >= low:
            new = frontier - reached
            reached |= frontier
            if not new:
                break
        if not frontier:
            break
    return frozenset(reached)


def _in_class(items: Any, ch: str) -> bool:
    negate = False
    found = False
    code = ord(ch)
    for op, arg in items:
        if op is c.NEGATE:
            negate = True
        elif op is c.LITERAL:
            found = found or code == arg
        elif op is c.RANGE:
            found = found or arg[0] <= code <= arg[1]
        elif op is c.CATEGORY:
            found = found or _category(arg, ch)
    return found != negate


@lru_cache(maxsize=32)
def _category_re(category: str) -> re.Pattern[str]:
    return re.compile({"DIGIT": r"\d", "NOT_DIGIT": r"\D", "SPACE": r"\s", "NOT_SPACE": r"\S"}.get(category, r"\w"))


def _category(arg: Any, ch: str) -> bool:
    name = str(arg).upper().removeprefix("CATEGORY_")
    pattern = {"WORD": r"\w", "NOT_WORD": r"\W"}.get(name)
    return bool((re.compile(pattern) if pattern else _category_re(name)).fullmatch(ch))


def _at(arg: Any, pos: int, text: str) -> bool:
    name = str(arg).upper()
    if name in ("AT_BEGINNING", "AT_BEGINNING_STRING", "AT_BEGINNING_LINE"):
        return pos == 0
    if name in ("AT_END", "AT_END_STRING", "AT_END_LINE"):
        return pos == len(text)
    word = [bool(re.fullmatch(r"\w", text[i])) if 0 <= i < len(text) else False for i in (pos - 1, pos)]
    return (word[0] != word[1]) == (name == "AT_BOUNDARY")
