"""The wiring: ``build`` makes the object graph from the settings (the real helm client, fetching charts through the
catalog, unless one is given), ``override`` is the one seam tests use, and the request limits come from the
settings."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import boto3
import pytest

from chalicelib import bootstrap
from chalicelib.adapters.helm import HelmCli
from chalicelib.config import QUEUE_NAME, Settings
from chalicelib.domain.models import Action, Operation, OperationStatus, ReleaseRef
from tests.emulated import emulated_store
from tests.fakes import FakeGit, FakeHelm


@pytest.fixture
def cfg(monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    with emulated_store(monkeypatch):
        url = boto3.client("sqs").create_queue(QueueName=QUEUE_NAME, Attributes={"FifoQueue": "true"})["QueueUrl"]
        yield Settings(queue_url=url, helm_binary="/opt/helm/helm", chart_bucket="charts", max_timeout_s=600)


def test_limits_come_from_the_settings() -> None:
    limits = bootstrap.limits_of(Settings(max_timeout_s=600, default_timeout_s=120, default_max_history=4))
    assert (limits.max_timeout_s, limits.default_timeout_s, limits.default_max_history) == (600, 120, 4)


def test_build_uses_the_helm_it_is_given(cfg: Settings) -> None:
    helm = FakeHelm()
    deps = bootstrap.build(cfg, helm=helm, git=FakeGit())
    assert deps.service.helm is helm and deps.differ.helm is helm
    assert deps.settings is cfg and deps.limits.max_timeout_s == 600
    assert deps.intake.announcer is deps.announcer and deps.recovery.intake is deps.intake


def test_the_real_helm_fetches_charts_through_the_catalog(cfg: Settings) -> None:
    deps = bootstrap.build(cfg)
    helm = deps.service.helm
    assert isinstance(helm, HelmCli) and helm.binary == "/opt/helm/helm" and helm.charts is deps.catalog


def test_an_ended_operation_reaches_the_runtimes(cfg: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    deps = bootstrap.build(cfg, helm=FakeHelm(), git=FakeGit())
    heard: list[str] = []
    monkeypatch.setattr(deps.runtimes, "operation_ended", lambda op: heard.append(op.id))
    monkeypatch.setattr(deps.custom_resource, "operation_ended", lambda op: None)
    op = dataclasses.replace(
        Operation.new(Action.UNLOCK, ReleaseRef("prod", "apps", "web"), {}), status=OperationStatus.SUCCEEDED
    )
    deps.announcer.ended(op.id, op)
    assert heard == [op.id]


def test_override_is_the_seam_and_none_restores(cfg: Settings) -> None:
    deps = bootstrap.build(cfg, helm=FakeHelm())
    bootstrap.override(deps)
    try:
        assert bootstrap.get() is deps
    finally:
        bootstrap.override(None)
    assert bootstrap._override is None


def test_aws_clients_retry_and_leave_parameter_checks_to_the_services() -> None:
    config = bootstrap.aws_config(7)
    assert config.retries == {"mode": "standard", "max_attempts": 4}
    assert config.read_timeout == 7 and config.parameter_validation is False
