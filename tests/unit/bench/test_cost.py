"""The cost phase's counting: DynamoDB request units estimated as on-demand bills them, usage totals. No stack."""

from __future__ import annotations

from bench import cost


def item(size: int) -> dict[str, dict[str, str]]:
    return {"pk": {"S": "x" * (size - 2)}}  # name (2 bytes) + value


def test_write_units_are_per_kilobyte_and_double_in_a_transaction() -> None:
    assert cost.dynamodb_units("PutItem", {"Item": item(1000)}, {}) == (0.0, 1.0)
    assert cost.dynamodb_units("PutItem", {"Item": item(1025)}, {}) == (0.0, 2.0)
    assert cost.dynamodb_units("DeleteItem", {}, {}) == (0.0, 1.0)
    transaction = {
        "TransactItems": [
            {"Put": {"Item": item(3000)}},
            {"Update": {"Key": item(100), "ExpressionAttributeValues": {":s": {"S": "done"}}}},
            {"ConditionCheck": {"Key": item(100)}},
        ]
    }
    assert cost.dynamodb_units("TransactWriteItems", transaction, {}) == (2.0, 2 * 3 + 2 * 1)


def test_read_units_are_per_4_kilobytes_and_half_when_eventually_consistent() -> None:
    assert cost.dynamodb_units("GetItem", {"ConsistentRead": True}, {"Item": item(5000)}) == (2.0, 0.0)
    assert cost.dynamodb_units("GetItem", {}, {}) == (0.5, 0.0)  # a miss is still read
    assert cost.dynamodb_units("Query", {}, {"Items": [item(3000), item(3000)]}) == (1.0, 0.0)


def test_usage_prices_the_trigger_requests_per_message_and_counts_services() -> None:
    usage = cost.Usage()
    usage.calls.update({"sqs:SendMessage": 1, "dynamodb:GetItem": 3, "events:PutEvents": 1})
    out = usage.to_json()
    assert out["sqs_requests"] == 1 + cost.TRIGGER_REQUESTS_PER_MESSAGE and out["dynamodb_calls"] == 3
    assert out["eventbridge_calls"] == 1 and out["secretsmanager_calls"] == 0


def test_invoke_bills_whole_milliseconds_times_the_configured_memory() -> None:
    usage = cost.Usage()
    assert cost.invoke(usage, "api_handler", lambda: 42, api=True) == 42
    assert usage.invocations == {"api_handler": 1} and usage.api_requests == 1
    assert usage.gb_s == 0.001 * cost.function_memory_mb("api_handler") / 1024  # at least 1 ms
    assert cost.function_memory_mb("api_handler") == cost.function_memory_mb("execute_operations") == 1024
    assert cost.function_memory_mb("no_such_function") == cost.DEFAULT_MEMORY_MB


def test_the_cost_tables_render() -> None:
    figures = {"lambda_gb_s": 0.5, "api_gateway_requests": 1, "dynamodb_rru": 4.5, "dynamodb_wru": 16}
    result = {
        "rounds": 2,
        "memory_mb": {"api_handler": 1024},
        "verbs": {"sync": {"install": figures}},
        "first_in_container": {"sync": {"install": figures}},
        "other": {"get": figures},
    }
    text = cost.render(result, md=True)
    assert "| install (sync) | 0.500 | 1 | 4.5 | 16 |" in text and "first in a container" in text
