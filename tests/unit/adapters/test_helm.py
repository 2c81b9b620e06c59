"""The helm adapter without helm: the pure argv builders, table by table, for both helm majors (install, upgrade,
rollback, uninstall, reads, list, pull, local charts); stderr classification; helm's JSON after progress lines;
the private work directory."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from chalicelib import errors
from chalicelib.adapters import helm
from chalicelib.adapters.helm import LocalChart, RegistryTls, _json, install_argv, list_all_argv, pull_argv
from chalicelib.domain.models import (
    InstallSpec,
    Limits,
    ReleaseRef,
    ReleaseTestSpec,
    RollbackSpec,
    UninstallSpec,
    UpgradeSpec,
)

REF = ReleaseRef("c1", "apps", "web")
CHART = "https://charts.example.com/demo-1.0.0.tgz"
H3, H4 = helm.Flavor(3), helm.Flavor(4, "false")
BASE = {"chart": CHART, "timeout_s": 300}


def _pairs(argv: list[str]) -> list[str]:
    return argv


@pytest.mark.parametrize(
    ("flavor", "spec", "present", "absent"),
    [
        (H3, InstallSpec(**BASE), ["--values", "v.json", "--timeout", "300s", "--output", "json"], ["--wait"]),
        (H3, InstallSpec(**BASE, wait=True, atomic=True), ["--wait", "--atomic"], ["--rollback-on-failure"]),
        (H4, InstallSpec(**BASE, wait=True, atomic=True), ["--wait=watcher", "--rollback-on-failure"], ["--atomic"]),
        (H4, InstallSpec(**BASE), ["--server-side=false"], []),
        (helm.Flavor(4, "auto"), InstallSpec(**BASE), [], ["--server-side=auto"]),
        (H3, InstallSpec(**BASE), [], ["--server-side=false"]),
        (H3, InstallSpec(**BASE, version="^1.2"), ["--version", "^1.2"], []),
        (H3, InstallSpec(**BASE, dry_run="server"), ["--dry-run=server"], []),
        (H4, InstallSpec(**BASE, dry_run="client"), ["--dry-run=client"], ["--server-side=false"]),
        (
            H3,
            InstallSpec(**BASE, create_namespace=True, replace=True, skip_crds=True, disable_hooks=True),
            ["--create-namespace", "--replace", "--skip-crds", "--no-hooks"],
            [],
        ),
        (
            H3,
            InstallSpec(**BASE, dependency_update=True, devel=True, render_subchart_notes=True, wait_for_jobs=True),
            ["--devel", "--render-subchart-notes", "--wait-for-jobs"],
            ["--dependency-update"],  # helm never fetches dependencies itself: the catalog does, through the guard
        ),
        (
            H3,
            InstallSpec(**BASE, description="first", labels={"team": "a", "env": "b"}),
            ["--description", "first", "--labels", "env=b,team=a"],
            [],
        ),
    ],
)
def test_install_argv(flavor: helm.Flavor, spec: InstallSpec, present: list[str], absent: list[str]) -> None:
    argv = helm.install_argv(REF, spec, flavor, "v.json")
    assert argv[:3] == ["install", "--namespace", "apps"]
    assert argv[-3:] == ["--", "web", CHART]  # positionals after --: nothing can become a flag
    joined = " ".join(argv)
    for flag in present:
        assert flag in argv or flag in joined
    for flag in absent:
        assert flag not in argv


@pytest.mark.parametrize(
    ("flavor", "spec", "present"),
    [
        (H3, UpgradeSpec(**BASE, install=True, create_namespace=True), ["--install", "--create-namespace"]),
        (H3, UpgradeSpec(**BASE, reuse_values=True), ["--reuse-values"]),
        (H3, UpgradeSpec(**BASE, reset_values=True), ["--reset-values"]),
        (H3, UpgradeSpec(**BASE, reset_then_reuse_values=True), ["--reset-then-reuse-values"]),
        (H3, UpgradeSpec(**BASE, force=True, cleanup_on_fail=True), ["--force", "--cleanup-on-fail"]),
        (H4, UpgradeSpec(**BASE, force=True), ["--force-replace", "--server-side=false"]),
        (H3, UpgradeSpec(**BASE, max_history=3), ["--history-max", "3"]),
    ],
)
def test_upgrade_argv(flavor: helm.Flavor, spec: UpgradeSpec, present: list[str]) -> None:
    argv = helm.upgrade_argv(REF, spec, flavor, "v.json")
    assert argv[0] == "upgrade" and argv[-3:] == ["--", "web", CHART]
    for flag in present:
        assert flag in argv
    assert "--create-namespace" not in helm.upgrade_argv(REF, UpgradeSpec(**BASE, create_namespace=True), H3, "v")


def test_rollback_and_uninstall_argv() -> None:
    assert helm.rollback_argv(REF, RollbackSpec(timeout_s=60), H3)[-2:] == ["--", "web"]
    argv = helm.rollback_argv(REF, RollbackSpec(revision=2, wait=True, force=True, timeout_s=60), H4)
    assert argv[-3:] == ["--", "web", "2"] and "--wait=watcher" in argv and "--force-replace" in argv
    argv = helm.uninstall_argv(REF, UninstallSpec(keep_history=True, cascade="foreground", timeout_s=9), H3)
    assert argv[:3] == ["uninstall", "--namespace", "apps"]
    assert "--keep-history" in argv and argv[argv.index("--cascade") + 1] == "foreground"
    assert argv[argv.index("--timeout") + 1] == "9s"


def test_read_argv() -> None:
    assert helm.status_argv(REF) == ["status", "--namespace", "apps", "--output", "json", "--", "web"]
    assert helm.history_argv(REF, 5)[-5:] == ["5", "--output", "json", "--", "web"]
    assert helm.get_argv(REF, "values", 3) == [
        "get",
        "values",
        "--namespace",
        "apps",
        "--revision",
        "3",
        "--output",
        "json",
        "--",
        "web",
    ]
    assert helm.get_argv(REF, "manifest") == ["get", "manifest", "--namespace", "apps", "--", "web"]
    with pytest.raises(errors.InvalidInput):
        helm.get_argv(REF, "secrets")


def test_values_never_reach_argv() -> None:
    spec = InstallSpec(**BASE, values={"password": "hunter2-secret"})
    assert "hunter2-secret" not in " ".join(helm.install_argv(REF, spec, H4, "v.json"))


def test_list_argv_lists_every_status_in_every_namespace() -> None:
    argv = list_all_argv()
    assert argv[:2] == ["list", "--all-namespaces"] and "--all" not in argv  # helm 4 has no --all
    for flag in ("--deployed", "--failed", "--pending", "--superseded", "--uninstalled", "--uninstalling"):
        assert flag in argv
    assert argv[argv.index("--max") + 1] == "0" and argv[-2:] == ["--output", "json"]


@pytest.mark.parametrize(
    ("stderr", "cls"),
    [
        ("Error: INSTALLATION FAILED: cannot re-use a name that is still in use", errors.ReleaseExists),
        ('Error: UPGRADE FAILED: "web" has no deployed releases', errors.ReleaseNotFound),
        ("Error: release: not found", errors.ReleaseNotFound),
        (
            'Error: Kubernetes cluster unreachable: Get "https://127.0.0.1:1/version": dial tcp: connection refused',
            errors.ClusterUnreachable,
        ),
        ("Error: INSTALLATION FAILED: Unauthorized", errors.ClusterAuthFailed),
        ("Error: INSTALLATION FAILED: failed to fetch https://x/y.tgz : 404 Not Found", errors.ChartNotFound),
        ("Error: context deadline exceeded", errors.HelmTimeout),
        ("Error: YAML parse error on demo/templates/x.yaml", errors.InvalidInput),
        ("Error: values don't meet the specifications of the schema(s)", errors.InvalidInput),
        ("Error: INSTALLATION FAILED: plugin crashed", errors.HelmError),
    ],
)
def test_classify(stderr: str, cls: type) -> None:
    err = helm.classify("install", 1, stderr)
    assert type(err) is cls
    assert not str(err).startswith("Error: ")


def test_classify_redacts_urls_and_tokens() -> None:
    err = helm.classify(
        "install", 1, "Error: failed to fetch https://b.s3.amazonaws.com/c.tgz?X-Amz-Signature=abc with Bearer abc.def"
    )
    assert "X-Amz-Signature" not in str(err) and "abc.def" not in str(err)


def test_run_missing_binary_is_typed(tmp_path: object) -> None:
    with helm.Workdir("") as wd, pytest.raises(errors.HelmMissing):
        helm.run("/nonexistent/helm", ["version"], wd, 5)


def test_kill_by_stops_helm_at_the_deadline_before_its_own_timeout(tmp_path: Path) -> None:
    slow = tmp_path / "helm"
    slow.write_text("#!/bin/sh\nsleep 30\n")
    slow.chmod(0o755)
    with helm.Workdir("") as wd, helm.kill_by(time.monotonic() + 0.2), pytest.raises(errors.HelmTimeout) as err:
        helm.run(str(slow), ["install"], wd, 60)
    assert "within 0 s" in str(err.value)
    with helm.Workdir("") as wd:  # outside the block the call's own timeout applies again
        assert helm.run("/bin/echo", ["ok"], wd, 5).stdout == "ok\n"


def test_workdir_is_private_and_removed() -> None:
    with helm.Workdir("apiVersion: v1") as wd:
        path = wd.path
        assert (path.stat().st_mode & 0o777) == 0o700
        assert ((path / "kubeconfig").stat().st_mode & 0o777) == 0o600
        assert wd.env()["KUBECONFIG"] == str(path / "kubeconfig")
        assert "AWS_SECRET_ACCESS_KEY" not in wd.env()
    assert not path.exists()


def test_the_discovery_cache_is_private_and_outlives_work_directories() -> None:
    with helm.Workdir("") as one, helm.Workdir("") as two:
        cache = Path(one.env()["KUBECACHEDIR"])
        assert two.env()["KUBECACHEDIR"] == str(cache) and not cache.is_relative_to(one.path)
    assert cache.is_dir() and (cache.stat().st_mode & 0o777) == 0o700  # kept for the next helm call


LIMITS = Limits(780, 300, 10, True)


def test_install_from_a_local_chart_drops_remote_flags() -> None:
    spec, _ = InstallSpec.from_json(
        {"name": "a", "chart": "stable/web", "version": "^1", "devel": True, "verify": True}, LIMITS
    )
    ref = ReleaseRef("c", "ns", "a")
    argv = install_argv(ref, spec, _flavor(), "values.json", LocalChart("/w/web-1.0.0.tgz", "/w/keyring.gpg"))
    assert argv[-1] == "/w/web-1.0.0.tgz" and "--version" not in argv and "--devel" not in argv
    assert argv[argv.index("--verify") + 1 : argv.index("--verify") + 3] == ["--keyring", "/w/keyring.gpg"]
    unverified = install_argv(ref, spec, _flavor(), "values.json", LocalChart("/w/web.tgz"))
    assert "--verify" not in unverified


def _flavor() -> Any:
    from chalicelib.adapters.helm import Flavor

    return Flavor(4, "false")


def test_pull_argv() -> None:
    tls = RegistryTls(ca_file="ca.pem", plain_http=True)
    argv = pull_argv("oci://r:5000/charts/demo", "^1", True, "/w/pulled", tls, "/w/keyring.gpg")
    assert argv[:3] == ["pull", "--destination", "/w/pulled"] and argv[-2:] == ["--", "oci://r:5000/charts/demo"]
    for flags in (["--version", "^1"], ["--ca-file", "ca.pem"], ["--keyring", "/w/keyring.gpg"]):
        i = argv.index(flags[0])
        assert argv[i : i + 2] == flags
    assert {"--devel", "--plain-http", "--verify"} <= set(argv) and "--cert-file" not in argv


def test_helm_json_after_progress_lines() -> None:
    assert _json('{"name": "a"}', "install") == {"name": "a"}
    assert _json('Hang tight...\n...Successfully got an update\n{"name": "a", "x": "{"}\n', "install")["name"] == "a"
    with pytest.raises(Exception, match="not a JSON object"):
        _json("Error-free but no JSON\n[1]\n", "install")


def test_the_timeout_cap_leaves_the_worker_time_to_record_the_outcome() -> None:
    """helm's --timeout, the kill margin and the worker's own margin must fit in the worker Lambda's 900 s."""
    from chalicelib import config

    assert config.MAX_HELM_TIMEOUT_S == 780 and config.Settings().max_timeout_s == config.MAX_HELM_TIMEOUT_S
    assert config.MAX_HELM_TIMEOUT_S + helm.KILL_MARGIN_S + config.WORKER_MARGIN_S <= config.DEFAULT_WORKER_TIMEOUT_S


def test_test_argv_and_results() -> None:
    ref = ReleaseRef("c", "shop", "web")
    argv = ["test", "--namespace", "shop", "--timeout", "90s", "--", "web"]
    assert helm.test_argv(ref, ReleaseTestSpec(timeout_s=90)) == argv
    status = {
        "hooks": [
            {"name": "web-init", "kind": "Job", "events": ["pre-install"], "last_run": {"phase": "Succeeded"}},
            {
                "name": "web-test",
                "kind": "Pod",
                "events": ["test"],
                "last_run": {"started_at": "t0", "completed_at": "t1", "phase": "Failed"},
            },
            {"name": "web-legacy", "kind": "Pod", "events": ["test-success"]},  # helm 2's name, never run
        ]
    }
    assert helm.test_results(status) == [
        {"name": "web-test", "kind": "Pod", "phase": "Failed", "started_at": "t0", "completed_at": "t1"},
        {"name": "web-legacy", "kind": "Pod", "phase": "Unknown", "started_at": None, "completed_at": None},
    ]
    assert helm.test_results({}) == []
