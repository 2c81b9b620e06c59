"""Helm's .helmignore rules (pkg/ignore): base-name and path patterns, anchored and directory-only rules,
helm's reading of negation, its default rule for hidden templates, Go's pattern syntax and its errors."""

from __future__ import annotations

import pytest

from chalicelib.domain import helmignore
from chalicelib.errors import InvalidInput


def ignored(rules: str, path: str, is_dir: bool = False) -> bool:
    return helmignore.Rules.parse(rules).ignored(path, is_dir)


@pytest.mark.parametrize(
    ("rules", "path", "is_dir", "expected"),
    [
        ("*.key", "tls.key", False, True),
        ("*.key", "certs/tls.key", False, True),  # no slash: the base name
        ("*.key", "tls.keys", False, False),
        ("certs/*.key", "certs/tls.key", False, True),  # a slash: the whole path
        ("certs/*.key", "x/certs/tls.key", False, False),
        ("*/tls.key", "certs/deep/tls.key", False, False),  # * never crosses /
        ("/secrets", "secrets", True, True),
        ("/secrets", "a/secrets", True, False),
        ("private/", "private", True, True),
        ("private/", "private", False, False),  # directories only
        ("# a comment\n\n  *.bak  ", "x.bak", False, True),
        ("fil?.txt", "file.txt", False, True),
        ("fil?.txt", "fil/.txt", False, False),
        ("[a-c].txt", "b.txt", False, True),
        ("[^a-c].txt", "b.txt", False, False),
        ("[^a-c].txt", "d.txt", False, True),
        ("\\*.txt", "*.txt", False, True),
        ("\\*.txt", "a.txt", False, False),
        ("", "templates/.hidden.yaml", False, True),  # helm's default rule
        ("", "templates/cm.yaml", False, False),
        ("", ".", True, False),
        ("*", "", False, False),
        # helm's negation: a path that does not match is ignored; one that matches goes on
        ("!keep.txt", "keep.txt", False, False),
        ("!keep.txt", "other.txt", False, True),
        ("!keep.txt\nkeep.txt", "keep.txt", False, True),
        ("!dir/", "file", False, True),
    ],
)
def test_rules(rules: str, path: str, is_dir: bool, expected: bool) -> None:
    assert ignored(rules, path, is_dir) is expected


@pytest.mark.parametrize("rule", ["a/**/b", "[a-", "[]", "x\\", "[z-a]", "[-a]"])
def test_what_helm_refuses(rule: str) -> None:
    with pytest.raises(InvalidInput) as err:
        helmignore.Rules.parse(rule, "charts/web/.helmignore")
    assert "charts/web/.helmignore line 1" in err.value.field


def test_packaged_files_skip_ignored_directories_whole() -> None:
    files = {
        "Chart.yaml": b"x",
        ".helmignore": b"\xef\xbb\xbfsecrets/\n*.tgz\n",
        "secrets/a.yaml": b"s",
        "secrets/deep/b.yaml": b"s",
        "charts/sub-1.0.0.tgz": b"t",
        "templates/cm.yaml": b"c",
        "templates/.cm.yaml.swp": b"c",
        "values.yaml": b"v",
    }
    assert sorted(helmignore.packaged(files, "chart")) == [
        ".helmignore",
        "Chart.yaml",
        "templates/cm.yaml",
        "values.yaml",
    ]
    assert sorted(helmignore.packaged({"Chart.yaml": b"x", "a/b/c.txt": b""}, "chart")) == ["Chart.yaml", "a/b/c.txt"]
