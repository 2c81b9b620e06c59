"""The pure argv builders, table by table, for both helm majors: install, upgrade, rollback, uninstall, test, the
reads, list, pull and local charts. Values never reach argv; positionals always follow ``--``."""

from __future__ import annotations

import pytest

from chalicelib import errors
from chalicelib.adapters.helm import argv as build
from chalicelib.adapters.helm.argv import Flavor, LocalChart, RegistryTls
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
H3, H4 = Flavor(3), Flavor(4, "false")
BASE = {"chart": CHART, "timeout_s": 300}


@pytest.mark.parametrize(
    ("flavor", "wait", "atomic", "force"),
    [
        (Flavor(3), ["--wait"], ["--atomic"], ["--force"]),
        (Flavor(4), ["--wait=watcher"], ["--rollback-on-failure"], ["--force-replace"]),
    ],
)
def test_the_flags_that_differ_between_majors(
    flavor: Flavor, wait: list[str], atomic: list[str], force: list[str]
) -> None:
    assert (flavor.wait(), flavor.atomic(), flavor.force()) == (wait, atomic, force)


@pytest.mark.parametrize(
    ("flavor", "verb", "expected"),
    [
        (Flavor(3, "true"), "upgrade", []),  # helm 3 has no server-side apply
        (Flavor(4, "auto"), "install", []),  # install takes a bool: "auto" is helm 4's own default
        (Flavor(4, "auto"), "upgrade", ["--server-side=auto"]),
        (Flavor(4, "false"), "install", ["--server-side=false"]),
        (Flavor(4, "true"), "rollback", ["--server-side=true"]),
    ],
)
def test_server_side_apply(flavor: Flavor, verb: str, expected: list[str]) -> None:
    assert flavor.apply(verb) == expected


