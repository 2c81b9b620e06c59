"""The cost model: counted usage times prices, per operation and per month. No stack."""

from __future__ import annotations

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
