"""The per-container metadata cache: entries expire, forgetting works, and cached reads happen only inside a scope."""

from __future__ import annotations

from chalicelib.core import metacache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_lives_its_ttl_and_no_longer() -> None:
    clock = Clock()
    cache: metacache.Expiring[str] = metacache.Expiring(30.0, clock)
    cache.put("prod", "v1")
    clock.now += 29.9
    assert cache.get("prod") == "v1"
    clock.now += 0.2
    assert cache.get("prod") is None
    assert cache.get("never") is None


def test_forgetting_one_or_all() -> None:
    cache: metacache.Expiring[int] = metacache.Expiring()
    cache.put("a", 1)
    cache.put("b", 2)
    cache.forget("a")
    assert cache.get("a") is None and cache.get("b") == 2
    cache.forget()
    assert cache.get("b") is None


def test_cached_reads_only_inside_an_enabled_scope() -> None:
    assert metacache.active() is None
    with metacache.cached_reads() as reads:
        assert metacache.active() is reads and reads.repositories_version is None
        with metacache.cached_reads(enabled=False):
            assert metacache.active() is None  # a dry run inside reads the store
        assert metacache.active() is reads
    assert metacache.active() is None
