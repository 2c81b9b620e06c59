"""Settings read from the environment once: defaults, per-stage secret prefixes unless one is given, lists and
numbers parsed, relative paths made absolute; and the timeouts that must fit in the worker Lambda."""

from __future__ import annotations

import os

import pytest

from chalicelib import config

VARS = [k for k in os.environ if k.startswith("CHARTHOUSE_")] + ["AWS_REGION", "AWS_DEFAULT_REGION"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in VARS:
        monkeypatch.delenv(key, raising=False)


def test_the_defaults() -> None:
    s = config.Settings.from_env()
    assert (s.stage, s.table_name, s.auth_mode, s.region) == ("dev", "charthouse", "iam", "us-east-1")
    assert s.secret_prefix == "charthouse/dev/clusters/" and s.runtime_secret_prefix == "charthouse/dev/runtimes/"
    assert s.admins == ("token:admin",) and s.allowed_networks == () and s.default_cluster == ""
    assert s.helm_binary == config.DEFAULT_HELM_BINARY and s.max_timeout_s == config.MAX_HELM_TIMEOUT_S


def test_secret_prefixes_follow_the_stage_unless_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHARTHOUSE_STAGE", "prod")
    monkeypatch.setenv("CHARTHOUSE_REPO_SECRET_PREFIX", "custom/repos/")
    s = config.Settings.from_env()
    assert s.secret_prefix == "charthouse/prod/clusters/" and s.repo_secret_prefix == "custom/repos/"
    assert s.access_key_secret_prefix == config.stage_secret_prefix("prod", "access-keys")


def test_values_are_parsed(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.chdir(str(tmp_path))
    monkeypatch.setenv("CHARTHOUSE_ADMINS", " token:ops , iam:arn:aws:iam::1:role/admin ,, ")
    monkeypatch.setenv("CHARTHOUSE_ALLOWED_NETWORKS", "10.0.0.0/8")
    monkeypatch.setenv("CHARTHOUSE_MAX_TIMEOUT", "120")
    monkeypatch.setenv("CHARTHOUSE_ALLOW_HTTP_CHARTS", "false")
    monkeypatch.setenv("CHARTHOUSE_HELM_BINARY", "layers/helm/build/v4/helm")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    s = config.Settings.from_env()
    assert s.admins == ("token:ops", "iam:arn:aws:iam::1:role/admin") and s.allowed_networks == ("10.0.0.0/8",)
    assert s.max_timeout_s == 120 and s.allow_http_charts is False and s.region == "eu-west-1"
    assert s.helm_binary == os.path.join(str(tmp_path), "layers/helm/build/v4/helm")


def test_a_number_that_is_not_one_fails_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHARTHOUSE_AUDIT_DAYS", "a year")
    with pytest.raises(ValueError):
        config.Settings.from_env()


def test_settings_are_read_once() -> None:
    config.settings.cache_clear()
    try:
        assert config.settings() is config.settings()
    finally:
        config.settings.cache_clear()


def test_helm_and_its_margins_fit_in_the_worker_lambda() -> None:
    assert config.MAX_HELM_TIMEOUT_S + config.WORKER_MARGIN_S + 30 <= config.DEFAULT_WORKER_TIMEOUT_S
    assert config.DEFAULT_HELM_TIMEOUT_S <= config.MAX_HELM_TIMEOUT_S
