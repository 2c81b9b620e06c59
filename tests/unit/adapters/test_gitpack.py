"""Reading a pack with a running limit on what it inflates: full objects and deltas (by offset and by id) read as
dulwich writes them; sizes charged before inflating; a stream longer than it declares, a truncated pack and a
missing base refused."""

from __future__ import annotations

import hashlib
import zlib

import pytest
from dulwich.objects import Blob, Commit, Tree
from dulwich.pack import create_delta

from chalicelib.adapters import gitpack


def header(type_num: int, size: int) -> bytes:
    out = bytearray()
    c = (type_num << 4) | (size & 0x0F)
    size >>= 4
    while size:
        out.append(c | 0x80)
        c = size & 0x7F
        size >>= 7
    out.append(c)
    return bytes(out)


def ofs(distance: int) -> bytes:
    out = bytearray([distance & 0x7F])
    distance >>= 7
    while distance:
        distance -= 1
        out.insert(0, 0x80 | (distance & 0x7F))
        distance >>= 7
    return bytes(out)


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        c, n = n & 0x7F, n >> 7
        out.append(c | (0x80 if n else 0))
        if not n:
            return bytes(out)


def pack(entries: list[bytes], count: int | None = None) -> bytes:
    body = b"PACK" + (2).to_bytes(4, "big") + (count if count is not None else len(entries)).to_bytes(4, "big")
    body += b"".join(entries)
    return body + hashlib.sha1(body).digest()


def full(type_num: int, data: bytes, declared: int | None = None) -> bytes:
    return header(type_num, len(data) if declared is None else declared) + zlib.compress(data)


def test_objects_and_deltas_are_read_by_id() -> None:
    blob = Blob.from_string(b"replicas: 1\n" * 50)
    tree = Tree()
    tree.add(b"values.yaml", 0o100644, blob.id)
    commit = Commit()
    commit.tree, commit.message = tree.id, b"one"
    commit.author = commit.committer = b"t <t@x>"
    commit.commit_time = commit.author_time = 0
    commit.commit_timezone = commit.author_timezone = 0
    changed = Blob.from_string(b"replicas: 1\n" * 49 + b"replicas: 2\n")
    delta = b"".join(create_delta(blob.as_raw_string(), changed.as_raw_string()))
    again = Blob.from_string(b"replicas: 1\n" * 48 + b"replicas: 3\n")
    delta2 = b"".join(create_delta(blob.as_raw_string(), again.as_raw_string()))
    first = full(3, blob.as_raw_string())
    entries = [first, full(2, tree.as_raw_string()), full(1, commit.as_raw_string())]
    offset = 12 + sum(len(e) for e in entries)
    entries.append(header(6, len(delta)) + ofs(offset - 12) + zlib.compress(delta))
    entries.append(header(7, len(delta2)) + bytes.fromhex(blob.id.decode()) + zlib.compress(delta2))
    objects = gitpack.read(pack(entries), 1 << 20)
    assert len(objects) == 5
    got = objects[commit.id]
    assert isinstance(got, Commit) and got.tree == tree.id
    assert objects[changed.id].as_raw_string() == changed.as_raw_string()
    assert objects[again.id].as_raw_string() == again.as_raw_string()
    assert gitpack.read(b"", 10).__len__() == 0


def test_the_budget_is_charged_before_inflating() -> None:
    big = b"\0" * (4 << 20)
    data = pack([full(3, big)])
    assert len(data) < 10_000  # a small pack...
    with pytest.raises(gitpack.PackTooLarge) as err:
        gitpack.read(data, 1 << 20)  # ...refused from its header: nothing was inflated
    assert err.value.inflated == len(big)
    # many objects, each under the budget, add up
    with pytest.raises(gitpack.PackTooLarge):
        gitpack.read(pack([full(3, b"a" * 600 + bytes([i])) for i in range(4)]), 2000)
    assert len(gitpack.read(pack([full(3, b"a" * 600 + bytes([i])) for i in range(3)]), 2000)) == 3


def test_a_delta_is_charged_what_it_makes() -> None:
    base = b"x" * 100
    delta = varint(100) + varint(100 * 1000) + bytes([0x90, 100]) * 1000  # 1000 copies of the whole base
    entries = [full(3, base)]
    entries.append(header(6, len(delta)) + ofs(len(entries[0])) + zlib.compress(delta))
    assert len(delta) < 5000
    with pytest.raises(gitpack.PackTooLarge):
        gitpack.read(pack(entries), 50_000)
    assert len(gitpack.read(pack(entries), 200_000)) == 2


def test_a_lying_or_broken_pack_is_refused() -> None:
    with pytest.raises(gitpack.BadPack, match="declared"):
        gitpack.read(pack([full(3, b"z" * 5000, declared=10)]), 1 << 20)  # inflates past what it declares
    with pytest.raises(gitpack.BadPack, match="declared"):
        gitpack.read(pack([full(3, b"z" * 10, declared=50)]), 1 << 20)
    with pytest.raises(gitpack.BadPack, match="truncated"):
        gitpack.read(pack([full(3, b"z" * 10)], count=2)[:-20], 1 << 20)
    with pytest.raises(gitpack.BadPack, match="base"):
        gitpack.read(pack([header(7, 4) + b"\1" * 20 + zlib.compress(b"\4\4\x90\4")]), 1 << 20)
    with pytest.raises(gitpack.BadPack, match="PACK"):
        gitpack.read(b"<html>not a pack</html>", 1 << 20)
    with pytest.raises(gitpack.BadPack, match="type"):
        gitpack.read(pack([full(5, b"x")]), 1 << 20)
