"""Seeded records use the store's layout; item sizes and read capacity estimates. No stack is started and no timing is asserted."""

from __future__ import annotations

from bench import scale
from chalicelib.adapters.store.codec import release_attributes, release_from_item


def test_seeded_records_use_the_store_layout_and_estimated_capacity() -> None:
    record = scale.seeded_record("local", 1234, 1_700_000_000.0)
    assert record.ref.namespace == "seed-0012" and record.ref.name == "rel-001234"
    assert release_from_item(release_attributes(record)) == record
    item = {"pk": {"S": "REL#x"}, "n": {"N": "12"}, "m": {"M": {"k": {"S": "vv"}}}, "b": {"BOOL": True}}
    assert scale.item_size(item) == 2 + 5 + 1 + 3 + 1 + (3 + 1 + 2 + 1) + 1 + 1
    assert scale.query_rcu(0) == 0.5 and scale.query_rcu(4096) == 0.5 and scale.query_rcu(4097) == 1.0
