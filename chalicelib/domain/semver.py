"""Semantic versions and version constraints, with the rules helm uses to pick a chart version: those of
Masterminds semver v3 (helm's library), checked against its own published test cases
(``tests/unit/domain/semver_masterminds.txt``).

Versions: ``1.2.3``, ``v1.2``, ``1.2.3-rc.1``, ``1.2.3+build.5``. Build metadata (after ``+``) is kept but plays
no part in order or equality: ``1.2.3+a`` equals ``1.2.3+b`` and ``1.2.3``. Pre-release identifiers compare
numerically when both are numbers, numbers before words, and a shorter list first.

Constraints: comparisons (``=``, ``!=``, ``>``, ``<``, ``>=``/``=>``, ``<=``/``=<``), tilde (``~1.2`` = ``>=1.2.0
<1.3.0``, also ``~>``), caret (``^1.2`` = ``>=1.2.0 <2.0.0``; ``^0.2`` = ``>=0.2.0 <0.3.0``), wildcards (``1.2.x``,
``*``; a missing part is a wildcard), hyphen ranges (``1.2 - 1.4`` = ``>=1.2 <=1.4``); terms joined by ``,`` or
spaces must all hold, alternatives are separated by ``||``. A version in a constraint may carry build metadata
(``>=1.2.3-rc.1+b``), ignored like a version's. A pre-release version (``1.0.0-rc.1``) satisfies an alternative
only if one of that alternative's terms names a pre-release, or when ``devel`` is asked for (helm ``--devel``).

One deliberate difference: a number after a wildcard (``1.x.3``) is refused (Masterminds reads it as ``1.x``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import total_ordering

from chalicelib.errors import InvalidInput

_VERSION = re.compile(
    r"^v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: tuple[str, ...] = field(default=(), compare=False)  # metadata: never part of order or equality

    @classmethod
    def parse(cls, text: str) -> Version | None:
        """A version, or None when ``text`` is not one (index entries with odd versions are skipped, not fatal)."""
        m = _VERSION.match(text.strip())
        if not m:
            return None
        major, minor, patch, pre, build = m.groups()
        return cls(
            int(major),
            int(minor or 0),
            int(patch or 0),
            tuple(pre.split(".")) if pre else (),
            tuple(build.split(".")) if build else (),
        )

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        # a release sorts after its pre-releases; numeric identifiers sort before alphanumeric ones
        pre = tuple((0, int(p)) if p.isdigit() else (1, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        return text + ("+" + ".".join(self.build) if self.build else "")


# ------------------------------------------------------------------ constraints (Masterminds semver v3's rules)

_OPS = r"!=|>=|=>|<=|=<|~>|>|<|=|~|\^|"  # the empty operator last: "1.2" means "=1.2"
_PART = r"(?:\d+|[xX*])"
_CV = (
    rf"v?({_PART})(\.{_PART})?(\.{_PART})?"
    r"(-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
_CV_PLAIN = re.sub(r"\((?!\?)", "(?:", _CV)  # the same, without capture groups
_TERM = re.compile(rf"^\s*({_OPS})\s*({_CV})\s*$")
_FIND_TERM = re.compile(rf"({_OPS})\s*({_CV_PLAIN})")
_VALID = re.compile(rf"^\s*(?:{_OPS})\s*{_CV_PLAIN}\s*(?:(?:\s+|,\s*)(?:{_OPS})\s*{_CV_PLAIN}\s*)*$")
_RANGE = re.compile(rf"\s*({_CV_PLAIN})\s+-\s+({_CV_PLAIN})\s*")
_WILD = ("x", "X", "*")


@dataclass(frozen=True)
class _Term:
    """One comparison: ``op`` and the version it names, wildcard parts read as 0 and flagged ``dirty``."""

    op: str
    con: Version
    dirty: bool = False  # some part is a wildcard or missing
    minor_dirty: bool = False  # from the minor part on (``1``, ``1.x``)
    patch_dirty: bool = False  # the patch part only (``1.2``, ``1.2.x``)

    @classmethod
    def parse(cls, text: str) -> _Term:
        m = _TERM.match(text)
        if not m:
            raise ValueError(text)
        op, written, major, minor, patch, pre = m.group(1), m.group(2), m.group(3), m.group(4), m.group(5), m.group(6)
        minor, patch, pre = (minor or "")[1:], (patch or "")[1:], pre or ""
        if (major in _WILD and (minor not in ("", *_WILD) or patch not in ("", *_WILD))) or (
            minor in _WILD and patch not in ("", *_WILD)
        ):
            raise ValueError(text)  # 1.x.3: a number after a wildcard means nothing
        if major in _WILD:
            con, flags = Version.parse("0.0.0" + pre), (True, False, False)
        elif minor in ("", *_WILD):
            con, flags = Version.parse(f"{major}.0.0{pre}"), (True, True, False)
        elif patch in ("", *_WILD):
            con, flags = Version.parse(f"{major}.{minor}.0{pre}"), (True, False, True)
        else:
            con, flags = Version.parse(written), (False, False, False)
        if con is None:
            raise ValueError(text)
        return cls(op, con, *flags)

    def check(self, v: Version) -> bool:
        return _COMPARATORS[self.op](v, self)


def _not_equal(v: Version, c: _Term) -> bool:
    k = c.con
    if c.dirty:
        if k.major != v.major:
            return True
        if k.minor != v.minor and not c.minor_dirty:
            return True
        if c.minor_dirty:
            return False
        if k.patch != v.patch and not c.patch_dirty:
            return True
        if c.patch_dirty:
            return v.prerelease != k.prerelease and bool(v.prerelease or k.prerelease)
    return v != k


def _greater(v: Version, c: _Term) -> bool:
    k = c.con
    if c.dirty:
        if v.major != k.major:
            return v.major > k.major
        if c.minor_dirty:
            return False
        if c.patch_dirty:
            return v.minor > k.minor
    return v > k


def _less_equal(v: Version, c: _Term) -> bool:
    k = c.con
    if not c.dirty:
        return v <= k
    if v.major > k.major:
        return False
    return not (v.major == k.major and v.minor > k.minor and not c.minor_dirty)


def _tilde(v: Version, c: _Term) -> bool:
    k = c.con
    if v < k:
        return False
    if (k.major, k.minor, k.patch) == (0, 0, 0) and not c.minor_dirty and not c.patch_dirty:
        return True  # ~*, ~0.0.0
    return v.major == k.major and (v.minor == k.minor or c.minor_dirty)


def _caret(v: Version, c: _Term) -> bool:
    k = c.con
    if v < k:
        return False
    if k.major > 0 or c.minor_dirty:
        return v.major == k.major
    if v.major > 0:
        return False
    if k.minor > 0 or c.patch_dirty:
        return v.minor == k.minor
    if v.minor > 0:
        return False
    return v.patch == k.patch


_COMPARATORS: dict[str, Callable[[Version, _Term], bool]] = {
    "": lambda v, c: _tilde(v, c) if c.dirty else v == c.con,
    "=": lambda v, c: _tilde(v, c) if c.dirty else v == c.con,
    "!=": _not_equal,
    ">": _greater,
    "<": lambda v, c: v < c.con,
    ">=": lambda v, c: v >= c.con,
    "=>": lambda v, c: v >= c.con,
    "<=": _less_equal,
    "=<": _less_equal,
    "~": _tilde,
    "~>": _tilde,
    "^": _caret,
}


@dataclass(frozen=True)
class Constraint:
    """A parsed constraint: alternatives (``||``), each a list of terms that must all hold, and whether that
    alternative names a pre-release (then it admits pre-release versions)."""

    text: str
    alternatives: tuple[tuple[tuple[_Term, ...], bool], ...]

    @property
    def names_prerelease(self) -> bool:
        return any(pre for _, pre in self.alternatives)

    @classmethod
    def parse(cls, text: str, field: str = "version") -> Constraint:
        alternatives: list[tuple[tuple[_Term, ...], bool]] = []
        try:
            rewritten = _RANGE.sub(lambda m: f" >= {m.group(1)}, <= {m.group(2)} ", text)
            for alt in rewritten.split("||"):
                if not _VALID.match(alt):
                    raise ValueError(alt)
                terms = tuple(_Term.parse(op + ver) for op, ver in _FIND_TERM.findall(alt))
                if not terms:
                    raise ValueError(alt)
                alternatives.append((terms, any(t.con.prerelease for t in terms)))
        except ValueError:
            raise InvalidInput(
                field, f"{text!r} is not a version or version constraint such as '1.2.3' or '^1.2'"
            ) from None
        return cls(text, tuple(alternatives))

    def allows(self, version: Version, devel: bool = False) -> bool:
        for terms, names_pre in self.alternatives:
            if version.prerelease and not (devel or names_pre):
                continue
            if all(term.check(version) for term in terms):
                return True
        return False


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
