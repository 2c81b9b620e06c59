"""Archives kept by digest: only under their own sha256, bounded in bytes, least recently used out first."""

from __future__ import annotations

import hashlib

from chalicelib.domain.archive_cache import ArchiveCache


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_an_archive_is_kept_only_under_its_own_digest() -> None:
    cache = ArchiveCache()
    cache.put(sha(b"a"), b"a")
    cache.put(sha(b"a"), b"b")  # already kept: unchanged
    cache.put(sha(b"x"), b"not x")  # bytes unlike the digest: never kept
    assert cache.get(sha(b"a")) == b"a" and cache.get(sha(b"x")) is None and len(cache) == 1


def test_the_least_recently_used_goes_first_and_the_bound_holds() -> None:
    cache = ArchiveCache(max_bytes=10)
    one, two, three = b"1" * 4, b"2" * 4, b"3" * 4
    cache.put(sha(one), one)
    cache.put(sha(two), two)
    assert cache.get(sha(one)) == one  # now the most recent
    cache.put(sha(three), three)  # 12 bytes > 10: the least recently used (two) goes
    assert cache.get(sha(two)) is None and cache.get(sha(one)) == one and cache.get(sha(three)) == three
    cache.put(sha(b"x" * 11), b"x" * 11)  # larger than the whole cache: not kept, nothing evicted
    assert len(cache) == 2
