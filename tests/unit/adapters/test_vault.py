"""Credentials in Secrets Manager (moto): JSON documents under a name prefix, created then replaced, read back,
deleted best effort; a failure is DependencyUnavailable naming the thing, never the secret."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from chalicelib.adapters.vault import Vault
from chalicelib.errors import DependencyUnavailable


@pytest.fixture
def sm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "a",
        "AWS_SECRET_ACCESS_KEY": "b",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("secretsmanager")


def test_documents_under_the_prefix(sm: Any) -> None:
    vault = Vault(sm, "charthouse/clusters/", "cluster credentials")
    secret_id = vault.put("prod", {"token": "t1"})
    assert secret_id == vault.secret_id("prod") == "charthouse/clusters/prod"
    assert vault.put("prod", {"token": "t2"}) == secret_id  # replaced, not duplicated
    assert vault.get(secret_id) == {"token": "t2"}
    assert sm.describe_secret(SecretId=secret_id)["Description"] == "Charthouse cluster credentials"
    vault.delete(secret_id)
    assert vault.get(secret_id) is None
    vault.delete(secret_id)  # already gone: nothing to do
    assert vault.get("charthouse/clusters/never") is None


def test_a_document_that_is_not_an_object_reads_as_none(sm: Any) -> None:
    sm.create_secret(Name="charthouse/repositories/odd", SecretString="[1, 2]")
    assert Vault(sm, "charthouse/repositories/", "repository credentials").get("charthouse/repositories/odd") is None


class Refusing:
    """A Secrets Manager client that refuses every call."""

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> Any:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, name)

        return call


def test_failures_name_the_thing_never_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    vault = Vault(Refusing(), "charthouse/clusters/", "cluster credentials")
    with pytest.raises(DependencyUnavailable) as exc:
        vault.put("prod", {"token": "s3cr3t"})
    assert "cluster credentials were not stored" in str(exc.value) and "s3cr3t" not in str(exc.value)
    with pytest.raises(DependencyUnavailable, match="cannot read cluster credentials"):
        vault.get("charthouse/clusters/prod")
    caplog.set_level(logging.WARNING)
    vault.delete("charthouse/clusters/prod")  # best effort: logged, not raised
    assert "unreferenced" in caplog.text


class AwsLikeDeletion:
    """moto accepts PutSecretValue on a secret scheduled for deletion; Secrets Manager refuses it."""

    def __init__(self, sm: Any) -> None:
        self._sm = sm

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sm, name)

    def put_secret_value(self, **kwargs: Any) -> Any:
        if "DeletedDate" in self._sm.describe_secret(SecretId=kwargs["SecretId"]):
            error = {"Error": {"Code": "InvalidRequestException", "Message": "it was marked for deletion."}}
            raise ClientError(error, "PutSecretValue")  # type: ignore[arg-type]
        return self._sm.put_secret_value(**kwargs)


def test_a_deleted_secret_keeps_a_recovery_window_and_its_name_comes_back(sm: Any) -> None:
    vault = Vault(AwsLikeDeletion(sm), "charthouse/dev/clusters/", "cluster credentials")
    secret_id = vault.put("c1", {"token": "t1"})
    vault.delete(secret_id)
    assert "DeletedDate" in sm.describe_secret(SecretId=secret_id)  # scheduled, not force-deleted
    assert vault.get(secret_id) is None
    assert vault.put("c1", {"token": "t2"}) == secret_id  # registered again: restored with the new value
    assert vault.get(secret_id) == {"token": "t2"}


def test_a_deleted_secret_comes_back_where_a_value_is_accepted_silently(sm: Any) -> None:
    """moto (the local stack's Secrets Manager) takes a value for a secret scheduled for deletion without an error:
    the name must come back readable there too (a runtime's credentials dropped, then given again)."""
    vault = Vault(sm, "charthouse/dev/runtimes/", "runtime credentials")
    secret_id = vault.put("rt/git", {"password": "p1"})
    vault.delete(secret_id)
    assert vault.put("rt/git", {"password": "p2"}) == secret_id
    assert vault.get(secret_id) == {"password": "p2"}
