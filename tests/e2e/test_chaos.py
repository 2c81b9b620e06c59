"""A short fixed-seed run of the chaos harness (``python -m chaos``), seed 10: the stack restarted, then the AWS
emulator frozen, in the middle of random operations, then every invariant (docs/RELIABILITY.md). ``make chaos`` runs it
longer, with every fault kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaos.run import main

pytestmark = pytest.mark.e2e


def test_a_short_chaos_run_finds_no_violation(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    code = main(
        [
            "--seed=10",
            "--rounds=2",
            "--faults=restart-stack,kill-helm,freeze-aws,exhaust-budget",
            f"--state-dir={tmp_path / 'state'}",
            f"--report={report}",
        ]
    )
    figures = json.loads(report.read_text())
    assert code == 0 and figures["violations"] == [], figures
    assert figures["rounds"] == 2 and sum(figures["faults"].values()) == 2
