"""The fleet phase's table (``bench/fleet.py``): the accept rate and 202 latencies, the API processes, and no
ratio when the raw helm side was left out. No stack."""

from __future__ import annotations

from bench import fleet


def result(helm_ops: int, helm_s: float) -> dict[str, object]:
    api = {
        "seconds": 120.0,
        "submit_s": 4.0,
        "failed": 0,
        "accept_ms_p50": 180.0,
        "accept_ms_p95": 420.0,
        "api_cpu_ms_per_accept": 31.0,
    }
    return {
        "count": 200,
        "workers": 4,
        "api_processes": 2,
        "concurrency": fleet.CONCURRENCY,
        "api": api,
        "helm": {"ops": helm_ops, "seconds": helm_s, "failed": 0},
        "accepts_per_s": 50.0,
        "ratio": 120.0 / helm_s if helm_s else 0.0,
    }


def test_the_table_has_the_accept_rate_latencies_and_processes() -> None:
    table = fleet.render(result(200, 100.0), md=True)
    row = next(line for line in table.splitlines() if line.startswith("| 200"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[4] == "1.20x" and cells[6] == "50" and cells[7] == "180 / 420" and cells[8] == "31"
    assert cells[9] == "2"


def test_without_the_helm_side_there_is_no_ratio() -> None:
    table = fleet.render(result(0, 0.0), md=True)
    assert "n/a" in table
