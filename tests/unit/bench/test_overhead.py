"""The overhead tables render from their JSON. No stack is started and no timing is asserted."""

from __future__ import annotations

from bench import overhead
from bench.report import Series


def test_overhead_tables_render_from_json() -> None:
    stats = overhead.VerbStats("install", Series([0.5, 0.6]), Series([0.3, 0.31]))
    for name, value in {
        "request_to_202_s": 0.05,
        "queue_wait_s": 0.1,
        "helm_verb_s": 0.3,
        "helm_readback_s": 0.15,
        "worker_other_s": 0.02,
        "poll_lag_s": 0.01,
        "helm_calls": 4.0,
        "helm history": 0.05,
    }.items():
        stats.add_part(name, value)
    data = [stats.to_json(), overhead.VerbStats("get", Series([0.02]), Series([0.05])).to_json()]
    readback = [{"variant": "history alone", **Series([0.05, 0.06]).summary()}]
    text = overhead.render({"verbs": data, "readback": readback})
    assert "MISS" in text and "PASS" in text and "history 50" in text and "history alone" in text
    assert "| install |" in overhead.render({"verbs": data}, md=True)


def test_sync_and_async_are_shown_side_by_side_with_their_own_targets() -> None:
    # helm 300 ms: sync may add max(10 %, 50 ms) = 50 ms, async max(25 %, 150 ms) = 150 ms
    stats = overhead.VerbStats("upgrade", Series([0.40, 0.44, 0.5]), Series([0.30, 0.30, 0.31]), Series([0.34, 0.33]))
    row = overhead.sync_async_rows([stats.to_json()])[1][0]
    assert row[:5] == ["upgrade", "330 / 335 / 340", "400 / 440 / 500", "300 / 300 / 310", "2"]
    assert row[5:] == ["35", "50", "PASS", "140", "150", "PASS"]
    slow = overhead.VerbStats("upgrade", Series([0.5]), Series([0.3]), Series([0.36]))
    assert overhead.sync_async_rows([slow.to_json()])[1][0][7::3] == ["MISS", "MISS"]
    assert overhead.async_verdict(float("nan"), 0.3)["verdict"] == "-"


def test_the_sync_breakdown_renders_its_parts() -> None:
    stats = overhead.VerbStats("install", Series([0.5]), Series([0.3]), Series([0.35]))
    for name, value in {
        "request_to_start_s": 0.02,
        "helm_verb_s": 0.3,
        "helm_readback_s": 0.01,
        "run_other_s": 0.01,
        "finish_to_answer_s": 0.015,
        "helm_calls": 2.0,
    }.items():
        stats.add_sync_part(name, value)
    header, rows = overhead.sync_breakdown_rows([stats.to_json()])
    assert rows == [["install", "350", "300", "20", "300", "10", "10", "15", "2"]] and len(header) == 9
    assert "1d. Where the sync answer's time goes" in overhead.render({"verbs": [stats.to_json()]})
