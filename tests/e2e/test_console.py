"""The web console in a real browser (Debian's Chromium, headless, driven by playwright-core from
tests/e2e/browser/console.mjs) against the whole local stack: sign in, install from the schema-driven form, the
review of an upgrade (objects and three-way values, masked) applied as its plan, the diff between revisions, a
rollback's plan refused as stale after another upgrade then reviewed again and applied, uninstall; a failed install's
diagnosis; a principal limited to one namespace (no reveal; a plan the service does not know shown as expired);
NOTES holding <script>.

``CONSOLE_SHOTS=docs/console`` writes the README's screenshots while it runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from devstack.charts import ChartServer
from devstack.stack import ROOT, Stack, request
from tests.e2e.conftest import Api, write_chart

BROWSER_DIR = ROOT / "tests/e2e/browser"
CHROMIUM = Path("/usr/bin/chromium")
XSS_NOTES = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"> {{ .Release.Name }}\n'

pytestmark = pytest.mark.parametrize("helm_major", ["helm4"], indirect=True, scope="session")


def _tools() -> None:
    missing = [str(p) for p in (CHROMIUM, BROWSER_DIR / "node_modules/playwright-core") if not p.exists()]
    if missing or not shutil.which("node"):
        pytest.fail(f"missing {', '.join(missing) or 'node'}: run scripts/install-browser.sh (make setup does)")


def test_console_in_a_browser(stack: Stack, api: Api, charts: ChartServer, tmp_path: Path) -> None:
    _tools()
    # a repository holding demo 0.1.0/0.2.0 (with values.schema.json), and a chart whose NOTES hold markup
    xss = write_chart(tmp_path, "notes-xss", "1.0.0")
    (xss / "templates" / "NOTES.txt").write_text(XSS_NOTES)
    xss_url = charts.package(xss)  # installed in the browser, by its URL
    assert api.call("PUT", "/v1/repositories/console", {"url": charts.base_url})[0] in (200, 201)
    body = {"name": "team-web", "chart": "console/demo", "create_namespace": True}
    op = api.run("POST", f"/v1/clusters/{stack.cfg.cluster}/namespaces/team-a/releases", body)
    assert op["status"] == "succeeded", op
    # a principal that may read and upgrade in team-a only
    status, created = request("POST", f"{stack.api}/v1/tokens", {"name": "console-team"})
    assert status == 201, created
    rules = [{"verbs": ["read", "upgrade"], "clusters": ["*"], "namespaces": ["team-a"]}]
    policy = {"principals": ["token:console-team"], "rules": rules}
    assert request("PUT", f"{stack.api}/v1/policies/console-team", policy)[0] in (200, 201)

    # a failed install to diagnose: a crash loop (the web app's image tagged :fail), helm's wait cut short
    failing = {"name": "console-crash", "chart": stack.example_charts["webapp"], "create_namespace": True}
    failing |= {"values": {"image": {"tag": "fail"}, "replicaCount": 2}, "wait": True, "timeout": 4}
    failed = api.run("POST", f"/v1/clusters/{stack.cfg.cluster}/namespaces/console-crash/releases", failing)
    assert failed["status"] == "failed", failed
    diagnosis = failed["error"]["details"]["diagnosis"]

    scenario = {
        "base": stack.api,
        "admin_token": stack.token,
        "team_token": created["token"],
        "cluster": stack.cfg.cluster,
        "repository": "console",
        "chart": "demo",
        "release": "console-web",
        "team_release": "team-web",
        "xss_release": "xss",
        "xss_namespace": "console-xss",
        "xss_chart": xss_url,
        "chromium": str(CHROMIUM),
        "failed_operation": failed["id"],
        "failed_summary": diagnosis["summary"],
        "failed_pods": [p["name"] for p in diagnosis["pods"]],
    }
    shots = os.environ.get("CONSOLE_SHOTS", "")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "CONSOLE_SCENARIO": json.dumps(scenario),
        "CONSOLE_SHOTS": str(ROOT / shots) if shots else "",
        "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1",
    }
    done = subprocess.run(
        ["node", "console.mjs"], cwd=BROWSER_DIR, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert "ok: every step passed" in done.stdout
