"""The one subprocess call, with stand-in binaries: a typed error for a missing or failing binary, the deadline of
``kill_by``, the minimal environment, one redacted log line."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from chalicelib import errors
from chalicelib.adapters.helm.runner import KILL_MARGIN_S, kill_by, loggable, run
from chalicelib.adapters.helm.workdir import Workdir


def _binary(tmp_path: Path, script: str) -> str:
    path = tmp_path / "helm"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return str(path)


def test_run_missing_binary_is_typed() -> None:
    with Workdir("") as wd, pytest.raises(errors.HelmMissing):
        run("/nonexistent/helm", ["version"], wd, 5)


def test_a_binary_that_cannot_be_executed_is_typed(tmp_path: Path) -> None:
    plain = tmp_path / "helm"
    plain.write_text("not a program")
    plain.chmod(0o600)
    with Workdir("") as wd, pytest.raises(errors.HelmMissing, match="not executable"):
        run(str(plain), ["version"], wd, 5)


def test_run_returns_the_output_from_inside_the_workdir(tmp_path: Path) -> None:
    helm = _binary(tmp_path, 'echo "$@"; pwd; echo "$KUBECONFIG" >&2\n')
    with Workdir("") as wd:
        done = run(helm, ["status", "--", "web"], wd, 5)
        assert done.stdout.splitlines() == ["status -- web", str(wd.path)]
        assert done.stderr.strip() == str(wd.path / "kubeconfig") and done.seconds >= 0


def test_a_failure_is_classified_and_scrubbed_of_secrets(tmp_path: Path) -> None:
    helm = _binary(
        tmp_path,
        'echo "Error: INSTALLATION FAILED: execution error at (demo/templates/x.yaml:3:4): password hunter2-secret too short" >&2\nexit 1\n',
    )
    with Workdir("") as wd, pytest.raises(errors.InvalidInput) as err:
        run(helm, ["install"], wd, 5, secrets=("hunter2-secret",))
    assert err.value.field == "values" and "hunter2-secret" not in str(err.value)


def test_kill_by_stops_helm_at_the_deadline_before_its_own_timeout(tmp_path: Path) -> None:
    slow = _binary(tmp_path, "sleep 30\n")
    with Workdir("") as wd, kill_by(time.monotonic() + 0.2), pytest.raises(errors.HelmTimeout) as err:
        run(slow, ["install"], wd, 60)
    assert "within 0 s" in str(err.value) and "install" in str(err.value)
    with Workdir("") as wd:  # outside the block the call's own timeout applies again
        assert run("/bin/echo", ["ok"], wd, 5).stdout == "ok\n"


def test_a_past_deadline_stops_helm_at_once(tmp_path: Path) -> None:
    slow = _binary(tmp_path, "sleep 30\n")
    with Workdir("") as wd, kill_by(time.monotonic() - 10), pytest.raises(errors.HelmTimeout):
        run(slow, ["upgrade"], wd, 60)


def test_one_log_line_per_call_without_query_strings(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="chalicelib.adapters.helm")
    with Workdir("") as wd:
        run("/bin/echo", ["pull", "--", "https://b.s3.amazonaws.com/c.tgz?X-Amz-Signature=abc"], wd, 5)
    lines = [r for r in caplog.records if r.name == "chalicelib.adapters.helm"]  # bench/workerlog.py reads them
    assert len(lines) == 1 and "rc=0" in lines[0].getMessage()
    assert lines[0].getMessage().startswith("helm pull --") and "X-Amz-Signature=abc" not in lines[0].getMessage()


def test_loggable_redacts_each_argument() -> None:
    assert loggable(["status", "web"]) == ["status", "web"]
    assert "secret" not in " ".join(loggable(["pull", "https://h/c.tgz?token=secret"]))


def test_the_timeout_cap_leaves_the_worker_time_to_record_the_outcome() -> None:
    """helm's --timeout, the kill margin and the worker's own margin must fit in the worker Lambda's 900 s."""
    from chalicelib import config

    assert config.MAX_HELM_TIMEOUT_S == 780 and config.Settings().max_timeout_s == config.MAX_HELM_TIMEOUT_S
    assert config.MAX_HELM_TIMEOUT_S + KILL_MARGIN_S + config.WORKER_MARGIN_S <= config.DEFAULT_WORKER_TIMEOUT_S
