"""Samples, their summaries (median, p90, n) and the printed table."""

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
        """Median, p90, mean, min and max in seconds, and n."""
        s = self.samples
        return {"n": len(s), "median_s": statistics.median(s) if s else math.nan, "p90_s": percentile(s, 0.9),
                "mean_s": statistics.fmean(s) if s else math.nan, "min_s": min(s, default=math.nan),
                "max_s": max(s, default=math.nan)}  # fmt: skip


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
        return {"what": self.what, "api": self.api.summary(), "helm": self.helm.summary(), "note": self.note,
                "api_parts": {k: v.summary() for k, v in self.parts.items()}}  # fmt: skip


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
    lines = [[r.what, _ms(a["median_s"]), _ms(a["p90_s"]), str(a["n"]), _ms(h["median_s"]), _ms(h["p90_s"]),
              str(h["n"]), _ratio(a["median_s"], h["median_s"]), r.note]
             for r in rows for a, h in [(r.api.summary(), r.helm.summary())]]  # fmt: skip
    return _render(title, [list(HEADER), *lines])


def kv_table(title: str, rows: list[tuple[str, str]]) -> str:
    """A two-column table."""
    return _render(title, [["", "value"], *[[k, v] for k, v in rows]])


def _render(title: str, cells: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    out = [title, "=" * len(title)]
    for n, row in enumerate(cells):
        out.append("  ".join(c.ljust(w) if i in (0, len(row) - 1) else c.rjust(w)
                             for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip())  # fmt: skip
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
