"""Runtimes end to end through the API, the queue and the worker (helm and Git faked): plan, sync in needs order,
the schedule noticing a new commit, the push webhook, prune, a broken commit changing nothing, the destination
fixed once deployed, delete with prune."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import tarfile
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.core import catalog
from tests.fakes import FakeGit, FakeHelm
from tests.functional.conftest import Api
from tests.functional.test_plans import tgz

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


@pytest.fixture(autouse=True)
def chart_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """The chart URL answers an archive: a runtime's plan records its digest (the catalog fetches it as helm would)."""
    monkeypatch.setattr(catalog, "fetch", lambda *args, **kwargs: tgz(version="1.2.3"))


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


# ---------------------------------------------------------------- security (issue 27: 1, 2, 5)

EVIL = "https://evil.example.net/team/deploy.git"


def policy(api: Api, name: str, principals: list[str], rules: list[dict[str, Any]]) -> None:
    status, body = api.call("PUT", f"/v1/policies/{name}", {"principals": principals, "rules": rules})
    assert status in (200, 201), body


def test_stored_credentials_never_follow_the_url_to_another_origin(api: Api, git: FakeGit) -> None:
    api.register()
    git.commit(URL, {"env/releases.yaml": "releases: []\n"})
    git.commit(EVIL, {"env/releases.yaml": "releases: []\n"})
    git.commit(URL.replace("deploy.git", "other.git"), {"env/releases.yaml": "releases: []\n"})
    assert api.call("PUT", "/v1/runtimes/shop", BODY)[0] == 201
    vault = bootstrap.get().runtimes.vault
    secret_id = bootstrap.get().runtimes.declared("shop")["git_secret"]  # type: ignore[index]
    assert vault.get(secret_id) == {"username": "bot", "password": "tok-123456"}

    # same origin, another path: the credentials stay
    same = {"git": {"url": URL.replace("deploy.git", "other.git"), "revision": "main", "path": "env"}}
    status, out = api.call("PUT", "/v1/runtimes/shop", {**BODY, "source": same})
    assert status == 200 and out["source"]["git"]["credentials"] is True, out
    assert api.call("POST", "/v1/runtimes/shop/plan")[0] == 200
    assert git.sent[-1][1] == {"username": "bot", "password": "tok-123456"}

    # another host, no credentials given: the stored ones are dropped (and deleted), never sent there
    moved = {"git": {"url": EVIL, "revision": "main", "path": "env"}}
    status, out = api.call("PUT", "/v1/runtimes/shop", {**BODY, "source": moved})
    assert status == 200 and out["source"]["git"]["credentials"] is False, out
    assert api.call("POST", "/v1/runtimes/shop/plan")[0] == 200
    assert git.sent[-1] == (EVIL, None)
    assert vault.get(secret_id) is None
    api.call("POST", "/v1/runtimes/shop/sync")
    assert all(creds is None for url, creds in git.sent if url == EVIL)

    # another scheme or port is another origin too (the domain rule, one place)
    for url in (URL.replace("https://", "http://"), URL.replace("git.example.com", "git.example.com:8443")):
        assert api.call("PUT", "/v1/runtimes/shop", BODY)[0] == 200
        body = {**BODY, "source": {"git": {"url": url, "path": "env"}}}
        assert api.call("PUT", "/v1/runtimes/shop", body)[1]["source"]["git"]["credentials"] is False

    # a registered Git repository: its credentials are bound the same way
    repo = {"url": URL, "username": "bot", "password": "tok-123456"}
    assert api.call("PUT", "/v1/git-repositories/deploy", repo)[0] == 201
    status, out = api.call("PUT", "/v1/git-repositories/deploy", {"url": EVIL})
    assert status == 200 and out["credentials"] is False, out
    status, out = api.call("PUT", "/v1/git-repositories/deploy", {**repo, "url": EVIL})
    assert out["credentials"] is True
    status, out = api.call("PUT", "/v1/git-repositories/deploy", {"url": EVIL + "/"})
    assert out["credentials"] is True  # same origin: kept


