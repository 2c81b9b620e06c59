"""Release records (get, list with filters and pages, count, conditional reconcile writes), history, events."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.adapters.store import Store, releases
from chalicelib.domain.models import ListQuery, ReleaseRecord, ReleaseRef, ReleaseStatus, Revision
from chalicelib.errors import InvalidInput


def record(cluster: str, namespace: str, name: str, status: ReleaseStatus = ReleaseStatus.DEPLOYED) -> ReleaseRecord:
    return ReleaseRecord(
        ref=ReleaseRef(cluster, namespace, name),
        status=status,
        revision=1,
        chart_name=f"chart-{name[0]}",
        chart_version="1.0.0",
        app_version="1",
        first_deployed="",
        last_deployed="",
        description="",
        notes="",
        values_digest="",
        labels={},
        last_action="install",
        last_operation_id=f"op-{name}",
        failures=0,
        updated_at=1.0,
    )


def revision(number: int, status: ReleaseStatus = ReleaseStatus.SUPERSEDED) -> Revision:
    return Revision(number, status, "web-1.0.0", "1", f"2026-01-0{min(number, 9)}T00:00:00Z", f"rev {number}")


def names(q: ListQuery, store: Store) -> list[str]:
    records, _ = store.list_releases(q)
    return [r.ref.key for r in records]


@pytest.fixture
def seeded(store: Store) -> Store:
    store.put_releases(
        [
            record("a", "x", "web"),
            record("a", "x", "api"),
            record("a", "y", "web"),
            record("a", "y", "old", ReleaseStatus.UNINSTALLED),
            record("a", "y", "stuck", ReleaseStatus.PENDING_UPGRADE),
            record("a", "y", "bad", ReleaseStatus.FAILED),
            record("b", "x", "web"),
        ]
    )
    return store


def test_get_release_reads_what_was_written(store: Store) -> None:
    rec = replace(record("a", "x", "web"), labels={"team": "t"}, sensitive_paths=(("p",),))
    store.put_releases([rec])
    assert store.get_release(rec.ref) == rec
    assert store.get_release(ReleaseRef("a", "x", "nope")) is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (ListQuery(cluster="a"), ["a/x/api", "a/x/web", "a/y/bad", "a/y/stuck", "a/y/web"]),
        (ListQuery(cluster="a", namespace="x"), ["a/x/api", "a/x/web"]),
        (ListQuery(), ["a/x/api", "a/x/web", "a/y/bad", "a/y/stuck", "a/y/web", "b/x/web"]),
        (ListQuery(cluster="a", statuses=("uninstalled",)), ["a/y/old"]),
        (ListQuery(cluster="a", statuses=("pending",)), ["a/y/stuck"]),
        (ListQuery(cluster="a", statuses=("failed", "deployed"), namespace="y"), ["a/y/bad", "a/y/web"]),
        (ListQuery(name="web"), ["a/x/web", "a/y/web", "b/x/web"]),
        (ListQuery(cluster="a", search="t"), ["a/y/stuck"]),
        (ListQuery(cluster="a", chart="chart-a"), ["a/x/api"]),
        (ListQuery(cluster="c"), []),
    ],
)
def test_list_releases_filters(seeded: Store, query: ListQuery, expected: list[str]) -> None:
    assert names(query, seeded) == expected


def test_list_releases_pages_with_next_token(seeded: Store) -> None:
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        records, token = seeded.list_releases(ListQuery(limit=2, next_token=token))
        assert len(records) <= 2
        seen += [r.ref.key for r in records]
        pages += 1
        if token is None:
            break
    assert seen == names(ListQuery(), seeded) and pages >= 3


def test_a_foreign_next_token_is_invalid_input(seeded: Store) -> None:
    with pytest.raises(InvalidInput):
        seeded.list_releases(ListQuery(next_token="bm90IGEgdG9rZW4"))


def test_count_releases_ignores_uninstalled_ones(store: Store) -> None:
    store.put_releases([record("a", "x", "gone", ReleaseStatus.UNINSTALLED)])
    assert store.count_releases("a") == 0
    store.put_releases([record("a", "x", "web")])
    assert store.count_releases("a") == 1 and store.count_releases("b") == 0


def test_put_release_if_unchanged_writes_only_over_what_was_expected(store: Store) -> None:
    first = record("a", "x", "web")
    assert store.put_release_if_unchanged(first, None)
    assert not store.put_release_if_unchanged(first, None)  # something is stored now
    newer = replace(first, revision=2, last_operation_id="op-newer")
    assert store.put_release_if_unchanged(newer, first)
    assert not store.put_release_if_unchanged(replace(first, notes="stale"), first)  # an operation wrote meanwhile
    assert store.get_release(first.ref) == newer


def test_history_is_newest_first_and_limited(store: Store) -> None:
    ref = ReleaseRef("a", "x", "web")
    store.sync_revisions(ref, [revision(n) for n in (1, 2, 9, 10, 11)])
    assert [r.revision for r in store.history(ref, 10)] == [11, 10, 9, 2, 1]
    assert [r.revision for r in store.history(ref, 2)] == [11, 10]
    assert store.history(ref, 10)[0] == revision(11)
    assert store.history(ReleaseRef("a", "x", "other"), 10) == []


def test_sync_revisions_makes_the_history_what_helm_reports(store: Store) -> None:
    ref = ReleaseRef("a", "x", "web")
    store.sync_revisions(ref, [revision(1), revision(2), revision(3)])
    store.sync_revisions(ref, [revision(2), revision(3, ReleaseStatus.FAILED), revision(4, ReleaseStatus.DEPLOYED)])
    history = store.history(ref, 10)
    assert [(r.revision, r.status) for r in history] == [
        (4, ReleaseStatus.DEPLOYED),
        (3, ReleaseStatus.FAILED),
        (2, ReleaseStatus.SUPERSEDED),
    ]
    store.sync_revisions(ref, [])
    assert store.history(ref, 10) == []


def test_revisions_and_events_do_not_leak_into_the_record_or_each_other(store: Store) -> None:
    rec = record("a", "x", "web")
    store.put_releases([rec])
    store.sync_revisions(rec.ref, [revision(1)])
    store.add_release_event(rec.ref, {"kind": "drift"})
    assert store.get_release(rec.ref) == rec
    assert [r.revision for r in store.history(rec.ref, 10)] == [1]
    assert store.release_events(rec.ref, 10) == [{"kind": "drift"}]
    assert names(ListQuery(cluster="a"), store) == ["a/x/web"]


def test_release_events_are_newest_first_limited_and_expire(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = ReleaseRef("a", "x", "web")
    clock = iter([1_700_000_000.0, 1_700_000_000.001, 1_700_000_009.5, 1_700_000_100.0])
    monkeypatch.setattr(releases, "now", lambda: next(clock))  # two events of one millisecond would tie
    for n in range(4):
        store.add_release_event(ref, {"n": n})
    assert store.release_events(ref, 10) == [{"n": 3}, {"n": 2}, {"n": 1}, {"n": 0}]
    assert store.release_events(ref, 2) == [{"n": 3}, {"n": 2}]
    expiries = sorted(int(i["ttl"]) for i in store.table.resource.scan()["Items"])
    assert expiries[0] == 1_700_000_000 + releases.RELEASE_EVENT_TTL_S
    assert expiries[-1] == 1_700_000_100 + releases.RELEASE_EVENT_TTL_S
