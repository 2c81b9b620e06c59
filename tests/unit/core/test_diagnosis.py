"""The watch beside helm (progress written while it runs) and the failure hook (diagnosis on helm failures only),
with a fake cluster reader and a fake progress sink."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from chalicelib.adapters.kube.release_secrets import Unreadable
from chalicelib.core.diagnosis import NO_WATCHER, Watcher
from chalicelib.domain import diagnosis as dx
from chalicelib.domain.models import Action, InstallSpec, Limits, Operation, ReleaseRef, UninstallSpec
from chalicelib.errors import ChartNotFound, ClusterUnreachable, HelmError, HelmTimeout

REF = ReleaseRef("local", "apps", "web")
MANIFEST = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
    "spec: {replicas: 1, selector: {matchLabels: {app: web}}}\n"
)


def revision(status: str) -> dict[str, Any]:
    return {"version": 1, "info": {"status": status}, "manifest": MANIFEST, "hooks": []}


def deployment(available: int) -> dict[str, Any]:
    spec = {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}}
    return {"metadata": {"name": "web"}, "spec": spec, "status": {"updatedReplicas": 1, "availableReplicas": available}}


class FakeReader:
    """Serves the observations in ``script`` one per call (the last one again once they run out)."""

    def __init__(self, script: list[dx.Observation | Exception]) -> None:
        self.script = script
        self.calls: list[bool] = []
        self.polled = threading.Event()
        self.kubeconfigs: list[str] = []

    def observe(self, namespace: str, name: str, events: bool = False) -> dx.Observation:
        assert (namespace, name) == ("apps", "web")
        self.calls.append(events)
        item = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if len(self.calls) >= 3:
            self.polled.set()
        if isinstance(item, Exception):
            raise item
        return item

    @contextmanager
    def open(self, kubeconfig: str) -> Iterator[FakeReader]:
        self.kubeconfigs.append(kubeconfig)  # the operation's own credentials
        yield self


class Sink:
    def __init__(self) -> None:
        self.written: list[tuple[str, dict[str, Any]]] = []

    def set_progress(self, op_id: str, progress: dict[str, Any]) -> bool:
        self.written.append((op_id, progress))
        return True


def obs(status: str, available: int) -> dx.Observation:
    return dx.Observation(revision(status), {("Deployment", "apps", "web"): deployment(available)}, (), (), 1.0)


def spec(**kw: Any) -> InstallSpec:
    body = {"name": "web", "chart": "https://charts.example.com/web-1.0.0.tgz", **kw}
    return InstallSpec.from_json(body, Limits(600, 300, 10, False))[0]


def test_the_watch_writes_progress_when_it_changes() -> None:
    reader = FakeReader([obs("pending-install", 0), obs("pending-install", 0), obs("deployed", 1)])
    sink = Sink()
    op = Operation.new(Action.INSTALL, REF, {})
    with Watcher(sink, reader.open, poll_s=0.01).start(op, spec(wait=True), "KUBECONFIG"):
        assert reader.polled.wait(5)
    phases = [(p["phase"], p["ready"], p["total"]) for _, p in sink.written]
    assert phases[:2] == [("waiting", 0, 1), ("waiting", 1, 1)]  # the repeated observation was not written again
    assert {op_id for op_id, _ in sink.written} == {op.id}
    assert all(p["observed_at"].endswith("Z") for _, p in sink.written)
    assert set(reader.kubeconfigs) == {"KUBECONFIG"}


def test_a_helm_failure_gets_a_diagnosis_read_with_events() -> None:
    reader = FakeReader([obs("failed", 0)])
    op = Operation.new(Action.INSTALL, REF, {})
    watch = Watcher(Sink(), reader.open, poll_s=0.01).start(op, spec(wait=True), "KUBECONFIG")
    with watch:
        pass
    error = {"code": "HelmTimeout", "message": "context deadline exceeded", "details": {"returncode": 1}}
    got = watch.explain(HelmTimeout("context deadline exceeded"), error)
    diag = got["details"]["diagnosis"]
    assert got["message"] == "context deadline exceeded" and got["details"]["returncode"] == 1
    assert diag["summary"] == "Deployment web: 0/1 available"
    assert diag["observed_at"] and reader.calls[-1] is True  # the last read asked for events


def test_after_an_atomic_rollback_the_diagnosis_is_the_last_observation_before_it() -> None:
    before = obs("pending-install", 0)
    gone = dx.Observation(None, {}, (), ({"type": "Warning", "reason": "X"},), 2.0)
    reader = FakeReader([before, before, gone])
    op = Operation.new(Action.INSTALL, REF, {})
    watch = Watcher(Sink(), reader.open, poll_s=0.01).start(op, spec(wait=True, atomic=True), "KUBECONFIG")
    with watch:
        assert reader.polled.wait(5)
    diag = watch.explain(HelmError("uninstalled due to atomic"), {"message": "m", "details": {}})["details"][
        "diagnosis"
    ]
    assert diag["note"] == "as seen before helm rolled the failed operation back"
    assert diag["resources"][0]["status"] == "InProgress"


@pytest.mark.parametrize(
    "exc", [ChartNotFound("no chart"), ClusterUnreachable("down")], ids=["chart-not-found", "not-helm"]
)
def test_no_diagnosis_for_failures_that_applied_nothing(exc: Exception) -> None:
    reader = FakeReader([obs("failed", 0)])
    watch = Watcher(Sink(), reader.open, poll_s=0.01).start(
        Operation.new(Action.INSTALL, REF, {}), spec(), "KUBECONFIG"
    )
    with watch:
        pass
    error = {"code": "X", "message": "m", "details": {}}
    assert watch.explain(exc, error) == error  # type: ignore[arg-type]


def test_an_unreadable_cluster_is_named_and_the_error_kept() -> None:
    reader = FakeReader([Unreadable("HTTP 403 Forbidden")])
    watch = Watcher(Sink(), reader.open, poll_s=0.01).start(
        Operation.new(Action.UPGRADE, REF, {}), spec(), "KUBECONFIG"
    )
    with watch:
        pass
    got = watch.explain(HelmError("boom"), {"code": "HelmError", "message": "boom", "details": {}})
    assert got["message"] == "boom"
    assert got["details"]["diagnosis"]["error"] == "the cluster could not be read: HTTP 403 Forbidden"


def test_uninstall_and_the_null_watcher_do_nothing() -> None:
    reader = FakeReader([obs("failed", 0)])
    op = Operation.new(Action.UNINSTALL, REF, {})
    watch = Watcher(Sink(), reader.open).start(
        op, UninstallSpec.from_json({}, Limits(600, 300, 10, False)), "KUBECONFIG"
    )
    with watch:
        pass
    assert reader.calls == []
    error = {"code": "HelmError", "message": "m", "details": {}}
    assert watch.explain(HelmError("m"), error) == error
    assert NO_WATCHER.start(Operation.new(Action.INSTALL, REF, {}), spec(), "K").explain(HelmError("m"), error) == error
