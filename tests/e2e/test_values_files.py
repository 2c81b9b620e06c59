"""``charthouse release create|upgrade -f a.yaml -f b.yaml`` gives what ``helm install|upgrade -f a.yaml -f b.yaml``
gives, once per helm major: the CLI sends the files' text, the service merges them in helm's YAML dialect.

The same chart is installed twice in the same cluster, once through the CLI and the stack, once with the raw helm
binary, and the two releases' user values (``helm get values``) and rendered ``.Values`` must be equal, for files
full of YAML 1.1 traps, anchors, aliases and ``<<`` merge keys, maps overridden in part and lists replaced. A values
file helm has no faithful reading for (``!!binary``, ``!!timestamp``) or that is not YAML is a 422 naming the file
and its line: exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.charts import ChartServer
from devstack.stack import ROOT, Stack
from tests.e2e.conftest import helm_cli

pytestmark = pytest.mark.e2e
NS = "values-files"
CONSOLE_SCRIPT = ROOT / ".venv" / "bin" / "charthouse"

CHART_VALUES = """\
image: {repository: nginx, tag: "1.25", pullPolicy: IfNotPresent}
resources: {limits: {cpu: 100m, memory: 64Mi}, requests: {cpu: 10m}}
ports: [{name: http, port: 80}, {name: https, port: 443}]
flags: {debug: false, verbose: false}
"""

A_YAML = """\
# YAML 1.1 traps, read as helm's go-yaml v2 reads them
traps:
  enabled: on
  legacy: yes
  answer: no
  short: y
  octal: 012345
  hex: 0x1F
  version: 1.10
  quoted: "1.10"
  sci: 1e3
  leading: 09
  sexagesimal: 22:22
  date: 2024-01-01
  tilde: ~
  equals: =
base: &base
  replicas: 2
  labels: {team: a, tier: web}
  ports: [80]
image: {tag: "1.26"}
resources: {limits: {memory: 128Mi}}
ports: [{name: metrics, port: 9090}]
"""

B_YAML = """\
defaults: &defaults
  replicas: 3
  labels: {team: b}
  ports: [443, 8443]
prod:
  <<: *defaults
  replicas: 5
canary:
  <<: [*defaults]
  labels: {team: c, canary: "true"}
