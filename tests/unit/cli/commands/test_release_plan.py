"""``charthouse release upgrade --plan-out / --review`` and ``release apply``: the plan written and applied as
``{"plan": id}``; a review asks first and refuses without a terminal unless ``--yes``; a stale plan fails."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.unit.cli.fakeapi import FakeApi, op, run

R = "/v1/clusters/local/namespaces/default/releases/web"
DIFF = {
    "action": "upgrade",
    "summary": {"changed": 1},
    "objects": [{"diff": "-a: 1\n+a: 2\n"}],
    "plan": {"id": "plan-abc", "expires_at": "2030-01-01T00:00:00.000Z"},
    "values": {"chart_defaults": {"greeting": "hi"}, "deployed": {"a": 1}, "proposed": {"a": 2}},
}


def test_plan_out_writes_the_plan_and_applies_nothing_then_apply_applies_it(fake: FakeApi, tmp_path: Path) -> None:
    fake.on("POST", f"{R}/diff", (200, DIFF))
    plan_file = tmp_path / "plan.json"
    code, out, err = run(fake, "release", "upgrade", "web", "repo/web", "--set", "a=2", "--plan-out", str(plan_file))
    assert code == 0, err
    assert "+a: 2" in out and "--- values: proposed" in out and "plan-abc" in out
    assert [r["method"] for r in fake.requests] == ["POST"]  # nothing applied
    doc = json.loads(plan_file.read_text())
    assert doc["id"] == "plan-abc" and doc["path"] == R and os.stat(plan_file).st_mode & 0o777 == 0o600

    fake.on("PUT", R, (200, op("succeeded", result={"revision": 2})))
    code, out, err = run(fake, "release", "apply", str(plan_file))
    assert code == 0, err
    assert fake.requests[-1]["method"] == "PUT" and fake.requests[-1]["body"] == {"plan": "plan-abc"}


def test_a_stale_plan_is_refused_with_its_reason(fake: FakeApi, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps({"kind": "charthouse/plan", "id": "plan-abc", "path": R, "method": "PUT"}))
    stale = {"error": {"code": "PlanStale", "message": "plan plan-abc is stale: revision changed", "details": {}}}
    fake.on("PUT", R, (409, stale))
    code, _, err = run(fake, "release", "apply", str(plan_file))
    assert code != 0 and "revision changed" in err


def test_review_refuses_without_a_terminal_unless_yes(fake: FakeApi) -> None:
    fake.on("POST", f"{R}/diff", (200, DIFF), (200, DIFF))
    code, _, err = run(fake, "release", "upgrade", "web", "repo/web", "--review")
    assert code != 0 and "--yes" in err
    assert all(r["method"] == "POST" for r in fake.requests)  # nothing applied
    fake.on("PUT", R, (200, op("succeeded", result={"revision": 2})))
    code, out, err = run(fake, "release", "upgrade", "web", "repo/web", "--review", "--yes")
    assert code == 0, err
    assert "--- values: deployed" in out and fake.requests[-1]["body"] == {"plan": "plan-abc"}


def test_a_file_that_is_not_a_plan_is_refused(fake: FakeApi, tmp_path: Path) -> None:
    other = tmp_path / "x.json"
    other.write_text("{}")
    code, _, err = run(fake, "release", "apply", str(other))
    assert code != 0 and "not a plan file" in err and fake.requests == []
