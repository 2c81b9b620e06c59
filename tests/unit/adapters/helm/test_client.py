"""``HelmCli`` glued to a stand-in helm binary (a shell script that records its argv and the files helm would read):
each verb runs in a fresh work directory with the values in a file, picks its flags by the helm major read from
``helm version``, and reads helm's output; errors come back typed and scrubbed. The real binaries of both majors run
in the e2e suite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib import errors
from chalicelib.adapters.helm.argv import LocalChart
from chalicelib.adapters.helm.client import HelmCli
from chalicelib.adapters.helm.workdir import Workdir
from chalicelib.domain.models import (
    ChartSpec,
    InstallSpec,
    ReleaseRef,
    ReleaseTestSpec,
    RollbackSpec,
    UninstallSpec,
    UpgradeSpec,
)

REF = ReleaseRef("c1", "apps", "web")
CHART = "https://charts.example.com/demo-1.0.0.tgz"
KUBECONFIG = "apiVersion: v1\nkind: Config\n"

STATUS = {
    "name": "web",
    "hooks": [{"name": "web-test", "kind": "Pod", "events": ["test"], "last_run": {"phase": "Failed"}}],
}

SCRIPT = """#!/bin/sh
# a stand-in for helm: records each call, answers like helm would
{ echo "ARGV $*"; echo "CWD $PWD"; echo "KUBECONFIG $(cat "$KUBECONFIG")"; } >> @LOG@
[ -f values.json ] && echo "VALUES $(cat values.json)" >> @LOG@
case "$1" in
  version) echo "@VERSION@" ;;
  install|upgrade)
    if [ -n "@FAIL@" ]; then echo "Error: INSTALLATION FAILED: execution error at (demo/templates/x.yaml:3:4): @FAIL@" >&2; exit 1; fi
    echo "Release \\"web\\" does not exist. Installing it now."; echo '{"name": "web", "version": 1}' ;;
  status) echo '@STATUS@' ;;
  history) echo '[{"revision": 1}, {"revision": 2}]' ;;
  list) echo '[{"name": "a"}, 7]' ;;
  get) if [ "$2" = values ]; then echo '{"replicas": 2}'; else echo "kind: ConfigMap"; fi ;;
  test) if [ -n "@FAIL@" ]; then echo "Error: pod web-test failed" >&2; exit 1; fi ;;
  template) echo 'name: "rendered-web"' ;;