def test_a_registered_repository_is_used_only_by_principals_granted_it(api: Api, git: FakeGit) -> None:
    api.register()
    git.commit(URL, {"env/releases.yaml": "releases: []\n"})
    git.credentials[URL] = {"username": "bot", "password": "tok-123456"}
    repo = {"url": URL, "username": "bot", "password": "tok-123456"}
    assert api.call("PUT", "/v1/git-repositories/deploy", repo)[0] == 201
    team = bootstrap.get().tokens.create("team-a")
    writer = {"verbs": ["read", "install", "upgrade", "uninstall"], "clusters": ["prod"], "namespaces": ["apps"]}
    policy(api, "team-a", ["token:team-a"], [writer])
    body = {**BODY, "source": {"git": {"repository": "deploy", "path": "env"}}}

    status, err = api.call("PUT", "/v1/runtimes/shop", body, token=team)
    assert status == 403 and err["error"]["details"]["permission"] == "use", err
    assert "deploy" in err["error"]["message"] and api.call("GET", "/v1/runtimes/shop")[0] == 404

    other = {"verbs": ["use"], "repositories": ["other-*"], "clusters": ["prod"], "namespaces": ["apps"]}
    policy(api, "team-a", ["token:team-a"], [writer, other])
    assert api.call("PUT", "/v1/runtimes/shop", body, token=team)[0] == 403

    use = {"verbs": ["use"], "repositories": ["deploy"], "clusters": ["prod"], "namespaces": ["apps"]}
    policy(api, "team-a", ["token:team-a"], [writer, use])
    status, out = api.call("PUT", "/v1/runtimes/shop", body, token=team)
    assert status == 201, out
    assert "owner" not in out
    status, plan = api.call("POST", "/v1/runtimes/shop/plan", token=team)
    assert status == 200 and git.sent[-1] == (URL, {"username": "bot", "password": "tok-123456"}), plan

    # the grant is withdrawn: the owner's runtime no longer reads the repository, whoever asks
    policy(api, "team-a", ["token:team-a"], [writer])
    reads = len(git.sent)
    status, err = api.call("POST", "/v1/runtimes/shop/plan")  # even an admin's plan: it reads as its owner
    assert status == 403 and err["error"]["details"]["repository"] == "deploy", err
    status, out = api.call("POST", "/v1/runtimes/shop/sync", token=team)
    assert status == 202 and out["status"]["phase"] == "error", out
    assert out["status"]["last_error"]["code"] == "Forbidden" and "use" in out["status"]["last_error"]["message"]
    bootstrap.get().runtimes.clock = lambda: 4_000_000_000.0
    assert bootstrap.get().runtimes.tick()["synced"] == ["shop"]
    assert runtime(api)["status"]["phase"] == "error" and len(git.sent) == reads


LOCAL_CHART = {
    "env/chart/Chart.yaml": "apiVersion: v2\nname: demo\nversion: 99.0.0+x\n",
    "env/chart/values.yaml": "replicas: 1\n",
    "env/chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: demo}\n",
    "env/chart/templates/.notes.swp": "editor leftovers\n",
    "env/chart/.helmignore": "# helm's rules\n*.key\nprivate/\n",
    "env/chart/tls.key": "-----BEGIN PRIVATE KEY-----\n",
    "env/chart/private/token.txt": "s3cret\n",
    "env/releases.yaml": "releases:\n- name: web\n  chart: ./chart\n",
}


