"""The unit tests mirror the code. Every module of ``chalicelib/`` (its layers ``domain``, ``adapters``, ``core``, ``api``,
``compat``, and the modules at its top: ``config.py`` -> ``tests/unit/test_config.py``) has its test file at the same
place under ``tests/unit`` (``chalicelib/adapters/http/guard.py`` -> ``tests/unit/adapters/http/
test_guard.py``; the code in a package's ``__init__.py`` -> ``test_<package>.py`` beside the package's test folder,
or any test in that folder: ``tests/unit/adapters/store/``); and every test
file under ``tests/unit/<dir>/`` is named after a module that exists, so a file named after a batch of work, or left
behind by a rename, fails here.

A new module comes with its test file. ``NOT_YET_MIRRORED`` names, one by one, the modules still without one: it only
shrinks (a test that a listed module now has its file fails until its entry is dropped)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests" / "unit"
CHECKED_LAYERS = ("domain", "adapters", "core", "api", "compat")  # each module gets unit tests of its own
MIRRORS = {  # tests/unit/<dir> -> the package its files are named after
    "domain": ROOT / "chalicelib" / "domain",
    "adapters": ROOT / "chalicelib" / "adapters",
    "core": ROOT / "chalicelib" / "core",
    "api": ROOT / "chalicelib" / "api",
    "compat": ROOT / "chalicelib" / "compat",
    "cli": ROOT / "charthouse_cli",
    "bench": ROOT / "bench",
    "devstack": ROOT / "devstack",
    "chaos": ROOT / "chaos",
}
# Modules (``layer/module`` without ``.py``; ``.`` is chalicelib's top) without unit tests of their own yet, covered
# meanwhile by tests/functional; drop an entry as soon as its test file exists.
NOT_YET_MIRRORED: tuple[str, ...] = ()


def _defines_something(path: Path) -> bool:
    """A module with a function or a class (a package ``__init__`` that only re-exports needs no test)."""
    tree = ast.parse(path.read_text())
    return any(isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) for node in tree.body)


def _waived(relative: str) -> bool:
    return any(relative == p or relative.startswith(p + "/") for p in NOT_YET_MIRRORED)


def expected_test_files() -> dict[str, Path]:
    """Each checked module (as ``layer/path/module.py``, ``./module.py`` at the top) -> the test file it needs."""
    expected: dict[str, Path] = {}
    for path in sorted((ROOT / "chalicelib").glob("*.py")):
        if path.name != "__init__.py":
            expected[f"./{path.name}"] = TESTS / f"test_{path.stem}.py"
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


def test_every_module_has_its_test_file() -> None:
    expected = expected_test_files()
    for module in ("adapters/http/guard.py", "domain/semver.py", "core/runtimes.py", "api/guard.py", "./config.py"):
        assert module in expected  # the walk finds modules of every layer
    missing = sorted(
        f"chalicelib/{module} -> {test.relative_to(ROOT)}"
        for module, test in expected.items()
        if not _tested(module, test) and not _waived(module.removesuffix(".py").removesuffix("/__init__"))
    )
    assert missing == [], "modules without their unit test file:\n" + "\n".join(missing)


def test_the_waivers_name_modules_that_exist_and_still_lack_tests() -> None:
    expected = {module.removesuffix(".py"): test for module, test in expected_test_files().items()}
    for entry in NOT_YET_MIRRORED:
        assert entry in expected, f"NOT_YET_MIRRORED: {entry} is no module of chalicelib (renamed or removed?)"
        assert not expected[entry].is_file(), f"NOT_YET_MIRRORED: {entry} has its tests now; drop its entry"


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
