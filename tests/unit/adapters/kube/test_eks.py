"""EKS tokens: a presigned STS GetCallerIdentity URL bound to the cluster, as aws eks get-token makes them (moto)."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.kube.eks import mint_token as mint_eks_token


@mock_aws
def test_eks_token_is_a_presigned_sts_url_bound_to_the_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    token = mint_eks_token(boto3.client("sts", region_name="eu-west-1"), "my-cluster")
    assert token.startswith("k8s-aws-v1.")
    encoded = token.removeprefix("k8s-aws-v1.")
    url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.hostname and parts.hostname.startswith("sts.")
    assert query["Action"] == ["GetCallerIdentity"]
    assert "x-k8s-aws-id" in query["X-Amz-SignedHeaders"][0]
    assert query["X-Amz-Expires"] == ["60"]
