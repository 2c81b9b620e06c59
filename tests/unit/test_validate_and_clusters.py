"""Field rules, kubeconfig reduction, EKS token minting and redaction."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import yaml
from moto import mock_aws

from chalicelib.adapters.kube.eks import mint_token as mint_eks_token
from chalicelib.core.clusters import ClusterRegistry, ClusterSpec
from chalicelib.domain import redact
from chalicelib.domain import validate as v
from chalicelib.errors import InvalidInput

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize("name", ["a", "web-1", "x" * 53, "0abc"])
def test_release_names_ok(name: str) -> None:
    assert v.release_name("name", name) == name


@pytest.mark.parametrize("name", ["", "A", "-a", "a-", "a_b", "a.b", "x" * 54, None, 3, "--set"])
def test_release_names_refused(name: Any) -> None:
    with pytest.raises(InvalidInput) as exc:
        v.release_name("name", name)
    assert exc.value.field == "name"


@pytest.mark.parametrize(
    ("raw", "seconds"), [(None, 300), (30, 30), ("45", 45), ("5m", 300), ("1m30s", 90), ("1h", 3600)]
)
def test_durations(raw: Any, seconds: int) -> None:
    assert v.duration_seconds("timeout", raw, 3600, 300) == seconds


@pytest.mark.parametrize("raw", [0, -1, "", "5x", "1.5m", True, 3601, "2h", [1]])
def test_durations_refused(raw: Any) -> None:
    with pytest.raises(InvalidInput):
        v.duration_seconds("timeout", raw, 3600, 300)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "/etc/passwd",
        "../chart",
        "oci://r/x",
        "https://",
        "https://u:p@h/x.tgz",
        "https://h/x y.tgz",
        "-f",
    ],
)
def test_chart_urls_refused(url: str) -> None:
    with pytest.raises(InvalidInput):
        v.chart_url("chart", url, allow_http=True)


def test_http_chart_urls_can_be_refused() -> None:
    assert v.chart_url("chart", "http://h/x.tgz", allow_http=True)
    with pytest.raises(InvalidInput):
        v.chart_url("chart", "http://h/x.tgz", allow_http=False)


@pytest.mark.parametrize("version", ["1.2.3", "^1.2", ">=1.0 <2.0", "~1.2.3-rc.1", "1.x"])
def test_versions(version: str) -> None:
    assert v.chart_version("version", version) == version


@pytest.mark.parametrize("version", ["--devel", "1;rm", "$(x)", "a" * 200, 1])
def test_versions_refused(version: Any) -> None:
    with pytest.raises(InvalidInput):
        v.chart_version("version", version)


def _kubeconfig(user: dict[str, Any], cluster: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "clusters": [
            {"name": "c", "cluster": cluster or {"server": "https://k:6443", "certificate-authority-data": "Y2E="}}
        ],
        "users": [{"name": "u", "user": user}],
        "contexts": [
            {"name": "one", "context": {"cluster": "c", "user": "u", "namespace": "ns"}},
            {"name": "two", "context": {"cluster": "c", "user": "u"}},
        ],
        "current-context": "one",
    }


def test_kubeconfig_is_reduced_to_one_context() -> None:
    spec = ClusterSpec.from_json(
        "prod", {"kubeconfig": yaml.safe_dump(_kubeconfig({"token": "t0k3n"})), "context": "two"}
    )
    doc = spec.secret["kubeconfig"]
    assert len(doc["contexts"]) == 1 and doc["users"][0]["user"] == {"token": "t0k3n"}
    assert spec.server == "https://k:6443" and spec.auth == "kubeconfig"


@pytest.mark.parametrize(
    "user",
    [
        {"exec": {"command": "aws"}},
        {"auth-provider": {"name": "gcp"}},
        {"tokenFile": "/var/run/token"},
        {"client-certificate": "/home/me/cert.pem", "client-key": "/home/me/key.pem"},
    ],
)
def test_kubeconfig_plugins_and_paths_refused(user: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        ClusterSpec.from_json("prod", {"kubeconfig": _kubeconfig(user)})


def test_kubeconfig_ca_path_refused() -> None:
    with pytest.raises(InvalidInput):
        ClusterSpec.from_json(
            "prod", {"kubeconfig": _kubeconfig({"token": "t"}, {"server": "https://k", "certificate-authority": "/ca"})}
        )


def test_token_cluster_accepts_pem_or_base64() -> None:
    for ca in (PEM, base64.b64encode(PEM.encode()).decode()):
        spec = ClusterSpec.from_json("c", {"server": "https://k:6443", "ca_data": ca, "token": "abc"})
        assert spec.secret["ca_data"] == PEM
    with pytest.raises(InvalidInput) as exc:
        ClusterSpec.from_json("c", {"server": "https://k:6443", "ca_data": "not a cert", "token": "abc"})
    assert exc.value.field == "ca_data"


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


@mock_aws
def test_eks_cluster_credentials_end_to_end(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "a",
        "AWS_SECRET_ACCESS_KEY": "b",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(key, value)
    from chalicelib.adapters.store import Store, table_definition

    boto3.client("dynamodb").create_table(**table_definition("charthouse"))
    iam = boto3.client("iam")
    role = iam.create_role(RoleName="eks", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    boto3.client("eks").create_cluster(name="prod-eks", roleArn=role, resourcesVpcConfig={})
    store = Store(boto3.resource("dynamodb"), "charthouse")
    registry = ClusterRegistry(
        boto3.client("secretsmanager"),
        store,
        "charthouse/clusters/",
        lambda region, arn: boto3.session.Session(region_name=region),
    )
    spec = ClusterSpec.from_json("prod", {"eks": {"name": "prod-eks", "region": "eu-west-1"}})
    info, created = registry.put(spec)
    assert created and info.auth == "eks" and info.eks == {"name": "prod-eks", "region": "eu-west-1"}
    creds = registry.credentials("prod")
    doc = yaml.safe_load(creds.kubeconfig)
    assert doc["users"][0]["user"]["token"].startswith("k8s-aws-v1.")
    assert doc["clusters"][0]["cluster"]["server"].startswith("https://")
    assert creds.secrets and creds.secrets[0] == doc["users"][0]["user"]["token"]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("GET https://sts.amazonaws.com/?X-Amz-Signature=abc123&X-Amz-Credential=AKID", "X-Amz-Signature=abc123"),
        ("Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi.payload.sig"),
        ("token: k8s-aws-v1.aHR0cHM6Ly9zdHM", "aHR0cHM6Ly9zdHM"),
        ("fetching https://user:pa55word@charts.example.com/x.tgz", "pa55word"),
        ("password=hunter22", "hunter22"),
    ],
)
def test_redact(text: str, secret: str) -> None:
    assert secret not in redact.redact(text)


def test_redact_literal_secrets() -> None:
    assert "my-very-secret" not in redact.redact("x my-very-secret y", ("my-very-secret",))


def test_release_secret_round_trip() -> None:
    from chalicelib.adapters.kube import release_secrets

    release = {"name": "web", "version": 3, "info": {"status": "pending-upgrade"}}
    assert release_secrets.decode(release_secrets.encode(release)) == release
    assert release_secrets.secret_name("web", 3) == "sh.helm.release.v1.web.v3"
