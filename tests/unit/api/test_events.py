"""The scheduled jobs, invoked as EventBridge invokes them, with the services faked: the sweep's report, the
reconcile tick (a runtimes failure does not undo the queued reconciles), the repositories' refresh (one failure
does not stop the rest)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.core.recovery import SweepReport
from chalicelib.errors import DependencyUnavailable, RepositoryUnreachable


@dataclass
class FakeRepos:
    repos: list[Any] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)

    def all(self) -> list[Any]:
        return self.repos

    def refresh(self, name: str) -> None:
        if name == "down":
            raise RepositoryUnreachable("https://down.example/index.yaml is unreachable")
        self.refreshed.append(name)


@dataclass
class FakeRuntimes:
    fail: bool = False

    def tick(self) -> dict[str, Any]:
        if self.fail:
            raise DependencyUnavailable("DynamoDB is throttling")
        return {"synced": ["shop"], "failed": []}


@pytest.fixture
def deps() -> Iterator[SimpleNamespace]:
    fake = SimpleNamespace(
        recovery=SimpleNamespace(sweep=lambda: SweepReport(2, ["op-1"], ["op-2", "op-3"])),
        reconciler=SimpleNamespace(schedule_all=lambda: {"queued": ["prod"], "failed": []}),
        runtimes=FakeRuntimes(),
        catalog=SimpleNamespace(repos=FakeRepos()),
    )
    bootstrap.override(fake)  # type: ignore[arg-type]
    yield fake
    bootstrap.override(None)


def _invoke(name: str) -> Any:
    from app import app

    with Client(app) as client:
        event = client.events.generate_cw_event("Scheduled Event", "aws.events", {}, [])
        return client.lambda_.invoke(name, event).payload


def test_the_sweep_reports_what_it_recovered(deps: SimpleNamespace) -> None:
    assert _invoke("sweep_stale_leases") == {
        "leases_expired": 2,
        "operations_failed": ["op-1"],
        "unlocks_queued": ["op-2", "op-3"],
    }


def test_the_reconcile_tick_syncs_the_runtimes_too(deps: SimpleNamespace) -> None:
    assert _invoke("reconcile_clusters") == {
        "queued": ["prod"],
        "failed": [],
        "runtimes": {"synced": ["shop"], "failed": []},
    }


def test_a_runtimes_failure_leaves_the_reconciles_queued(deps: SimpleNamespace) -> None:
    deps.runtimes.fail = True
    assert _invoke("reconcile_clusters") == {"queued": ["prod"], "failed": []}


def test_only_http_repositories_are_refreshed_and_one_failure_stays_its_own(deps: SimpleNamespace) -> None:
    repos = deps.catalog.repos
    repos.repos = [
        SimpleNamespace(name=n, kind=k) for n, k in (("a", "http"), ("down", "http"), ("o", "oci"), ("b", "http"))
    ]
    assert _invoke("refresh_repositories") == {"refreshed": ["a", "b"], "failed": ["down"]}
    assert repos.refreshed == ["a", "b"]
