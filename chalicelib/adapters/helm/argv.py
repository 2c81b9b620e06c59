"""The argv of each helm verb: pure functions of (ref, spec, helm major, paths in the work directory), tested table
by table for both majors. Values never appear here (they are in a 0600 file, ``--values``); every positional comes
after ``--`` so no name or chart reference can become a flag; ``--output json`` wherever helm offers it."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.models import (
    ChartSpec,
    InstallSpec,
    ReleaseRef,
    ReleaseTestSpec,
    RollbackSpec,
    UninstallSpec,
    UpgradeSpec,
)
from chalicelib.errors import InvalidInput

GET_WHAT = ("values", "manifest", "notes", "hooks", "metadata")


@dataclass(frozen=True)
class Flavor:
    """What differs between helm majors, and the server-side apply choice (helm 4 only)."""

    major: int = 4
    server_side: str = "auto"

    def wait(self) -> list[str]:
        return ["--wait=watcher"] if self.major >= 4 else ["--wait"]

    def atomic(self) -> list[str]:
        return ["--rollback-on-failure"] if self.major >= 4 else ["--atomic"]

    def force(self) -> list[str]:
        return ["--force-replace"] if self.major >= 4 else ["--force"]

    def apply(self, verb: str) -> list[str]:
        """helm 4 applies server-side by default; install takes a bool, upgrade/rollback also take "auto"."""
        if self.major < 4 or (verb == "install" and self.server_side == "auto"):
            return []
        return [f"--server-side={self.server_side}"]


@dataclass(frozen=True)
class LocalChart:
    """A chart fetched into the work directory (archive or unpacked directory): helm reads nothing remote.
    ``keyring`` is set when the chart must be verified against its provenance file (``<path>.prov``)."""

    path: str
    keyring: str | None = None


@dataclass(frozen=True)
class RegistryTls:
    """TLS options of an OCI registry, as files inside the work directory."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure_skip_tls_verify: bool = False
    plain_http: bool = False


def _ns(ref: ReleaseRef) -> list[str]:
    return ["--namespace", ref.namespace]


def _flag(on: bool, *flag: str) -> list[str]:
    return list(flag) if on else []


def _timeout(seconds: int) -> list[str]:
    return ["--timeout", f"{seconds}s"]


# ---------------------------------------------------------------- the verbs that deploy a chart


def _source_flags(spec: ChartSpec, chart: LocalChart | None) -> list[str]:
    """Version selection flags for a chart helm fetches itself; verification flags for a fetched one."""
    if chart is None:
        version = ["--version", spec.version] if spec.version else []
        return version + _flag(spec.devel, "--devel")
    return ["--verify", "--keyring", chart.keyring] if chart.keyring else []


def _chart_flags(verb: str, spec: ChartSpec, flavor: Flavor, values_file: str, chart: LocalChart | None) -> list[str]:
    argv = ["--values", values_file, *_source_flags(spec, chart)]
    argv += _flag(spec.wait, *flavor.wait())
    argv += _flag(spec.wait_for_jobs, "--wait-for-jobs")
    argv += _flag(spec.atomic, *flavor.atomic())
    argv += _flag(spec.disable_hooks, "--no-hooks")
    argv += _flag(spec.skip_crds, "--skip-crds")
    # no --dependency-update: Charthouse fetches dependencies itself, through the SSRF guard (core/catalog.py)
    argv += _flag(spec.render_subchart_notes, "--render-subchart-notes")
    if spec.description:
        argv += ["--description", spec.description]
    if spec.labels:
        argv += ["--labels", ",".join(f"{k}={v}" for k, v in sorted(spec.labels.items()))]
    if spec.dry_run:
        argv += [f"--dry-run={spec.dry_run}"]
    else:
        argv += flavor.apply(verb)
    argv += _timeout(spec.timeout_s)
    return argv


def install_argv(
    ref: ReleaseRef, spec: InstallSpec, flavor: Flavor, values_file: str, chart: LocalChart | None = None
) -> list[str]:
    argv = ["install", *_ns(ref), *_chart_flags("install", spec, flavor, values_file, chart)]
    argv += _flag(spec.create_namespace, "--create-namespace")
    argv += _flag(spec.replace, "--replace")
    # helm install has no --history-max; the first revision is within any limit
    return [*argv, "--output", "json", "--", ref.name, chart.path if chart else spec.chart]


