"""Runtimes end to end through the API, the queue and the worker (helm and Git faked): plan, sync in needs order,
the schedule noticing a new commit, the push webhook, prune, a broken commit changing nothing, the destination
fixed once deployed, delete with prune."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from chalicelib import bootstrap
from tests.fakes import FakeGit, FakeHelm
from tests.functional.conftest import Api

URL = "https://git.example.com/team/deploy.git"
CHART = "https://charts.example.com/demo-1.2.3.tgz"
SECRET = "webhook-secret-0123456789"
RELEASES = f"""
releases:
- name: web
  chart: {CHART}
  values: [values/web.yaml]
  needs: [db]
- name: db
  chart: {CHART}
  set: [{{name: data.size, value: 10}}]
"""
BODY: dict[str, Any] = {
    "source": {"git": {"url": URL, "revision": "main", "path": "env", "username": "bot", "password": "tok-123456"}},
    "destination": {"cluster": "prod", "namespaces": ["apps"]},
    "sync": {"prune": True, "webhook_secret": SECRET, "interval": "1m"},
}


def settle(api: Api) -> None:
    """Deliver messages until none is left (each operation's end submits the next step)."""
    while api.drain():
        pass


def runtime(api: Api) -> dict[str, Any]:
    status, out = api.call("GET", "/v1/runtimes/shop")
    assert status == 200, out
    return out


def push(api: Api, secret: str = SECRET) -> tuple[int, Any]:
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    resp = api.c.http.post(
        "/v1/runtimes/shop/webhook",
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sig, "X-GitHub-Event": "push"},
        body=body,
    )
    return resp.status_code, resp.json_body


def test_a_runtime_converges_on_its_source(api: Api, helm: FakeHelm, git: FakeGit) -> None:
    api.register()
    first = git.commit(URL, {"env/releases.yaml": RELEASES, "env/values/web.yaml": "data: {greeting: hello}\n"})
    git.credentials[URL] = {"username": "bot", "password": "tok-123456"}
    status, out = api.call("PUT", "/v1/runtimes/shop", BODY)
    assert status == 201, out
    assert "tok-123456" not in json.dumps(out) and SECRET not in json.dumps(out)
    assert out["source"]["git"]["credentials"] is True and out["sync"]["webhook"] is True
    assert out["status"]["phase"] == "new"

    status, plan = api.call("POST", "/v1/runtimes/shop/plan")
    assert status == 200, plan
    assert [(r["name"], r["action"]) for r in plan["releases"]] == [("db", "install"), ("web", "install")]
    assert plan["commit"] == first and not helm.releases.get("prod/apps/web")

    before = len(helm.calls)
    status, out = api.call("POST", "/v1/runtimes/shop/sync")
    assert status == 202 and out["status"]["phase"] == "syncing", out
    settle(api)
    out = runtime(api)
    assert (out["status"]["phase"], out["status"]["synced_commit"]) == ("synced", first), out["status"]
    assert {k: v["state"] for k, v in out["status"]["releases"].items()} == {"apps/db": "synced", "apps/web": "synced"}
    assert [c for c in helm.calls[before:] if c in ("upgrade", "install")] == ["upgrade", "upgrade"]  # --install
    assert helm.releases["prod/apps/db"][-1]["config"] == {"data": {"size": 10}}

    # a values change: planned as an upgrade with its diff, applied by the schedule without any call
    second = git.commit(URL, {"env/values/web.yaml": "data: {greeting: hi}\n"})
    status, plan = api.call("POST", "/v1/runtimes/shop/plan")
    assert [(r["name"], r["action"]) for r in plan["releases"]] == [("db", "unchanged"), ("web", "upgrade")]
    web = plan["releases"][1]
    assert web["summary"]["changed"] == 1 and '+  greeting: "hi"' in web["objects"][0]["diff"]
    service = bootstrap.get().runtimes
    service.clock = lambda: 4_000_000_000.0  # the interval has passed
    from app import app

    api.invoke("reconcile_clusters", api.c.events.generate_cw_event("Scheduled Event", "aws.events", {}, []))
    settle(api)
    out = runtime(api)
    assert out["status"]["synced_commit"] == second and out["status"]["releases"]["apps/web"]["revision"] == 2
    assert len(helm.releases["prod/apps/db"]) == 1  # unchanged: not touched
    assert app is not None

    # a push: a new release, and db gone from the file (pruned)
    third = git.commit(
        URL,
        {
            "env/releases.yaml": f"releases:\n- name: web\n  chart: {CHART}\n  values: [values/web.yaml]\n"
            f"- name: cache\n  chart: {CHART}\n"
        },
    )
    assert push(api, "wrong-secret-0123456789")[0] == 401
    status, hook = push(api)
    assert status == 202 and hook["sync"] == "started", hook
    settle(api)
    out = runtime(api)
    assert out["status"]["synced_commit"] == third, out["status"]
    assert out["status"]["releases"]["apps/db"]["state"] == "uninstalled"
    assert out["status"]["releases"]["apps/cache"]["state"] == "synced"
    assert "prod/apps/db" not in helm.releases

    # a broken releases file changes nothing and says why
    calls = len(helm.calls)
    git.commit(URL, {"env/releases.yaml": "releases: [\n"})
    status, out = api.call("POST", "/v1/runtimes/shop/sync")
    assert status == 202
    assert out["status"]["phase"] == "error" and "releases.yaml" in out["status"]["last_error"]["message"]
    assert out["status"]["synced_commit"] == third and api.drain() == 0 and len(helm.calls) == calls
    status, err = api.call("POST", "/v1/runtimes/shop/plan")
    assert status == 422 and "releases.yaml" in err["error"]["message"]

    # the destination is fixed once deployed
    status, err = api.call(
        "PUT", "/v1/runtimes/shop", {**BODY, "destination": {"cluster": "prod", "namespaces": ["x"]}}
    )
    assert status == 409 and "destination" in err["error"]["message"], err

    # delete with prune: what it installed is uninstalled
    status, out = api.call("DELETE", "/v1/runtimes/shop?prune=true")
    assert status == 200 and sorted(o["release"]["name"] for o in out["operations"]) == ["cache", "web"], out
    settle(api)
    assert not helm.releases.get("prod/apps/web") and api.call("GET", "/v1/runtimes/shop")[0] == 404


