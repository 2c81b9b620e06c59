"""The benchmark report: percentiles, the overhead verdict, tables. No stack is started and no timing is asserted."""

from __future__ import annotations

import math

import pytest

from bench.report import Series, allowed_overhead, markdown, ms, percentile, ratio, table, verdict


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 0.5) != percentile([], 0.5)  # NaN
    assert percentile([3.0], 0.95) == 3.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5
    assert percentile(list(map(float, range(1, 101))), 0.95) == pytest.approx(95.05)
    summary = Series([1.0, 2.0, 3.0]).summary()
    assert summary["p50_s"] == 2.0 and summary["n"] == 3 and summary["p95_s"] == pytest.approx(2.9)


@pytest.mark.parametrize(
    ("api", "helm", "expected"),
    [
        (0.30, 0.27, "PASS"),  # +30 ms: under the 50 ms floor
        (0.33, 0.27, "MISS"),  # +60 ms: over 50 ms, and 50 ms > 10 % of 270 ms
        (2.15, 2.00, "PASS"),  # +150 ms: under 10 % of 2 s
        (2.25, 2.00, "MISS"),
        (0.01, 0.05, "PASS"),  # faster than helm
    ],
)
def test_verdict_uses_the_larger_of_ten_percent_and_fifty_ms(api: float, helm: float, expected: str) -> None:
    assert verdict(api, helm)["verdict"] == expected
    assert allowed_overhead(helm) == max(0.1 * helm, 0.05)


def test_verdict_without_samples_is_a_dash() -> None:
    assert verdict(math.nan, 0.2)["verdict"] == "-"


def test_tables_align_and_format() -> None:
    text = table("T", ["verb", "p50", "note"], [["install", ms(0.2714), "x"], ["get", ms(0.0123, 1)]])
    lines = text.splitlines()
    assert lines[0] == "T" and lines[1] == "="
    assert lines[2].startswith("verb") and "271" in lines[4] and "12.3" in lines[5]
    assert len({len(line.rstrip()) for line in lines[2:4]}) == 1
    assert ms(None) == "-" and ms(math.nan) == "-" and ratio(2.0) == "2.00x" and ratio(math.nan) == "-"
    md = markdown(["a", "b"], [["x|y", "1"]])
    assert md.splitlines() == ["| a | b |", "|---|---:|", "| x\\|y | 1 |"]
