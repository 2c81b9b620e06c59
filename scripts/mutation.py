"""``make mutation``: mutmut over the security-critical modules, one module at a time with the fast tests that exercise
it, one child process, then a score table (docs/SECURITY.md records the last one).

Run over everything with every test, mutmut re-runs the functional suite for each mutant of a function every request
passes through (minutes per mutant on a small machine). Here each module is mutated in its own copy of the tree
(``mutants/runs/<module>/``, the tracked and new files, ``[tool.mutmut]`` of ``pyproject.toml`` narrowed to that
module and its tests), so a mutant costs the seconds of its module's unit tests.

    python scripts/mutation.py                      # the modules of DEFAULT, in order
    python scripts/mutation.py chalicelib/api/guard.py chalicelib/domain/redact.py   # any of TESTS
    (cd mutants/runs/chalicelib.api.guard && ../../../.venv/bin/mutmut show <mutant>)   # a survivor's diff

The table (markdown) is printed and written to ``mutants/runs/report.md``, with each survivor's and time-out's name.
"""

from __future__ import annotations

import datetime
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "mutants" / "runs"
MUTMUT = Path(sys.executable).parent / "mutmut"
CHILDREN = "1"  # the machine is shared: one mutant at a time

# module -> the unit tests that exercise it (a killed mutant is one of these failing)
TESTS: dict[str, list[str]] = {
    "chalicelib/core/authz.py": ["tests/unit/core/test_authz.py"],
    "chalicelib/api/guard.py": ["tests/unit/api/test_guard.py"],
    "chalicelib/domain/sdksign.py": ["tests/unit/domain/test_sdksign.py", "tests/unit/core/test_access_keys.py"],
    "chalicelib/adapters/http/fetch.py": [
        "tests/unit/adapters/http/test_fetch.py",
        "tests/unit/adapters/http/test_guard.py",
    ],
    "chalicelib/adapters/http/guard.py": [
        "tests/unit/adapters/http/test_guard.py",
        "tests/unit/adapters/http/test_fetch.py",
    ],
    "chalicelib/domain/redact.py": ["tests/unit/domain/test_redact.py"],
    "chalicelib/domain/yamlguard.py": ["tests/unit/domain/test_yamlguard.py"],
}
DEFAULT = [
    "chalicelib/core/authz.py",
    "chalicelib/api/guard.py",
    "chalicelib/domain/sdksign.py",
    "chalicelib/adapters/http/fetch.py",
]
KILLED = {1, 3}
SURVIVED = {0}
TIMED_OUT = {36, 24, -24, 152, 255}


def _copy_tree(dest: Path) -> None:
    """The tracked files and the new ones not ignored, as they are in the working tree."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def _narrow(pyproject: str, module: str, tests: list[str]) -> str:
    """``[tool.mutmut]`` with ``source_paths`` and the test selection of one module."""
    narrowed = re.sub(r"(?ms)^source_paths = \[.*?^\]\n", f"source_paths = {json.dumps([module])}\n", pyproject)
    narrowed = re.sub(
        r"(?m)^pytest_add_cli_args_test_selection = .*$",
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}",
        narrowed,
    )
    if narrowed.count(json.dumps([module])) != 1 or json.dumps(tests) not in narrowed:
        raise SystemExit("pyproject.toml: [tool.mutmut] has no source_paths list or test selection to narrow")
    return narrowed


@dataclass
class Result:
    module: str
    tests: list[str]
    codes: dict[str, int | None]  # mutant -> mutmut's exit code
    minutes: float
    mutmut_exit: int

    def named(self, codes: set[int]) -> list[str]:
        return sorted(k for k, c in self.codes.items() if c in codes)

    @property
    def other(self) -> list[str]:
        """Not checked, no tests, suspicious...: a run that did not finish."""
        return sorted(k for k, c in self.codes.items() if c not in KILLED | SURVIVED | TIMED_OUT)


def run(module: str) -> Result:
    tests = TESTS[module]
    work = RUNS / module.removesuffix(".py").replace("/", ".")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    _copy_tree(work)
    (work / "pyproject.toml").write_text(_narrow((ROOT / "pyproject.toml").read_text(), module, tests))
    started = time.monotonic()
    with open(work / "mutmut.log", "w") as log:
        done = subprocess.run([str(MUTMUT), "run", "--max-children", CHILDREN], cwd=work, stdout=log, stderr=log)
    meta = work / "mutants" / (module + ".meta")
    codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
    return Result(module, tests, codes, (time.monotonic() - started) / 60, done.returncode)


def table(rows: list[Result]) -> str:
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    lines = [
        "| module | tests | mutants | killed | survived | timed out | not checked | score | minutes | date |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        mutants, killed, timed_out = len(r.codes), len(r.named(KILLED)), len(r.named(TIMED_OUT))
        score = f"{100 * (killed + timed_out) / mutants:.0f}%" if mutants else "-"
        tests = ", ".join(f"`{t}`" for t in r.tests)
        lines.append(
            f"| `{r.module.removeprefix('chalicelib/')}` | {tests} | {mutants} | {killed} | {len(r.named(SURVIVED))} "
            f"| {timed_out} | {len(r.other)} | {score} | {r.minutes:.0f} | {today} |"
        )
    lines.append("")
    lines.append("Score: (killed + timed out) / mutants. Survivors, time-outs and mutants not checked:")
    for r in rows:
        for kind, names in (("survived", r.named(SURVIVED)), ("timed out", r.named(TIMED_OUT)), ("other", r.other)):
            lines.extend(f"- {kind}: `{name}`" for name in names)
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    modules = argv or DEFAULT
    unknown = [m for m in modules if m not in TESTS]
    if unknown:
        print(f"no tests mapped for {', '.join(unknown)}; known: {', '.join(TESTS)}", file=sys.stderr)
        return 2
    rows: list[Result] = []
    for module in modules:
        print(f"mutating {module} with {' '.join(TESTS[module])}", flush=True)
        rows.append(run(module))
        print(table(rows[-1:]), flush=True)
    report = table(rows)
    (RUNS / "report.md").write_text(report)
    print(report)
    return 0 if all(r.mutmut_exit == 0 and not r.other for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
