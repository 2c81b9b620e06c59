"""The table: its definition, the error mapping of every call, and paging with ``next_token``."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.adapters.store import Store, table, table_definition
from chalicelib.errors import DependencyUnavailable, InvalidInput

PARTITION = Key("pk").eq("P")


def _fill(store: Store, count: int, **attrs: Any) -> None:
    for i in range(count):
        store.table.put({"pk": "P", "sk": f"{i:04d}", "n": i, **attrs})


def _all_pages(store: Store, limit: int, flt: Any = None, forward: bool = True) -> list[list[int]]:
    pages: list[list[int]] = []
    token: str | None = None
    while True:
        items, token = store.table.query_page(None, PARTITION, flt, limit, token, forward)
        pages.append([int(i["n"]) for i in items])
        if token is None:
            return pages


def test_table_definition_has_the_keys_and_the_two_indexes() -> None:
    definition = table_definition("t")
    assert definition["TableName"] == "t"
    assert [k["AttributeName"] for k in definition["KeySchema"]] == ["pk", "sk"]
    indexes = {
        i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]] for i in definition["GlobalSecondaryIndexes"]
    }
    assert indexes == {"gsi1": ["gsi1pk", "gsi1sk"], "gsi2": ["gsi2pk", "gsi2sk"]}
    assert {a["AttributeName"] for a in definition["AttributeDefinitions"]} == set(table.KEY_ATTRIBUTES)


@pytest.mark.parametrize(
    "key",
    [{"pk": "P", "sk": "0001"}, {"pk": "REL#c#ns#n", "sk": "META", "gsi1pk": "RELS#c", "gsi1sk": "ns#n"}],
)
def test_a_token_round_trips(key: dict[str, str]) -> None:
    token = table.encode_token(key)
    assert "=" not in token and table.decode_token(token) == key


def _b64(data: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


@pytest.mark.parametrize(
    "token",
    [
        "not base64 !",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),  # not UTF-8
        _b64("a string"),
        _b64(["pk"]),
        _b64({"sk": "x"}),  # no pk
        _b64({"pk": 1}),  # not a string
        _b64({"pk": "a", "sk": "b", "gsi1pk": "c", "gsi1sk": "d", "gsi2pk": "e"}),  # more than a key
    ],
)
def test_a_token_this_service_did_not_issue_is_invalid_input(token: str) -> None:
    with pytest.raises(InvalidInput) as err:
        table.decode_token(token)
    assert err.value.details["field"] == "next_token"


def test_no_token_means_the_first_page() -> None:
    assert table.decode_token(None) is None and table.decode_token("") is None


def test_pages_hold_limit_items_and_continue_where_they_stopped(store: Store) -> None:
    _fill(store, 25)
    pages = _all_pages(store, 10)
    assert [len(p) for p in pages[:3]] == [10, 10, 5] and all(not p for p in pages[3:])
    assert [n for p in pages for n in p] == list(range(25))


def test_pages_newest_first_when_not_forward(store: Store) -> None:
    _fill(store, 7)
    assert [n for p in _all_pages(store, 3, forward=False) for n in p] == list(reversed(range(7)))


def test_a_page_that_ends_the_results_has_no_token(store: Store) -> None:
    _fill(store, 5)
    items, token = store.table.query_page(None, PARTITION, None, 10, None)
    assert len(items) == 5 and token is None


def test_a_filtered_page_is_filled_with_matches_only(store: Store) -> None:
    _fill(store, 30)
    pages = _all_pages(store, 4, flt=Attr("n").ne(3) & Attr("n").ne(7))
    got = [n for p in pages for n in p]
    assert got == [n for n in range(30) if n not in (3, 7)]
    assert all(len(p) == 4 for p in pages[:7])


def test_a_rare_match_costs_short_pages_never_a_lost_item(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table, "MAX_ROUNDS", 2)  # 1 + 4 items evaluated per page at most, with limit 1
    _fill(store, 12)
    store.table.put({"pk": "P", "sk": "9999", "n": 99, "rare": True})
    items, token = store.table.query_page(None, PARTITION, Attr("rare").eq(True), 1, None)
    assert items == [] and token is not None  # a short page: the rounds ran out before a match
    pages = _all_pages(store, 1, flt=Attr("rare").eq(True))
    assert [n for p in pages for n in p] == [99]


def test_a_failed_condition_is_raised_as_is(store: Store) -> None:
    store.table.put({"pk": "P", "sk": "1"})
    with pytest.raises(ClientError) as err:
        store.table.put({"pk": "P", "sk": "1"}, ConditionExpression="attribute_not_exists(pk)")
    assert err.value.response["Error"]["Code"] == "ConditionalCheckFailedException"


def _raise(exc: Exception) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        raise exc

    return call


@pytest.mark.parametrize(
    "exc",
    [
        ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}, "Query"),
        ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "x"}}, "Query"),
        EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
    ],
)
def test_any_other_failure_is_dependency_unavailable(store: Store, exc: Exception) -> None:
    with pytest.raises(DependencyUnavailable):
        store.table.call(_raise(exc))


def test_the_error_names_the_dynamodb_code(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        store.table.resource, "get_item", _raise(ClientError({"Error": {"Code": "ThrottlingException"}}, "GetItem"))
    )
    with pytest.raises(DependencyUnavailable) as err:
        store.table.get({"pk": "P", "sk": "1"})
    assert "ThrottlingException" in err.value.message


def test_scan_reads_every_matching_item_across_pages(store: Store) -> None:
    for i in range(30):
        store.table.put({"pk": f"Q{i:02d}", "sk": "S", "even": i % 2 == 0, "pad": "x" * 40_000})
    assert sorted(i["pk"] for i in store.table.scan(Attr("even").eq(True))) == [f"Q{i:02d}" for i in range(0, 30, 2)]
