"""The only place that runs a subprocess: the helm binary.

Contract of every call: an argv list (never a shell), an explicit timeout, values only in a 0600 file inside a
fresh 0700 work directory that also holds the kubeconfig (0600) and helm's HOME/HELM_*_HOME, all removed after the
call. ``--output json`` wherever helm offers it. stderr is classified into the typed errors of ``errors.py``.

The argv builders (``*_argv``) are pure functions of (ref, spec, major version, paths) and are unit-tested table by
table; ``HelmCli`` only glues them to ``run``.
"""

from __future__ import annotations

import atexit
import functools
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from chalicelib.adapters.kube import release_secrets
from chalicelib.domain import redact
from chalicelib.domain import values as vals
from chalicelib.domain.models import (
    ChartSpec,
    InstallSpec,
    ReleaseRef,
    ReleaseTestSpec,
    RollbackSpec,
    UninstallSpec,
    UpgradeSpec,
)
from chalicelib.errors import (
    ChartNotFound,
    ClusterAuthFailed,
    ClusterUnreachable,
    HelmError,
    HelmMissing,
    HelmTimeout,
    InvalidInput,
    ReleaseExists,
    ReleaseNotFound,
)

log = logging.getLogger(__name__)

KILL_MARGIN_S = 30  # helm reports its own --timeout first; we kill it only if it hangs past that
QUICK_TIMEOUT_S = 60  # read-only calls (status, history, get)
GET_WHAT = ("values", "manifest", "notes", "hooks", "metadata")


# ---------------------------------------------------------------- work directory


@functools.cache
def kube_cache_dir() -> str:
    """This process's cache of the clusters' API discovery (``KUBECACHEDIR``), shared by its helm processes and kept
    for its lifetime: helm otherwise asks every cluster for its API groups on each call and writes ~140 files that
    each work directory would have to remove (10-40 ms, docs/PERFORMANCE.md). Entries are per API server URL and
    hold no credentials; helm re-reads a cluster's discovery when a kind is missing from it (a CRD added since).
    A private directory (``mkdtemp``: 0700, a random name), removed when the process exits."""
    path = tempfile.mkdtemp(prefix="charthouse-kube-cache-")
    atexit.register(shutil.rmtree, path, True)
    return path


class Workdir:
    """A fresh 0700 directory with a 0600 kubeconfig and helm's homes; removed on exit. The clusters' API
    discovery is cached apart (``kube_cache_dir``)."""

    def __init__(self, kubeconfig: str) -> None:
        self._kubeconfig = kubeconfig
        self.path = Path("/nonexistent")

    def __enter__(self) -> Workdir:
        self.path = Path(tempfile.mkdtemp(prefix="charthouse-"))  # mkdtemp creates it 0700
        self.write("kubeconfig", self._kubeconfig)
        for sub in ("cache", "config", "data"):
            (self.path / sub).mkdir(mode=0o700)
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def write(self, name: str, text: str) -> Path:
        """Write a 0600 file inside the work directory."""
        target = self.path / name
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        return target

    def env(self) -> dict[str, str]:
        """A minimal environment: nothing of ours (AWS credentials included) leaks into helm."""
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.path),
            "KUBECONFIG": str(self.path / "kubeconfig"),
            "HELM_CACHE_HOME": str(self.path / "cache"),
            "HELM_CONFIG_HOME": str(self.path / "config"),
            "HELM_DATA_HOME": str(self.path / "data"),
            "KUBECACHEDIR": kube_cache_dir(),
            "TMPDIR": str(self.path),
        }


# ---------------------------------------------------------------- running


_KILL_BY: ContextVar[float | None] = ContextVar("helm_kill_by", default=None)


@contextmanager
def kill_by(deadline: float) -> Iterator[None]:
    """Within this block no helm process outlives ``deadline`` (``time.monotonic()``): each is stopped at its own
    timeout or at the deadline, whichever comes first (an operation run inside a request that must answer in time)."""
    token = _KILL_BY.set(deadline)
    try:
        yield
    finally:
        _KILL_BY.reset(token)


@dataclass(frozen=True)
class Completed:
    stdout: str
    stderr: str
    seconds: float


