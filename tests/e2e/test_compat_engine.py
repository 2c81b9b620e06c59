"""helm-engine's surface end to end: every request example of its document (seeds 003), sent as written, against
the local cluster with a chart of a registered repository (real helm, real kube-apiserver, HTTP)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from chalicelib.domain import multipart
from devstack.stack import ROOT, Stack
from tests.e2e.conftest import Api

RELEASES = "/api/namespaces/default/releases"
INSTALL_BODY: dict[str, Any] = {  # 003's install body as written (comments removed)
    "dry_run": False,
    "disable_hooks": False,
    "wait": False,
    "devel": False,
    "description": "",
    "atomic": False,
    "skip_crds": False,
    "sub_notes": False,
    "create_namespace": False,
    "dependency_update": False,
    "values": "",
    "set": [],
    "set_string": [],
    "ca_file": "",
    "cert_file": "",
    "key_file": "",
    "insecure_skip_verify": "",
    "keyring": "",
    "password": "",
    "repo": "",
    "username": "",
    "verify": False,
    "version": "",
}
UPGRADE_BODY = {**INSTALL_BODY, "force": False, "install": False, "recreate": False, "cleanup_on_fail": False}
UPGRADE_BODY.pop("create_namespace")
UPGRADE_BODY.pop("dependency_update")
ROLLBACK_BODY = {
    "dry_run": False,
    "disable_hooks": False,
    "wait": False,
    "force": False,
    "recreate": False,
    "cleanup_on_fail": False,
    "history_max": 10,
}
LIST_BODY = {  # 003's list body ("limit" and "offset" given numbers: the document leaves them blank)
    "all": False,
    "all_namespaces": False,
    "by_date": False,
    "sort_reverse": False,
    "limit": 10,
    "offset": 0,
    "filter": "",
    "uninstalled": False,
    "uninstalling": False,
    "superseded": False,
    "failed": False,
    "deployed": False,
    "pending": False,
}


def ok(answer: tuple[int, Any]) -> Any:
    status, body = answer
    assert status == 200 and body["code"] == 0, body
    return body.get("data")


def get_with_body(api: Api, path: str, body: Any) -> Any:
    """GET with a JSON body, as helm-engine's list takes it."""
    req = urllib.request.Request(api.base + path, data=json.dumps(body).encode(), method="GET")
    req.add_header("Content-Type", "application/json")
    req.add_header("Authorization", "Bearer " + admin_token(api))
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def admin_token(api: Api) -> str:
    from devstack.stack import _TOKENS  # the admin token of the stack serving api.base

    return next(t for b, t in _TOKENS.items() if api.base.startswith(b))