def test_runtime_charts_live_apart_from_uploaded_charts(api: Api, helm: FakeHelm, git: FakeGit) -> None:
    api.register()
    git.commit(URL, LOCAL_CHART)
    body = {**BODY, "source": {"git": {"url": URL, "path": "env"}}}
    assert api.call("PUT", "/v1/runtimes/shop", body)[0] == 201
    status, plan = api.call("POST", "/v1/runtimes/shop/plan")
    assert status == 200 and plan["releases"][0]["action"] == "install", plan
    api.call("POST", "/v1/runtimes/shop/sync")
    settle(api)
    out = runtime(api)
    assert out["status"]["phase"] == "synced", out["status"]
    version = plan_version(api)
    assert version.startswith("99.0.0+x-rt-"), version

    # nothing of it shows as an uploaded chart: not listed, searched, shown or downloadable
    status, found = api.call("GET", "/v1/charts?q=demo&versions=true")
    assert status == 200 and not [c for c in found["charts"] if c.get("name") == "demo"], found
    status, err = api.call("GET", f"/v1/charts/uploaded/demo?version={version}")
    assert status == 404, err
    status, err = api.call("GET", f"/v1/charts/runtime/demo?version={version}")
    assert status == 404, err
    resp = api.c.http.get("/v2/charts", headers=api.auth)
    assert resp.status_code == 200 and "demo" not in resp.body.decode(), resp.body
    assert bootstrap.get().catalog.uploads.entries() == []

    # no door may name a runtime chart, nor take its repository name
    install = {"name": "mine", "chart": "runtime/demo", "version": version}
    status, err = api.call("POST", "/v1/clusters/prod/namespaces/other/releases", install)
    assert status == 422 and err["error"]["details"]["field"] == "chart", err
    assert api.call("PUT", "/v1/repositories/runtime", {"url": "https://charts.example.com"})[0] == 422
    bad = {**BODY, "source": {"inline": {"releases": [{"name": "x", "chart": "runtime/demo", "version": version}]}}}
    assert api.call("PUT", "/v1/runtimes/other", bad)[0] == 201
    status, err = api.call("POST", "/v1/runtimes/other/plan")
    assert status == 422 and "runtime/" in err["error"]["message"], err

    # the archive holds what helm packages: .helmignore and helm's own default rule honoured
    charts = bootstrap.get().catalog.runtime_charts
    assert charts is not None
    with tarfile.open(fileobj=io.BytesIO(charts.archive("demo", version))) as tar:
        names = sorted(tar.getnames())
    assert names == ["demo/.helmignore", "demo/Chart.yaml", "demo/templates/cm.yaml", "demo/values.yaml"], names


def plan_version(api: Api) -> str:
    """The exact version of the chart the runtime built: stored under its own prefix, nothing under charts/."""
    import boto3

    from tests.functional.conftest import BUCKET

    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert not [k for k in keys if k.startswith("charts/")], keys
    stored = [k for k in keys if k.startswith("runtime-charts/demo/")]
    assert len(stored) == 1, keys
    return stored[0].removeprefix("runtime-charts/demo/demo-").removesuffix(".tgz")


def test_one_failing_runtime_never_stops_the_others_in_a_tick(api: Api, git: FakeGit) -> None:
    from chalicelib.errors import PayloadTooLarge

    api.register()
    broken = URL.replace("deploy", "broken")
    git.failures[broken] = PayloadTooLarge("source.git.url", f"{broken}: the objects received inflate to more")
    crashing = URL.replace("deploy", "crashing")
    git.failures[crashing] = MemoryError()
    git.commit(URL, {"env/releases.yaml": f"releases:\n- name: web\n  chart: {CHART}\n"})
    for name, url in (("a-broken", broken), ("b-crashing", crashing), ("c-fine", URL)):
        body = {**BODY, "source": {"git": {"url": url, "path": "env"}}}
        body["destination"] = {"cluster": "prod", "namespaces": [name]}
        assert api.call("PUT", f"/v1/runtimes/{name}", body)[0] == 201
    bootstrap.get().runtimes.clock = lambda: 4_000_000_000.0
    done = bootstrap.get().runtimes.tick()
    assert done["failed"] == ["b-crashing"] and "c-fine" in done["synced"], done
    settle(api)
    phases = {r["name"]: r["status"] for r in api.call("GET", "/v1/runtimes")[1]["runtimes"]}
    assert phases["c-fine"]["phase"] == "synced", phases
    assert phases["a-broken"]["phase"] == "error"
    assert phases["a-broken"]["last_error"]["code"] == "PayloadTooLarge"
    assert broken.split("//")[1].split("/")[0] in phases["a-broken"]["last_error"]["message"]
    assert phases["b-crashing"]["phase"] == "error" and "MemoryError" in phases["b-crashing"]["last_error"]["message"]


# ---------------------------------------------------------------- plans applied exactly, ETags and If-Match


