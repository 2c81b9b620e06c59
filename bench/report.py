"""Samples, their summaries (p50, p95, n), the overhead target and the printed tables. Pure: no I/O."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation between closest ranks; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass
class Series:
    """Durations (seconds) of one measured thing."""

    samples: list[float] = field(default_factory=list)

    def add(self, seconds: float) -> None:
        self.samples.append(seconds)

    def summary(self) -> dict[str, Any]:
        """Median (= p50), p90, p95, mean, min and max in seconds, and n."""
        s = self.samples
        return {
            "n": len(s),
            "median_s": statistics.median(s) if s else math.nan,
            "p50_s": percentile(s, 0.5),
            "p90_s": percentile(s, 0.9),
            "p95_s": percentile(s, 0.95),
            "mean_s": statistics.fmean(s) if s else math.nan,
            "min_s": min(s, default=math.nan),
            "max_s": max(s, default=math.nan),
        }


@dataclass
class Row:
    """One line of the comparison: the service's API next to the raw helm CLI doing the same thing."""

    what: str
    api: Series = field(default_factory=Series)
    helm: Series = field(default_factory=Series)
    note: str = ""
    parts: dict[str, Series] = field(default_factory=dict)  # breakdowns of the API side, e.g. "accept", "worker"

    def part(self, name: str) -> Series:
        return self.parts.setdefault(name, Series())

    def to_json(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "api": self.api.summary(),
            "helm": self.helm.summary(),
            "note": self.note,
            "api_parts": {k: v.summary() for k, v in self.parts.items()},
        }


def median_ms(series: Series) -> str:
    """The median in whole milliseconds, or "-"."""
    return _ms(series.summary()["median_s"])


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:,.0f}"


def _ratio(api: float, helm: float) -> str:
    if math.isnan(api) or math.isnan(helm) or helm <= 0:
        return "-"
    return f"{api / helm:.2f}x"


HEADER = ("", "API med ms", "API p90 ms", "n", "helm med ms", "helm p90 ms", "n", "API/helm", "note")


def latency_table(title: str, rows: list[Row]) -> str:
    """A fixed-width table of rows (milliseconds), the ratio of medians, and notes."""
    lines = [
        [
            r.what,
            _ms(a["median_s"]),
            _ms(a["p90_s"]),
            str(a["n"]),
            _ms(h["median_s"]),
            _ms(h["p90_s"]),
            str(h["n"]),
            _ratio(a["median_s"], h["median_s"]),
            r.note,
        ]
        for r in rows
        for a, h in [(r.api.summary(), r.helm.summary())]
    ]
    return _render(title, [list(HEADER), *lines])


def kv_table(title: str, rows: list[tuple[str, str]]) -> str:
    """A two-column table."""
    return _render(title, [["", "value"], *[[k, v] for k, v in rows]])


def _render(title: str, cells: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    out = [title, "=" * len(title)]
    for n, row in enumerate(cells):
        out.append(
            "  ".join(
                c.ljust(w) if i in (0, len(row) - 1) else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


# ---------------------------------------------------------------- the overhead target and generic tables

TARGET_RELATIVE = 0.10  # the API may add 10 % to helm's own time at p50 ...
TARGET_ABSOLUTE_S = 0.050  # ... or 50 ms, whichever is larger (the overhead target)


def allowed_overhead(helm_p50_s: float) -> float:
    """The overhead the target allows over a raw helm p50: max(10 %, 50 ms)."""
    return max(TARGET_RELATIVE * helm_p50_s, TARGET_ABSOLUTE_S)


def verdict(api_p50_s: float, helm_p50_s: float) -> dict[str, Any]:
    """PASS when the API's p50 exceeds helm's p50 by no more than the allowed overhead; MISS otherwise; "-" when
    either side has no samples. Never raises: the suite reports, it does not fail."""
    if math.isnan(api_p50_s) or math.isnan(helm_p50_s):
        return {"overhead_s": math.nan, "allowed_s": math.nan, "ratio": math.nan, "verdict": "-"}
    overhead = api_p50_s - helm_p50_s
    allowed = allowed_overhead(helm_p50_s)
    ratio = api_p50_s / helm_p50_s if helm_p50_s > 0 else math.nan
    return {
        "overhead_s": overhead,
        "allowed_s": allowed,
        "ratio": ratio,
        "verdict": "PASS" if overhead <= allowed else "MISS",
    }


def ms(seconds: float | None, digits: int = 0) -> str:
    """Seconds as milliseconds with thousands separators; "-" for None or NaN."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    return f"{seconds * 1000:,.{digits}f}"


def ratio(value: float | None) -> str:
    """A ratio as "1.23x"; "-" for None or NaN."""
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.2f}x"


def table(title: str, header: list[str], rows: list[list[str]]) -> str:
    """A fixed-width table: first and last columns left-aligned, the others right-aligned."""
    width = len(header)
    cells = [list(header), *[[str(c) for c in row] + [""] * (width - len(row)) for row in rows]]
    return _render(title, cells)


def markdown(header: list[str], rows: list[list[str]]) -> str:
    """The same rows as a GitHub-flavoured Markdown table (for docs/PERFORMANCE.md)."""
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|",
    ]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def block(title: str, header: list[str], rows: list[list[str]], md: bool = False) -> str:
    """A titled table, fixed-width for the terminal or Markdown for docs."""
    if md:
        return f"**{title}**\n\n{markdown(header, rows)}"
    return table(title, header, rows)
