"""A chart directory packaged as ``helm package`` would, in pure Python and byte-for-byte deterministic.

What helm does, and so what this does: read ``Chart.yaml`` (``name`` and ``version`` are required, the version is
semver), walk the directory (following symlinks), leave out what ``.helmignore`` names plus helm's own default
``templates/.?*``, strip a UTF-8 byte order mark, and write every file under a ``<name>/`` prefix, mode 0644,
``Chart.yaml`` first. What it does differently, so that the same directory always gives the same bytes (and the
service's idempotent upload answers "already stored"): files in sorted order, every time stamp 0, no owner names,
and files are copied as they are (helm re-serialises ``Chart.yaml`` and unpacks subchart archives; either
archive installs the same chart).

``.helmignore`` is read the way helm reads it (``pkg/ignore``): one pattern a line, ``#`` comments, Go
``filepath.Match`` globs (``*`` and ``?`` never cross ``/``), no ``**``; a pattern without ``/`` matches the base
name, one with ``/`` the whole relative path, a leading ``/`` anchors at the chart root, a trailing ``/`` matches
directories only (and skips everything below them). Like helm, the first matching rule wins, and a ``!`` rule
keeps only what it matches: every path it does *not* match is ignored.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import UsageError

HELMIGNORE = ".helmignore"
DEFAULT_RULES = ("templates/.?*",)
UTF8_BOM = b"\xef\xbb\xbf"
SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)(\.(0|[1-9]\d*))?(\.(0|[1-9]\d*))?"
    r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"
)
CHART_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


# ---------------------------------------------------------------- .helmignore


def glob_regex(pattern: str) -> re.Pattern[str]:
    """Go's ``filepath.Match`` as a regular expression: ``*`` and ``?`` stop at ``/``, ``[...]`` / ``[^...]``
    classes, ``\\`` escapes. Raises ``ValueError`` for a malformed pattern (an unclosed class)."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        elif c == "[":
            j = i + 1
            negate = j < n and pattern[j] == "^"
            if negate:
                j += 1
            body: list[str] = []
            while j < n and (pattern[j] != "]" or not body):
                ch = pattern[j]
                if ch == "\\" and j + 1 < n:
                    j += 1
                    body.append(re.escape(pattern[j]))
                elif ch == "-" and body:
                    body.append("-")
                else:
                    body.append(re.escape(ch))
                j += 1
            if j >= n:
                raise ValueError(f"syntax error in pattern {pattern!r}: unclosed [")
            out.append("[" + ("^/" if negate else "") + "".join(body) + "]")
            i = j
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


@dataclass(frozen=True)
class Rule:
    raw: str
    regex: re.Pattern[str]
    negate: bool
    must_dir: bool
    whole_path: bool  # the pattern has a "/": match the relative path, else only the base name

    def matches(self, rel: str) -> bool:
        return bool(self.regex.match(rel if self.whole_path else rel.rsplit("/", 1)[-1]))


def parse_rule(line: str) -> Rule | None:
    rule = line.strip()
    if not rule or rule.startswith("#"):
        return None
    if "**" in rule:
        raise ValueError(f"{rule!r}: double-star (**) syntax is not supported (helm does not support it)")
    raw = rule
    negate = rule.startswith("!")
    if negate:
        rule = rule[1:]
    must_dir = rule.endswith("/")
    if must_dir:
        rule = rule.rstrip("/")
    whole_path = "/" in rule
    rule = rule.lstrip("/")
    return Rule(raw, glob_regex(rule), negate, must_dir, whole_path)


class IgnoreRules:
    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules

    @classmethod
    def parse(cls, text: str, source: str = HELMIGNORE) -> IgnoreRules:
        rules = []
        for number, line in enumerate(text.splitlines(), 1):
            try:
                rule = parse_rule(line)
            except ValueError as exc:
                raise UsageError(f"{source} line {number}: {exc}") from None
            if rule:
                rules.append(rule)
        return cls(rules)

    @classmethod
    def for_chart(cls, chart_dir: Path) -> IgnoreRules:
        """The chart's ``.helmignore`` (when it has one), then helm's defaults."""
        file = chart_dir / HELMIGNORE
        text = file.read_text(encoding="utf-8", errors="replace") if file.is_file() else ""
        rules = cls.parse(text, str(file))
        rules.rules.extend(r for r in (parse_rule(d) for d in DEFAULT_RULES) if r)
        return rules

    def ignored(self, rel: str, is_dir: bool) -> bool:
        """helm's ``Rules.Ignore``: ``rel`` is the slash-separated path below the chart root."""
        if rel in ("", ".", "./"):
            return False
        for rule in self.rules:
            if rule.negate:
                if rule.must_dir and not is_dir:
                    return True
                if not rule.matches(rel):
                    return True
                continue
            if rule.must_dir and not is_dir:
                continue
            if rule.matches(rel):
                return True
        return False


# ---------------------------------------------------------------- the chart


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    data: bytes
    files: tuple[str, ...]  # the paths inside the archive, in order

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}.tgz"

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def chart_metadata(chart_dir: Path) -> dict[str, object]:
    """``Chart.yaml`` as a mapping, with ``name`` and ``version`` checked as helm checks them."""
    file = chart_dir / "Chart.yaml"
    if not file.is_file():
        raise UsageError(f"{chart_dir} has no Chart.yaml: it is not a chart directory (`helm create` makes one)")
    try:
        meta = yaml.safe_load(file.read_bytes().removeprefix(UTF8_BOM))
    except yaml.YAMLError as exc:
        raise UsageError(f"{file}: not valid YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise UsageError(f"{file}: must be a mapping with name and version")
    name, version = meta.get("name"), meta.get("version")
    if not isinstance(name, str) or not CHART_NAME.match(name):
        raise UsageError(f"{file}: name is required: letters, digits, '.', '_' and '-' (got {name!r})")
    if not isinstance(version, str) or not SEMVER.match(version):
        raise UsageError(f"{file}: version must be a semantic version such as 0.1.0 (got {version!r})")
    return meta


def _walk(chart_dir: Path, rules: IgnoreRules) -> Iterator[tuple[str, Path]]:
    """(relative path, file) of every file helm would load, following symlinks, never looping."""
    seen: set[str] = set()

    def visit(directory: Path, prefix: str) -> Iterator[tuple[str, Path]]:
        real = os.path.realpath(directory)
        if real in seen:
            return
        seen.add(real)
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            rel = prefix + entry.name
            path = Path(entry.path)
            is_dir = path.is_dir()  # follows a symlink, as helm does
            if rules.ignored(rel, is_dir):
                continue
            if is_dir:
                yield from visit(path, rel + "/")
            elif path.is_file():
                yield rel, path
            else:
                raise UsageError(f"cannot package {path}: not a regular file (or a broken link)")

    yield from visit(chart_dir, "")


def package_dir(chart_dir: Path) -> Package:
    """The chart in ``chart_dir`` as a ``.tgz``: same directory, same bytes."""
    meta = chart_metadata(chart_dir)
    name, version = str(meta["name"]), str(meta["version"])
    files = sorted(_walk(chart_dir, IgnoreRules.for_chart(chart_dir)), key=lambda f: (f[0] != "Chart.yaml", f[0]))
    if not files or files[0][0] != "Chart.yaml":
        raise UsageError(f"{chart_dir}/.helmignore ignores Chart.yaml: nothing to package")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel, path in files:
            data = path.read_bytes().removeprefix(UTF8_BOM)
            info = tarfile.TarInfo(f"{name}/{rel}")
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    packed = gzip.compress(raw.getvalue(), compresslevel=9, mtime=0)
    return Package(name, version, packed, tuple(f"{name}/{rel}" for rel, _ in files))


def read_archive(file: Path) -> Package:
    """A packaged chart as it is; its name and version from the ``Chart.yaml`` inside."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror}") from None
    if data[:2] != b"\x1f\x8b":
        raise UsageError(f"{file} is not a gzipped chart archive (.tgz from `helm package` or `chart push DIR`)")
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            names = tar.getnames()
            top = [n for n in names if n.count("/") == 1 and n.endswith("/Chart.yaml")]
            member = tar.extractfile(top[0]) if top else None
            meta = yaml.safe_load(member.read()) if member else None
    except (tarfile.TarError, OSError, EOFError, yaml.YAMLError) as exc:
        raise UsageError(f"{file} is not a readable chart archive: {exc}") from None
    if not isinstance(meta, dict) or not meta.get("name") or not meta.get("version"):
        raise UsageError(f"{file} has no <name>/Chart.yaml with a name and a version: not a chart archive")
    return Package(str(meta["name"]), str(meta["version"]), data, tuple(names))


def missing_dependencies(chart_dir: Path, only_file: bool = False) -> list[str]:
    """Dependencies ``Chart.yaml`` (or an apiVersion v1 ``requirements.yaml``) declares that ``charts/`` lacks;
    with ``only_file``, only those whose repository is a ``file://`` path."""
    meta = chart_metadata(chart_dir)
    deps = meta.get("dependencies")
    req = chart_dir / "requirements.yaml"
    if not deps and req.is_file():
        try:
            deps = (yaml.safe_load(req.read_text(encoding="utf-8")) or {}).get("dependencies")
        except (yaml.YAMLError, AttributeError):
            deps = None
    charts = chart_dir / "charts"
    missing = []
    for dep in deps if isinstance(deps, list) else []:
        name = dep.get("name") if isinstance(dep, dict) else None
        if not isinstance(name, str):
            continue
        if only_file and not str(dep.get("repository") or "").startswith("file://"):
            continue
        vendored = (charts / name / "Chart.yaml").is_file() or any(charts.glob(f"{name}-*.tgz"))
        if not vendored:
            missing.append(name)
    return missing