def upgrade_argv(
    ref: ReleaseRef, spec: UpgradeSpec, flavor: Flavor, values_file: str, chart: LocalChart | None = None
) -> list[str]:
    argv = ["upgrade", *_ns(ref), *_chart_flags("upgrade", spec, flavor, values_file, chart)]
    argv += _flag(spec.install, "--install")
    argv += _flag(spec.install and spec.create_namespace, "--create-namespace")
    argv += _flag(spec.reuse_values, "--reuse-values")
    argv += _flag(spec.reset_values, "--reset-values")
    argv += _flag(spec.reset_then_reuse_values, "--reset-then-reuse-values")
    argv += _flag(spec.force, *flavor.force())
    argv += _flag(spec.cleanup_on_fail, "--cleanup-on-fail")
    argv += ["--history-max", str(spec.max_history)]
    return [*argv, "--output", "json", "--", ref.name, chart.path if chart else spec.chart]


# ---------------------------------------------------------------- the other verbs that change a release


def rollback_argv(ref: ReleaseRef, spec: RollbackSpec, flavor: Flavor) -> list[str]:
    argv = ["rollback", *_ns(ref), *_timeout(spec.timeout_s), "--history-max", str(spec.max_history)]
    argv += _flag(spec.wait, *flavor.wait())
    argv += _flag(spec.wait_for_jobs, "--wait-for-jobs")
    argv += _flag(spec.force, *flavor.force())
    argv += _flag(spec.cleanup_on_fail, "--cleanup-on-fail")
    argv += _flag(spec.disable_hooks, "--no-hooks")
    argv += flavor.apply("rollback")
    # helm rollback has no --description; the service records it on the operation instead
    revision = [str(spec.revision)] if spec.revision else []
    return [*argv, "--", ref.name, *revision]


def uninstall_argv(ref: ReleaseRef, spec: UninstallSpec, flavor: Flavor) -> list[str]:
    argv = ["uninstall", *_ns(ref), *_timeout(spec.timeout_s), "--cascade", spec.cascade]
    argv += _flag(spec.keep_history, "--keep-history")
    argv += _flag(spec.disable_hooks, "--no-hooks")
    argv += _flag(spec.wait, *flavor.wait())
    if spec.description:
        argv += ["--description", spec.description]
    return [*argv, "--", ref.name]


def test_argv(ref: ReleaseRef, spec: ReleaseTestSpec) -> list[str]:
    return ["test", *_ns(ref), *_timeout(spec.timeout_s), "--", ref.name]


# ---------------------------------------------------------------- reads


def status_argv(ref: ReleaseRef, revision: int | None = None) -> list[str]:
    rev = ["--revision", str(revision)] if revision else []
    return ["status", *_ns(ref), *rev, "--output", "json", "--", ref.name]


def history_argv(ref: ReleaseRef, max_entries: int = 0) -> list[str]:
    return ["history", *_ns(ref), "--max", str(max_entries or 1_000_000), "--output", "json", "--", ref.name]


def get_argv(ref: ReleaseRef, what: str, revision: int | None = None) -> list[str]:
    if what not in GET_WHAT:
        raise InvalidInput("info", f"must be one of {', '.join(GET_WHAT)}")
    rev = ["--revision", str(revision)] if revision else []
    out = ["--output", "json"] if what in ("values", "metadata") else []
    return ["get", what, *_ns(ref), *rev, *out, "--", ref.name]


def list_all_argv() -> list[str]:
    """Every release in every namespace, whatever its status (``--max 0``: helm's default stops at 256), for
    reconcile. Every status flag rather than ``--all``, which helm 4 removed."""
    statuses = ["--deployed", "--failed", "--pending", "--superseded", "--uninstalled", "--uninstalling"]
    return ["list", "--all-namespaces", *statuses, "--max", "0", "--output", "json"]


# ---------------------------------------------------------------- charts


def pull_argv(
    url: str, version: str | None, devel: bool, dest: str, tls: RegistryTls, keyring: str | None = None
) -> list[str]:
    """helm pull of an oci:// chart into ``dest``; registry credentials are in the work dir's registry config."""
    argv = ["pull", "--destination", dest]
    argv += ["--version", version] if version else []
    argv += _flag(devel, "--devel")
    for flag, path in (("--ca-file", tls.ca_file), ("--cert-file", tls.cert_file), ("--key-file", tls.key_file)):
        argv += [flag, path] if path else []
    argv += _flag(tls.insecure_skip_tls_verify, "--insecure-skip-tls-verify")
    argv += _flag(tls.plain_http, "--plain-http")
    argv += ["--verify", "--keyring", keyring] if keyring else []
    return [*argv, "--", url]
