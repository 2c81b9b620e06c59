"""The suite's options: --quick is small, the full run's defaults. No stack is started and no timing is asserted."""

from __future__ import annotations

from bench import suite


def test_quick_options_are_small() -> None:
    opts = suite.parse_args(["--quick"])
    assert opts.repetitions <= 3 and max(opts.levels) <= 1000 and opts.real <= 10 and opts.throughput_ops <= 4
    full = suite.parse_args(["--helm", "3", "--only", "coldstart"])
    assert (
        full.levels == (1000, 10000, 100000) and full.phases == ("coldstart",) and full.out.name.endswith("helm3.json")
    )
