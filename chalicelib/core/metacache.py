"""Per-container cache of the metadata a release verb is checked against: clusters and chart repositories (their
credentials' locations and their added masking rules).

A cached read is used only inside ``cached_reads()`` (the hall's verbs, not dry runs: their answers are masked at
once), and only because the operation's accept transaction conditions on the version it was read at: a cluster's
``updated_at`` (each registration writes a new one), the repositories' version (bumped by every write of a
repository, ``Store.put_repository``/``delete_repository``). A stale entry therefore makes the accept fail
(``StaleRead``), and the hall checks again with the cache forgotten: an operation never runs with stale
credentials or masking. Everywhere else (reads, the worker under the lease, diffs and dry runs) reads go to the
store. Entries live ``CACHE_S`` seconds; a list read within ``SETTLE_S`` of a repository write is used once but not
kept (the repositories are listed from an index, which can lag a write by a moment).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Generic, TypeVar

CACHE_S = 30.0
SETTLE_S = 5.0

Value = TypeVar("Value")


class Expiring(Generic[Value]):
    """Values by name, each kept ``ttl_s`` seconds from when it was put."""

    def __init__(self, ttl_s: float = CACHE_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._items: dict[str, tuple[float, Value]] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Value | None:
        with self._lock:
            hit = self._items.get(name)
            if hit is None:
                return None
            if hit[0] <= self._clock():
                del self._items[name]
                return None
            return hit[1]

    def put(self, name: str, value: Value) -> None:
        with self._lock:
            self._items[name] = (self._clock() + self._ttl_s, value)

    def forget(self, name: str | None = None) -> None:
        """Forget ``name``, or everything."""
        with self._lock:
            if name is None:
                self._items.clear()
            else:
                self._items.pop(name, None)


@dataclass
class Reads:
    """What a verb read from the cache, for the accept's conditions: the repositories' version (None: not read)."""

    repositories_version: int | None = None


_SCOPE: ContextVar[Reads | None] = ContextVar("charthouse_cached_reads", default=None)


@contextmanager
def cached_reads(enabled: bool = True) -> Iterator[Reads]:
    """Inside: reads of clusters and repositories may come from the cache (when ``enabled``); the ``Reads`` say
    which versions were used."""
    reads = Reads()
    token = _SCOPE.set(reads if enabled else None)
    try:
        yield reads
    finally:
        _SCOPE.reset(token)


def active() -> Reads | None:
    """The reads of the enclosing ``cached_reads()``, or None: read the store."""
    return _SCOPE.get()