def test_a_failed_step_stops_the_run(api: Api, helm: FakeHelm, git: FakeGit) -> None:
    api.register()
    missing = CHART.replace("demo", "missing")
    git.commit(
        URL,
        {
            "env/releases.yaml": f"releases:\n- {{name: a, chart: {missing}}}\n- {{name: b, chart: {CHART}, needs: [a]}}\n"
        },
    )
    body = {**BODY, "source": {"git": {"url": URL, "path": "env"}}}
    assert api.call("PUT", "/v1/runtimes/shop", body)[0] == 201
    api.call("POST", "/v1/runtimes/shop/sync")
    settle(api)
    status = runtime(api)["status"]
    assert status["phase"] == "failed" and status["last_error"]["release"] == "apps/a", status
    assert "apps/b" not in status["releases"] and not helm.releases.get("prod/apps/b")


def test_inline_source_unknown_cluster_and_listing(api: Api, helm: FakeHelm) -> None:
    body = {"source": {"inline": {"releases": [{"name": "web", "chart": CHART}]}}, "destination": BODY["destination"]}
    status, err = api.call("PUT", "/v1/runtimes/shop", body)
    assert status == 404, err
    api.register()
    assert api.call("PUT", "/v1/runtimes/shop", body)[0] == 201
    assert api.call("PUT", "/v1/runtimes/shop", body)[0] == 200
    api.call("POST", "/v1/runtimes/shop/sync")
    settle(api)
    status, listed = api.call("GET", "/v1/runtimes")
    assert [r["status"]["phase"] for r in listed["runtimes"]] == ["synced"]
    status, err = api.call("PUT", "/v1/runtimes/Bad", body)
    assert status == 422
    assert api.call("POST", "/v1/runtimes/nope/webhook", {})[0] == 401
