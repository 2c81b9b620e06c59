"""Semantic versions and version constraints, with the rules helm uses to pick a chart version.

Constraints: comparisons (``=``, ``!=``, ``>``, ``<``, ``>=``, ``<=``), tilde (``~1.2`` = ``>=1.2.0 <1.3.0``), caret
(``^1.2`` = ``>=1.2.0 <2.0.0``; ``^0.2`` = ``>=0.2.0 <0.3.0``), wildcards (``1.2.x``, ``*``), hyphen ranges
(``1.2 - 1.4``); terms joined by ``,`` or spaces must all hold, alternatives are separated by ``||``.
A pre-release version (``1.0.0-rc.1``) satisfies a constraint only if the constraint names a pre-release, or
when ``devel`` is asked for (helm ``--devel``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import total_ordering

from chalicelib.errors import InvalidInput

_VERSION = re.compile(
    r"^v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
_TERM = re.compile(r"^(!=|>=|=>|<=|=<|>|<|=|~>|~|\^)?\s*(.+)$")
_WILD = ("x", "X", "*")


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Version | None:
        """A version, or None when ``text`` is not one (index entries with odd versions are skipped, not fatal)."""
        m = _VERSION.match(text.strip())
        if not m:
            return None
        major, minor, patch, pre, _build = m.groups()
        return cls(int(major), int(minor or 0), int(patch or 0), tuple(pre.split(".")) if pre else ())

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        # a release sorts after its pre-releases; numeric identifiers sort before alphanumeric ones
        pre = tuple((0, int(p)) if p.isdigit() else (1, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return f"{core}-{'.'.join(self.prerelease)}" if self.prerelease else core


_Check = Callable[[Version], bool]


@dataclass(frozen=True)
class _Partial:
    """A version as written in a constraint: missing or wildcard parts are None."""

    parts: tuple[int | None, int | None, int | None]
    prerelease: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> _Partial:
        raw = text.lstrip("v")
        core, _, pre = raw.partition("-")
        core = core.partition("+")[0]
        bits = core.split(".")
        if not 1 <= len(bits) <= 3 or any(b not in _WILD and not b.isdigit() for b in bits):
            raise ValueError(text)
        nums = [None if b in _WILD else int(b) for b in bits] + [None] * (3 - len(bits))
        if pre and (None in nums or not re.fullmatch(r"[0-9A-Za-z.-]+", pre)):
            raise ValueError(text)
        # 1.x.3 is meaningless: once a part is a wildcard, the rest are too
        first_wild = next((i for i, n in enumerate(nums) if n is None), 3)
        nums = [n if i < first_wild else None for i, n in enumerate(nums)]
        return cls((nums[0], nums[1], nums[2]), tuple(pre.split(".")) if pre else ())

    def floor(self) -> Version:
        a, b, c = (n or 0 for n in self.parts)
        return Version(a, b, c, self.prerelease)

    def ceiling(self) -> Version | None:
        """The first version above every version this partial stands for (None: no upper bound)."""
        a, b, c = self.parts
        if a is None:
            return None
        if b is None:
            return Version(a + 1, 0, 0, ("0",))
        if c is None:
            return Version(a, b + 1, 0, ("0",))
        return None

    @property
    def exact(self) -> bool:
        return None not in self.parts


def _range(lo: Version | None, hi: Version | None, hi_inclusive: bool = False) -> _Check:
    def check(v: Version) -> bool:
        if lo is not None and v < lo:
            return False
        if hi is not None and (v > hi if hi_inclusive else v >= hi):
            return False
        return True

    return check


def _comparator(op: str, p: _Partial) -> _Check:
    floor, ceiling = p.floor(), p.ceiling()
    if op in ("", "="):
        return (
            _range(floor, None)
            if p.parts[0] is None
            else (_range(floor, floor, True) if p.exact else _range(floor, ceiling))
        )
    if op == "!=":
        inside = _comparator("=", p)
        return lambda v: not inside(v)
    if op == ">":
        return (lambda v: v > floor) if p.exact else _range(ceiling, None) if ceiling else (lambda v: False)
    if op in (">=", "=>"):
        return _range(floor, None)
    if op == "<":
        return lambda v: v < floor
    if op in ("<=", "=<"):
        return _range(None, floor, True) if p.exact else _range(None, ceiling) if ceiling else (lambda v: True)
    if op in ("~", "~>"):
        a, b, _ = p.parts
        if a is None:
            return _range(floor, None)
        hi = Version(a + 1, 0, 0, ("0",)) if b is None else Version(a, b + 1, 0, ("0",))
        return _range(floor, hi)
    if op == "^":
        a, b, c = p.parts
        if a is None:
            return _range(floor, None)
        if a > 0 or b is None:
            hi = Version(a + 1, 0, 0, ("0",))
        elif b > 0 or c is None:
            hi = Version(0, b + 1, 0, ("0",))
        else:
            hi = Version(0, 0, c + 1, ("0",))
        return _range(floor, hi)
    raise ValueError(op)


@dataclass(frozen=True)
class Constraint:
    """A parsed constraint: a list of alternatives, each a list of checks that must all hold."""

    text: str
    alternatives: tuple[tuple[_Check, ...], ...]
    names_prerelease: bool

    @classmethod
    def parse(cls, text: str, field: str = "version") -> Constraint:
        alternatives: list[tuple[_Check, ...]] = []
        names_pre = False
        try:
            for alt in text.split("||"):
                alt = re.sub(r"\s+-\s+", " - ", alt.strip())
                alt = re.sub(r"(!=|>=|=>|<=|=<|~>|>|<|=|~|\^)\s+", r"\1", alt)
                tokens = [t for t in re.split(r"[\s,]+", alt) if t]
                if not tokens:
                    raise ValueError(text)
                checks: list[_Check] = []
                i = 0
                while i < len(tokens):
                    if i + 2 < len(tokens) and tokens[i + 1] == "-":  # hyphen range
                        lo, hi = _Partial.parse(tokens[i]), _Partial.parse(tokens[i + 2])
                        checks += [_comparator(">=", lo), _comparator("<=", hi)]
                        names_pre = names_pre or bool(lo.prerelease or hi.prerelease)
                        i += 3
                        continue
                    m = _TERM.match(tokens[i])
                    if not m:
                        raise ValueError(tokens[i])
                    partial = _Partial.parse(m.group(2))
                    names_pre = names_pre or bool(partial.prerelease)
                    checks.append(_comparator(m.group(1) or "", partial))
                    i += 1
                alternatives.append(tuple(checks))
        except ValueError:
            raise InvalidInput(
                field, f"{text!r} is not a version or version constraint such as '1.2.3' or '^1.2'"
            ) from None
        return cls(text, tuple(alternatives), names_pre)

    def allows(self, version: Version, devel: bool = False) -> bool:
        if version.prerelease and not (devel or self.names_prerelease):
            return False
        return any(all(check(version) for check in alt) for alt in self.alternatives)


def newest(versions: Iterable[str], constraint: str | None, devel: bool = False, field: str = "version") -> str | None:
    """The highest of ``versions`` that satisfies ``constraint`` (None: any stable one), like helm's choice."""
    parsed = Constraint.parse(constraint, field) if constraint else None
    best: tuple[Version, str] | None = None
    for raw in versions:
        v = Version.parse(raw)
        if v is None:
            continue
        if parsed is None:
            if v.prerelease and not devel:
                continue
        elif not parsed.allows(v, devel):
            continue
        if best is None or v > best[0]:
            best = (v, raw)
    return best[1] if best else None
