"""One values reading at every door (docs/API.md, "Values"): the same YAML through /v1, a runtime's releases file
(git and inline), the CCE chart values and helm-engine's ``helm show values`` gives what helm 3.19 and 4.1 read
(``helm template -f`` of the same text: tests/unit/domain/values/test_output.py compares with both binaries), or
a 422 naming the field.

helm's reading of CASES, checked with both binaries::

    {"port": "22:22", "flag": true, "sw": true, "when": "2024-01-01", "bin": "hi", "dup": 2}
"""

from __future__ import annotations

import io
import tarfile
from typing import Any

import pytest

from chalicelib.compat import cce
from chalicelib.core import catalog
from tests.fakes import FakeGit, FakeHelm
from tests.functional.conftest import Api
from tests.functional.test_compat_cce import call as cce_call
from tests.functional.test_plans import tgz

CASES = "port: 22:22\nflag: y\nsw: on\nwhen: 2024-01-01\nbin: !!binary aGk=\ndup: 1\ndup: 2\n"
HELM_READS = {"port": "22:22", "flag": True, "sw": True, "when": "2024-01-01", "bin": "hi", "dup": 2}
FILE_READS = {k: val for k, val in HELM_READS.items() if k != "bin"}  # a file refuses !!binary (and !!timestamp)
FILE_CASES = CASES.replace("bin: !!binary aGk=\n", "")
CHART = "https://charts.example.com/demo-1.2.3.tgz"
URL = "https://git.example.com/team/deploy.git"


@pytest.fixture(autouse=True)
def no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cce, "WAIT_S", 0)


def _config(helm: FakeHelm, key: str) -> Any:
    return helm.releases[key][-1]["config"]


# ---------------------------------------------------------------- /v1


def test_v1_install_reads_values_as_helm(api: Api, helm: FakeHelm) -> None:
    api.register()
    status, op = api.call(
        "POST", "/v1/clusters/prod/namespaces/apps/releases", {"name": "a", "chart": CHART, "values": CASES}
    )
    assert status == 202, op
    status, op = api.call(
        "POST",
        "/v1/clusters/prod/namespaces/apps/releases",
        {"name": "b", "chart": CHART, "values_files": [{"name": "f.yaml", "content": FILE_CASES}]},
    )
    assert status == 202, op
    api.drain()
    assert _config(helm, "prod/apps/a") == HELM_READS
    assert _config(helm, "prod/apps/b") == FILE_READS


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"values_files": ["b: !!binary aGk=\n"]}, "values_files[0]", "!!binary at line 1"),
        ({"values": "on: 1\n"}, "values", 'key "on" on line 1'),
        ({"values": "a: 1\n---\nb: 2\n"}, "values", "single YAML document"),
    ],
)
def test_v1_refuses_naming_the_field(api: Api, body: dict[str, Any], field: str, fragment: str) -> None:
    api.register()
    status, err = api.call("POST", "/v1/clusters/prod/namespaces/apps/releases", {"name": "a", "chart": CHART, **body})
    assert status == 422, err
    assert err["error"]["details"]["field"] == field and fragment in err["error"]["message"]


@pytest.fixture(autouse=True)
def chart_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """The chart URL answers an archive: a runtime's plan records its digest (the catalog fetches it as helm would)."""
    monkeypatch.setattr(catalog, "fetch", lambda *args, **kwargs: tgz(version="1.2.3"))


# ---------------------------------------------------------------- runtimes: a releases file, inline maps


def _sync(api: Api, body: dict[str, Any]) -> tuple[int, Any]:
    status, out = api.call("PUT", "/v1/runtimes/shop", body)
    assert status in (200, 201), out
    return api.call("POST", "/v1/runtimes/shop/plan")


