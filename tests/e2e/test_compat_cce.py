"""Huawei Cloud's own CCE SDK (``huaweicloudsdkcce``) against the local stack: an access key issued by Charthouse,
then the chart and release lifecycle (upload -> create -> show -> list -> upgrade -> rollback -> history ->
delete), every answer parsed by the SDK's response models; a principal limited to one namespace is refused.

Runs once per helm major (see conftest's ``helm_major``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from huaweicloudsdkcce.v3 import (
    CceClient,
    CreateReleaseReqBody,
    CreateReleaseRequest,
    DeleteChartRequest,
    DeleteReleaseRequest,
    ListChartsRequest,
    ListReleasesRequest,
    ReleaseReqBodyParams,
    ShowChartValuesRequest,
    ShowReleaseHistoryRequest,
    ShowReleaseRequest,
    UpdateReleaseReqBody,
    UpdateReleaseRequest,
    UploadChartRequest,
    UploadChartRequestBody,
)
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.formdata import FormFile

from devstack.stack import Stack
from tests.e2e.conftest import Api, ChartServer

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
NS = "default"
SECRET = "e2e-cce-db-password"


def client(stack: Stack, key: dict[str, Any]) -> CceClient:
    credentials = BasicCredentials(key["access_key"], key["secret_key"], "charthouse")
    return CceClient.new_builder().with_credentials(credentials).with_endpoints([stack.api]).build()


def issue_key(api: Api) -> dict[str, Any]:
    status, key = api.call("POST", "/v1/access-keys", {"description": "e2e cce"})
    assert status == 201, key
    return key


def test_the_sdk_runs_the_whole_lifecycle(api: Api, stack: Stack, charts: ChartServer, tmp_path: Path) -> None:
    key = issue_key(api)
    cce = client(stack, key)
    archive = tmp_path / "demo-0.1.0.tgz"
    with urllib.request.urlopen(charts.url("demo-0.1.0.tgz"), timeout=30) as resp:
        archive.write_bytes(resp.read())
    body = UploadChartRequestBody(
        parameters=json.dumps({"override": True, "source": "package"}), content=FormFile(str(archive))
    )
    chart = cce.upload_chart(UploadChartRequest(body=body))
    assert chart.name == "demo" and chart.version == "0.1.0" and chart.id
    assert chart.id in [c.id for c in cce.list_charts(ListChartsRequest()).body]
    assert cce.show_chart_values(ShowChartValuesRequest(chart_id=chart.id)).values.basic["greeting"] == "hello"

    cluster = "local"
    created = cce.create_release(
        CreateReleaseRequest(
            cluster_id=cluster,
            body=CreateReleaseReqBody(
                chart_id=chart.id,
                name="cce-web",
                namespace=NS,
                version="0.1.0",
                values={"greeting": "ni hao", "db": {"password": SECRET}},
                parameters=ReleaseReqBodyParams(dry_run=False, name_template="", no_hooks=False, replace=False),
            ),
        )
    )
    assert created.status == "DEPLOYED" and created.version == 1, created
    assert SECRET not in str(created) and json.loads(created.values)["db"]["password"] == "******"

    shown = cce.show_release(ShowReleaseRequest(cluster_id=created.cluster_id, namespace=NS, name="cce-web"))
    assert shown.name == "cce-web" and shown.chart_name == "demo" and shown.cluster_name == cluster
    listed = cce.list_releases(ListReleasesRequest(cluster_id=cluster, namespace=NS, chart_id=chart.id)).body
    assert [r.name for r in listed] == ["cce-web"]

    upgraded = cce.update_release(
        UpdateReleaseRequest(
            cluster_id=cluster,
            namespace=NS,
            name="cce-web",
            body=UpdateReleaseReqBody(action="upgrade", chart_id=chart.id, values={"greeting": "bonjour"}),
        )
    )
    assert upgraded.status == "DEPLOYED" and upgraded.version == 2, upgraded
    rolled = cce.update_release(
        UpdateReleaseRequest(
            cluster_id=cluster,
            namespace=NS,
            name="cce-web",
            body=UpdateReleaseReqBody(action="rollback", parameters=ReleaseReqBodyParams(release_version=1)),
        )
    )
    assert rolled.status == "DEPLOYED" and rolled.version == 3, rolled
    assert json.loads(rolled.values)["greeting"] == "ni hao"

    history = cce.show_release_history(ShowReleaseHistoryRequest(cluster_id=cluster, namespace=NS, name="cce-web"))
    assert [h.version for h in history.body] == [3, 2, 1]
    assert all(h.status in ("DEPLOYED", "FAILED") for h in history.body)

    deleted = cce.delete_release(DeleteReleaseRequest(cluster_id=cluster, namespace=NS, name="cce-web"))
    assert deleted.body == "release cce-web deleted"
    gone = cce.show_release(ShowReleaseRequest(cluster_id=cluster, namespace=NS, name="cce-web"))
    assert gone.status == "DELETED"  # the record stays (as /v1 keeps it: uninstalled)
    left = cce.list_releases(ListReleasesRequest(cluster_id=cluster, namespace=NS)).body or []  # [] parses as None
    assert "cce-web" not in [r.name for r in left]
    cce.delete_chart(DeleteChartRequest(chart_id=chart.id))
    assert chart.id not in [c.id for c in cce.list_charts(ListChartsRequest()).body or []]


def test_a_principal_limited_to_one_namespace_is_refused(api: Api, stack: Stack, charts: ChartServer) -> None:
    status, made = api.call("POST", "/v1/tokens", {"name": "cce-team"})
    assert status == 201, made
    rules = [{"verbs": ["read", "install", "upgrade", "uninstall"], "clusters": ["local"], "namespaces": ["cce-team"]}]
    status, _ = api.call("PUT", "/v1/policies/cce-team", {"principals": ["token:cce-team"], "rules": rules})
    assert status in (200, 201)
    request = urllib.request.Request(
        stack.api + "/v1/access-keys",
        data=b"{}",
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {made['token']}"},
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        key = json.loads(resp.read())
    cce = client(stack, key)
    with pytest.raises(ClientRequestException) as refused:
        cce.show_release(ShowReleaseRequest(cluster_id="local", namespace="kube-system", name="anything"))
    assert refused.value.status_code == 403
    with pytest.raises(ClientRequestException) as refused:
        body = CreateReleaseReqBody(chart_id="x", name="nope", namespace=NS, version="0.1.0", values={})
        cce.create_release(CreateReleaseRequest(cluster_id="local", body=body))
    assert refused.value.status_code == 403
    assert key["secret_key"] not in json.dumps(api.call("GET", "/v1/access-keys")[1])


def test_the_readme_example_works(stack: Stack, tmp_path: Path) -> None:
    """The CCE example of docs/COMPAT.md, run as written but against this stack (its address, token, helm and files)."""
    readme = (ROOT / "docs" / "COMPAT.md").read_text()
    block = readme.split("<!-- cce-example", 1)[1].split("```sh\n", 1)[1].split("\n```\n", 1)[0]
    here = "\x00HERE\x00"  # a placeholder, so that no replacement rewrites another's result
    for old, new in (
        ("http://127.0.0.1:8000", stack.api),
        ("$API", stack.api),
        ('"$AUTH"', f'"Authorization: Bearer {stack.token}"'),
        ("-d /tmp\n", f"-d {here}\n"),
        ("/tmp/", f"{here}/"),
        (".local/", f"{here}/"),
        ("layers/helm/build/v4/helm", str(stack.cfg.helm_binary)),
        (".venv/bin/python", sys.executable),
        (here, str(tmp_path)),
    ):
        block = block.replace(old, new)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()[-2:]  # after helm package's line
    assert lines[0] == "DEPLOYED 1", done.stdout
    assert json.loads(lines[1]) == {"greeting": "ni hao"}
