"""``Helm``, what the service needs of helm, and ``HelmCli``, the real one: each verb opens a ``Workdir``, builds
its argv (``argv.py``), calls ``runner.run`` and reads the output (``output.py``). Nothing here decides a flag or
starts a process by itself."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
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
from chalicelib.errors import HelmError, HelmMissing, InvalidInput

from . import argv as build
from .output import json_list, json_object, test_results
from .runner import KILL_MARGIN_S, QUICK_TIMEOUT_S, log, run
from .workdir import Workdir


class ChartSource(Protocol):
    """Fetches the chart a spec names into a work directory (``catalog.Catalog``)."""

    def materialize(self, spec: ChartSpec, workdir: Workdir) -> build.LocalChart: ...


class Helm(Protocol):
    """What the service needs of helm. ``HelmCli`` is the real one; unit tests use a fake (``tests/fakes.py``)."""

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


_Build = Callable[[str, build.LocalChart | None], list[str]]  # (values file name, fetched chart) -> argv


class HelmCli:
    """Runs the real binary. The major version is read once from ``helm version``."""

    def __init__(self, binary: str, server_side: str = "auto", charts: ChartSource | None = None) -> None:
        self.binary = binary
        self._server_side = server_side
        self.charts = charts  # None: helm fetches chart URLs itself
        self._flavor: build.Flavor | None = None

    @property
    def flavor(self) -> build.Flavor:
        if self._flavor is None:
            match = re.match(r"v?(\d+)\.", self.version)
            if not match:
                raise HelmMissing(f"could not read the helm version from {self.binary}")
            self._flavor = build.Flavor(int(match.group(1)), self._server_side)
        return self._flavor

    @property
    def version(self) -> str:
        with Workdir("") as wd:
            return run(self.binary, ["version", "--template", "{{.Version}}"], wd, QUICK_TIMEOUT_S).stdout.strip()

    def _deploy(self, kubeconfig: str, spec: ChartSpec, argv_for: _Build) -> dict[str, Any]:
        with Workdir(kubeconfig) as wd:
            chart = self.charts.materialize(spec, wd) if self.charts else None
            values_file = wd.write("values.json", vals.to_helm_file(spec.values))
            argv = argv_for(values_file.name, chart)
            secrets = redact.sensitive_strings(spec.values, spec.sensitive_paths, spec.sensitive_keys)
            done = run(self.binary, argv, wd, spec.timeout_s + KILL_MARGIN_S, secrets)
        return json_object(done.stdout, argv[0])

    def install(self, kubeconfig: str, ref: ReleaseRef, spec: InstallSpec) -> dict[str, Any]:
        return self._deploy(kubeconfig, spec, lambda vf, chart: build.install_argv(ref, spec, self.flavor, vf, chart))

    def upgrade(self, kubeconfig: str, ref: ReleaseRef, spec: UpgradeSpec) -> dict[str, Any]:
        return self._deploy(kubeconfig, spec, lambda vf, chart: build.upgrade_argv(ref, spec, self.flavor, vf, chart))

    def rollback(self, kubeconfig: str, ref: ReleaseRef, spec: RollbackSpec) -> None:
        with Workdir(kubeconfig) as wd:
            run(self.binary, build.rollback_argv(ref, spec, self.flavor), wd, spec.timeout_s + KILL_MARGIN_S)

    def uninstall(self, kubeconfig: str, ref: ReleaseRef, spec: UninstallSpec) -> None:
        with Workdir(kubeconfig) as wd:
            run(self.binary, build.uninstall_argv(ref, spec, self.flavor), wd, spec.timeout_s + KILL_MARGIN_S)

    def test(self, kubeconfig: str, ref: ReleaseRef, spec: ReleaseTestSpec) -> list[dict[str, Any]]:
        """Run the test hooks; the results of each (a failed test raises ``HelmError`` carrying them all)."""
        with Workdir(kubeconfig) as wd:
            try:
                run(self.binary, build.test_argv(ref, spec), wd, spec.timeout_s + KILL_MARGIN_S)
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
        return json_object(self._quick(kubeconfig, build.status_argv(ref)), "status")

    def history(self, kubeconfig: str, ref: ReleaseRef) -> list[dict[str, Any]]:
        return json_list(self._quick(kubeconfig, build.history_argv(ref)))

    def get(self, kubeconfig: str, ref: ReleaseRef, what: str, revision: int | None) -> Any:
        out = self._quick(kubeconfig, build.get_argv(ref, what, revision))
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
        return [r for r in json_list(self._quick(kubeconfig, build.list_all_argv())) if isinstance(r, dict)]

    def render_name(self, template: str) -> str:
        """Render a ``name_template`` with helm's own template engine (sprig functions included)."""
        with Workdir("") as wd:
            chart = wd.path / "namechart"
            (chart / "templates").mkdir(parents=True)
            (chart / "Chart.yaml").write_text("apiVersion: v2\nname: namechart\nversion: 0.0.0\n")
            (chart / "templates" / "name.yaml").write_text("name: {{ .Release.Name | toJson }}\n")
            argv = ["template", "--name-template", template, "--", str(chart)]
            out = run(self.binary, argv, wd, QUICK_TIMEOUT_S).stdout
        match = re.search(r'^name: "(.*)"$', out, re.MULTILINE)
        if not match:
            raise InvalidInput("name_template", "did not render to a name")
        return match.group(1)
