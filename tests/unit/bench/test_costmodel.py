"""The cost model: counted usage times prices, per operation and per month. No stack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import costmodel

ONE_GB_S = {"lambda_gb_s": 1.0, "lambda_invocations": {"api_handler": 1}, "api_gateway_requests": 1}


def result() -> dict[str, object]:
    usage = {**ONE_GB_S, "dynamodb_rru": 4, "dynamodb_wru": 16, "sqs_requests": 3, "eventbridge_calls": 1}
    return {
        "verbs": {"sync": {"install": usage}, "async": {"install": usage}},
        "other": {"get": ONE_GB_S, "sweep (every minute)": ONE_GB_S, "reconcile of one cluster": ONE_GB_S},
    }


def test_one_operation_is_priced_part_by_part() -> None:
    p = costmodel.PRICES
    expected = p["lambda_gb_s"] + p["lambda_request"] + p["api_gateway_request"]
    assert costmodel.op_cost(ONE_GB_S) == pytest.approx(expected)
    assert costmodel.op_cost({"dynamodb_wru": 2, "dynamodb_rru": 2}) == pytest.approx(
        2 * p["dynamodb_wru"] + 2 * p["dynamodb_rru"]
    )


def test_a_month_scales_with_clusters_except_the_sweep() -> None:
    rates = costmodel.Rates(mutating_per_day=10, reads_per_day=0, reconcile_every_min=60)
    ten, hundred = (costmodel.monthly(result(), n, "sync", rates) for n in (10, 100))
    assert hundred["operations"] == pytest.approx(10 * ten["operations"])
    assert hundred["secrets"] == 100 * costmodel.PRICES["secretsmanager_secret_month"]
    assert hundred["sweep"] == ten["sweep"] and ten["reads"] == 0
    assert costmodel.instance_monthly(result(), 10, rates)[0] == "1 x t3.small"
    assert "| 1,000 |" in costmodel.render(result())


def test_the_projection_prices_its_store_calls_and_event_path() -> None:
    p = costmodel.PRICES
    proj = costmodel.Projection(store_calls=3, reads=1, accept_items=3, finish_items=5, item_kb=1.0, call_ms=3.0)
    measured = {**ONE_GB_S, "dynamodb_calls": 10, "dynamodb_rru": 4, "dynamodb_wru": 16, "eventbridge_calls": 1}
    sync = costmodel.projected(measured, "sync", proj)
    assert (sync["dynamodb_calls"], sync["dynamodb_rru"], sync["dynamodb_wru"]) == (3, 1.0, 16.0)
    assert sync["lambda_gb_s"] == pytest.approx(1.0 - 8 * 0.003)  # 7 store calls and the PutEvents removed
    assert sync["event_dollars"] == pytest.approx(p["pipes_request"] + p["eventbridge_event"])
    assert costmodel.projected(measured, "async", proj)["dynamodb_calls"] == 4
    bigger = costmodel.Projection(store_calls=5, item_kb=2.0, event_kb=130.0)
    assert costmodel.projected(measured, "sync", bigger)["dynamodb_wru"] == 32.0
    assert bigger.event_cost() == pytest.approx(3 * p["pipes_request"] + p["eventbridge_event"])
    put = costmodel.Projection(events="putevents")
    assert put.event_cost() == p["eventbridge_event"] and put.stream_monthly() == 0.0


def test_a_pipe_polls_the_stream_for_a_fixed_monthly_cost_past_the_free_reads() -> None:
    idle = costmodel.Projection(stream_polls_per_s=0.5)  # 1.3 M polls a month: within the free 2.5 M
    assert idle.stream_monthly() == 0.0
    busy = costmodel.Projection(stream_polls_per_s=4.0, shards=2)
    polls = 4.0 * costmodel.MINUTES_PER_MONTH * 60 * 2
    expected = (polls - costmodel.STREAMS_FREE_READS_PER_MONTH) * costmodel.PRICES["streams_read_request"]
    assert busy.stream_monthly() == pytest.approx(expected)
    month = costmodel.monthly(result(), 10, "sync", costmodel.DEFAULT_RATES, busy)
    assert month["stream"] == pytest.approx(expected)
    assert month["total"] == pytest.approx(sum(v for k, v in month.items() if k != "total"))
    assert "projected total" in costmodel.render_projection(result(), busy)


def test_the_command_line_takes_the_call_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run.json"
    run.write_text(json.dumps({"cost": result()}))
    assert costmodel.main([str(run), "--store-calls", "4", "--events", "putevents"]) == 0
    printed = capsys.readouterr().out
    assert "Projection: 4 store calls" in printed and "by putevents" in printed
    assert costmodel.main([str(run), "--no-projection"]) == 0
    assert "Projection" not in capsys.readouterr().out