def test_upload_chart_multipart(api: Api, stack: Stack, tmp_path: Path) -> None:
    """POST /api/charts/upload with the form field chart (a .tgz), as helm-engine takes it; then install it. The
    example chart is renamed first: other tests on this stack upload it too, and a version is immutable."""
    chart = tmp_path / "engine-hello"
    shutil.copytree(ROOT / "examples/charts/hello", chart)
    meta = chart / "Chart.yaml"
    meta.write_text(re.sub(r"(?m)^name: .*$", "name: engine-hello", meta.read_text()))
    done = subprocess.run(
        [str(stack.cfg.helm_binary), "package", str(chart), "-d", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    archive = tmp_path / "engine-hello-0.1.0.tgz"
    content_type, body = multipart.encode([("chart", archive.read_bytes(), archive.name)], "charthouse-e2e")
    req = urllib.request.Request(api.base + "/api/charts/upload", data=body, method="POST")
    req.add_header("Content-Type", content_type)
    req.add_header("Authorization", "Bearer " + admin_token(api))
    with urllib.request.urlopen(req, timeout=60) as resp:
        out = json.loads(resp.read())
    assert out["code"] == 0 and out["data"]["ref"] == "uploaded/engine-hello", out
    assert "engine-hello-0.1.0.tgz" in [c["name"] for c in ok(api.call("GET", "/api/charts/upload"))]
    # a rebuilt chart of the same name and version replaces the upload, as helm-engine replaces the file; the
    # audit entry names the replaced archive
    first = out["data"]["digest"]
    (chart / "values.yaml").write_text((chart / "values.yaml").read_text() + "rebuilt: true\n")
    done = subprocess.run(
        [str(stack.cfg.helm_binary), "package", str(chart), "-d", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    content_type, body = multipart.encode([("chart", archive.read_bytes(), archive.name)], "charthouse-e2e")
    req = urllib.request.Request(api.base + "/api/charts/upload", data=body, method="POST")
    req.add_header("Content-Type", content_type)
    req.add_header("Authorization", "Bearer " + admin_token(api))
    with urllib.request.urlopen(req, timeout=60) as resp:
        again = json.loads(resp.read())
    assert again["code"] == 0 and again["data"]["digest"] != first, again
    assert ok(api.call("GET", "/api/charts?chart=uploaded/engine-hello&info=values"))["rebuilt"] is True
    entries = api.call("GET", "/v1/audit")[1]["entries"]
    assert f"replaced sha256:{first}" in [e.get("reason") for e in entries if e["route"] == "/api/charts/upload"]
    assert ok(api.call("POST", f"{RELEASES}/uploaded-hello?chart=uploaded/engine-hello", {}))["status"] == "deployed"
    assert api.call("DELETE", f"{RELEASES}/uploaded-hello")[1] == {"code": 0}


def test_every_helm_engine_example(api: Api, stack: Stack) -> None:
    repo = stack.repo
    assert repo is not None
    body = {"url": repo.base_url, "username": repo.username, "password": repo.password}
    assert api.call("PUT", "/v1/repositories/eng", body)[0] in (200, 201)

    path = f"{RELEASES}/eng-hello"
    installed = ok(api.call("POST", f"{path}?chart=eng/hello", {**INSTALL_BODY, "values": "greeting: hi\n"}))
    assert installed["status"] == "deployed" and installed["chart"] == "hello-0.1.0"
    assert ok(api.call("GET", path))["greeting"] == "hi"
    assert "greeting: hi" in ok(api.call("GET", f"{path}?info=values&output=yaml"))
    assert "kind: ConfigMap" in ok(api.call("GET", f"{path}?info=manifest"))
    assert "hi" in ok(api.call("GET", f"{path}?info=notes"))

    upgraded = ok(api.call("PUT", f"{path}?chart=eng/hello", {**UPGRADE_BODY, "set": ["greeting=bonjour"]}))
    assert upgraded["revision"] == "2"
    assert ok(api.call("PUT", f"{path}/versions/1", ROLLBACK_BODY))["revision"] == "3"
    assert [h["revision"] for h in ok(api.call("GET", f"{path}/histories"))] == [1, 2, 3]

    listed = ok(api.call("GET", f"{RELEASES}?all=false&by_date=true&limit=10&offset=0"))
    assert "eng-hello" in [r["name"] for r in listed]
    answer = get_with_body(api, RELEASES, LIST_BODY)
    assert answer["code"] == 0 and "eng-hello" in [r["name"] for r in answer["data"]]

    shown = ok(api.call("GET", "/api/charts?chart=eng/hello&info=values"))
    assert shown["greeting"] == "hello"
    # helm show takes an archive URL too: fetched with the credentials of the repository whose URL is a prefix
    by_url = ok(api.call("GET", f"/api/charts?chart={repo.url('hello-0.1.0.tgz')}&info=values"))
    assert by_url == shown
    assert ok(api.call("GET", "/api/charts?chart=eng/hello"))["chart"]["name"] == "hello"
    found = ok(api.call("GET", "/api/repositories/charts?keyword=hello&versions=true"))
    assert "eng/hello" in [c["name"] for c in found]
    assert api.call("PUT", "/api/repositories")[1] == {"code": 0}
    assert ok(api.call("GET", "/api/envs"))["HELM_VERSION"].startswith("v")

    assert api.call("DELETE", path)[1] == {"code": 0}
    status, refused = api.call("GET", f"{path}?token=abc")
    assert (
        status == 200
        and refused["code"] == 1
        and refused["error"].startswith("token")
        and "abc" not in refused["error"]
    )
