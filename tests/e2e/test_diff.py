"""``release diff`` with the real helm against the real cluster: a ConfigMap shows exactly its changed key, an
unchanged object shows nothing, a Secret's values never appear (a changed one is marked), and nothing is applied;
the same through ``charthouse release diff``; a rollback diff.

Runs once per helm major (see conftest's ``helm_major``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from devstack.stack import ROOT, Stack
from tests.e2e.conftest import Api, ChartServer, write_chart

pytestmark = pytest.mark.e2e
NS = "diffs"
REL = f"/v1/clusters/local/namespaces/{NS}/releases"
SECRET_TEMPLATE = """apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-creds
stringData:
  password: {{ .Values.password | quote }}
  user: admin
"""


def changed_lines(diff: str) -> list[str]:
    return [ln for ln in diff.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


def test_diff_shows_exactly_what_changes(api: Api, stack: Stack, charts: ChartServer, tmp_path: Path) -> None:
    src = write_chart(tmp_path, "secretive", "0.1.0")
    (src / "templates" / "secret.yaml").write_text(SECRET_TEMPLATE)
    chart = charts.package(src)
    body = {"chart": chart, "values": {"greeting": "hello", "password": "first-Pa55word"}, "create_namespace": True}
    done = api.run("POST", REL, {"name": "web", **body})
    assert done["status"] == "succeeded", done

    new = {"chart": chart, "values": {"greeting": "bonjour", "password": "second-Pa55word"}}
    status, out = api.call("POST", f"{REL}/web/diff", new)
    assert status == 200, out
    by_kind = {o["kind"]: o for o in out["objects"]}
    assert changed_lines(by_kind["ConfigMap"]["diff"]) == ['-  greeting: "hello"', '+  greeting: "bonjour"']
    assert by_kind["Service"]["change"] == "unchanged" and "diff" not in by_kind["Service"]
    assert by_kind["Secret"]["change"] == "changed"
    assert changed_lines(by_kind["Secret"]["diff"]) == ["-  password: <redacted>", "+  password: <redacted> (changed)"]
    assert "Pa55word" not in str(out)
    status, rel = api.call("GET", f"{REL}/web?info=values")
    assert (rel["revision"], rel["values"]["greeting"]) == (1, "hello")  # nothing applied

    # the CLI prints the same diffs; --exit-code says something would change
    cli = subprocess.run(
        [
            str(ROOT / ".venv/bin/charthouse"),
            "--endpoint",
            stack.api,
            "--token",
            stack.token,
            "release",
            "diff",
            "web",
            chart,
            "-n",
            NS,
            "--set",
            "greeting=bonjour",
            "--set",
            "password=first-Pa55word",
            "--exit-code",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 1, cli.stderr
    assert '+  greeting: "bonjour"' in cli.stdout and "Pa55word" not in cli.stdout + cli.stderr

    # a rollback diff, after an upgrade
    assert api.run("PUT", f"{REL}/web", new)["status"] == "succeeded"
    status, back = api.call("POST", f"{REL}/web/rollback/diff", {"revision": 1})
    assert status == 200 and (back["from_revision"], back["to_revision"]) == (2, 1), back
    cm = next(o for o in back["objects"] if o["kind"] == "ConfigMap")
    assert changed_lines(cm["diff"]) == ['-  greeting: "bonjour"', '+  greeting: "hello"']
    assert "Pa55word" not in str(back)
    assert api.run("DELETE", f"{REL}/web")["status"] == "succeeded"


def test_a_reviewed_plan_is_applied_exactly_or_refused(api: Api, charts: ChartServer, tmp_path: Path) -> None:
    """Real helm: the diff's plan applies exactly its request; after another upgrade the same kind of plan is
    refused naming the revision, and nothing changes; the three-way values view masks the password."""
    chart = charts.package(write_chart(tmp_path, "planned", "0.1.0"))
    first = {"greeting": "hello", "password": "first-Pa55word"}
    done = api.run("POST", REL, {"name": "plan", "chart": chart, "values": first, "create_namespace": True})
    assert done["status"] == "succeeded", done

    status, out = api.call("POST", f"{REL}/plan/diff", {"chart": chart, "values": {**first, "greeting": "hi"}})
    assert status == 200 and out["plan"]["id"].startswith("plan-"), out
    view = out["values"]
    assert view["chart_defaults"] == {"greeting": "hello", "replicas": 1}
    assert (view["deployed"]["greeting"], view["proposed"]["greeting"]) == ("hello", "hi")
    assert "Pa55word" not in str(out)
    assert api.run("PUT", f"{REL}/plan", {"plan": out["plan"]["id"]})["status"] == "succeeded"
    status, rel = api.call("GET", f"{REL}/plan?info=values")
    assert (rel["revision"], rel["values"]["greeting"]) == (2, "hi")

    status, later = api.call("POST", f"{REL}/plan/diff", {"chart": chart, "values": {"greeting": "salut"}})
    assert status == 200, later
    assert api.run("PUT", f"{REL}/plan", {"chart": chart, "values": {"greeting": "hola"}})["status"] == "succeeded"
    status, err = api.call("PUT", f"{REL}/plan", {"plan": later["plan"]["id"]})
    assert status == 409 and err["error"]["code"] == "PlanStale" and err["error"]["details"]["changed"] == ["revision"]
    status, rel = api.call("GET", f"{REL}/plan")
    assert rel["revision"] == 3
    assert api.run("DELETE", f"{REL}/plan")["status"] == "succeeded"