def run(binary: str, args: list[str], workdir: Workdir, timeout_s: float, secrets: tuple[str, ...] = ()) -> Completed:
    """Run ``binary args`` in ``workdir``; raise a typed error on failure (``secrets`` are scrubbed from its
    message: helm may echo values). The only subprocess call."""
    argv = [binary, *args]
    started = time.monotonic()
    deadline = _KILL_BY.get()
    if deadline is not None:
        timeout_s = max(0.0, min(timeout_s, deadline - started))
    try:
        proc = subprocess.Popen(
            argv,
            cwd=workdir.path,
            env=workdir.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, so a timeout kills helm's children too
        )
    except FileNotFoundError as exc:
        raise HelmMissing(f"helm binary not found at {binary}") from exc
    except PermissionError as exc:
        raise HelmMissing(f"helm binary at {binary} is not executable") from exc
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise HelmTimeout(f"helm {args[0]} did not finish within {int(timeout_s)} s and was stopped") from exc
    seconds = time.monotonic() - started
    stdout, stderr = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    log.info("helm %s rc=%s %.2fs", " ".join(_loggable(args)), proc.returncode, seconds)
    if proc.returncode != 0:
        raise classify(args[0], proc.returncode, stderr, secrets)
    return Completed(stdout, stderr, seconds)


def _loggable(args: list[str]) -> list[str]:
    """argv holds no values or credentials by construction; redact anyway (URL query strings)."""
    return [redact.redact(a) for a in args]


_Factory = Callable[[str, int, str], Exception]


def _helm(cls: type[HelmError]) -> _Factory:
    return lambda message, rc, stderr: cls(message, returncode=rc, stderr=stderr)


def _input(field: str) -> _Factory:
    """Failures caused by what the caller sent (values, chart content): a 422 naming the field."""
    return lambda message, rc, stderr: InvalidInput(field, message)


_CLASSES: tuple[tuple[re.Pattern[str], _Factory], ...] = (
    (re.compile(r"cannot re-use a name that is still in use"), lambda m, rc, e: ReleaseExists(m)),
    (re.compile(r"release: not found|has no deployed releases|release not found"), lambda m, rc, e: ReleaseNotFound(m)),
    (
        re.compile(r"(?i)unauthorized|provide credentials|forbidden: User \"system:anonymous\""),
        lambda m, rc, e: ClusterAuthFailed(m),
    ),
    (
        re.compile(
            r"(?i)cluster unreachable|connection refused|no such host|i/o timeout|x509:|tls:|"
            r"dial tcp|network is unreachable|no route to host"
        ),
        lambda m, rc, e: ClusterUnreachable(m),
    ),
    (
        re.compile(
            r"(?i)failed to fetch|404 not found|chart not found|failed to download|not a valid chart|"
            r"no chart version found|unable to locate chart|looks like .* is not a valid chart repository"
        ),
        _helm(ChartNotFound),
    ),
    (re.compile(r"(?i)timed out waiting|context deadline exceeded"), _helm(HelmTimeout)),
    (re.compile(r"values don't meet the specifications of the schema|execution error at"), _input("values")),
    (
        re.compile(r"unable to build kubernetes objects from release manifest|parse error at|YAML parse error"),
        _input("chart"),
    ),
)


def classify(verb: str, returncode: int, stderr: str, secrets: tuple[str, ...] = ()) -> Exception:
    """Map helm's stderr to a typed error whose message is safe to show."""
    stderr = redact.redact(stderr, secrets)
    message = redact.short(stderr.replace("Error: ", "", 1)) or f"helm {verb} failed with exit code {returncode}"
    for pattern, factory in _CLASSES:
        if pattern.search(stderr):
            return factory(message, returncode, stderr)
    return HelmError(message, returncode=returncode, stderr=stderr)


# ---------------------------------------------------------------- argv builders (pure)


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


def _ns(ref: ReleaseRef) -> list[str]:
    return ["--namespace", ref.namespace]


def _flag(on: bool, *flag: str) -> list[str]:
    return list(flag) if on else []


def _timeout(seconds: int) -> list[str]:
    return ["--timeout", f"{seconds}s"]


@dataclass(frozen=True)
class LocalChart:
    """A chart fetched into the work directory (archive or unpacked directory): helm reads nothing remote.
    ``keyring`` is set when the chart must be verified against its provenance file (``<path>.prov``)."""

    path: str
    keyring: str | None = None


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


def test_results(status: dict[str, Any]) -> list[dict[str, Any]]:
    """The release's test hooks as ``helm status -o json`` reports their last run: name, kind, phase, times."""
    out = []
    for hook in status.get("hooks") or []:
        if "test" not in (hook.get("events") or []) and "test-success" not in (hook.get("events") or []):
            continue
        run_ = hook.get("last_run") or {}
        out.append(
            {
                "name": str(hook.get("name") or ""),
                "kind": str(hook.get("kind") or ""),
                "phase": str(run_.get("phase") or "Unknown"),
                "started_at": run_.get("started_at") or None,
                "completed_at": run_.get("completed_at") or None,
            }
        )
    return out


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


