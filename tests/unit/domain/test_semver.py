"""Version constraints as helm reads them: the newest match, version order, bad constraints."""

from __future__ import annotations

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