copy: *defaults
flags: {debug: true}
base: {labels: {tier: api}, ports: []}
traps: {version: "2.0", octal: 0o17}
"""


def charthouse(stack: Stack, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would: the console script ``make setup`` installs (else ``python -m``)."""
    argv = [str(CONSOLE_SCRIPT)] if CONSOLE_SCRIPT.exists() else [sys.executable, "-m", "charthouse_cli"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTHOUSE_")}
    env.update(CHARTHOUSE_ENDPOINT=stack.api, CHARTHOUSE_TOKEN=stack.token, PYTHONPATH=str(ROOT))
    return subprocess.run([*argv, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory, charts: ChartServer) -> tuple[Path, str]:
    """A chart that renders its whole ``.Values`` as JSON into a ConfigMap: its directory (for raw helm) and the
    URL of the same chart packaged on the stack's chart server (for charthouse)."""
    root = tmp_path_factory.mktemp("probe") / "valprobe"
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: valprobe\nversion: 0.1.0\n")
    (root / "values.yaml").write_text(CHART_VALUES)
    (root / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-values\n"
        "data:\n  values: {{ .Values | toJson | quote }}\n"
    )
    return root, charts.package(root)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "a.yaml").write_text(A_YAML)
    (tmp_path / "b.yaml").write_text(B_YAML)
    return tmp_path


def absolute(work: Path, args: list[str]) -> list[str]:
    """``-f name`` arguments with the names made absolute."""
    return [arg if arg == "-f" else str(work / arg) for arg in args]


def user_values(stack: Stack, release: str) -> Any:
    return json.loads(helm_cli(stack, "get", "values", release, "-n", NS, "-o", "json"))


def rendered_values(stack: Stack, release: str) -> Any:
    manifest = helm_cli(stack, "get", "manifest", release, "-n", NS)
    (cm,) = [doc for doc in yaml.safe_load_all(manifest) if doc and doc.get("kind") == "ConfigMap"]
    return json.loads(cm["data"]["values"])


def test_values_files_merge_like_helm(stack: Stack, probe: tuple[Path, str], work: Path) -> None:
    chart_dir, chart_url = probe
    files = ["-f", "a.yaml", "-f", "b.yaml"]  # the CLI runs in work/, raw helm gets the absolute paths
    ok(charthouse(stack, "release", "create", "ours", chart_url, "-n", NS, "--create-namespace", *files, cwd=work))
    helm_cli(stack, "install", "theirs", str(chart_dir), "-n", NS, "--create-namespace", *absolute(work, files))

    ours, theirs = user_values(stack, "ours"), user_values(stack, "theirs")
    assert ours == theirs
    # the traps were read as helm reads them (so the comparison above is not between two empty documents)
    assert theirs["traps"] == {
        "enabled": True,
        "legacy": True,
        "answer": False,
        "short": True,
        "octal": 15,  # b.yaml's 0o17 over a.yaml's 012345
        "hex": 31,
        "version": "2.0",
        "quoted": "1.10",
        "sci": 1000,
        "leading": 9,
        "sexagesimal": "22:22",
        "date": "2024-01-01",
        "tilde": None,
        "equals": "=",
    }
    assert theirs["prod"] == {"replicas": 5, "labels": {"team": "b"}, "ports": [443, 8443]}
    assert theirs["canary"]["labels"] == {"team": "c", "canary": "true"}
    assert theirs["base"] == {"replicas": 2, "labels": {"team": "a", "tier": "api"}, "ports": []}  # list replaced
    assert rendered_values(stack, "ours") == rendered_values(stack, "theirs")
    rendered = rendered_values(stack, "ours")
    assert rendered["image"] == {"repository": "nginx", "tag": "1.26", "pullPolicy": "IfNotPresent"}  # in part
    assert rendered["ports"] == [{"name": "metrics", "port": 9090}]  # a list replaces the chart's list
    assert rendered["resources"] == {"limits": {"cpu": "100m", "memory": "128Mi"}, "requests": {"cpu": "10m"}}

    # upgrade, the files the other way round (a.yaml wins now)
    files = ["-f", "b.yaml", "-f", "a.yaml"]
    ok(charthouse(stack, "release", "upgrade", "ours", chart_url, "-n", NS, *files, cwd=work))
    helm_cli(stack, "upgrade", "theirs", str(chart_dir), "-n", NS, *absolute(work, files))
    assert user_values(stack, "ours") == user_values(stack, "theirs")
    assert user_values(stack, "ours")["traps"]["octal"] == 5349
    assert rendered_values(stack, "ours") == rendered_values(stack, "theirs")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("a: 1\nb: !!binary aGVsbG8=\n", "!!binary at line 2, column 4"),
        ("when:\n  - !!timestamp 2001-12-14t21:59:43.10-05:00\n", "!!timestamp at line 2, column 5"),
        ("a: [1, 2\nb: 3\n", "invalid YAML at line 2"),
    ],
    ids=["binary", "timestamp", "syntax"],
)
def test_a_values_file_helm_cannot_read_faithfully_is_a_422_naming_it(
    stack: Stack, probe: tuple[Path, str], work: Path, text: str, where: str
) -> None:
    (work / "bad.yaml").write_text(text)
    done = charthouse(
        stack, "release", "create", "refused", probe[1], "-n", NS, "-f", "a.yaml", "-f", "bad.yaml", cwd=work
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert "InvalidInput (422)" in done.stderr
    assert f'values_files[1]: "bad.yaml": {where}' in done.stderr
    listed = ok(charthouse(stack, "operation", "list", "--release", "refused", "-n", NS, "-o", "json", cwd=work))
    assert json.loads(listed)["operations"] == []  # refused before anything was queued