@pytest.mark.parametrize(
    ("flavor", "spec", "present", "absent"),
    [
        (H3, InstallSpec(**BASE), ["--values", "v.json", "--timeout", "300s", "--output", "json"], ["--wait"]),
        (H3, InstallSpec(**BASE, wait=True, atomic=True), ["--wait", "--atomic"], ["--rollback-on-failure"]),
        (H4, InstallSpec(**BASE, wait=True, atomic=True), ["--wait=watcher", "--rollback-on-failure"], ["--atomic"]),
        (H4, InstallSpec(**BASE), ["--server-side=false"], []),
        (Flavor(4, "auto"), InstallSpec(**BASE), [], ["--server-side=auto"]),
        (H3, InstallSpec(**BASE), [], ["--server-side=false"]),
        (H3, InstallSpec(**BASE, version="^1.2"), ["--version", "^1.2"], []),
        (H4, InstallSpec(**BASE, version="^1.2"), ["--version", "^1.2"], []),
        (H3, InstallSpec(**BASE, dry_run="server"), ["--dry-run=server"], []),
        (H4, InstallSpec(**BASE, dry_run="client"), ["--dry-run=client"], ["--server-side=false"]),
        (
            H3,
            InstallSpec(**BASE, create_namespace=True, replace=True, skip_crds=True, disable_hooks=True),
            ["--create-namespace", "--replace", "--skip-crds", "--no-hooks"],
            [],
        ),
        (
            H4,
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
def test_install_argv(flavor: Flavor, spec: InstallSpec, present: list[str], absent: list[str]) -> None:
    argv = build.install_argv(REF, spec, flavor, "v.json")
    assert argv[:3] == ["install", "--namespace", "apps"]
    assert argv[-3:] == ["--", "web", CHART]  # positionals after --: nothing can become a flag
    assert "--history-max" not in argv  # helm install has none
    joined = " ".join(argv)
    for flag in present:
        assert flag in argv or flag in joined
    for flag in absent:
        assert flag not in argv


@pytest.mark.parametrize(
    ("flavor", "spec", "present", "absent"),
    [
        (H3, UpgradeSpec(**BASE, install=True, create_namespace=True), ["--install", "--create-namespace"], []),
        (H4, UpgradeSpec(**BASE, install=True, create_namespace=True), ["--install", "--create-namespace"], []),
        (H3, UpgradeSpec(**BASE, create_namespace=True), [], ["--create-namespace"]),  # only with --install
        (H3, UpgradeSpec(**BASE, reuse_values=True), ["--reuse-values"], ["--reset-values"]),
        (H3, UpgradeSpec(**BASE, reset_values=True), ["--reset-values"], ["--reuse-values"]),
        (H4, UpgradeSpec(**BASE, reset_then_reuse_values=True), ["--reset-then-reuse-values"], []),
        (H3, UpgradeSpec(**BASE, force=True, cleanup_on_fail=True), ["--force", "--cleanup-on-fail"], []),
        (H4, UpgradeSpec(**BASE, force=True), ["--force-replace", "--server-side=false"], ["--force"]),
        (H3, UpgradeSpec(**BASE, max_history=3), ["--history-max", "3"], []),
        (H4, UpgradeSpec(**BASE, wait=True, atomic=True), ["--wait=watcher", "--rollback-on-failure"], ["--wait"]),
    ],
)
def test_upgrade_argv(flavor: Flavor, spec: UpgradeSpec, present: list[str], absent: list[str]) -> None:
    argv = build.upgrade_argv(REF, spec, flavor, "v.json")
    assert argv[:3] == ["upgrade", "--namespace", "apps"] and argv[-3:] == ["--", "web", CHART]
    joined = " ".join(argv)
    for flag in present:
        assert flag in joined
    for flag in absent:
        assert flag not in argv


@pytest.mark.parametrize(
    ("flavor", "spec", "tail", "present", "absent"),
    [
        (H3, RollbackSpec(timeout_s=60), ["--", "web"], ["--timeout", "60s"], ["--wait", "--server-side=false"]),
        (
            H4,
            RollbackSpec(revision=2, wait=True, force=True, timeout_s=60),
            ["--", "web", "2"],
            ["--wait=watcher", "--force-replace", "--server-side=false"],
            ["--wait", "--force"],
        ),
        (
            H3,
            RollbackSpec(revision=4, wait=True, force=True, cleanup_on_fail=True, disable_hooks=True, timeout_s=5),
            ["--", "web", "4"],
            ["--wait", "--force", "--cleanup-on-fail", "--no-hooks"],
            ["--wait=watcher", "--force-replace"],
        ),
    ],
)
def test_rollback_argv(
    flavor: Flavor, spec: RollbackSpec, tail: list[str], present: list[str], absent: list[str]
) -> None:
    argv = build.rollback_argv(REF, spec, flavor)
    assert argv[:3] == ["rollback", "--namespace", "apps"] and argv[-len(tail) :] == tail
    assert argv[argv.index("--history-max") + 1] == str(spec.max_history)
    for flag in present:
        assert flag in argv
    for flag in absent:
        assert flag not in argv


@pytest.mark.parametrize(("flavor", "wait"), [(H3, "--wait"), (H4, "--wait=watcher")])
def test_uninstall_argv(flavor: Flavor, wait: str) -> None:
    spec = UninstallSpec(keep_history=True, cascade="foreground", timeout_s=9, wait=True, description="bye")
    argv = build.uninstall_argv(REF, spec, flavor)
    assert argv[:3] == ["uninstall", "--namespace", "apps"] and argv[-2:] == ["--", "web"]
    assert "--keep-history" in argv and argv[argv.index("--cascade") + 1] == "foreground"
    assert argv[argv.index("--timeout") + 1] == "9s" and wait in argv
    assert argv[argv.index("--description") + 1] == "bye"
    plain = build.uninstall_argv(REF, UninstallSpec(timeout_s=9), flavor)
    assert "--keep-history" not in plain and wait not in plain and "--description" not in plain


def test_test_argv() -> None:
    argv = build.test_argv(ReleaseRef("c", "shop", "web"), ReleaseTestSpec(timeout_s=90))
    assert argv == ["test", "--namespace", "shop", "--timeout", "90s", "--", "web"]


def test_read_argv() -> None:
    assert build.status_argv(REF) == ["status", "--namespace", "apps", "--output", "json", "--", "web"]
    assert build.status_argv(REF, 2)[3:5] == ["--revision", "2"]
    assert build.history_argv(REF, 5)[-5:] == ["5", "--output", "json", "--", "web"]
    assert build.history_argv(REF)[build.history_argv(REF).index("--max") + 1] == "1000000"  # 0: every revision
    assert build.get_argv(REF, "values", 3) == [
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
    assert build.get_argv(REF, "manifest") == ["get", "manifest", "--namespace", "apps", "--", "web"]
    assert build.get_argv(REF, "metadata")[-4:] == ["--output", "json", "--", "web"]
    with pytest.raises(errors.InvalidInput) as err:
        build.get_argv(REF, "secrets")
    assert err.value.field == "info"


def test_values_never_reach_argv() -> None:
    spec = InstallSpec(**BASE, values={"password": "hunter2-secret"})
    for flavor in (H3, H4):
        assert "hunter2-secret" not in " ".join(build.install_argv(REF, spec, flavor, "v.json"))
        upgrade = UpgradeSpec(**BASE, values={"password": "hunter2-secret"})
        assert "hunter2-secret" not in " ".join(build.upgrade_argv(REF, upgrade, flavor, "v.json"))


def test_a_name_that_looks_like_a_flag_stays_a_positional() -> None:
    ref = ReleaseRef("c1", "apps", "--kubeconfig=/etc/x")
    argv = build.install_argv(ref, InstallSpec(**BASE), H4, "v.json")
    assert argv.index("--") < argv.index("--kubeconfig=/etc/x")


def test_list_argv_lists_every_status_in_every_namespace() -> None:
    argv = build.list_all_argv()
    assert argv[:2] == ["list", "--all-namespaces"] and "--all" not in argv  # helm 4 has no --all
    for flag in ("--deployed", "--failed", "--pending", "--superseded", "--uninstalled", "--uninstalling"):
        assert flag in argv
    assert argv[argv.index("--max") + 1] == "0" and argv[-2:] == ["--output", "json"]


LIMITS = Limits(780, 300, 10, True)


@pytest.mark.parametrize("flavor", [H3, H4])
def test_install_from_a_local_chart_drops_remote_flags(flavor: Flavor) -> None:
    spec, _ = InstallSpec.from_json(
        {"name": "a", "chart": "stable/web", "version": "^1", "devel": True, "verify": True}, LIMITS
    )
    ref = ReleaseRef("c", "ns", "a")
    argv = build.install_argv(ref, spec, flavor, "values.json", LocalChart("/w/web-1.0.0.tgz", "/w/keyring.gpg"))
    assert argv[-1] == "/w/web-1.0.0.tgz" and "--version" not in argv and "--devel" not in argv
    assert argv[argv.index("--verify") + 1 : argv.index("--verify") + 3] == ["--keyring", "/w/keyring.gpg"]
    unverified = build.install_argv(ref, spec, flavor, "values.json", LocalChart("/w/web.tgz"))
    assert "--verify" not in unverified
    upgrade = build.upgrade_argv(ref, UpgradeSpec(chart="stable/web", version="^1"), flavor, "v", LocalChart("/w/x"))
    assert upgrade[-1] == "/w/x" and "--version" not in upgrade


def test_pull_argv() -> None:
    tls = RegistryTls(ca_file="ca.pem", plain_http=True)
    argv = build.pull_argv("oci://r:5000/charts/demo", "^1", True, "/w/pulled", tls, "/w/keyring.gpg")
    assert argv[:3] == ["pull", "--destination", "/w/pulled"] and argv[-2:] == ["--", "oci://r:5000/charts/demo"]
    for flags in (["--version", "^1"], ["--ca-file", "ca.pem"], ["--keyring", "/w/keyring.gpg"]):
        i = argv.index(flags[0])
        assert argv[i : i + 2] == flags
    assert {"--devel", "--plain-http", "--verify"} <= set(argv) and "--cert-file" not in argv
    bare = build.pull_argv("oci://r/c", None, False, "/d", RegistryTls(insecure_skip_tls_verify=True))
    assert bare == ["pull", "--destination", "/d", "--insecure-skip-tls-verify", "--", "oci://r/c"]
