"""The ``charthouse`` command end to end: the installed console script, as a user runs it, against the whole
local stack (real helm, real kube-apiserver), once per helm major. What the CLI claims is checked against the
cluster itself (helm's own view and the objects it created)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from devstack.stack import ROOT, Stack, request
from tests.e2e.conftest import ChartServer, free_port, helm_cli

pytestmark = pytest.mark.e2e
NS = "cli"
CONSOLE_SCRIPT = ROOT / ".venv" / "bin" / "charthouse"
CONFIG_HOME = Path(tempfile.mkdtemp(prefix="charthouse-e2e-config-"))  # never the user's contexts


def cli_env(stack: Stack | None, endpoint: str | None = None, token: str | None = None) -> dict[str, str]:
    """The environment of a user of this stack: its endpoint and admin token, no other CHARTHOUSE_* setting, a
    configuration and cache of their own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTHOUSE_")}
    env["CHARTHOUSE_ENDPOINT"] = endpoint or (stack.api if stack else "")
    env["CHARTHOUSE_TOKEN"] = token if token is not None else (stack.token if stack else "")  # default: the admin
    env["PYTHONPATH"] = str(ROOT)  # for the python -m fallback; the cwd is a temp dir (no .local/token)
    env["XDG_CONFIG_HOME"] = str(CONFIG_HOME / "config")
    env["XDG_CACHE_HOME"] = str(CONFIG_HOME / "cache")
    return env


