"""Packaging a chart directory as ``helm package`` would: ``.helmignore`` read as helm reads it (checked against the
real helm), the same directory giving the same bytes, and errors that name the file."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from charthouse_cli.errors import UsageError
from charthouse_cli.packaging import IgnoreRules, glob_regex, missing_dependencies, package_dir, read_archive

ROOT = Path(__file__).resolve().parents[3]
HELM = ROOT / "layers/helm/build/v4/helm"

HELMIGNORE = """# comments and blank lines are skipped

*.swp
/secret.txt
docs/
templates/*.bak
ci/*.yaml
[abc].txt
"""
FILES = {
    "Chart.yaml": "apiVersion: v2\nname: pack\nversion: 1.2.3\n",
    "values.yaml": "a: 1\n",
    ".helmignore": HELMIGNORE,
    "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    "templates/cm.yaml.bak": "old",
    "templates/.hidden": "dotfiles in templates/ are ignored by default",
    "templates/x.swp": "swap",
    "templates/sub/deep.yaml": "# kept\n",
    "secret.txt": "root-anchored: ignored",
    "files/secret.txt": "not at the root: kept",
    "docs/readme.md": "a directory rule: ignored with all below it",
    "ci/test.yaml": "structural match: ignored",
    "ci/keep.json": "kept",
    "a.txt": "class: ignored",
    "d.txt": "kept",
    "charts/sub/Chart.yaml": "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
}


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return tar.getnames()


def test_helmignore_is_honoured_like_helm_package(tmp_path: Path) -> None:
    chart = write(tmp_path / "src", FILES)
    pkg = package_dir(chart)
    assert (pkg.name, pkg.version, pkg.filename) == ("pack", "1.2.3", "pack-1.2.3.tgz")
    ours = names(pkg.data)
    assert ours[0] == "pack/Chart.yaml"
    assert sorted(ours) == [
        "pack/.helmignore",
        "pack/Chart.yaml",
        "pack/charts/sub/Chart.yaml",
        "pack/ci/keep.json",
        "pack/d.txt",
        "pack/files/secret.txt",
        "pack/templates/cm.yaml",
        "pack/templates/sub/deep.yaml",
        "pack/values.yaml",
    ]
    # the real helm leaves out the same files (it writes the subchart as charts/sub/, as we do here)
    out = tmp_path / "out"
    subprocess.run([str(HELM), "package", str(chart), "-d", str(out)], check=True, capture_output=True, timeout=60)
    assert sorted(names((out / "pack-1.2.3.tgz").read_bytes())) == sorted(ours)


def test_same_directory_same_bytes_and_helm_can_read_it(tmp_path: Path) -> None:
    chart = write(tmp_path / "src", FILES)
    first = package_dir(chart)
    (chart / "templates/cm.yaml").touch()  # a new mtime changes nothing
    assert package_dir(chart).data == first.data
    (tmp_path / "pack.tgz").write_bytes(first.data)
    shown = subprocess.run(
        [str(HELM), "show", "chart", str(tmp_path / "pack.tgz")], check=True, capture_output=True, text=True
    )
    assert "version: 1.2.3" in shown.stdout
    assert read_archive(tmp_path / "pack.tgz").version == "1.2.3"
    (chart / "values.yaml").write_text("a: 2\n")
    assert package_dir(chart).data != first.data


@pytest.mark.parametrize(
    ("pattern", "path", "hit"),
    [
        ("*.txt", "a.txt", True),
        ("*.txt", "a/b.txt", False),  # * never crosses /
        ("a?c", "abc", True),
        ("a?c", "a/c", False),
        ("[a-c]x", "bx", True),
        ("[^a-c]x", "dx", True),
        ("[^a-c]x", "ax", False),
        ("\\*", "*", True),
        ("a.b", "axb", False),  # . is literal
    ],
)
def test_go_glob_semantics(pattern: str, path: str, hit: bool) -> None:
    assert bool(glob_regex(pattern).match(path)) is hit


def test_negation_keeps_only_what_it_matches_as_helm_does() -> None:
    rules = IgnoreRules.parse("!*.yaml\n")
    assert rules.ignored("values.yaml", False) is False
    assert rules.ignored("notes.txt", False) is True  # helm's rule: a non-match of a ! rule is ignored


def test_bad_rules_and_charts_are_refused_with_the_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="line 2.*double-star"):
        IgnoreRules.parse("ok\nfoo/**/bar\n")
    with pytest.raises(UsageError, match="no Chart.yaml"):
        package_dir(tmp_path)
    (tmp_path / "Chart.yaml").write_text("name: x\nversion: one\n")
    with pytest.raises(UsageError, match="semantic version"):
        package_dir(tmp_path)
    (tmp_path / "Chart.yaml").write_text("version: 1.0.0\n")
    with pytest.raises(UsageError, match="name is required"):
        package_dir(tmp_path)


def test_missing_dependencies(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n"
            "- {name: redis, version: 1.x, repository: '@stable'}\n"
            "- {name: vendored, version: 1.x}\n- {name: packed, version: 1.x, repository: https://x}\n",
            "charts/vendored/Chart.yaml": "apiVersion: v2\nname: vendored\nversion: 1.0.0\n",
            "charts/packed-1.0.0.tgz": "",
        },
    )
    assert missing_dependencies(tmp_path) == ["redis"]
