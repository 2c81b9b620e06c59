"""A Git pack received whole (already bounded in bytes) read into objects with a running limit on what it inflates.

A pack's objects are zlib streams: a few hundred kilobytes of pack can inflate to gigabytes. Each object's header
declares its inflated size, and a delta's data declares the size of the object it makes; both are charged against
the budget *before* anything is inflated or applied, and inflating never produces more than the declared size
(a stream that lies about it is refused). So the memory held is the budget, whatever the pack says. The pack is
fed to zlib in small slices, never copied whole.

Only what a shallow fetch without ``have`` lines receives is read: full objects and deltas (by offset or by id)
whose base came earlier in the same pack (no thin packs).
"""

from __future__ import annotations

import hashlib
import zlib

from dulwich.objects import ObjectID, ShaFile
from dulwich.pack import apply_delta

COMMIT, TREE, BLOB, TAG, OFS_DELTA, REF_DELTA = 1, 2, 3, 4, 6, 7
_NAMES = {COMMIT: b"commit", TREE: b"tree", BLOB: b"blob", TAG: b"tag"}
_SLICE = 64 << 10


class PackTooLarge(Exception):
    """The objects inflate to more than the budget (``inflated`` is what had been charged, with the refused one)."""

    def __init__(self, inflated: int) -> None:
        super().__init__(f"more than {inflated} bytes inflated")
        self.inflated = inflated


class BadPack(Exception):
    """The pack is not what Git sends (truncated, a stream longer than declared, a missing delta base)."""


class Objects:
    """The objects of a pack by hex id, each parsed (``dulwich.objects``) when it is looked up."""

    def __init__(self, raw: dict[bytes, tuple[int, bytes]]) -> None:
        self._raw = raw

    def __len__(self) -> int:
        return len(self._raw)

    def __contains__(self, sha: object) -> bool:
        return sha in self._raw

    def __getitem__(self, sha: bytes) -> ShaFile:
        type_num, data = self._raw[sha]
        return ShaFile.from_raw_string(type_num, data, ObjectID(sha))


def read(pack: bytes | bytearray, budget: int) -> Objects:
    """Every object of ``pack``; raises ``PackTooLarge`` once their inflated sizes would pass ``budget``."""
    if not pack:
        return Objects({})
    if len(pack) < 12 or pack[:4] != b"PACK" or int.from_bytes(pack[4:8], "big") not in (2, 3):
        raise BadPack("not a Git pack (no PACK header)")
    count = int.from_bytes(pack[8:12], "big")
    view = memoryview(pack)
    charged = 0

    def charge(size: int) -> None:
        nonlocal charged
        charged += size
        if charged > budget:
            raise PackTooLarge(charged)

    by_offset: dict[int, tuple[int, bytes]] = {}
    by_sha: dict[bytes, tuple[int, bytes]] = {}
    pos = 12
    for _ in range(count):
        start = pos
        type_num, size, pos = _header(pack, pos)
        base: tuple[int, bytes] | None = None
        if type_num == OFS_DELTA:
            distance, pos = _offset(pack, pos)
            base = by_offset.get(start - distance)
        elif type_num == REF_DELTA:
            base = by_sha.get(pack[pos : pos + 20].hex().encode())
            pos += 20
        elif type_num not in _NAMES:
            raise BadPack(f"object type {type_num} at offset {start}")
        if type_num in (OFS_DELTA, REF_DELTA) and base is None:
            raise BadPack(f"the base of the delta at offset {start} is not in the pack")
        charge(size)
        data, pos = _inflate(view, pos, size)
        if base is not None:
            target = _target_size(data)
            charge(target - size)  # the delta itself is dropped once applied
            made = b"".join(apply_delta(base[1], data))
            if len(made) != target:
                raise BadPack(f"the delta at offset {start} made {len(made)} bytes, not {target}")
            type_num, data = base[0], made
        entry = (type_num, data)
        by_offset[start] = entry
        by_sha[_sha(type_num, data)] = entry
    return Objects(by_sha)


def _byte(pack: bytes | bytearray, pos: int) -> int:
    if pos >= len(pack):
        raise BadPack("the pack is truncated")
    return pack[pos]


def _header(pack: bytes | bytearray, pos: int) -> tuple[int, int, int]:
    c = _byte(pack, pos)
    pos += 1
    type_num, size, shift = (c >> 4) & 7, c & 0x0F, 4
    while c & 0x80:
        c = _byte(pack, pos)
        pos += 1
        size |= (c & 0x7F) << shift
        shift += 7
    return type_num, size, pos


def _offset(pack: bytes | bytearray, pos: int) -> tuple[int, int]:
    c = _byte(pack, pos)
    pos += 1
    distance = c & 0x7F
    while c & 0x80:
        c = _byte(pack, pos)
        pos += 1
        distance = ((distance + 1) << 7) | (c & 0x7F)
    return distance, pos


def _inflate(view: memoryview, pos: int, size: int) -> tuple[bytes, int]:
    """The zlib stream at ``pos``, inflated to at most ``size`` bytes (more is a lie), and where the next starts."""
    d = zlib.decompressobj()
    out = bytearray()
    while not d.eof:
        if pos >= len(view):
            raise BadPack("the pack is truncated inside an object")
        chunk = view[pos : pos + _SLICE]
        pos += len(chunk)
        out += d.decompress(chunk, size + 1 - len(out))
        if len(out) > size:
            raise BadPack(f"an object inflates past its declared {size} bytes")
    if len(out) != size:
        raise BadPack(f"an object inflates to {len(out)} bytes, not its declared {size}")
    return bytes(out), pos - len(d.unused_data)


def _target_size(delta: bytes) -> int:
    """A delta starts with the size of its base and the size of what it makes (little-endian base-128)."""
    pos = 0
    sizes = []
    for _ in range(2):
        value = shift = 0
        while True:
            c = _byte(delta, pos)
            pos += 1
            value |= (c & 0x7F) << shift
            shift += 7
            if not c & 0x80:
                break
        sizes.append(value)
    return sizes[1]


def _sha(type_num: int, data: bytes) -> bytes:
    h = hashlib.sha1(_NAMES[type_num] + b" " + str(len(data)).encode() + b"\0", usedforsecurity=False)
    h.update(data)
    return h.hexdigest().encode()
