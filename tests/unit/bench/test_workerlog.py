"""Worker log parsing: helm calls split into the verb and the read-back; tailing only new lines. No stack is started and no timing is asserted."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import workerlog

WORKER_LOG = """worker 12 INFO chalicelib.operations: something else
worker 12 INFO chalicelib.helm: helm install --namespace default --values values.json --server-side=false --timeout 300s --output json -- ovh-api-0 http://127.0.0.1:1/benchapp-1.0.0.tgz rc=0 0.31s
worker 12 INFO chalicelib.helm: helm history --namespace default --max 1000000 --output json -- ovh-api-0 rc=0 0.05s
worker 12 INFO chalicelib.helm: helm status --namespace default --output json -- ovh-api-0 rc=0 0.06s
worker 12 INFO chalicelib.helm: helm get metadata --namespace default --output json -- ovh-api-0 rc=0 0.04s
"""


def test_worker_log_lines_split_into_verb_and_readback() -> None:
    calls = workerlog.parse(WORKER_LOG)
    assert [c.label for c in calls] == ["install", "history", "status", "get metadata"]
    split = workerlog.split(calls)
    assert split["helm_verb_s"] == pytest.approx(0.31)
    assert split["helm_readback_s"] == pytest.approx(0.15)
    assert split["helm get metadata"] == pytest.approx(0.04)


def test_the_release_secrets_read_counts_as_read_back_and_the_package_path_is_parsed() -> None:
    text = (
        "worker 12 INFO chalicelib.adapters.helm: helm rollback --namespace default -- r 0 rc=0 0.20s\n"
        "worker 12 INFO chalicelib.adapters.helm: read 3 release Secrets of local/default/r 0.02s\n"
        "worker 12 INFO chalicelib.core.service: operation abc: read back from 3 release Secrets\n"
    )
    calls = workerlog.parse(text)
    assert [(c.label, c.mutating) for c in calls] == [("rollback", True), ("Secrets", False)]
    split = workerlog.split(calls)
    assert split["helm_verb_s"] == pytest.approx(0.20) and split["helm_readback_s"] == pytest.approx(0.02)
    assert split["helm Secrets"] == pytest.approx(0.02)


def test_log_tail_returns_only_new_lines(tmp_path: Path) -> None:
    log = tmp_path / "worker-0.log"
    log.write_text("old\n")
    tail = workerlog.LogTail(tmp_path)
    with open(log, "a") as fh:
        fh.write("new\n")
    assert tail.read() == "new\n" and tail.read() == ""


def test_log_tail_also_reads_the_api_log(tmp_path: Path) -> None:
    """An operation run in the request (Prefer: wait) logs its helm lines in the API's log."""
    tail = workerlog.LogTail(tmp_path)
    (tmp_path / "api.log").write_text("api line\n")
    assert tail.read() == "api line\n" and tail.read() == ""