esac
"""


class Stand:
    """A stand-in binary and what it recorded."""

    def __init__(self, tmp_path: Path, version: str = "v3.15.4", fail: str = "") -> None:
        self.log = tmp_path / "calls.log"
        self.binary = tmp_path / "helm"
        fills = {"@LOG@": str(self.log), "@VERSION@": version, "@FAIL@": fail, "@STATUS@": json.dumps(STATUS)}
        script = SCRIPT
        for placeholder, text in fills.items():
            script = script.replace(placeholder, text)
        self.binary.write_text(script)
        self.binary.chmod(0o755)

    def calls(self, kind: str = "ARGV") -> list[str]:
        if not self.log.exists():
            return []
        return [line.split(" ", 1)[1] for line in self.log.read_text().splitlines() if line.startswith(kind + " ")]

    def verbs(self) -> list[str]:
        return [c.split(" ", 1)[0] for c in self.calls()]


@pytest.mark.parametrize(
    ("version", "wait", "server_side"), [("v3.15.4", "--wait", False), ("v4.0.1", "--wait=watcher", True)]
)
def test_install_picks_the_flags_of_the_major_it_finds(
    tmp_path: Path, version: str, wait: str, server_side: bool
) -> None:
    stand = Stand(tmp_path, version)
    cli = HelmCli(str(stand.binary), server_side="true")
    out = cli.install(KUBECONFIG, REF, InstallSpec(chart=CHART, wait=True, values={"replicas": 3}))
    assert out == {"name": "web", "version": 1}  # the object after helm's progress line
    install = stand.calls()[-1].split()
    assert install[0] == "install" and wait in install and ("--server-side=true" in install) is server_side
    assert install[install.index("--values") + 1] == "values.json"
    assert json.loads(stand.calls("VALUES")[-1]) == {"replicas": 3}  # the values travel in the file, never argv
    assert "3" not in install[install.index("--values") :][:2]
    assert stand.calls("KUBECONFIG")[-1] == "apiVersion: v1"  # first line of the kubeconfig written for helm
    cli.upgrade(KUBECONFIG, REF, UpgradeSpec(chart=CHART))
    assert stand.verbs().count("version") == 1  # the major is read once per client


def test_every_call_runs_in_a_fresh_directory_removed_after(tmp_path: Path) -> None:
    stand = Stand(tmp_path)
    cli = HelmCli(str(stand.binary))
    cli.status(KUBECONFIG, REF)
    cli.history(KUBECONFIG, REF)
    dirs = stand.calls("CWD")
    assert len(set(dirs)) == len(dirs) == 2
    assert not any(Path(d).exists() for d in dirs)


def test_an_unreadable_version_is_helm_missing(tmp_path: Path) -> None:
    cli = HelmCli(str(Stand(tmp_path, version="garbage").binary))
    with pytest.raises(errors.HelmMissing, match="could not read the helm version"):
        cli.install(KUBECONFIG, REF, InstallSpec(chart=CHART))
    assert cli.version == "garbage"


def test_a_failed_install_is_typed_and_never_shows_a_secret_value(tmp_path: Path) -> None:
    stand = Stand(tmp_path, fail="password hunter2-secret is too short")
    cli = HelmCli(str(stand.binary))
    spec = InstallSpec(chart=CHART, values={"db": {"password": "hunter2-secret"}})
    with pytest.raises(errors.InvalidInput) as err:
        cli.install(KUBECONFIG, REF, spec)
    assert err.value.field == "values" and "hunter2-secret" not in str(err.value)


class FetchedCharts:
    """A ``ChartSource`` that 'fetches' into the work directory."""

    def __init__(self) -> None:
        self.specs: list[ChartSpec] = []

    def materialize(self, spec: ChartSpec, workdir: Workdir) -> LocalChart:
        self.specs.append(spec)
        return LocalChart(str(workdir.write("demo-1.0.0.tgz", "archive")))


def test_a_fetched_chart_is_installed_from_the_work_directory(tmp_path: Path) -> None:
    stand = Stand(tmp_path)
    charts = FetchedCharts()
    cli = HelmCli(str(stand.binary), charts=charts)
    cli.install(KUBECONFIG, REF, InstallSpec(chart=CHART, version="^1"))
    argv = stand.calls()[-1].split()
    assert charts.specs[0].chart == CHART
    assert argv[-1] == str(Path(stand.calls("CWD")[-1]) / "demo-1.0.0.tgz") and "--version" not in argv


def test_rollback_and_uninstall(tmp_path: Path) -> None:
    stand = Stand(tmp_path, "v4.0.0")
    cli = HelmCli(str(stand.binary))
    cli.rollback(KUBECONFIG, REF, RollbackSpec(revision=2, force=True, timeout_s=30))
    cli.uninstall(KUBECONFIG, REF, UninstallSpec(keep_history=True, timeout_s=30))
    rollback, uninstall = stand.calls()[-2].split(), stand.calls()[-1].split()
    assert rollback[0] == "rollback" and rollback[-3:] == ["--", "web", "2"] and "--force-replace" in rollback
    assert uninstall[0] == "uninstall" and "--keep-history" in uninstall


def test_test_returns_the_hooks_results_and_attaches_them_to_a_failure(tmp_path: Path) -> None:
    expected = [{"name": "web-test", "kind": "Pod", "phase": "Failed", "started_at": None, "completed_at": None}]
    (tmp_path / "ok").mkdir()
    (tmp_path / "fail").mkdir()
    passing = Stand(tmp_path / "ok")
    assert HelmCli(str(passing.binary)).test(KUBECONFIG, REF, ReleaseTestSpec(timeout_s=30)) == expected
    assert passing.verbs() == ["test", "status"]
    failing = Stand(tmp_path / "fail", fail="yes")
    with pytest.raises(errors.HelmError) as err:
        HelmCli(str(failing.binary)).test(KUBECONFIG, REF, ReleaseTestSpec(timeout_s=30))
    assert err.value.details["tests"] == expected and "web-test failed" in str(err.value)
    assert failing.verbs() == ["test", "status"]


def test_reads(tmp_path: Path) -> None:
    cli = HelmCli(str(Stand(tmp_path).binary))
    assert cli.status(KUBECONFIG, REF) == STATUS
    assert cli.history(KUBECONFIG, REF) == [{"revision": 1}, {"revision": 2}]
    assert cli.get(KUBECONFIG, REF, "values", 1) == {"replicas": 2}
    assert cli.get(KUBECONFIG, REF, "manifest", None) == "kind: ConfigMap\n"
    assert cli.list_releases(KUBECONFIG) == [{"name": "a"}]  # what is not a release is dropped
    with pytest.raises(errors.InvalidInput):
        cli.get(KUBECONFIG, REF, "secrets", None)


def test_render_name(tmp_path: Path) -> None:
    stand = Stand(tmp_path)
    assert HelmCli(str(stand.binary)).render_name("{{ randAlpha 5 }}") == "rendered-web"
    argv = stand.calls()[-1].split(" ")
    assert argv[:3] == ["template", "--name-template", "{{"]


def test_render_name_without_a_name_is_invalid_input(tmp_path: Path) -> None:
    blank = tmp_path / "helm"
    blank.write_text("#!/bin/sh\necho 'nothing'\n")
    blank.chmod(0o755)
    with pytest.raises(errors.InvalidInput) as err:
        HelmCli(str(blank)).render_name("x")
    assert err.value.field == "name_template"
