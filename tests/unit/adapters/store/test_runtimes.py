"""Runtimes in the table: declaration, a status written only over the version it was read at, step notes."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.adapters.store import Store
from chalicelib.domain.models import Action, Operation, ReleaseRef


def test_runtime_documents_list_and_delete(store: Store) -> None:
    store.put_runtime("b", {"name": "b"})
    store.put_runtime("a", {"name": "a"})
    assert [d["name"] for d in store.list_runtimes()] == ["a", "b"]
    assert store.get_runtime("a") == {"name": "a"}
    store.put_runtime_status("a", {"phase": "synced"}, 0)
    store.delete_runtime("a")
    assert store.get_runtime("a") is None and store.get_runtime_status("a") == ({}, 0)


def test_status_is_written_over_the_version_it_was_read_at(store: Store) -> None:
    assert store.put_runtime_status("a", {"phase": "syncing"}, 0)
    assert not store.put_runtime_status("a", {"phase": "other"}, 0)  # someone came first
    doc, version = store.get_runtime_status("a")
    assert (doc, version) == ({"phase": "syncing"}, 1)
    assert store.put_runtime_status("a", {"phase": "synced"}, version)
    assert not store.put_runtime_status("a", {"phase": "stale"}, version)
    assert store.get_runtime_status("a") == ({"phase": "synced"}, 2)


def test_the_step_note_is_written_with_its_operation(store: Store) -> None:
    note = store.runtime_step_item({"runtime": "a", "run": "r1", "index": 0})
    op = Operation.new(Action.UPGRADE, ReleaseRef("c", "ns", "web"), {}, (note["sk"],))
    store.accept(op, lease_s=60, attachments=(note,))
    assert store.get_runtime_step(op) == {"runtime": "a", "run": "r1", "index": 0}
    assert store.get_runtime_step(replace(op, id="op-none")) is None
    assert store.get_runtime_step(replace(op, attachments=())) is None  # known to have none: not read