def test_a_releases_file_reads_inline_values_as_helm(api: Api, helm: FakeHelm, git: FakeGit) -> None:
    api.register()
    indented = "".join(f"    {line}\n" for line in FILE_CASES.splitlines())
    releases = f"releases:\n- name: web\n  chart: {CHART}\n  values:\n  - {indented.lstrip()}"
    releases += "  set:\n  - {name: p, value: 22:22}\n"
    git.commit(URL, {"env/releases.yaml": releases})
    body = {"source": {"git": {"url": URL, "path": "env"}}, "destination": {"cluster": "prod", "namespaces": ["apps"]}}
    status, plan = _sync(api, body)
    assert status == 200 and plan["releases"][0]["action"] == "install", plan
    assert api.call("POST", "/v1/runtimes/shop/sync")[0] == 202
    while api.drain():
        pass
    assert _config(helm, "prod/apps/web") == {**FILE_READS, "p": "22:22"}


def test_an_inline_source_reads_its_values_as_helm(api: Api, helm: FakeHelm) -> None:
    api.register()
    releases = [{"name": "web", "chart": CHART, "values": [{"port": "22:22", "flag": True}]}]
    body = {"source": {"inline": {"releases": releases}}, "destination": {"cluster": "prod", "namespaces": ["apps"]}}
    assert _sync(api, body)[0] == 200
    assert api.call("POST", "/v1/runtimes/shop/sync")[0] == 202
    while api.drain():
        pass
    assert _config(helm, "prod/apps/web") == {"port": "22:22", "flag": True}


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ("{b: !!binary aGk=}", "!!binary at line 5"),
        ("{on: 1}", 'key "on" on line 5'),
        ("{t: !!timestamp 2024-01-01}", "!!timestamp at line 5"),
    ],
)
def test_a_releases_file_refuses_naming_the_file(api: Api, git: FakeGit, values: str, fragment: str) -> None:
    api.register()
    git.commit(URL, {"env/releases.yaml": f"releases:\n- name: web\n  chart: {CHART}\n  values:\n  - {values}\n"})
    body = {"source": {"git": {"url": URL, "path": "env"}}, "destination": {"cluster": "prod", "namespaces": ["apps"]}}
    status, err = _sync(api, body)
    assert status == 422, err
    assert err["error"]["details"]["field"].startswith("env/releases.yaml") and fragment in err["error"]["message"]


# ---------------------------------------------------------------- a chart's values.yaml: CCE and helm-engine


def _chart(values: str, name: str = "probe") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path, data in (
            (f"{name}/Chart.yaml", f"apiVersion: v2\nname: {name}\nversion: 1.0.0\n".encode()),
            (f"{name}/values.yaml", values.encode()),
        ):
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _upload(api: Api, values: str) -> str:
    resp = api.c.http.post("/v1/charts", headers={"Content-Type": "application/gzip", **api.auth}, body=_chart(values))
    assert resp.status_code in (200, 201), resp.json_body
    status, charts = cce_call(api, "GET", "/v2/charts")
    assert status == 200, charts
    return str(next(c["id"] for c in charts if c["name"] == "probe"))


def test_a_charts_values_are_shown_as_helm_reads_them(api: Api) -> None:
    chart_id = _upload(api, CASES)
    status, shown = cce_call(api, "GET", f"/v2/charts/{chart_id}/values")
    assert status == 200 and shown == {"values": {"basic": HELM_READS}}, shown
    status, out = api.call("GET", "/api/charts?chart=uploaded/probe&info=values")
    assert status == 200 and out == {"code": 0, "data": HELM_READS}, out
    status, out = api.call("GET", "/v1/charts/uploaded/probe?info=values&format=json")
    assert status == 200 and out["values"] == HELM_READS, out


def test_a_charts_values_helm_would_misread_are_refused_naming_the_key(api: Api) -> None:
    chart_id = _upload(api, "on: 1\n")
    status, err = cce_call(api, "GET", f"/v2/charts/{chart_id}/values")
    assert status == 422 and 'key "on" on line 1' in err["error"]["message"], err
    status, out = api.call("GET", "/api/charts?chart=uploaded/probe&info=values")
    assert out["code"] == 1 and 'key "on" on line 1' in out["error"], out
