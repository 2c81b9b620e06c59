"""What goes into each plot (the pure part of bench/plots.py; matplotlib is not imported here)."""

from __future__ import annotations

from bench import plots


def summary(seconds: float) -> dict[str, float]:
    return {"p50_s": seconds}


def test_each_bar_reaches_its_own_median_total() -> None:
    verb = {
        "helm": summary(0.3),
        "sync": summary(0.4),
        "api": summary(0.6),
        "sync_parts": {"helm_verb_s": summary(0.3), "request_to_start_s": summary(0.05)},
        "api_parts": {"helm_verb_s": summary(0.35), "queue_wait_s": summary(0.3)},  # medians need not add up
    }
    bars = plots.overhead_segments(verb)
    assert bars["raw helm"] == [("helm verb", 300.0)]
    assert [label for label, _ in bars["sync"]] == ["request -> started", "helm verb", "unattributed"]
    assert round(sum(ms for _, ms in bars["sync"])) == 400
    assert bars["async"][-1] == ("unattributed", 0.0)  # never negative


def test_scale_and_throughput_series() -> None:
    probe = {"what": "history", "api": summary(0.05)}
    result = {
        "scale": {"levels": [{"records": 1000, "probes": [probe]}, {"records": 10000, "probes": [probe]}]},
        "throughput": [
            {
                "workers": n,
                **{
                    k: {"ops_per_min": 10.0 * n}
                    for k in ("api_install", "api_uninstall", "helm_install", "helm_uninstall")
                },
            }
            for n in (1, 2)
        ],
    }
    assert plots.scale_series(result) == ([1000, 10000], {"history": [50.0, 50.0]})
    workers, series = plots.throughput_series(result)
    assert workers == [1, 2] and series["API install"] == [10.0, 20.0]
