"""The module map of docs/INTERNALS.md lists every module of the service, where it is, and nothing that is gone.

The map is the code block under "## How it works": one entry per line, two spaces of indent per folder level,
folders end with ``/``. Every package's docstring is its own description: the map's line for a package must
start with the first words of that docstring, so the two are read from one source.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "chalicelib"


def _map_lines() -> list[str]:
    text = (ROOT / "docs" / "INTERNALS.md").read_text()
    section = text.split("## How it works", 1)[1]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block, "docs/INTERNALS.md: no code block under 'How it works'"
    return block.group(1).splitlines()


def _listed() -> dict[str, str]:
    """path relative to the repository -> the description on its line, for everything under chalicelib/."""
    out: dict[str, str] = {}
    stack: list[str] = []
    for line in _map_lines():
        if not line.strip() or line.startswith(" " * 12):  # a continuation of the description above
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        name, _, description = line.strip().partition(" ")
        stack[depth:] = [name]
        path = "".join(stack)
        if path.startswith("chalicelib/"):
            out[path] = description.strip()
    return out


def _modules() -> set[str]:
    found = set()
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if path.name == "__init__.py":
            found.add(f"{rel.parent}/")
        else:
            found.add(str(rel))
    return found


def test_every_module_is_on_the_map_and_nothing_else() -> None:
    listed, modules = set(_listed()), _modules()
    assert not modules - listed, f"modules missing from the map of docs/INTERNALS.md: {sorted(modules - listed)}"
    assert not listed - modules, f"the map of docs/INTERNALS.md names what does not exist: {sorted(listed - modules)}"


def test_packages_are_described_by_their_docstrings() -> None:
    listed = _listed()
    for init in PACKAGE.rglob("__init__.py"):
        docstring = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert docstring, f"{init.relative_to(ROOT)} has no docstring"
        key = f"{init.parent.relative_to(ROOT)}/"
        first_words = " ".join(docstring.split()[:4]).rstrip(".:,")
        assert listed.get(key, "").startswith(first_words), (key, first_words, listed.get(key))
