"""Chart archives a container keeps by their sha256 digest, so that a chart installed again is not downloaded again.

Content-addressed: an entry is stored only under the digest of its own bytes, so a hit is exactly the archive any
repository index or upload that names that digest describes, whoever fetched it first. Bounded in bytes, least
recently used out first. Charts known only by URL have no digest to look up and are always fetched.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class ArchiveCache:
    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0

    def get(self, digest: str) -> bytes | None:
        data = self._entries.get(digest)
        if data is not None:
            self._entries.move_to_end(digest)
        return data

    def put(self, digest: str, data: bytes) -> None:
        """Keep ``data`` under ``digest`` if that is its sha256 (anything else is not kept) and it fits."""
        if digest in self._entries or len(data) > self.max_bytes or hashlib.sha256(data).hexdigest() != digest:
            return
        self._entries[digest] = data
        self._size += len(data)
        while self._size > self.max_bytes:
            _, old = self._entries.popitem(last=False)
            self._size -= len(old)

    def __len__(self) -> int:
        return len(self._entries)