# ---------------------------------------------------------------- argv builders of reconcile


def list_all_argv() -> list[str]:
    """Every release in every namespace, whatever its status (``--max 0``: helm's default stops at 256). Every
    status flag rather than ``--all``, which helm 4 removed."""
    statuses = ["--deployed", "--failed", "--pending", "--superseded", "--uninstalled", "--uninstalling"]
    return ["list", "--all-namespaces", *statuses, "--max", "0", "--output", "json"]


@dataclass(frozen=True)
class RegistryTls:
    """TLS options of an OCI registry, as files inside the work directory."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure_skip_tls_verify: bool = False
    plain_http: bool = False


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


def pull(binary: str, argv: list[str], workdir: Workdir) -> None:
    run(binary, argv, workdir, QUICK_TIMEOUT_S * 3)


class ChartSource(Protocol):
    """Fetches the chart a spec names into a work directory (``catalog.Catalog``)."""

    def materialize(self, spec: ChartSpec, workdir: Workdir) -> LocalChart: ...


# ---------------------------------------------------------------- the client


class Helm(Protocol):
    """What the service needs of helm. ``HelmCli`` is the real one; unit tests use a fake."""

    def install(self, kubeconfig: str, ref: ReleaseRef, spec: InstallSpec) -> dict[str, Any]: ...
    def upgrade(self, kubeconfig: str, ref: ReleaseRef, spec: UpgradeSpec) -> dict[str, Any]: ...
    def rollback(self, kubeconfig: str, ref: ReleaseRef, spec: RollbackSpec) -> None: ...
    def uninstall(self, kubeconfig: str, ref: ReleaseRef, spec: UninstallSpec) -> None: ...
    def test(self, kubeconfig: str, ref: ReleaseRef, spec: ReleaseTestSpec) -> list[dict[str, Any]]: ...
    def status(self, kubeconfig: str, ref: ReleaseRef) -> dict[str, Any]: ...
    def history(self, kubeconfig: str, ref: ReleaseRef) -> list[dict[str, Any]]: ...
    def get(self, kubeconfig: str, ref: ReleaseRef, what: str, revision: int | None) -> Any: ...
    def render_name(self, template: str) -> str: ...
    def stored(self, kubeconfig: str, ref: ReleaseRef) -> release_secrets.StoredRelease: ...
    def mark_failed(self, kubeconfig: str, ref: ReleaseRef, revision: int, description: str) -> None: ...
    def list_releases(self, kubeconfig: str) -> list[dict[str, Any]]: ...
    @property
    def version(self) -> str: ...


class HelmCli:
    """Runs the real binary. The major version is read once from ``helm version``."""

    def __init__(self, binary: str, server_side: str = "auto", charts: ChartSource | None = None) -> None:
        self.binary = binary
        self._server_side = server_side
        self.charts = charts  # None: helm fetches chart URLs itself
        self._flavor: Flavor | None = None

    @property
    def flavor(self) -> Flavor:
        if self._flavor is None:
            with Workdir("") as wd:
                out = run(self.binary, ["version", "--template", "{{.Version}}"], wd, QUICK_TIMEOUT_S).stdout
            match = re.match(r"v?(\d+)\.", out.strip())
            if not match:
                raise HelmMissing(f"could not read the helm version from {self.binary}")
            self._flavor = Flavor(int(match.group(1)), self._server_side)
        return self._flavor

    @property
    def version(self) -> str:
        with Workdir("") as wd:
            return run(self.binary, ["version", "--template", "{{.Version}}"], wd, QUICK_TIMEOUT_S).stdout.strip()

    def _deploy(self, kubeconfig: str, spec: ChartSpec, build: Any) -> dict[str, Any]:
        with Workdir(kubeconfig) as wd:
            chart = self.charts.materialize(spec, wd) if self.charts else None
            values_file = wd.write("values.json", vals.to_helm_file(spec.values))
            argv: list[str] = build(values_file.name, chart)
            secrets = redact.sensitive_strings(spec.values, spec.sensitive_paths, spec.sensitive_keys)
            done = run(self.binary, argv, wd, spec.timeout_s + KILL_MARGIN_S, secrets)
        return _json(done.stdout, argv[0])

    def install(self, kubeconfig: str, ref: ReleaseRef, spec: InstallSpec) -> dict[str, Any]:
        return self._deploy(kubeconfig, spec, lambda vf, chart: install_argv(ref, spec, self.flavor, vf, chart))

    def upgrade(self, kubeconfig: str, ref: ReleaseRef, spec: UpgradeSpec) -> dict[str, Any]:
        return self._deploy(kubeconfig, spec, lambda vf, chart: upgrade_argv(ref, spec, self.flavor, vf, chart))

    def rollback(self, kubeconfig: str, ref: ReleaseRef, spec: RollbackSpec) -> None:
        with Workdir(kubeconfig) as wd:
            run(self.binary, rollback_argv(ref, spec, self.flavor), wd, spec.timeout_s + KILL_MARGIN_S)

    def uninstall(self, kubeconfig: str, ref: ReleaseRef, spec: UninstallSpec) -> None:
        with Workdir(kubeconfig) as wd:
            run(self.binary, uninstall_argv(ref, spec, self.flavor), wd, spec.timeout_s + KILL_MARGIN_S)

    def test(self, kubeconfig: str, ref: ReleaseRef, spec: ReleaseTestSpec) -> list[dict[str, Any]]:
        """Run the test hooks; the results of each (a failed test raises ``HelmError`` carrying them all)."""
        with Workdir(kubeconfig) as wd:
            try:
                run(self.binary, test_argv(ref, spec), wd, spec.timeout_s + KILL_MARGIN_S)
            except HelmError as exc:
                try:
                    exc.details["tests"] = test_results(self.status(kubeconfig, ref))
                except HelmError:
                    pass  # helm's own message says which test failed
                raise
        return test_results(self.status(kubeconfig, ref))

    def _quick(self, kubeconfig: str, argv: list[str]) -> str:
        with Workdir(kubeconfig) as wd:
            return run(self.binary, argv, wd, QUICK_TIMEOUT_S).stdout

    def status(self, kubeconfig: str, ref: ReleaseRef) -> dict[str, Any]:
        return _json(self._quick(kubeconfig, status_argv(ref)), "status")

    def history(self, kubeconfig: str, ref: ReleaseRef) -> list[dict[str, Any]]:
        data = json.loads(self._quick(kubeconfig, history_argv(ref)) or "[]")
        return data if isinstance(data, list) else []

    def get(self, kubeconfig: str, ref: ReleaseRef, what: str, revision: int | None) -> Any:
        out = self._quick(kubeconfig, get_argv(ref, what, revision))
        if what in ("values", "metadata"):
            return json.loads(out or "null")
        return out

    def stored(self, kubeconfig: str, ref: ReleaseRef) -> release_secrets.StoredRelease:
        """What helm keeps of the release, read from its release Secrets in one API call instead of a helm process
        per question. Raises ``release_secrets.Unreadable``; the caller then asks helm."""
        started = time.monotonic()
        stored = release_secrets.read(kubeconfig, ref.namespace, ref.name)
        log.info("read %d release Secrets of %s %.2fs", len(stored.revisions), ref.key, time.monotonic() - started)
        return stored

    def mark_failed(self, kubeconfig: str, ref: ReleaseRef, revision: int, description: str) -> None:
        """What the helm CLI cannot do: mark a revision left pending by a killed helm as failed."""
        release_secrets.mark_failed(kubeconfig, ref.namespace, ref.name, revision, description)

    def list_releases(self, kubeconfig: str) -> list[dict[str, Any]]:
        """helm list -A --all: name, namespace, revision, status, chart, app_version, updated of every release."""
        data = json.loads(self._quick(kubeconfig, list_all_argv()) or "[]")
        return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []

    def render_name(self, template: str) -> str:
        """Render a ``name_template`` with helm's own template engine (sprig functions included)."""
        with Workdir("") as wd:
            chart = wd.path / "namechart"
            (chart / "templates").mkdir(parents=True)
            (chart / "Chart.yaml").write_text("apiVersion: v2\nname: namechart\nversion: 0.0.0\n")
            (chart / "templates" / "name.yaml").write_text("name: {{ .Release.Name | toJson }}\n")
            out = run(
                self.binary,
                ["template", "--name-template", template, "--", str(chart)],
                wd,
                QUICK_TIMEOUT_S,
            ).stdout
        match = re.search(r'^name: "(.*)"$', out, re.MULTILINE)
        if not match:
            raise InvalidInput("name_template", "did not render to a name")
        return match.group(1)


def _json(text: str, verb: str) -> dict[str, Any]:
    """helm's JSON output. Some flags (``--dependency-update``) print progress lines first: the object is the
    first line that starts with ``{``."""
    starts = [0] if text.lstrip().startswith("{") else []
    starts += [m.start() + 1 for m in re.finditer(r"\n\{", text)]
    for start in starts:
        try:
            data, _ = json.JSONDecoder().raw_decode(text.lstrip() if start == 0 else text[start:])
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict):
            return data
    raise HelmError(f"helm {verb} printed output that is not a JSON object")
