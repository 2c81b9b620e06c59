"""The unit tests mirror the code. Every module of ``chalicelib/domain`` and ``chalicelib/adapters`` has its test file
at the same place under ``tests/unit`` (``chalicelib/adapters/http/guard.py`` -> ``tests/unit/adapters/http/
test_guard.py``; the code in a package's ``__init__.py`` -> ``test_<package>.py`` beside the package's test folder,
or any test in that folder: ``tests/unit/adapters/test_helm.py``, ``tests/unit/adapters/store/``); and every test
file under ``tests/unit/<dir>/`` is named after a module that exists, so a file named after a batch of work, or left
behind by a rename, fails here."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests" / "unit"
CHECKED_LAYERS = ("domain", "adapters")  # pure rules and outside things: each module gets unit tests of its own
MIRRORS = {  # tests/unit/<dir> -> the package its files are named after
    "domain": ROOT / "chalicelib" / "domain",
    "adapters": ROOT / "chalicelib" / "adapters",
    "core": ROOT / "chalicelib" / "core",
    "api": ROOT / "chalicelib" / "api",
    "compat": ROOT / "chalicelib" / "compat",
    "cli": ROOT / "charthouse_cli",
    "bench": ROOT / "bench",
    "devstack": ROOT / "devstack",
}
# Packages whose unit tests do not mirror them module by module yet; drop an entry as soon as they do.
NOT_YET_MIRRORED: tuple[str, ...] = ()


def _defines_something(path: Path) -> bool:
    """A module with a function or a class (a package ``__init__`` that only re-exports needs no test)."""
    tree = ast.parse(path.read_text())
    return any(isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) for node in tree.body)


def _waived(relative: str) -> bool:
    return any(relative == p or relative.startswith(p + "/") for p in NOT_YET_MIRRORED)


def expected_test_files() -> dict[str, Path]:
    """Each checked module (as ``layer/path/module.py``) -> the test file it needs."""
    expected: dict[str, Path] = {}
    for layer in CHECKED_LAYERS:
        base = ROOT / "chalicelib" / layer
        for path in sorted(base.rglob("*.py")):
            rel = path.relative_to(base)
            if path.name == "__init__.py":
                if rel.parent == Path(".") or not _defines_something(path):
                    continue
                test = TESTS / layer / rel.parent.parent / f"test_{rel.parent.name}.py"
            else:
                test = TESTS / layer / rel.parent / f"test_{path.stem}.py"
            expected[f"{layer}/{rel}"] = test
    return expected


def _tested(module: str, test: Path) -> bool:
    if test.is_file():
        return True
    package_tests = test.parent / test.name.removeprefix("test_").removesuffix(".py")
    return module.endswith("/__init__.py") and any(package_tests.glob("test_*.py"))


def test_every_domain_and_adapter_module_has_its_test_file() -> None:
    expected = expected_test_files()
    assert "adapters/http/guard.py" in expected and "domain/semver.py" in expected  # the walk finds modules
    missing = sorted(
        f"chalicelib/{module} -> {test.relative_to(ROOT)}"
        for module, test in expected.items()
        if not _tested(module, test) and not _waived(module.removesuffix(".py").removesuffix("/__init__"))
    )
    assert missing == [], "modules without their unit test file:\n" + "\n".join(missing)


def test_every_test_file_is_named_after_a_module() -> None:
    strays = []
    for test in sorted(TESTS.glob("*/**/test_*.py")):
        rel = test.relative_to(TESTS)
        top, inner = rel.parts[0], Path(*rel.parts[1:])
        source = MIRRORS.get(top)
        name = inner.parent / inner.name.removeprefix("test_").removesuffix(".py")
        if source is None:
            strays.append(f"{rel}: tests/unit/{top}/ mirrors no package (known: {', '.join(MIRRORS)})")
        elif _waived(f"{top}/{inner.parent}") or _waived(f"{top}/{name}"):
            continue
        elif not (source / f"{name}.py").is_file() and not (source / name / "__init__.py").is_file():
            strays.append(f"{rel}: no module {source.relative_to(ROOT) / name}.py or package")
    assert strays == [], "test files named after no module:\n" + "\n".join(strays)
