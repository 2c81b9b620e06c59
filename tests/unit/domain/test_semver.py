"""Version constraints as helm reads them: the newest match, version order, bad constraints."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.domain import semver
from chalicelib.errors import InvalidInput

VERSIONS = ["0.1.0", "0.2.0", "0.2.5", "1.0.0-rc.1", "1.0.0", "1.2.3", "1.10.0", "2.0.0-beta.2", "2.0.0"]


@pytest.mark.parametrize(
    ("constraint", "devel", "expected"),
    [
        (None, False, "2.0.0"),
        (None, True, "2.0.0"),
        ("1.2.3", False, "1.2.3"),
        ("^1.2", False, "1.10.0"),
        ("~1.2", False, "1.2.3"),
        ("^0.2", False, "0.2.5"),
        ("0.2.x", False, "0.2.5"),
        (">=1.0.0 <2.0.0", False, "1.10.0"),
        (">=1.0.0, <1.5", False, "1.2.3"),
        ("<1.0.0", False, "0.2.5"),
        ("1.0 - 1.5", False, "1.2.3"),
        ("~0.1 || ^1.2", False, "1.10.0"),
        ("!=2.0.0", False, "1.10.0"),
        (">1.10.0 <2.0.0", False, None),
        ("^2.0.0-0", False, "2.0.0"),
        ("<2.0.0", True, "2.0.0-beta.2"),
        ("1.0.0-rc.1", False, "1.0.0-rc.1"),
        ("*", False, "2.0.0"),
        (">=3", False, None),
    ],
)
def test_newest_matching(constraint: str | None, devel: bool, expected: str | None) -> None:
    assert semver.newest(VERSIONS, constraint, devel) == expected


def test_version_order() -> None:
    ordered = sorted(
        ["1.0.0", "1.0.0-rc.1", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta.11", "1.0.0-beta.2", "0.9.9", "v1.0.1"],
        key=lambda s: semver.Version.parse(s) or semver.Version(0, 0, 0),
    )
    assert ordered == [
        "0.9.9",
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "v1.0.1",
    ]


@pytest.mark.parametrize("bad", ["abc", "1.2.3.4", ">>1", "1.x.3-rc", "^", "1 - ", "=> 1 ||"])
def test_bad_constraints_name_the_field(bad: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        semver.Constraint.parse(bad)
    assert exc.value.field == "version"


# ------------------------------------------------------------------ Masterminds semver's own cases, as data


def _cases(section: str) -> list[tuple[str, ...]]:
    """The rows of one ``[section]`` of ``semver_masterminds.txt`` (a section may appear more than once)."""
    rows: list[tuple[str, ...]] = []
    current = ""
    for line in CASES.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("["):
            current = line[1 : line.index("]")]
            continue
        if current == section:
            rows.append(tuple(cell.strip() for cell in line.split(" | ")))
    return rows


CASES = Path(__file__).with_name("semver_masterminds.txt")


def test_the_case_file_is_read_whole() -> None:
    counts = {s: len(_cases(s)) for s in ("check", "check-devel", "parse", "compare")}
    assert counts["check"] > 200 and counts["check-devel"] > 100 and counts["parse"] > 15 and counts["compare"] > 15
    assert all(len(row) == 3 for s in ("check", "check-devel", "compare") for row in _cases(s))


@pytest.mark.parametrize(("constraint", "version", "expected"), _cases("check"))
def test_masterminds_constraint_cases(constraint: str, version: str, expected: str) -> None:
    parsed = semver.Version.parse(version)
    assert parsed is not None
    assert semver.Constraint.parse(constraint).allows(parsed) is (expected == "true")


@pytest.mark.parametrize(("constraint", "version", "expected"), _cases("check-devel"))
def test_masterminds_constraint_cases_with_prereleases_included(constraint: str, version: str, expected: str) -> None:
    parsed = semver.Version.parse(version)
    assert parsed is not None
    assert semver.Constraint.parse(constraint).allows(parsed, devel=True) is (expected == "true")


@pytest.mark.parametrize(("constraint", "valid"), _cases("parse"))
def test_masterminds_parse_cases(constraint: str, valid: str) -> None:
    if valid == "true":
        semver.Constraint.parse(constraint)
    else:
        with pytest.raises(InvalidInput):
            semver.Constraint.parse(constraint)


@pytest.mark.parametrize(("left", "right", "order"), _cases("compare"))
def test_masterminds_order_cases(left: str, right: str, order: str) -> None:
    a, b = semver.Version.parse(left), semver.Version.parse(right)
    assert a is not None and b is not None
    assert (a > b) - (a < b) == int(order)
    assert (a == b) is (order == "0")


def test_build_metadata_is_kept_but_never_compared() -> None:
    v = semver.Version.parse("1.2.3+build-1")
    assert v == semver.Version(1, 2, 3) and not v.prerelease and str(v) == "1.2.3+build-1"
    assert semver.newest(["1.2.3+build-1", "1.2.3-rc.1"], ">=1.2.3-rc.1+b") == "1.2.3+build-1"