def charthouse(
    stack: Stack | None,
    *args: str,
    cwd: Path,
    stdin: str | None = None,
    endpoint: str | None = None,
    token: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would: the console script ``make setup`` installs (else ``python -m``)."""
    argv = [str(CONSOLE_SCRIPT)] if CONSOLE_SCRIPT.exists() else [sys.executable, "-m", "charthouse_cli"]
    env = cli_env(stack, endpoint, token)
    return subprocess.run([*argv, *args], env=env, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=300)


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return done.stdout


def configmap(stack: Stack, name: str) -> dict[str, str] | None:
    """The ConfigMap the demo chart renders, read straight from the cluster (None when it is gone)."""
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException

    api = config.new_client_from_config(str(stack.cfg.state_dir / "kubeconfig"))
    try:
        with api:
            return dict(client.CoreV1Api(api).read_namespaced_config_map(name, NS).data or {})
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "base.yaml").write_text("greeting: hello\nreplicas: 2\n")
    (tmp_path / "a.yaml").write_text("greeting: bonjour\nreplicas: 4\n")
    (tmp_path / "b.yaml").write_text("greeting: salut\n")
    return tmp_path


def test_release_lifecycle_through_the_cli(stack: Stack, charts: ChartServer, work: Path) -> None:
    chart1, chart2 = charts.url("demo-0.1.0.tgz"), charts.url("demo-0.2.0.tgz")

    # clusters
    assert "local" in ok(charthouse(stack, "cluster", "list", cwd=work)).split()
    clusters = json.loads(ok(charthouse(stack, "cluster", "list", "-o", "json", cwd=work)))
    assert "local" in [c["name"] for c in clusters["clusters"]]
    shown = ok(charthouse(stack, "cluster", "show", "local", cwd=work))
    assert "REACHABLE:" in shown and "true" in shown

    # create waits for the operation: when it returns, helm has the release and the cluster the objects
    done = charthouse(
        stack,
        "release",
        "create",
        "web",
        chart1,
        "-n",
        NS,
        "--create-namespace",
        "-f",
        "base.yaml",
        "--set",
        "replicas=3",
        cwd=work,
    )
    out = ok(done)
    assert "succeeded" in out and "REVISION:" in out
    assert "install" in done.stderr  # progress (plain lines: not a terminal)
    assert configmap(stack, "web-config") == {"greeting": "hello", "replicas": "3"}
    assert json.loads(helm_cli(stack, "status", "web", "-n", NS, "-o", "json"))["info"]["status"] == "deployed"

    # show: a table for people, JSON for scripts
    table = ok(charthouse(stack, "release", "show", "web", "-n", NS, cwd=work))
    assert "STATUS:" in table and "deployed" in table and "demo-0.1.0" in table
    rel = json.loads(
        ok(charthouse(stack, "release", "show", "web", "-n", NS, "-o", "json", "--info", "values", cwd=work))
    )
    assert (rel["status"], rel["revision"], rel["values"]) == ("deployed", 1, {"greeting": "hello", "replicas": 3})

    # upgrade: two -f files merged in order (b's greeting wins), then --set over them
    ok(
        charthouse(
            stack,
            "release",
            "upgrade",
            "web",
            chart2,
            "-n",
            NS,
            "-f",
            "a.yaml",
            "-f",
            "b.yaml",
            "--set",
            "replicas=5",
            "--description",
            "second",
            cwd=work,
        )
    )
    assert configmap(stack, "web-config") == {"greeting": "salut", "replicas": "5"}
    values = json.loads(helm_cli(stack, "get", "values", "web", "-n", NS, "-o", "json"))
    assert values == {"greeting": "salut", "replicas": 5}

    # history: the CLI's view equals helm's
    hist = json.loads(ok(charthouse(stack, "release", "history", "web", "-n", NS, "-o", "json", cwd=work)))
    assert [(h["revision"], h["status"]) for h in hist["history"]] == [(2, "deployed"), (1, "superseded")]
    helm_hist = json.loads(helm_cli(stack, "history", "web", "-n", NS, "-o", "json"))
    assert sorted((h["revision"], h["status"]) for h in helm_hist) == [(1, "superseded"), (2, "deployed")]
    lines = ok(charthouse(stack, "release", "history", "web", "-n", NS, cwd=work)).splitlines()
    assert lines[0].split()[:3] == ["REVISION", "UPDATED", "STATUS"] and lines[1].split()[0] == "2"

    # rollback to the previous revision restores revision 1's values in the cluster
    ok(charthouse(stack, "release", "rollback", "web", "-n", NS, cwd=work))
    assert configmap(stack, "web-config") == {"greeting": "hello", "replicas": "3"}
    assert json.loads(helm_cli(stack, "status", "web", "-n", NS, "-o", "json"))["version"] == 3

    # list for scripts
    listed = json.loads(ok(charthouse(stack, "release", "list", "-n", NS, "-o", "json", cwd=work)))
    assert [(r["name"], r["revision"], r["status"], r["chart_version"]) for r in listed["releases"]] == [
        ("web", 3, "deployed", "0.1.0")
    ]
    everywhere = yaml.safe_load(
        ok(charthouse(stack, "release", "list", "-A", "--search", "we", "-o", "yaml", cwd=work))
    )
    assert ("local", NS, "web") in [(r["cluster"], r["namespace"], r["name"]) for r in everywhere["releases"]]

    # a second install of the same name is a conflict: exit 3, and nothing changed
    done = charthouse(stack, "release", "create", "web", chart2, "-n", NS, cwd=work)
    assert done.returncode == 3, done.stderr
    assert "ReleaseExists" in done.stderr and done.stdout == ""
    assert json.loads(helm_cli(stack, "status", "web", "-n", NS, "-o", "json"))["version"] == 3

    # operations: newest first; wait on a finished one answers at once
    ops = json.loads(ok(charthouse(stack, "operation", "list", "--release", "web", "-n", NS, "-o", "json", cwd=work)))
    assert [o["action"] for o in ops["operations"]][:3] == ["rollback", "upgrade", "install"]
    waited = json.loads(ok(charthouse(stack, "operation", "wait", ops["operations"][0]["id"], "-o", "json", cwd=work)))
    assert waited["status"] == "succeeded"

    # delete: gone from helm and from the cluster; the record stays, uninstalled
    ok(charthouse(stack, "release", "delete", "web", "-n", NS, cwd=work))
    assert configmap(stack, "web-config") is None
    assert "web" not in helm_cli(stack, "list", "-n", NS, "-q").split()
    rel = json.loads(ok(charthouse(stack, "release", "show", "web", "-n", NS, "-o", "json", cwd=work)))
    assert rel["status"] == "uninstalled"


def test_no_wait_then_operation_wait(stack: Stack, charts: ChartServer, work: Path) -> None:
    accepted = json.loads(
        ok(
            charthouse(
                stack,
                "release",
                "create",
                "later",
                charts.url("demo-0.1.0.tgz"),
                "-n",
                NS,
                "--create-namespace",
                "--no-wait",
                "-o",
                "json",
                cwd=work,
            )
        )
    )
    assert accepted["status"] in ("queued", "running") and accepted["id"]
    done = json.loads(ok(charthouse(stack, "operation", "wait", accepted["id"], "-o", "json", cwd=work)))
    assert done["status"] == "succeeded"
    assert configmap(stack, "later-config") == {"greeting": "hello", "replicas": "1"}
    ok(charthouse(stack, "release", "delete", "later", "-n", NS, cwd=work))


def test_exit_codes_for_failure_not_found_usage_and_no_connection(
    stack: Stack, charts: ChartServer, work: Path
) -> None:
    # the operation fails (no such chart): exit 1 with helm's reason, nothing in the cluster
    done = charthouse(
        stack, "release", "create", "ghost", charts.url("nothing-9.9.9.tgz"), "-n", NS, "--create-namespace", cwd=work
    )
    assert done.returncode == 1, done.stderr
    assert re.search(r"Chart\w*NotFound", done.stderr), done.stderr  # ChartNotFound / ChartVersionNotFound
    assert "ghost" not in helm_cli(stack, "list", "-A", "-q").split()
    # not found: 4
    done = charthouse(stack, "release", "show", "nobody", "-n", NS, cwd=work)
    assert done.returncode == 4 and "ReleaseNotFound" in done.stderr
    # usage errors: argparse (2), an unreadable values file (2), input the API refuses (2); no request made
    done = charthouse(stack, "release", "create", "only-a-name", cwd=work)
    assert done.returncode == 2 and "NAME CHART" in done.stderr
    done = charthouse(stack, "release", "upgrade", "x", charts.url("demo-0.1.0.tgz"), "--bogus-flag", cwd=work)
    assert done.returncode == 2 and "unrecognized arguments" in done.stderr
    (work / "list.yaml").write_text("- 1\n- 2\n")
    done = charthouse(stack, "release", "create", "bad", charts.url("demo-0.1.0.tgz"), "-f", "list.yaml", cwd=work)
    assert done.returncode == 2 and "must be a mapping" in done.stderr
    done = charthouse(stack, "release", "create", "Bad_Name", charts.url("demo-0.1.0.tgz"), cwd=work)
    assert done.returncode == 2 and "InvalidInput (422)" in done.stderr
    # nobody listening: 5
    done = charthouse(None, "cluster", "list", cwd=work, endpoint=f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 5 and "cannot connect" in done.stderr


SLOW_CHART = {
    "Chart.yaml": "apiVersion: v2\nname: slow\nversion: 0.1.0\n",
    "templates/deployment.yaml": """apiVersion: apps/v1
kind: Deployment
metadata: {name: {{ .Release.Name }}-slow}
spec:
  replicas: 1
  selector: {matchLabels: {app: {{ .Release.Name }}}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}}}
    spec: {containers: [{name: c, image: "registry.invalid/never:never-ready"}]}
