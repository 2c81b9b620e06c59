"""What every compat surface shares: how an operation's end reads to its caller (``Ended``), and finding the cluster
and the release a compat request names (by name, by API server, by default; one release of a name, readable by the
caller). The services are faked."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.compat import sync
from chalicelib.domain.models import Action, ListQuery, Operation, OperationStatus, ReleaseRef
from chalicelib.errors import ClusterNotFound, InvalidInput, ReleaseNotFound

REF = ReleaseRef("prod", "shop", "web")


def _op(status: OperationStatus, error: dict[str, Any] | None = None) -> Operation:
    return dataclasses.replace(Operation.new(Action.UPGRADE, REF, {}), status=status, error=error)


def test_an_ended_operation_reads_as_ok_failed_or_running() -> None:
    done = sync.Ended(_op(OperationStatus.SUCCEEDED))
    assert done.ok and not done.running and done.message == ""
    failed = sync.Ended(_op(OperationStatus.FAILED, {"code": "HelmError", "message": "image pull failed"}))
    assert not failed.ok and not failed.running and failed.message == "image pull failed"
    assert sync.Ended(_op(OperationStatus.FAILED, {"code": "WorkerLost"})).message == "WorkerLost"
    running = sync.Ended(_op(OperationStatus.RUNNING))
    assert running.running and not running.ok
    assert running.message.startswith(f"operation {running.operation.id} (upgrade of prod/shop/web) is still running")
    assert f"GET /v1/operations/{running.operation.id}" in running.message
    assert str(sync.Unfinished(failed)) == "image pull failed"


class FakeRegistry:
    def __init__(self, *clusters: tuple[str, str]) -> None:
        self.clusters = [SimpleNamespace(name=n, server=s) for n, s in clusters]

    def get(self, name: str) -> Any:
        for c in self.clusters:
            if c.name == name:
                return c
        raise ClusterNotFound(f"cluster {name} not found")

    def all(self) -> list[Any]:
        return self.clusters


class FakeService:
    def __init__(self, *records: tuple[str, str, str]) -> None:
        self.records = [{"cluster": c, "namespace": n, "name": r} for c, n, r in records]
        self.queries: list[ListQuery] = []

    def list(self, query: ListQuery) -> tuple[list[dict[str, Any]], None]:
        self.queries.append(query)
        found = [
            r
            for r in self.records
            if r["name"] == query.name
            and (not query.cluster or r["cluster"] == query.cluster)
            and (not query.namespace or r["namespace"] == query.namespace)
        ]
        return found, None


@pytest.fixture
def deps(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimpleNamespace]:
    readable = {("prod", "shop"), ("prod", "blog"), ("dev", "shop")}
    fake = SimpleNamespace(
        registry=FakeRegistry(("prod", "https://10.0.0.1:6443"), ("dev", "https://10.0.0.2:6443/")),
        settings=SimpleNamespace(default_cluster=None),
        service=FakeService(
            ("prod", "shop", "web"), ("prod", "blog", "web"), ("prod", "hidden", "db"), ("dev", "shop", "api")
        ),
        authorizer=SimpleNamespace(reader=lambda who: SimpleNamespace(can_read=lambda c, n: (c, n) in readable)),
    )
    monkeypatch.setattr(sync, "principal", lambda: "token:ci")
    bootstrap.override(fake)  # type: ignore[arg-type]
    yield fake
    bootstrap.override(None)


def test_a_cluster_by_name_must_be_registered(deps: SimpleNamespace) -> None:
    assert sync.cluster_named("prod", "cluster_id") == "prod"
    with pytest.raises(ClusterNotFound):
        sync.cluster_named("nowhere", "cluster_id")
    with pytest.raises(InvalidInput) as err:
        sync.cluster_named("Not A Name", "cluster_id")
    assert err.value.field == "cluster_id"


def test_a_cluster_by_its_api_server(deps: SimpleNamespace) -> None:
    assert sync.cluster_by_server("https://10.0.0.2:6443", "endpoint") == "dev"  # trailing slashes ignored
    assert sync.cluster_by_server(" https://10.0.0.1:6443/ ", "endpoint") == "prod"
    with pytest.raises(InvalidInput) as err:
        sync.cluster_by_server("https://10.9.9.9:6443", "endpoint")
    assert err.value.field == "endpoint" and "register it" in str(err.value)


def test_the_default_cluster(deps: SimpleNamespace) -> None:
    with pytest.raises(InvalidInput, match="no default cluster is configured"):
        sync.default_cluster("cluster")  # two registered, none configured
    deps.settings.default_cluster = "dev"
    assert sync.default_cluster("cluster") == "dev"
    deps.settings.default_cluster = None
    deps.registry.clusters = deps.registry.clusters[:1]
    assert sync.default_cluster("cluster") == "prod"  # the only one


def test_find_release_finds_the_one_release_of_a_name_the_caller_can_read(deps: SimpleNamespace) -> None:
    assert sync.find_release("api", None, None) == ReleaseRef("dev", "shop", "api")
    assert sync.find_release("web", "prod", "blog") == ReleaseRef("prod", "blog", "web")
    with pytest.raises(InvalidInput) as err:
        sync.find_release("web", "prod", None)  # in two namespaces
    assert err.value.field == "namespace" and "prod/shop" in str(err.value) and "prod/blog" in str(err.value)
    with pytest.raises(ReleaseNotFound, match="release db not found in prod"):
        sync.find_release("db", "prod", None)  # exists, but in a namespace the caller cannot read
    assert sync.find_release("new", "prod", "shop") == ReleaseRef("prod", "shop", "new")  # being installed
    assert deps.service.queries[0].limit == 1000


def test_the_caller_of_a_compat_request_waits_for_the_operations_end(deps: SimpleNamespace) -> None:
    caller = sync.caller()
    assert (caller.principal, caller.wait_s, caller.budget_s) == ("token:ci", sync.WAIT_S, None)


def test_the_cluster_the_guard_authorizes_on(deps: SimpleNamespace) -> None:
    assert sync.cluster_at("https://10.0.0.2:6443") == "dev" and sync.cluster_at("https://10.9.9.9:6443") is None
    assert sync.default_cluster_name() is None  # two registered, none configured: there is none to choose
    deps.settings.default_cluster = "prod"
    assert sync.default_cluster_name() == "prod"
