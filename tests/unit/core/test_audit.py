"""The audit log: what an entry holds (never a body or a query string), how a status becomes a result, a write that
fails never fails the call, and the query's filters and ``since``."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from chalicelib.core.audit import AuditLog
from chalicelib.errors import DependencyUnavailable, InvalidInput


class RecordingStore:
    """The two store calls the audit log makes, recorded."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.put: list[tuple[dict[str, Any], int]] = []
        self.listed: list[tuple[float, dict[str, str], int, str | None]] = []

    def put_audit(self, entry: dict[str, Any], ttl_epoch: int) -> None:
        if self.fail:
            raise DependencyUnavailable("DynamoDB is throttling")
        self.put.append((entry, ttl_epoch))

    def list_audit(
        self, since: float, filters: dict[str, str], limit: int, token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        self.listed.append((since, filters, limit, token))
        return [{"id": "au-1", "at": 1_700_000_000.5, "principal": "token:ci"}], "next"


def _record(log: AuditLog, status: int, **changes: Any) -> None:
    call: dict[str, Any] = {
        "principal": "token:ci",
        "method": "POST",
        "route": "/v1/clusters/{cluster}/namespaces/{namespace}/releases",
        "path": "/v1/clusters/prod/namespaces/shop/releases",
        "cluster": "prod",
        "namespace": "shop",
        "release": "web",
        "status": status,
        "operation_id": "op-1",
        "source_ip": "10.0.0.9",
        "user_agent": "charthouse/0.1",
        "error_code": None,
    }
    log.record(**{**call, **changes})


def test_an_entry_names_who_what_where_and_the_result() -> None:
    store = RecordingStore()
    before = time.time()
    _record(AuditLog(store, keep_days=30), 202)  # type: ignore[arg-type]
    (entry, ttl) = store.put[0]
    assert entry["id"].startswith("au-") and entry["at"] >= round(before, 3)  # now() keeps milliseconds
    assert {k: entry[k] for k in ("principal", "method", "cluster", "namespace", "release", "status", "result")} == {
        "principal": "token:ci",
        "method": "POST",
        "cluster": "prod",
        "namespace": "shop",
        "release": "web",
        "status": 202,
        "result": "ok",
    }
    assert entry["operation_id"] == "op-1" and "error_code" not in entry  # None fields are left out
    assert int(before) + 30 * 86400 <= ttl <= time.time() + 30 * 86400


@pytest.mark.parametrize(
    ("status", "result"),
    [(200, "ok"), (202, "ok"), (399, "ok"), (400, "error"), (401, "denied"), (403, "denied")]
    + [(404, "error"), (409, "error"), (500, "error"), (502, "error")],
)
def test_the_result_of_a_status(status: int, result: str) -> None:
    store = RecordingStore()
    _record(AuditLog(store, 1), status)  # type: ignore[arg-type]
    assert store.put[0][0]["result"] == result


def test_a_long_user_agent_is_cut_and_an_empty_one_left_out() -> None:
    store = RecordingStore()
    log = AuditLog(store, 1)  # type: ignore[arg-type]
    _record(log, 200, user_agent="x" * 1000)
    _record(log, 200, user_agent="")
    assert len(store.put[0][0]["user_agent"]) == 200 and "user_agent" not in store.put[1][0]


def test_a_write_that_fails_is_logged_and_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="chalicelib.core.audit")
    _record(AuditLog(RecordingStore(fail=True), 1), 202)  # type: ignore[arg-type]
    assert "could not be written" in caplog.text and "token:ci" in caplog.text


def test_query_passes_only_known_filters_and_shows_times_as_iso() -> None:
    store = RecordingStore()
    items, token = AuditLog(store, 1).query(  # type: ignore[arg-type]
        {"cluster": "prod", "result": "denied", "bogus": "x", "namespace": "", "next_token": "t1"}, 50
    )
    since, filters, limit, given = store.listed[0]
    assert filters == {"cluster": "prod", "result": "denied"} and (limit, given) == (50, "t1")
    assert time.time() - 86400 - 5 <= since <= time.time() - 86400 + 5  # default: the last 24 hours
    assert items == [{"id": "au-1", "at": "2023-11-14T22:13:20.500Z", "principal": "token:ci"}] and token == "next"


@pytest.mark.parametrize(
    ("since", "epoch"), [("1700000000", 1_700_000_000.0), ("2023-11-14T22:13:20Z", 1_700_000_000.0)]
)
def test_since_takes_iso_or_epoch_seconds(since: str, epoch: float) -> None:
    store = RecordingStore()
    AuditLog(store, 1).query({"since": since}, 10)  # type: ignore[arg-type]
    assert store.listed[0][0] == epoch


@pytest.mark.parametrize(
    ("query", "field"),
    [({"since": "yesterday"}, "since"), ({"result": "maybe"}, "result"), ({"principal": "p" * 600}, "principal")],
)
def test_bad_queries_name_the_field(query: dict[str, str], field: str) -> None:
    store = RecordingStore()
    with pytest.raises(InvalidInput) as err:
        AuditLog(store, 1).query(query, 10)  # type: ignore[arg-type]
    assert err.value.field == field and store.listed == []
