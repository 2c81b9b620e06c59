"""The only place that runs a subprocess: the helm binary.

Contract of every call: an argv list (never a shell), an explicit timeout, values only in a 0600 file inside a
fresh 0700 work directory that also holds the kubeconfig (0600) and helm's HOME/HELM_*_HOME, all removed after the
call. ``--output json`` wherever helm offers it. stderr is classified into the typed errors of ``errors.py``.

Layout (each module owns one thing; import from the package, which re-exports what the service uses)::

    workdir.py   Workdir: the private directory of one call, its minimal environment; the discovery cache
    runner.py    run(): THE subprocess call (timeout, kill_by deadline, one redacted log line); pull()
    failures.py  classify(): helm's stderr -> ChartNotFound, ClusterUnreachable, InvalidInput, ... (pure)
    argv.py      Flavor (helm 3 vs 4) and one pure argv builder per verb (install_argv, upgrade_argv, ...)
    output.py    reading helm's JSON output and the test hooks' results (pure)
    client.py    Helm (the protocol the service needs) and HelmCli (workdir + argv + run + output, per verb)

Dependencies run one way: client -> argv, output, runner -> failures, workdir. The argv builders and the
classification are unit-tested table by table without helm (tests/unit/adapters/helm/); the runner with stand-in
binaries; HelmCli against both real helm majors in the e2e suite.
"""

from __future__ import annotations

from .argv import (
    GET_WHAT,
    Flavor,
    LocalChart,
    RegistryTls,
    get_argv,
    history_argv,
    install_argv,
    list_all_argv,
    pull_argv,
    rollback_argv,
    status_argv,
    test_argv,
    uninstall_argv,
    upgrade_argv,
)
from .client import ChartSource, Helm, HelmCli
from .failures import classify
from .output import json_object, test_results
from .runner import KILL_MARGIN_S, QUICK_TIMEOUT_S, Completed, kill_by, pull, run
from .workdir import Workdir, kube_cache_dir

__all__ = [
    "GET_WHAT",
    "KILL_MARGIN_S",
    "QUICK_TIMEOUT_S",
    "ChartSource",
    "Completed",
    "Flavor",
    "Helm",
    "HelmCli",
    "LocalChart",
    "RegistryTls",
    "Workdir",
    "classify",
    "get_argv",
    "history_argv",
    "install_argv",
    "json_object",
    "kill_by",
    "kube_cache_dir",
    "list_all_argv",
    "pull",
    "pull_argv",
    "rollback_argv",
    "run",
    "status_argv",
    "test_argv",
    "test_results",
    "uninstall_argv",
    "upgrade_argv",
]
