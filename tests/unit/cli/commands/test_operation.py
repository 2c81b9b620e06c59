"""``charthouse operation wait`` and ``list``."""

from __future__ import annotations

import json

from tests.unit.cli.fakeapi import FakeApi, op, run


def test_operation_wait_and_list(fake: FakeApi) -> None:
    fake.on("GET", "/v1/operations/op-1", (200, op("running")), (200, op("succeeded")))
    code, out, err = run(fake, "operation", "wait", "op-1", "-o", "json")
    assert code == 0 and json.loads(out)["status"] == "succeeded"
    fake.on(
        "GET", "/v1/operations", (200, {"operations": [op("failed", error={"code": "WorkerLost"})], "next_token": None})
    )
    code, out, _ = run(fake, "operation", "list", "--release", "web", "--status", "failed")
    assert code == 0 and out.splitlines()[1].split()[:4] == ["op-1", "install", "failed", "local/default/web"]
    assert "WorkerLost" in out
    assert fake.requests[-1]["query"] == "release=web&status=failed"
