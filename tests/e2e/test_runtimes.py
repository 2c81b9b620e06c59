"""A runtime converging on a real Git repository: the local stack's Git server (git-http-backend behind basic
auth), commits pushed over HTTP, dulwich reading them in the API and the workers, real helm against the real
cluster. Initial sync; a values change planned as an upgrade and applied by the schedule; a new release through
the push webhook; a release removed with prune; a broken commit that changes nothing; delete with prune.

Runs once per helm major (see conftest's ``helm_major``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from devstack.gitserver import commit_files
from devstack.stack import ROOT, Stack
from tests.e2e.conftest import Api, ChartServer, write_chart

pytestmark = pytest.mark.e2e
NS = "gitops"
RT = "/v1/runtimes/gitops"
REL = f"/v1/clusters/local/namespaces/{NS}/releases"
SECRET = "e2e-webhook-secret-0123"


def push(stack: Stack, files: dict[str, str | None], message: str) -> str:
    c = json.loads(stack.git_credentials_file.read_text())
    return commit_files(c["url"], c["username"], c["password"], files, message)


def schedule(stack: Stack) -> None:
    """The scheduled handler itself, as EventBridge (or the local scheduler) calls it."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, app; from chalicelib.api.events import reconcile_clusters; "
            "from devstack.scheduler import scheduled_event; from devstack.worker import LocalContext; "
            "print(json.dumps(reconcile_clusters(scheduled_event('test/runtimes'), LocalContext(60))))",
        ],
        cwd=ROOT,
        env=stack.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def converged(api: Api, timeout: float = 180) -> dict[str, Any]:
    """The runtime once no sync is running (polled)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, out = api.call("GET", RT)
        assert status == 200, out
        if out["status"]["phase"] != "syncing":
            return dict(out)
        time.sleep(0.3)
    raise AssertionError(f"the runtime was still syncing after {timeout} s")


def webhook(stack: Stack, body: bytes, secret: str) -> int:
    sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    req = urllib.request.Request(
        f"{stack.api}{RT}/webhook",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sig, "X-GitHub-Event": "push"},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def values_of(api: Api, name: str) -> Any:
    status, out = api.call("GET", f"{REL}/{name}?info=values")
    assert status == 200, out
    return out["values"], out["revision"], out["status"]


def chart_files(tmp: Path) -> dict[str, str | None]:
    src = write_chart(tmp, "demo", "0.1.0")
    return {f"apps/charts/demo/{p.relative_to(src)}": p.read_text() for p in src.rglob("*") if p.is_file()}


def releases(cache_url: str | None) -> str:
    text = "releases:\n- name: web\n  chart: ./charts/demo\n  values: [values/web.yaml]\n"
    if cache_url:  # inline values in helm's dialect: 22:22 a string, y true, a date a string (docs/API.md)
        text += (
            f"- name: cache\n  chart: {cache_url}\n  values:\n  - {{port: 22:22, flag: y, when: 2024-01-01}}\n"
            "  set: [{name: replicas, value: 2}]\n  needs: [web]\n"
        )
    return text


def test_a_runtime_converges_on_pushed_commits(api: Api, stack: Stack, charts: ChartServer, tmp_path: Path) -> None:
    c = json.loads(stack.git_credentials_file.read_text())
    first = push(
        stack,
        {**chart_files(tmp_path), "apps/releases.yaml": releases(None), "apps/values/web.yaml": "greeting: hello\n"},
        "web",
    )
    body = {
        "source": {
            "git": {
                "url": c["url"],
                "revision": "main",
                "path": "apps",
                "username": c["username"],
                "password": c["password"],
            }
        },
        "destination": {"cluster": "local", "namespaces": [NS]},
        "sync": {"interval": "1s", "prune": True, "webhook_secret": SECRET},
    }
    status, out = api.call("PUT", RT, body)
    assert status in (200, 201), out
    assert c["password"] not in json.dumps(out)

    # the initial sync
    status, out = api.call("POST", f"{RT}/sync")
    assert status == 202, out
    out = converged(api)
    assert (out["status"]["phase"], out["status"]["synced_commit"]) == ("synced", first), out["status"]
    assert values_of(api, "web") == ({"greeting": "hello"}, 1, "deployed")
    # the chart built from the repository is not an uploaded chart: not searched, not shown, not downloadable
    status, found = api.call("GET", "/v1/charts?q=demo&versions=true")
    assert status == 200 and not [c for c in found["charts"] if "-rt-" in c["version"]], found
    status, shown = api.call("GET", "/v1/charts/uploaded/demo")  # the stack is shared: test_cli uploads a demo
    assert status == 404 or (status == 200 and "-rt-" not in shown["version"]), shown
    status, err = api.call(
        "POST", REL, {"name": "copy", "chart": "runtime/demo", "version": "0.1.0"}
    )  # no door may name it
    assert status == 422 and err["error"]["details"]["field"] == "chart", err

    # a values change: an upgrade in the plan, applied by the schedule
    second = push(stack, {"apps/values/web.yaml": "greeting: hi\n"}, "greeting hi")
    status, plan = api.call("POST", f"{RT}/plan")
    assert status == 200 and plan["commit"] == second, plan
    [web] = plan["releases"]
    assert web["action"] == "upgrade" and web["summary"]["changed"] == 1, web
    [cm] = [o for o in web["objects"] if o["change"] == "changed"]
    assert cm["kind"] == "ConfigMap" and '-  greeting: "hello"' in cm["diff"] and '+  greeting: "hi"' in cm["diff"]
    schedule(stack)
    out = converged(api)
    assert out["status"]["synced_commit"] == second, out["status"]
    assert values_of(api, "web") == ({"greeting": "hi"}, 2, "deployed")

    # a new release, announced by a push webhook (GitHub's signature)
    third = push(stack, {"apps/releases.yaml": releases(charts.url("demo-0.2.0.tgz"))}, "cache")
    event = json.dumps({"ref": "refs/heads/main", "after": third}).encode()
    assert webhook(stack, event, "not-the-secret-0123456") == 401
    assert webhook(stack, event, SECRET) == 202
    out = converged(api)
    assert out["status"]["synced_commit"] == third, out["status"]
    cache_values = {"replicas": 2, "port": "22:22", "flag": True, "when": "2024-01-01"}
    assert values_of(api, "cache") == (cache_values, 1, "deployed")
    assert values_of(api, "web")[1] == 2  # unchanged: not upgraded again

    # removed from the file: pruned
    fourth = push(stack, {"apps/releases.yaml": releases(None)}, "no cache")
    schedule(stack)
    out = converged(api)
    assert (
        out["status"]["synced_commit"] == fourth and out["status"]["releases"][f"{NS}/cache"]["state"] == "uninstalled"
    )
    assert api.call("GET", f"{REL}/cache")[1]["status"] == "uninstalled"

    # a broken commit changes nothing and says why
    push(stack, {"apps/releases.yaml": "releases:\n- name: web\n  chart: [\n"}, "broken")
    schedule(stack)
    out = converged(api)
    assert out["status"]["phase"] == "error" and out["status"]["synced_commit"] == fourth, out["status"]
    assert "releases.yaml" in out["status"]["last_error"]["message"]
    assert values_of(api, "web") == ({"greeting": "hi"}, 2, "deployed")

    # forget it, uninstalling what it installed
    status, out = api.call("DELETE", f"{RT}?prune=true")
    assert status == 200 and [o["release"]["name"] for o in out["operations"]] == ["web"], out
    assert api.wait(out["operations"][0])["status"] == "succeeded"


def test_a_reviewed_plan_is_applied_exactly_or_refused_once_a_commit_was_pushed(api: Api, stack: Stack) -> None:
    """Plan, push, sync with the plan: 409 PlanStale naming the source commit, nothing applied; plan again and sync
    with that plan: the commit reviewed is the one deployed."""
    c = json.loads(stack.git_credentials_file.read_text())
    rt, ns = "/v1/runtimes/planned", "planned"
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: reviewed}}\ndata: {{greeting: {}}}\n"
    push(stack, {"planned/cm.yaml": cm.format("hello")}, "planned hello")
    git = {"url": c["url"], "revision": "main", "path": "planned", "username": c["username"], "password": c["password"]}
    body = {"source": {"git": git}, "destination": {"cluster": "local", "namespaces": [ns]}, "sync": {"suspend": True}}
    status, out = api.call("PUT", rt, body)
    assert status in (200, 201), out
    status, reviewed = api.call("POST", f"{rt}/plan")
    assert status == 200 and reviewed["plan"]["id"].startswith("plan-"), reviewed

    second = push(stack, {"planned/cm.yaml": cm.format("bonjour")}, "planned bonjour")  # pushed after the review
    status, err = api.call("POST", f"{rt}/sync", {"plan": reviewed["plan"]["id"]})
    assert status == 409 and err["error"]["code"] == "PlanStale", err
    assert err["error"]["details"]["changed"][0] == "source commit", err
    assert api.call("GET", f"/v1/clusters/local/namespaces/{ns}/releases/planned")[0] == 404  # nothing applied

    status, reviewed = api.call("POST", f"{rt}/plan")
    assert status == 200 and reviewed["commit"] == second, reviewed
    status, out = api.call("POST", f"{rt}/sync", {"plan": reviewed["plan"]["id"]})
    assert status == 202, out
    deadline = time.monotonic() + 180
    while out["status"]["phase"] == "syncing" and time.monotonic() < deadline:
        time.sleep(0.3)
        out = api.call("GET", rt)[1]
    assert (out["status"]["phase"], out["status"]["synced_commit"]) == ("synced", second), out["status"]
    status, rel = api.call("GET", f"/v1/clusters/local/namespaces/{ns}/releases/planned?info=manifest")
    assert status == 200 and "greeting: bonjour" in rel["manifest"], rel
    status, out = api.call("DELETE", f"{rt}?prune=true")
    assert status == 200 and api.wait(out["operations"][0])["status"] == "succeeded", out


def test_the_nautes_seed_request_creates_a_runtime_that_syncs(api: Api, stack: Stack) -> None:
    """The seed's example request, with the local Git repository as ``code_repo`` and the local cluster as the
    environment: a directory of plain manifests becomes one release, synced at once."""
    c = json.loads(stack.git_credentials_file.read_text())
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: api-settings\ndata:\n  level: '{{ debug }}'\n"
    commit = push(stack, {"manifests/development/settings.yaml": manifest}, "nautes manifests")
    repo = {"url": c["url"], "username": c["username"], "password": c["password"]}
    status, out = api.call("PUT", "/v1/git-repositories/api-server", repo)
    assert status in (200, 201) and c["password"] not in json.dumps(out), out
    seed = {
        "projects_ref": ["api-server"],
        "manifest_source": {"code_repo": "api-server", "target_revision": "HEAD", "path": "manifests/development"},
        "destination": {"environment": "local", "namespaces": ["dr-dev"]},
    }
    status, out = api.call("POST", "/api/v1/products/nautes-labs/deploymentruntimes/dr-dev", seed)
    assert status == 200 and out["manifest_source"] == seed["manifest_source"], out
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status, rt = api.call("GET", "/v1/runtimes/nautes-labs-dr-dev")
        if rt["status"]["phase"] != "syncing":
            break
        time.sleep(0.3)
    assert (rt["status"]["phase"], rt["status"]["synced_commit"]) == ("synced", commit), rt["status"]
    status, rel = api.call("GET", "/v1/clusters/local/namespaces/dr-dev/releases/nautes-labs-dr-dev?info=manifest")
    assert status == 200 and "level: '{{ debug }}'" in rel["manifest"], rel
    status, listed = api.call("GET", "/api/v1/products/nautes-labs/deploymentruntimes")
    assert [i["name"] for i in listed["items"]] == ["dr-dev"]
    status, _ = api.call("DELETE", "/api/v1/products/nautes-labs/deploymentruntimes/dr-dev")
    assert status == 200


class Capture(BaseHTTPRequestHandler):
    """Another origin: records the Authorization header of every request, answers 404 (it is no Git server)."""

    seen: list[str | None] = []

    def do_GET(self) -> None:
        Capture.seen.append(self.headers.get("Authorization"))
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args: Any) -> None:
        pass


def test_git_sources_are_refused_from_outside(api: Api, stack: Stack) -> None:
    """Stored credentials never follow the URL to another origin; a URL that is not a Git repository is a 422
    naming source.git.url; an unreachable host a 502."""
    c = json.loads(stack.git_credentials_file.read_text())
    secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: hunter2-in-git}\n"
    push(stack, {"apps/releases.yaml": "releases: []\n", "plain/db.yaml": secret}, "empty")
    rt = "/v1/runtimes/gitsec"
    git = {"url": c["url"], "revision": "main", "path": "apps", "username": c["username"], "password": c["password"]}
    body: dict[str, Any] = {"source": {"git": git}, "destination": {"cluster": "local", "namespaces": ["gitsec"]}}
    status, out = api.call("PUT", rt, body)
    assert status in (200, 201) and out["source"]["git"]["credentials"] is True, out
    assert api.call("POST", f"{rt}/plan")[0] == 200

    # a plain-manifests source: the Secret it holds is masked where the built chart's content is shown
    status, out = api.call("PUT", rt, {**body, "source": {"git": {**git, "path": "plain"}}})
    assert status == 200, out
    status, plan = api.call("POST", f"{rt}/plan")
    assert status == 200 and plan["releases"][0]["action"] == "install", plan
    assert "hunter2-in-git" not in json.dumps(plan) and "<redacted>" in json.dumps(plan), plan

    other = ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        moved = {"url": f"http://127.0.0.1:{other.server_port}/team/deploy.git", "revision": "main", "path": "apps"}
        status, out = api.call("PUT", rt, {**body, "source": {"git": moved}})
        assert status == 200 and out["source"]["git"]["credentials"] is False, out
        status, err = api.call("POST", f"{rt}/plan")
        assert status == 422 and err["error"]["details"]["field"] == "source.git.url", err
        assert "not a Git repository" in err["error"]["message"]
        assert Capture.seen and all(h is None for h in Capture.seen), Capture.seen
    finally:
        other.shutdown()

    # the same origin keeps them: the same repository's URL written otherwise (the server wants them)
    assert api.call("PUT", rt, body)[0] == 200
    same = {k: v for k, v in git.items() if k not in ("username", "password")}
    same["url"] = c["url"].rstrip("/") + "/"
    status, out = api.call("PUT", rt, {**body, "source": {"git": same}})
    assert status == 200 and out["source"]["git"]["credentials"] is True, out
    status, plan = api.call("POST", f"{rt}/plan")
    assert status == 200, plan

    # a host that does not answer
    closed = {"url": "http://127.0.0.1:9/deploy.git", "path": "apps"}
    assert api.call("PUT", rt, {**body, "source": {"git": closed}})[0] == 200
    status, err = api.call("POST", f"{rt}/plan")
    assert status == 502, err
    assert api.call("DELETE", rt)[0] == 200
