"""The infrastructure-as-code doors users copy: the Terraform module (iac/terraform, validated offline against the
provider mirror, and checkov) and the CDK construct (iac/cdk: synthesized, and its properties accepted by the
custom resource handler as CloudFormation would send them)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from deploy import checks
from tests.fakes import FakeHelm
from tests.functional.conftest import Api

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "iac" / "terraform"
CDK = ROOT / "iac" / "cdk"
URL = "https://cloudformation-custom-resource-response.s3.amazonaws.com/x?X-Amz-Signature=secret-signature"


def test_the_terraform_module_and_its_example_validate_offline() -> None:
    reason = checks.terraform_unavailable()
    if reason:
        pytest.skip(f"terraform validate: {reason}")
    done = checks.terraform_validate_configuration(TERRAFORM, "examples/hello")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert json.loads(done.stdout)["valid"] is True


def test_checkov_finds_nothing_in_the_terraform_module() -> None:
    if not checks.CHECKOV.is_file():
        pytest.skip(f"checkov is not installed at {checks.CHECKOV} (make setup installs it)")
    code, summary = checks.checkov(TERRAFORM / "release")
    assert code == 0 and summary["failed"] == [], summary


def test_the_module_sends_what_the_function_reads() -> None:
    """The module's input keys are the function's (every variable but function_name and read_only is sent)."""
    main = (TERRAFORM / "release" / "main.tf").read_text()
    for key in ("cluster", "namespace", "name", "chart", "version", "values", "options"):
        assert f"    {key} " in main or f"  {key} " in main, key
    assert 'lifecycle_scope = "CRUD"' in main


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    from aws_cdk import App
    from aws_cdk.assertions import Template

    # iac/cdk/example/app.py, under another module name than the service's app.py
    spec = importlib.util.spec_from_file_location("charthouse_cdk_example", CDK / "example" / "app.py")
    assert spec and spec.loader
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    stack = example.build(App())
    return dict(Template.from_stack(stack).to_json())


def _release_resource(template: dict[str, Any]) -> dict[str, Any]:
    found = [r for r in template["Resources"].values() if r["Type"] == "Custom::HelmRelease"]
    assert len(found) == 1, template["Resources"]
    return dict(found[0])


def test_the_cdk_construct_synthesizes_a_custom_resource(template: dict[str, Any]) -> None:
    resource = _release_resource(template)
    props = resource["Properties"]
    assert props["ServiceToken"] == {"Fn::ImportValue": "charthouse-prod-HelmReleaseServiceToken"}
    assert (props["Cluster"], props["Namespace"], props["Name"], props["Chart"]) == (
        "prod",
        "web",
        "web",
        "private/webapp",
    )
    assert json.loads(props["Values"]) == {"image": {"tag": "1.27"}, "replicaCount": 2}
    assert props["Options"] == {"CreateNamespace": True, "Wait": True, "Timeout": "10m"}
    assert props["ServiceTimeout"] == "1800"
    outputs = template["Outputs"]
    assert outputs["WebRevision"]["Value"]["Fn::GetAtt"][1] == "Revision"
    assert outputs["WebStatus"]["Value"]["Fn::GetAtt"][1] == "Status"


def _as_cloudformation_sends(value: Any) -> Any:
    """CloudFormation hands a custom resource every scalar of its properties as a string."""
    if isinstance(value, dict):
        return {k: _as_cloudformation_sends(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_cloudformation_sends(v) for v in value]
    return str(value).lower() if isinstance(value, bool) else str(value)


def test_the_custom_resource_installs_what_the_construct_declares(
    api: Api, helm: FakeHelm, template: dict[str, Any]
) -> None:
    from chalicelib import bootstrap

    api.register()
    answers: list[dict[str, Any]] = []
    bootstrap.get().custom_resource.send = lambda url, body: answers.append(json.loads(body))
    props = _as_cloudformation_sends(_release_resource(template)["Properties"])
    props["ServiceToken"] = "arn:aws:lambda:eu-west-1:123456789012:function:charthouse"
    props["Chart"] = "https://charts.example.com/webapp-0.1.0.tgz"  # the fake helm's chart source
    props.pop("Version")
    event = {
        "RequestType": "Create",
        "ResponseURL": URL,
        "StackId": "arn:aws:cloudformation:s",
        "RequestId": "r-cdk",
        "LogicalResourceId": "Web",
        "ResourceType": "Custom::HelmRelease",
        "ResourceProperties": props,
    }
    api.invoke("helm_release_resource", event)
    assert api.drain() == 1
    assert [(a["Status"], a["PhysicalResourceId"]) for a in answers] == [("SUCCESS", "prod/web/web")]
    assert helm.releases["prod/web/web"][-1]["config"] == {"replicaCount": 2, "image": {"tag": "1.27"}}
