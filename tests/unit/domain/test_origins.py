"""Credentials bound to their origin: scheme, host and port (default ports filled in), case-insensitive host."""

from __future__ import annotations

import pytest

from chalicelib.domain import origins


@pytest.mark.parametrize(
    ("old", "new", "kept"),
    [
        ("https://git.example.com/a.git", "https://git.example.com/b.git", True),
        ("https://git.example.com/a.git", "https://GIT.example.com:443/a.git", True),
        ("http://git.example.com/a.git", "http://git.example.com:80/a", True),
        ("https://git.example.com/a.git", "https://evil.example.net/a.git", False),
        ("https://git.example.com/a.git", "http://git.example.com/a.git", False),
        ("https://git.example.com/a.git", "https://git.example.com:8443/a.git", False),
        ("https://git.example.com/a.git", "https://git.example.com.evil.net/a.git", False),
        ("https://git.example.com:x/a.git", "https://git.example.com/a.git", False),
        ("", "https://git.example.com/a.git", False),
        ("https://git.example.com/a.git", None, False),
    ],
)
def test_credentials_stay_only_with_the_same_origin(old: str, new: str | None, kept: bool) -> None:
    assert origins.keeps_credentials(old, new, False) is kept
    assert origins.keeps_credentials(old, new, True) is False  # new credentials replace them anyway


def test_origin() -> None:
    assert origins.origin("https://Git.Example.com/x") == ("https", "git.example.com", 443)
    assert origins.origin("http://h:8080/") == ("http", "h", 8080)
    assert not origins.same_origin("", "")
