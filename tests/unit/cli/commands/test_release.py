"""``charthouse release`` against the fake API: create (values files sent in order, waits), upgrade without
waiting, a failed rollback, list/show/history tables and queries, dry run."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.unit.cli.fakeapi import FakeApi, op, run


def test_create_sends_the_values_files_in_order_and_waits(fake: FakeApi, tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("image: {repo: web, tag: v1}\n")
    (tmp_path / "b.yaml").write_text("image: {tag: v2}\n")
    fake.on(
        "POST", "/v1/clusters/local/namespaces/shop/releases", (202, op("queued"), {"Location": "/v1/operations/op-1"})
    )
    fake.on("GET", "/v1/operations/op-1", (200, op("running")), (200, op("succeeded", result={"revision": 1})))
    code, out, err = run(
        fake,
        "release",
        "create",
        "web",
        "repo/web",
        "-n",
        "shop",
        "-f",
        "a.yaml",
        "-f",
        "b.yaml",
        "--set",
        "x=1",
        "--set",
        "y=2",
        "--set-string",
        "z=007",
        "--create-namespace",
    )
    assert code == 0, err
    sent = fake.requests[0]
    assert sent["body"] == {
        "name": "web",
        "chart": "repo/web",
        "values_files": [
            {"name": "a.yaml", "content": "image: {repo: web, tag: v1}\n"},
            {"name": "b.yaml", "content": "image: {tag: v2}\n"},
        ],
        "set": ["x=1", "y=2"],
        "set_string": ["z=007"],
        "create_namespace": True,
    }
    assert len(sent["headers"]["Idempotency-Key"]) == 36
    assert [r["path"] for r in fake.requests[1:]] == ["/v1/operations/op-1"] * 2
    assert "succeeded" in out and "op-1" in out and "REVISION:" in out
    assert "running" in err  # progress on stderr (plain lines: not a terminal)


def test_no_wait_returns_the_accepted_operation_as_json(fake: FakeApi) -> None:
    fake.on("PUT", "/v1/clusters/local/namespaces/default/releases/web", (202, op("queued", action="upgrade")))
    code, out, err = run(fake, "release", "upgrade", "web", "repo/web", "--no-wait", "-o", "json", "--reuse-values")
    assert code == 0, err
    assert json.loads(out)["status"] == "queued"
    assert fake.requests[0]["body"] == {"chart": "repo/web", "reuse_values": True}
    assert len(fake.requests) == 1 and err == ""


def test_an_operation_answered_done_takes_one_round_trip(fake: FakeApi) -> None:
    done = {**op("succeeded", action="upgrade", result={"revision": 2}), "record": {"revision": 2}}
    fake.on("PUT", "/v1/clusters/local/namespaces/default/releases/web", (200, done, {"Preference-Applied": "wait=20"}))
    code, out, err = run(fake, "release", "upgrade", "web", "repo/web", "-o", "json")
    assert code == 0, err
    assert json.loads(out)["status"] == "succeeded"
    assert len(fake.requests) == 1  # no polling
    assert fake.requests[0]["headers"]["Prefer"] == "wait=20"


def test_no_wait_sends_no_preference_and_a_slow_operation_is_polled(fake: FakeApi) -> None:
    fake.on("PUT", "/v1/clusters/local/namespaces/default/releases/web", (202, op("queued", action="upgrade")))
    run(fake, "release", "upgrade", "web", "repo/web", "--no-wait")
    assert "Prefer" not in fake.requests[0]["headers"]
    fake.on("GET", "/v1/operations/op-1", (200, op("succeeded", action="upgrade")))
    code, _, err = run(fake, "release", "upgrade", "web", "repo/web", "--wait-timeout", "5")
    assert code == 0, err
    assert fake.requests[1]["headers"]["Prefer"] == "wait=5" and fake.requests[2]["path"] == "/v1/operations/op-1"


def test_failed_operation_exits_1_with_the_reason(fake: FakeApi) -> None:
    fake.on("POST", "/v1/clusters/local/namespaces/default/releases/web/rollback", (202, op("queued")))
    failed = op("failed", error={"code": "HelmError", "message": "release web has no revision 9", "details": {}})
    fake.on("GET", "/v1/operations/op-1", (200, failed))
    code, out, err = run(fake, "release", "rollback", "web", "9", "-o", "yaml")
    assert code == 1
    assert yaml.safe_load(out)["error"]["code"] == "HelmError"
    assert "HelmError: release web has no revision 9" in err
    assert fake.requests[0]["body"] == {"revision": 9}


def test_list_show_history_tables_and_queries(fake: FakeApi) -> None:
    rel = {
        "cluster": "local",
        "namespace": "shop",
        "name": "web",
        "status": "deployed",
        "revision": 2,
        "chart": "demo",
        "chart_version": "0.2.0",
        "app_version": "1.0",
        "last_deployed": "2026-11-21T10:00:00+00:00",
    }
    fake.on("GET", "/v1/releases", (200, {"releases": [rel], "next_token": "tok"}))
    code, out, err = run(fake, "release", "list", "-A", "--status", "deployed,failed", "--limit", "5")
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == [
        "NAME",
        "NAMESPACE",
        "CLUSTER",
        "REVISION",
        "STATUS",
        "CHART",
        "APP",
        "VERSION",
        "UPDATED",
    ]
    assert row.split() == ["web", "shop", "local", "2", "deployed", "demo-0.2.0", "1.0", "2026-11-21", "10:00:00"]
    assert header.index("STATUS") == row.index("deployed")
    assert "--next-token tok" in err
    assert fake.requests[-1]["query"] == "status=deployed%2Cfailed&limit=5"

    fake.on("GET", "/v1/clusters/local/namespaces/shop/releases/web", (200, {**rel, "values": {"a": 1}}))
    code, out, _ = run(fake, "release", "show", "web", "-n", "shop", "--info", "values", "--info", "resources")
    assert code == 0 and "STATUS:" in out and "USER-SUPPLIED VALUES:\na: 1" in out
    assert fake.requests[-1]["query"] == "info=values%2Cresources"

    hist = {
        "release": {},
        "history": [
            {
                "revision": 2,
                "status": "deployed",
                "chart": "demo-0.2.0",
                "app_version": "1",
                "updated": "2026-11-21T10:00:00Z",
                "description": "Upgrade complete",
            }
        ],
    }
    fake.on("GET", "/v1/clusters/local/namespaces/default/releases/web/history", (200, hist))
    code, out, _ = run(fake, "release", "history", "web", "--max", "3")
    assert code == 0 and out.splitlines()[1].split()[:3] == ["2", "2026-11-21", "10:00:00"]
    assert fake.requests[-1]["query"] == "max=3"


def test_dry_run_prints_the_manifest(fake: FakeApi) -> None:
    fake.on(
        "POST",
        "/v1/clusters/local/namespaces/default/releases",
        (200, {"dry_run": "client", "release": {}, "manifest": "kind: ConfigMap\n", "notes": "hi\n"}),
    )
    code, out, _ = run(fake, "release", "create", "web", "repo/web", "--dry-run")
    assert code == 0 and out == "kind: ConfigMap\n\nNOTES:\nhi\n"
    assert fake.requests[0]["body"]["dry_run"] is True


def test_test_runs_the_chart_tests_and_lists_them(fake: FakeApi) -> None:
    tests = [{"name": "web-test-connection", "kind": "Pod", "phase": "Succeeded"}]
    done = op("succeeded", action="test", result={"status": "deployed", "revision": 1, "tests": tests})
    fake.on("POST", "/v1/clusters/local/namespaces/shop/releases/web/test", (200, done))
    code, out, err = run(fake, "release", "test", "web", "-n", "shop", "--timeout", "2m")
    assert code == 0, err
    assert fake.requests[0]["body"] == {"timeout": "2m"}
    assert "web-test-connection" in out and "Succeeded" in out


def test_a_failed_test_exits_1_and_shows_which(fake: FakeApi) -> None:
    tests = [{"name": "web-test-connection", "kind": "Pod", "phase": "Failed"}]
    error = {"code": "HelmError", "message": "pod web-test-connection failed", "details": {"tests": tests}}
    fake.on("POST", "/v1/clusters/local/namespaces/default/releases/web/test", (200, op("failed", error=error)))
    code, out, err = run(fake, "release", "test", "web")
    assert code == 1
    assert "Failed" in out and "pod web-test-connection failed" in err
