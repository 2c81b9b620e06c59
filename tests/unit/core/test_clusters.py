"""Cluster specs: kubeconfig reduced to one context, plugins and paths refused, CA data; EKS cluster credentials
end to end (moto)."""

from __future__ import annotations

import base64
from typing import Any

import boto3
import jsonschema
import pytest
import yaml
from moto import mock_aws

from chalicelib.core.clusters import CLUSTER_BODY, FORMS, ClusterAuth, ClusterRegistry, ClusterSpec
from chalicelib.errors import InvalidInput

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


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


def test_a_kubeconfig_alias_bomb_is_refused() -> None:
    anchors = ["b0: &b0 [x, x, x, x, x, x, x, x, x, x]"]
    anchors += [f"b{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * 10) + "]" for i in range(1, 7)]
    text = yaml.safe_dump(_kubeconfig({"token": "t"})) + "\n".join(anchors) + "\npreferences: {x: *b6}\n"
    with pytest.raises(InvalidInput) as exc:
        ClusterSpec.from_json("prod", {"kubeconfig": text})
    assert exc.value.field == "kubeconfig" and "its aliases expand to more than 10000" in exc.value.message


# ---------------------------------------------------------------- the body, described once


TOKEN_FORM = {
    "server": "https://k:6443",
    "ca_data": PEM,
    "token": "abc",
    "description": "d",
    "masking": {"keys": ["k"]},
}
EKS_FORM = {"eks": {"name": "prod", "region": "eu-west-1"}}


@pytest.mark.parametrize(
    ("body", "auth"),
    [
        ({"kubeconfig": _kubeconfig({"token": "t"}), "context": "two"}, ClusterAuth.KUBECONFIG),
        (TOKEN_FORM, ClusterAuth.TOKEN),
        (EKS_FORM, ClusterAuth.EKS),
    ],
)
def test_each_form_the_parser_accepts_the_schema_accepts(body: dict[str, Any], auth: ClusterAuth) -> None:
    assert ClusterSpec.from_json("c", body).auth == auth.value
    jsonschema.validate(body, CLUSTER_BODY.schema())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**TOKEN_FORM, "colour": "blue"}, "colour"),  # in no form: the schema refuses it too
        ({**TOKEN_FORM, "context": "one"}, "context"),  # another form's field
        ({**EKS_FORM, "insecure_skip_tls_verify": True}, "insecure_skip_tls_verify"),
        ({"eks": {**EKS_FORM["eks"], "account": "1"}}, "eks.account"),
    ],
)
def test_a_field_outside_the_form_is_refused_naming_it(body: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        ClusterSpec.from_json("c", body)
    assert err.value.field == field


def test_the_published_auth_kinds_are_the_forms() -> None:
    assert set(FORMS) == set(ClusterAuth)
    assert all(set(names) <= CLUSTER_BODY.names for names in FORMS.values())
