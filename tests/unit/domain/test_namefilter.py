"""The release name filter: Python's regular expression syntax, matched without backtracking."""

from __future__ import annotations

import re

import pytest

from chalicelib.domain.namefilter import MAX_PATTERN, NameFilter
from chalicelib.errors import InvalidInput

CASES = [
    ("^web", "web-1"),
    ("^web", "a-web"),
    ("b$", "ab"),
    ("x|web-[0-9]+", "web-12"),
    ("[^a-z]", "abc"),
    (r"\d{2,3}", "a12"),
    ("a{3}", "aa"),
    ("(a|aa)*c", "aaaaac"),
    ("w.b", "web"),
    (r"\bdb", "my-db"),
    ("(?:ab)+?$", "abab"),
    ("", "anything"),
]


@pytest.mark.parametrize(("pattern", "name"), CASES)
def test_it_agrees_with_python_re(pattern: str, name: str) -> None:
    assert NameFilter.parse("filter", pattern).matches(name) == bool(re.search(pattern, name))


def test_nested_quantifiers_cannot_hang() -> None:
    assert not NameFilter.parse("filter", "(a+)+$").matches("a" * 52 + "b")
    assert NameFilter.parse("filter", "(a*)*(b|a)*c").matches("a" * 52 + "c")


@pytest.mark.parametrize("pattern", [r"(a)\1", "a(?=b)", "(?<=a)b", "(?(1)a|b)", "[", "a" * (MAX_PATTERN + 1)])
def test_what_needs_backtracking_or_is_malformed_is_refused_naming_the_field(pattern: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        NameFilter.parse("filter", pattern)
    assert caught.value.field == "filter"
