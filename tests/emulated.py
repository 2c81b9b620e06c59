"""AWS emulated in-process by moto, for unit tests of the store and of the core modules that use it: the table as
``table_definition`` makes it (as tests/functional/conftest.py and the local stack do) and Secrets Manager."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.store import Store, keys, table_definition
from chalicelib.core.clusters import ClusterRegistry, ClusterSpec
from chalicelib.domain.models import ReleaseRef

TABLE = "charthouse"
KUBECONFIG = """
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1", certificate-authority-data: "Y2E="}
users:
- name: u
  user: {token: "s3cr3t-token-value"}
contexts:
- name: ctx
  context: {cluster: c, user: u, namespace: default}
current-context: ctx
"""


@contextmanager
def emulated_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """A store on a fresh emulated table; fake credentials, and no endpoint leaking in from the environment."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        boto3.client("dynamodb").create_table(**table_definition(TABLE))
        yield Store(boto3.resource("dynamodb"), TABLE)


def raw_items() -> list[dict[str, Any]]:
    """Every item of the emulated table, as the low-level client returns them (to check what was written)."""
    return boto3.client("dynamodb").scan(TableName=TABLE)["Items"]


def registry_with(store: Store, *clusters: str) -> ClusterRegistry:
    """A cluster registry (credentials in emulated Secrets Manager) holding ``clusters``, each with ``KUBECONFIG``."""
    registry = ClusterRegistry(boto3.client("secretsmanager"), store, "charthouse/clusters/", _no_sessions)
    for name in clusters:
        registry.put(ClusterSpec.from_json(name, {"kubeconfig": KUBECONFIG}))
    return registry


def _no_sessions(region: str, role_arn: str | None) -> Any:
    raise AssertionError("no EKS cluster is registered in these tests")


def typed(key: dict[str, str]) -> dict[str, dict[str, str]]:
    """A key of ``chalicelib.adapters.store.keys`` as the low-level client takes it."""
    return {name: {"S": value} for name, value in key.items()}


def expire_lease(ref: ReleaseRef) -> None:
    """Make a release's lease expired long ago, as a lost worker leaves it (its index key too: the sweep finds it)."""
    boto3.client("dynamodb").update_item(
        TableName=TABLE,
        Key=typed(keys.lease(ref)),
        UpdateExpression="SET expires_at = :e, gsi1sk = :s",
        ExpressionAttributeValues={":e": {"N": "1"}, ":s": {"S": keys.lease_index(ref, 1)["gsi1sk"]}},
    )