""",
}


def test_a_locked_release_is_a_conflict_and_a_failed_operation_exits_1(
    stack: Stack, charts: ChartServer, work: Path
) -> None:
    src = work / "slow"
    for rel, text in SLOW_CHART.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    slow = charts.package(src)
    ok(
        charthouse(
            stack, "release", "create", "locked", charts.url("demo-0.1.0.tgz"), "-n", NS, "--create-namespace", cwd=work
        )
    )
    # helm --wait on a Deployment that never becomes ready (image tagged :never-ready): holds the release ~10 s
    held = json.loads(
        ok(
            charthouse(
                stack,
                "release",
                "upgrade",
                "locked",
                slow,
                "-n",
                NS,
                "--wait-ready",
                "--timeout",
                "10s",
                "--no-wait",
                "-o",
                "json",
                cwd=work,
            )
        )
    )
    done = charthouse(stack, "release", "upgrade", "locked", charts.url("demo-0.2.0.tgz"), "-n", NS, cwd=work)
    assert done.returncode == 3, done.stderr
    assert "ReleaseLocked (409)" in done.stderr and held["id"] in done.stderr
    # the held operation fails on helm's timeout: waiting on it exits 1 with the reason
    done = charthouse(stack, "operation", "wait", held["id"], cwd=work)
    assert done.returncode == 1, done.stderr
    assert "failed" in done.stdout and "upgrade local/cli/locked failed" in done.stderr
    status = json.loads(helm_cli(stack, "status", "locked", "-n", NS, "-o", "json"))
    assert (status["version"], status["info"]["status"]) == (2, "failed")
    ok(charthouse(stack, "release", "delete", "locked", "-n", NS, cwd=work))


def test_cluster_add_show_delete_keeps_the_token_secret(stack: Stack, work: Path) -> None:
    (work / "token").write_text("cli-secret-token-42\n")
    (work / "ca.pem").write_text(stack.kube.ca_pem())
    done = charthouse(
        stack,
        "cluster",
        "add",
        "cli-gone",
        "--server",
        f"https://127.0.0.1:{free_port()}",
        "--ca-file",
        "ca.pem",
        "--token-file",
        "token",
        "--description",
        "added by the CLI",
        cwd=work,
    )
    ok(done)
    assert "cli-secret-token-42" not in done.stdout + done.stderr
    shown = json.loads(ok(charthouse(stack, "cluster", "show", "cli-gone", "-o", "json", cwd=work)))
    assert shown["reachable"] is False and shown["description"] == "added by the CLI"
    assert "cli-secret-token-42" not in json.dumps(shown)
    ok(charthouse(stack, "cluster", "delete", "cli-gone", cwd=work))
    assert charthouse(stack, "cluster", "show", "cli-gone", cwd=work).returncode == 4


def assert_chart_routes(stack: Stack) -> None:
    """The repository and chart routes answer: a build or a stack without them fails here, never skips."""
    status, body = request("GET", stack.api + "/v1/repositories")
    assert status == 200, f"GET /v1/repositories answered {status}, not 200: {body}"


def assert_chart_storage(added: subprocess.CompletedProcess[str]) -> None:
    """A ``repo add`` that failed for want of chart storage names the cause: the stack must configure a bucket."""
    assert "no chart bucket" not in added.stderr, f"the stack configures no chart bucket: {added.stderr.strip()}"


def test_repositories_and_charts(stack: Stack, charts: ChartServer, work: Path) -> None:
    assert_chart_routes(stack)
    added = charthouse(stack, "repo", "add", "clirepo", charts.base_url, cwd=work)
    assert_chart_storage(added)
    ok(added)
    repos = json.loads(ok(charthouse(stack, "repo", "list", "-o", "json", cwd=work)))
    assert "clirepo" in [r["name"] for r in repos["repositories"]]
    ok(charthouse(stack, "repo", "refresh", "clirepo", cwd=work))
    found = json.loads(
        ok(charthouse(stack, "chart", "search", "demo", "--repo", "clirepo", "--versions", "-o", "json", cwd=work))
    )
    assert {("demo", "0.1.0"), ("demo", "0.2.0")} <= {(c["name"], c["version"]) for c in found["charts"]}
    defaults = ok(
        charthouse(stack, "chart", "show", "clirepo/demo", "--version", "0.1.0", "--info", "values", cwd=work)
    )
    assert yaml.safe_load(defaults) == {"greeting": "hello", "replicas": 1}

    ok(
        charthouse(
            stack,
            "release",
            "create",
            "fromrepo",
            "clirepo/demo",
            "--version",
            "0.2.0",
            "-n",
            NS,
            "--create-namespace",
            cwd=work,
        )
    )
    assert json.loads(helm_cli(stack, "status", "fromrepo", "-n", NS, "-o", "json"))["info"]["status"] == "deployed"
    ok(charthouse(stack, "release", "delete", "fromrepo", "-n", NS, cwd=work))

    archive = charts.www / "demo-0.1.0.tgz"
    up = json.loads(ok(charthouse(stack, "chart", "upload", str(archive), "-o", "json", cwd=work)))
    assert (up["repository"], up["name"], up["version"]) == ("uploaded", "demo", "0.1.0")
    ok(
        charthouse(
            stack,
            "release",
            "create",
            "fromupload",
            "uploaded/demo",
            "--version",
            "0.1.0",
            "-n",
            NS,
            "--create-namespace",
            cwd=work,
        )
    )
    assert configmap(stack, "fromupload-config") == {"greeting": "hello", "replicas": "1"}
    ok(charthouse(stack, "release", "delete", "fromupload", "-n", NS, cwd=work))
    # the large-file path: a presigned upload URL (never printed), then the upload is completed
    done = charthouse(
        stack, "chart", "upload", str(charts.www / "demo-0.2.0.tgz"), "--presigned", "-o", "json", cwd=work
    )
    up = json.loads(ok(done))
    assert (up["repository"], up["name"], up["version"]) == ("uploaded", "demo", "0.2.0")
    assert "X-Amz-" not in done.stdout + done.stderr and "Signature" not in done.stdout + done.stderr
    shown = json.loads(
        ok(charthouse(stack, "chart", "show", "uploaded/demo", "--version", "0.2.0", "-o", "json", cwd=work))
    )
    assert shown["chart"]["appVersion"] == "0.2.0-app"

    ok(charthouse(stack, "repo", "delete", "clirepo", cwd=work))
    assert charthouse(stack, "repo", "refresh", "clirepo", cwd=work).returncode == 4


def test_private_repository_credentials_stay_secret(
    stack: Stack, charts: ChartServer, work: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert_chart_routes(stack)
    private = ChartServer(
        tmp_path_factory.mktemp("private") / "www",
        stack.cfg.helm_binary,
        free_port(),
        username="ci",
        password="cli-pa55-word",
    )
    try:
        private.add(charts.www / "demo-0.1.0.tgz")
        refused = charthouse(stack, "repo", "add", "cliprivate", private.base_url, cwd=work)
        assert refused.returncode != 0, "the repository needs credentials"
        added = charthouse(
            stack,
            "repo",
            "add",
            "cliprivate",
            private.base_url,
            "--username",
            "ci",
            "--password-stdin",
            stdin="cli-pa55-word\n",
            cwd=work,
        )
        assert_chart_storage(added)
        ok(added)
        listed = ok(charthouse(stack, "repo", "list", "-o", "json", cwd=work))
        repo = next(r for r in json.loads(listed)["repositories"] if r["name"] == "cliprivate")
        assert repo["auth"]["basic"] is True
        found = json.loads(ok(charthouse(stack, "chart", "search", "--repo", "cliprivate", "-o", "json", cwd=work)))
        assert [(c["name"], c["version"]) for c in found["charts"]] == [("demo", "0.1.0")]
        for text in (added.stdout, added.stderr, listed, json.dumps(found)):
            assert "cli-pa55-word" not in text
        ok(charthouse(stack, "repo", "delete", "cliprivate", cwd=work))
    finally:
        private.close()


def test_a_local_chart_directory_is_packaged_uploaded_and_installed(stack: Stack, work: Path) -> None:
    """The issue's acceptance: `charthouse release create web ./examples/charts/hello`, nothing before it."""
    done = charthouse(
        stack, "release", "create", "localweb", "./examples/charts/hello", "-n", NS, "--create-namespace", cwd=ROOT
    )
    out = ok(done)
    assert "succeeded" in out
    assert "packaging ./examples/charts/hello" in done.stderr and "uploaded/hello 0.1.0" in done.stderr
    listed = json.loads(helm_cli(stack, "list", "-n", NS, "--filter", "^localweb$", "-o", "json"))
    assert [(r["status"], r["chart"]) for r in listed] == [("deployed", "hello-0.1.0")]
    # the same directory again: the same bytes, nothing new stored; upgraded with new values
    done = charthouse(
        stack, "release", "upgrade", "localweb", "examples/charts/hello", "-n", NS, "--set", "greeting=hi", cwd=ROOT
    )
    ok(done)
    assert "already stored (same bytes)" in done.stderr
    values = json.loads(helm_cli(stack, "get", "values", "localweb", "-n", NS, "-o", "json"))
    assert values == {"greeting": "hi"}

    # a chart of one's own, with a .helmignore, pushed as a directory then installed from its .tgz
    src = work / "mine"
    (src / "templates").mkdir(parents=True)
    (src / "Chart.yaml").write_text("apiVersion: v2\nname: mine\nversion: 0.4.2\n")
    (src / ".helmignore").write_text("*.bak\nscratch/\n")
    (src / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-mine\ndata: {a: b}\n"
    )
    (src / "templates" / "broken.yaml.bak").write_text("{{ this would not render }}")
    (src / "scratch").mkdir()
    (src / "scratch" / "notes.txt").write_text("ignored")
    pushed = json.loads(ok(charthouse(stack, "chart", "push", "mine", "-o", "json", cwd=work)))
    assert (pushed["repository"], pushed["name"], pushed["version"]) == ("uploaded", "mine", "0.4.2")
    ok(charthouse(stack, "release", "create", "localmine", "./mine", "-n", NS, cwd=work))
    assert configmap(stack, "localmine-mine") == {"a": "b"}
    manifest = helm_cli(stack, "get", "manifest", "localmine", "-n", NS)
    assert "this would not render" not in manifest

    # errors a person can act on, before anything is sent
    done = charthouse(stack, "release", "create", "nothing", "./examples/charts/hellp", "-n", NS, cwd=ROOT)
    assert done.returncode == 2 and "did you mean ./examples/charts/hello?" in done.stderr
    done = charthouse(stack, "release", "create", "nothing", "web-9.9.9.tgz", "-n", NS, cwd=work)
    assert done.returncode == 2 and "no such file or directory" in done.stderr

    # --watch, not on a terminal: the release once (it does not change), until Ctrl-C, which exits 0
    proc = subprocess.Popen(
        [str(CONSOLE_SCRIPT), "release", "get", "localweb", "-n", NS, "--watch", "--interval", "1"],
        env=cli_env(stack),
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = [proc.stdout.readline() for _ in range(3)]
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert first[0].startswith("--- ") and "localweb" in "".join(first) and "\x1b" not in "".join(first) + rest
    for name in ("localweb", "localmine"):
        ok(charthouse(stack, "release", "delete", name, "-n", NS, cwd=work))


def completion_script(shell: str, env: dict[str, str], cwd: Path) -> Path:
    script = cwd / f"charthouse.{shell}"
    done = subprocess.run([str(CONSOLE_SCRIPT), "completion", shell], env=env, capture_output=True, text=True)
    script.write_text(ok(done))
    return script


def complete_in(shell: str, script: Path, line: str, env: dict[str, str], cwd: Path) -> list[str]:
    """What ``shell``'s completion function (from ``charthouse completion SHELL``, in ``script``) offers for
    ``line``."""
    words = line.split(" ")
    if shell == "bash":
        words_array = " ".join(f"'{w}'" for w in words)
        probe = (
            f"source {script}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; COMP_WORDS=({words_array}); "
            f"COMP_CWORD={len(words) - 1}; _python_argcomplete charthouse; printf '%s\\n' \"${{COMPREPLY[@]}}\""
        )
        argv = ["bash", "--norc", "--noprofile", "-c", probe]
    elif shell == "zsh":
        # zsh's completion system hands the candidates to _describe; here it prints them instead
        probe = (
            "compdef() { : }; _describe() { local arr=$2; print -rl -- ${(P)arr} }; "
            f"source {script}; words=({' '.join(repr(w) for w in words)}); CURRENT={len(words)}; "
            f"BUFFER='{line}'; CURSOR=${{#BUFFER}}; _python_argcomplete"
        )
        argv = ["zsh", "-f", "-c", probe]
    else:
        argv = ["fish", "--no-config", "-c", f"source {script}; complete --do-complete '{line}'"]
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{shell}: {done.stderr}"
    # bash: "name " ; zsh: "name:description" ; fish: "name<TAB>description"
    return sorted({re.split(r"[\t:]", c.strip())[0] for c in done.stdout.splitlines() if c.strip()})


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_tab_completion_offers_real_release_names(stack: Stack, charts: ChartServer, work: Path, shell: str) -> None:
    for name in ("compl-alpha", "compl-beta"):
        if charthouse(stack, "release", "show", name, "-n", NS, cwd=work).returncode != 0:
            ok(
                charthouse(
                    stack,
                    "release",
                    "create",
                    name,
                    charts.url("demo-0.1.0.tgz"),
                    "-n",
                    NS,
                    "--create-namespace",
                    cwd=work,
                )
            )
    env = cli_env(stack)
    env["PATH"] = f"{CONSOLE_SCRIPT.parent}:{env.get('PATH', '/usr/bin:/bin')}"
    env["XDG_CACHE_HOME"] = str(work / "cache")  # a cold cache: the names come from the API
    script = completion_script(shell, env, work)
    got = complete_in(shell, script, f"charthouse release get -n {NS} compl-", env, work)
    assert got == ["compl-alpha", "compl-beta"]
    assert complete_in(shell, script, f"charthouse release rollback -n {NS} compl-alpha ", env, work) == ["1"]
    assert "local" in complete_in(shell, script, "charthouse release list -c ", env, work)
    assert complete_in(shell, script, "charthouse release cr", env, work) == ["create"]
    # an endpoint that is not there completes no names, and the shell gets its answer
    env["CHARTHOUSE_ENDPOINT"] = f"http://127.0.0.1:{free_port()}"
    env["XDG_CACHE_HOME"] = str(work / "cache-down")
    assert complete_in(shell, script, f"charthouse release get -n {NS} compl-", env, work) == []


def test_tokens_policies_and_the_audit_log(stack: Stack, charts: ChartServer, work: Path) -> None:
    """An admin makes a token and a policy with the CLI; the new principal is limited by it; the audit log shows
    its refused install."""
    token = ok(charthouse(stack, "token", "create", "cli-team", cwd=work)).strip()
    assert token.startswith("cht_") and token not in ok(charthouse(stack, "token", "list", cwd=work))
    policy = "principals: [token:cli-team]\nrules:\n- {verbs: [read]}\n- {verbs: [install], namespaces: [cli-team-*]}\n"
    ok(charthouse(stack, "policy", "put", "cli-team", "-f", "-", cwd=work, stdin=policy))
    assert "cli-team" in ok(charthouse(stack, "policy", "list", cwd=work))

    me = json.loads(ok(charthouse(stack, "whoami", "-o", "json", cwd=work, token=token)))
    assert me["id"] == "token:cli-team" and me["admin"] is False
    denied = charthouse(
        stack,
        "release",
        "create",
        "nope",
        charts.url("demo-0.1.0.tgz"),
        "-n",
        "kube-system",
        "--no-wait",
        cwd=work,
        token=token,
    )
    assert denied.returncode != 0 and "install" in denied.stderr and token not in denied.stderr + denied.stdout

    entries = json.loads(
        ok(charthouse(stack, "audit", "list", "--principal", "token:cli-team", "-o", "json", cwd=work))
    )["entries"]
    assert [(e["method"], e["result"]) for e in entries] == [("POST", "denied")], entries
    ok(charthouse(stack, "token", "delete", "cli-team", cwd=work))
    assert charthouse(stack, "whoami", cwd=work, token=token).returncode != 0  # the deleted token is refused
    ok(charthouse(stack, "policy", "delete", "cli-team", cwd=work))
