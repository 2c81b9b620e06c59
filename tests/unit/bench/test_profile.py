"""The profile script's tables (``bench/profile.py``): who owns a function, per-request figures from a real
cProfile run, the printed tables, and the command line with the stack replaced. No stack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import profile


def test_a_function_is_owned_by_its_layer_module_library_or_the_standard_library() -> None:
    assert profile.where("/w/chalicelib/core/releases.py") == "chalicelib/core/releases"
    assert profile.where("/w/.venv/lib/python3.11/site-packages/botocore/parsers.py") == "botocore"
    assert profile.where("/usr/lib/python3.11/json/decoder.py") == "stdlib:json/decoder"
    assert profile.where("/w/app.py") == "app.py"
    assert profile.where("~") == "~builtins"
    assert profile.label(("~", 0, "<built-in method posix.fork_exec>")) == "<built-in method posix.fork_exec>"


def busy(n: int) -> int:
    return sum(i * i for i in range(n))


def test_figures_are_per_counted_request() -> None:
    kind = profile.Kind()
    with kind.measured(counted=False):
        busy(10_000)  # the warm-up round is not counted
    for _ in range(3):
        with kind.measured(counted=True):
            busy(20_000)
    with kind.measured(counted=True, profiled=False):
        busy(20_000)
    table = profile.summary(kind, top=5)
    assert table["n"] == 3 and table["plain_n"] == 1
    assert table["cpu_ms"] > 0 and table["wall_ms"] > 0 and table["profiled_cpu_ms"] > 0
    mine = [row for row in table["own"] if "busy" in row[0] or "genexpr" in row[0]]
    assert mine and all(calls == 1 for _fn, calls, _ms in mine if "busy" in _fn)
    assert len(table["own"]) <= 5


def test_the_command_line_prints_and_writes_the_tables(tmp_path: Path, capsys: Any) -> None:
    def fake_measure(state: Path, helm: int, rounds: int, top: int, manifest_kb: int) -> dict[str, Any]:
        kind = profile.Kind()
        for _ in range(rounds):
            with kind.measured(counted=True):
                busy(5_000)
        return {"accept": {**profile.summary(kind, top), "profile": kind.profile}}

    out = tmp_path / "tables.json"
    code = profile.main(
        ["--rounds", "2", "--top", "3", "--json", str(out), "--dump", str(tmp_path / "p")], measure_fn=fake_measure
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "== accept:" in printed and "own CPU ms" in printed
    assert json.loads(out.read_text())["accept"]["n"] == 2
    assert (tmp_path / "p" / "accept.pstats").stat().st_size > 0
