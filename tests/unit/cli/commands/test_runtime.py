"""``charthouse runtime apply|get|list|plan|sync|delete`` against a fake API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.unit.cli.fakeapi import FakeApi, run

RT: dict[str, Any] = {
    "name": "shop",
    "source": {"git": {"url": "http://git/x.git", "revision": "main", "path": "apps", "credentials": True}},
    "destination": {"cluster": "local", "namespaces": ["shop"]},
    "sync": {"interval": "300s", "prune": True},
    "status": {"phase": "synced", "synced_commit": "abc", "releases": {"shop/web": {"state": "synced", "revision": 2}}},
}


def test_apply_sends_the_file_with_the_password_from_a_file(fake: FakeApi, tmp_path: Path) -> None:
    (tmp_path / "rt.yaml").write_text(
        "name: shop\nsource: {git: {url: 'http://git/x.git'}}\ndestination: {cluster: local}\n"
    )
    (tmp_path / "pw").write_text("s3cret\n")
    fake.on("PUT", "/v1/runtimes/shop", (201, RT))
    code, out, err = run(
        fake, "runtime", "apply", "-f", str(tmp_path / "rt.yaml"), "--password-file", str(tmp_path / "pw")
    )
    assert code == 0, err
    assert (
        fake.requests[-1]["body"]["source"]["git"]["password"] == "s3cret" and "name" not in fake.requests[-1]["body"]
    )
    assert "shop/web" in out and "synced" in out


def test_get_list_plan_sync_delete(fake: FakeApi) -> None:
    fake.on("GET", "/v1/runtimes", (200, {"runtimes": [RT]}))
    code, out, _ = run(fake, "runtime", "list")
    assert code == 0 and out.splitlines()[1].split() == ["shop", "local", "synced", "abc"]
    plan = {
        "runtime": "shop",
        "commit": "abc",
        "releases": [{"namespace": "shop", "name": "web", "action": "upgrade", "objects": [{"diff": "-a\n+b\n"}]}],
    }
    fake.on("POST", "/v1/runtimes/shop/plan", (200, plan))
    code, out, _ = run(fake, "runtime", "plan", "shop", "--exit-code")
    assert code == 1 and "upgrade  shop/web" in out and "+b" in out
    syncing = {**RT, "status": {**RT["status"], "phase": "syncing"}}
    fake.on("POST", "/v1/runtimes/shop/sync", (202, syncing))
    fake.on("GET", "/v1/runtimes/shop", (200, RT))
    code, out, _ = run(fake, "runtime", "sync", "shop", "--wait", "-o", "json")
    assert code == 0 and json.loads(out)["status"]["phase"] == "synced"
    failed = {**RT, "status": {**RT["status"], "phase": "error", "last_error": {"message": "releases.yaml: bad"}}}
    fake.on("POST", "/v1/runtimes/shop/sync", (202, failed))
    code, _, err = run(fake, "runtime", "sync", "shop")
    assert code != 0 and "releases.yaml: bad" in err
    fake.on("DELETE", "/v1/runtimes/shop", (200, {"name": "shop", "deleted": True, "operations": [{}], "errors": []}))
    code, out, _ = run(fake, "runtime", "delete", "shop", "--prune")
    assert code == 0 and "1 uninstall" in out and fake.requests[-1]["query"] == "prune=true"


def test_plan_shows_its_id_and_sync_applies_it(fake: FakeApi) -> None:
    plan = {
        "runtime": "shop",
        "commit": "abc",
        "releases": [{"namespace": "shop", "name": "web", "action": "upgrade"}],
        "plan": {"id": "plan-0123", "expires_at": "2026-01-01T00:00:00.000Z"},
    }
    fake.on("POST", "/v1/runtimes/shop/plan", (200, plan))
    code, out, _ = run(fake, "runtime", "plan", "shop")
    assert code == 0 and "plan plan-0123" in out
    fake.on("POST", "/v1/runtimes/shop/sync", (202, RT))
    code, _, err = run(fake, "runtime", "sync", "shop", "--plan", "plan-0123")
    assert code == 0, err
    assert fake.requests[-1]["body"] == {"plan": "plan-0123"}