def test_a_runtime_plan_is_applied_exactly_or_refused_naming_the_source_commit(
    api: Api, helm: FakeHelm, git: FakeGit
) -> None:
    api.register()
    git.commit(URL, {"env/releases.yaml": RELEASES, "env/values/web.yaml": "data: {greeting: hello}\n"})
    git.credentials[URL] = {"username": "bot", "password": "tok-123456"}
    assert api.call("PUT", "/v1/runtimes/shop", BODY)[0] == 201
    status, plan = api.call("POST", "/v1/runtimes/shop/plan")
    assert status == 200 and plan["plan"]["id"].startswith("plan-") and plan["plan"]["expires_at"].endswith("Z")

    git.commit(URL, {"env/values/web.yaml": "data: {greeting: hi}\n"})  # a new commit after the review
    status, err = api.call("POST", "/v1/runtimes/shop/sync", {"plan": plan["plan"]["id"]})
    assert status == 409 and err["error"]["code"] == "PlanStale", err
    assert err["error"]["details"]["changed"][0] == "source commit", err
    assert runtime(api)["status"]["phase"] == "new" and not helm.releases.get("prod/apps/web")  # nothing applied

    status, plan = api.call("POST", "/v1/runtimes/shop/plan")
    nobody = bootstrap.get().tokens.create("nobody")
    status, err = api.call("POST", "/v1/runtimes/shop/sync", {"plan": plan["plan"]["id"]}, token=nobody)
    assert status == 403 and err["error"]["code"] == "Forbidden", err
    for body, code, expected in (
        ({"plan": "plan-" + "0" * 32}, 404, "PlanNotFound"),
        ({"plan": 7}, 422, "InvalidInput"),
        ({"plan": plan["plan"]["id"], "prune": True}, 422, "InvalidInput"),
    ):
        status, err = api.call("POST", "/v1/runtimes/shop/sync", body)
        assert (status, err["error"]["code"]) == (code, expected), err
    status, out, _ = api.exchange("POST", "/v1/runtimes/shop/sync", {"plan": plan["plan"]["id"]}, Idempotency_Key="s-1")
    assert status == 202 and out["status"]["phase"] == "syncing", out
    settle(api)
    out = runtime(api)
    assert out["status"]["phase"] == "synced" and out["status"]["synced_commit"] == plan["commit"], out["status"]
    assert helm.releases["prod/apps/web"][-1]["config"] == {"data": {"greeting": "hi"}}
    # the same key and request: answered as the runtime is, not refused as stale (the releases moved since)
    status, again, _ = api.exchange(
        "POST", "/v1/runtimes/shop/sync", {"plan": plan["plan"]["id"]}, Idempotency_Key="s-1"
    )
    assert status == 202 and again["status"]["phase"] == "synced", again
    status, err = api.call("POST", "/v1/runtimes/shop/sync", {"plan": plan["plan"]["id"]})
    assert status == 409 and "revision" in err["error"]["details"]["changed"], err


def test_a_runtimes_etag_changes_with_each_sync_and_if_match_refuses_a_stale_one(api: Api, git: FakeGit) -> None:
    api.register()
    git.commit(URL, {"env/releases.yaml": RELEASES, "env/values/web.yaml": "data: {greeting: hello}\n"})
    git.credentials[URL] = {"username": "bot", "password": "tok-123456"}
    assert api.call("PUT", "/v1/runtimes/shop", BODY)[0] == 201
    status, _, headers = api.exchange("GET", "/v1/runtimes/shop")
    tag = headers["etag"]
    assert status == 200 and tag.startswith('"') and api.exchange("GET", "/v1/runtimes/shop")[2]["etag"] == tag
    status, out, _ = api.exchange("POST", "/v1/runtimes/shop/sync", None, If_Match=tag)
    assert status == 202, out
    settle(api)
    newer = api.exchange("GET", "/v1/runtimes/shop")[2]["etag"]
    assert newer != tag
    for method, path, body in (
        ("PUT", "/v1/runtimes/shop", {**BODY, "sync": {"prune": False}}),
        ("POST", "/v1/runtimes/shop/sync", None),
        ("DELETE", "/v1/runtimes/shop?prune=true", None),
    ):
        status, err, _ = api.exchange(method, path, body, If_Match=tag)
        assert status == 412 and err["error"]["code"] == "PreconditionFailed", (method, err)
    assert runtime(api)["sync"]["prune"] is True  # nothing changed
    status, out, _ = api.exchange("PUT", "/v1/runtimes/shop", {**BODY, "sync": {"prune": False}}, If_Match=newer)
    assert status == 200 and out["sync"]["prune"] is False, out
    assert api.exchange("GET", "/v1/runtimes/shop")[2]["etag"] != newer  # the declaration changed
