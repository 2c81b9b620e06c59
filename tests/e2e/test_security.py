"""Security end to end, on the real stack: no anonymous access, scoped policies, masking on every surface, the
audit trail of a release's life, and a grep of everything the run wrote for the secrets it handled."""

from __future__ import annotations

import base64
import io
import json
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from devstack.stack import Stack, request
from tests.e2e.conftest import Api, helm_cli

pytestmark = pytest.mark.e2e
NS = "/v1/clusters/local/namespaces/secure/releases"
DB_PASSWORD = "e2e-db-password-0b9f4c21"
API_KEY = "e2e-api-key-7d3a9e55"
SECRET_TEMPLATE = """apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-creds
stringData:
  password: {{ .Values.db.password | quote }}
data:
  apikey: {{ .Values.api.key | b64enc | quote }}
"""


def secret_chart() -> bytes:
    buf = io.BytesIO()
    files = {
        "vault/Chart.yaml": "apiVersion: v2\nname: vault\nversion: 1.0.0\n",
        "vault/values.yaml": "db:\n  password: change-me\n  host: db\napi:\n  key: none\n",
        "vault/templates/secret.yaml": SECRET_TEMPLATE,
    }
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def upload(stack: Stack, data: bytes) -> tuple[int, Any]:
    req = urllib.request.Request(
        f"{stack.api}/v1/charts",
        data=data,
        method="POST",
        headers={"Content-Type": "application/gzip", "Authorization": f"Bearer {stack.token}"},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.status, json.loads(resp.read())


class Recorder(Api):
    """The e2e client, keeping every response body it saw (to grep them afterwards)."""

    seen: list[str]

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        status, data = super().call(method, path, body)
        self.seen.append(json.dumps(data))
        return status, data


def test_secrets_stay_secret_and_the_audit_trail(api: Api, stack: Stack, tmp_path: Path) -> None:
    rec = Recorder(api.base, api.checker)
    rec.seen = []
    assert upload(stack, secret_chart())[0] in (200, 201)
    # anonymous: refused
    assert request("GET", f"{stack.api}/v1/releases", token="")[0] == 401
    assert request("GET", f"{stack.api}/v1/health", token="")[0] == 200

    body = {
        "name": "vault",
        "chart": "uploaded/vault",
        "create_namespace": True,
        "values": {"db": {"password": DB_PASSWORD}},
        "set_sensitive": [f"api.key={API_KEY}"],
    }
    status, dry = rec.call("POST", NS, {**body, "dry_run": True})
    assert status == 200 and "<redacted>" in dry["manifest"], dry
    op = rec.wait(rec.call("POST", NS, body)[1])
    assert op["status"] == "succeeded", op
    # the cluster holds the real values and the real Secret
    assert DB_PASSWORD in helm_cli(stack, "get", "values", "vault", "-n", "secure")
    assert DB_PASSWORD in helm_cli(stack, "get", "manifest", "vault", "-n", "secure")

    status, got = rec.call("GET", f"{NS}/vault?info=all")
    assert status == 200 and got["values"] == {"db": {"password": "<redacted>"}, "api": {"key": "<redacted>"}}
    assert "password: <redacted>" in got["manifest"] and "apikey: <redacted>" in got["manifest"]
    upgraded = rec.wait(
        rec.call("PUT", f"{NS}/vault", {"chart": "uploaded/vault", "reuse_values": True, "set": ["db.host=db2"]})[1]
    )
    assert upgraded["status"] == "succeeded", upgraded
    for path in (
        f"{NS}/vault/history",
        "/v1/releases",
        "/v1/operations?release=vault",
        f"/v1/operations/{op['id']}",
        f"{NS}/vault?info=values,manifest,notes,hooks,resources",
    ):
        rec.call("GET", path)
    # revealing takes its own permission: the admin has it, a reader does not
    revealed = api.call("GET", f"{NS}/vault?info=values&reveal=true")[1]["values"]  # not recorded: asked for
    assert revealed["db"]["password"] == DB_PASSWORD and revealed["api"]["key"] == API_KEY
    reader = rec.call("POST", "/v1/tokens", {"name": "auditor-e2e"})[1]["token"]
    status, _ = rec.call(
        "PUT", "/v1/policies/auditors", {"principals": ["token:auditor-e2e"], "rules": [{"verbs": ["read"]}]}
    )
    assert status in (200, 201)
    status, err = request("GET", f"{stack.api}{NS}/vault?info=values&reveal=true", token=reader)
    assert status == 403 and err["error"]["details"]["permission"] == "reveal"
    status, err = request("DELETE", f"{stack.api}{NS}/vault", token=reader)
    assert status == 403 and err["error"]["details"]["permission"] == "uninstall"
    assert rec.wait(rec.call("DELETE", f"{NS}/vault")[1])["status"] == "succeeded"

    # the audit trail of the release: dry run, install, upgrade, the reveal, the refused reveal and uninstall, the
    # uninstall
    trail = rec.call("GET", "/v1/audit?cluster=local&release=vault&since=0&limit=100")[1]["entries"]
    got_trail = [(e["method"], e["principal"], e["status"]) for e in reversed(trail)]
    assert got_trail == [
        ("POST", "token:admin", 200),
        ("POST", "token:admin", 202),
        ("PUT", "token:admin", 202),
        ("GET", "token:admin", 200),
        ("GET", "token:auditor-e2e", 403),
        ("DELETE", "token:auditor-e2e", 403),
        ("DELETE", "token:admin", 202),
    ], got_trail
    assert all(e["operation_id"].startswith("op-") for e in trail if e["status"] == 202)
    assert rec.call("DELETE", "/v1/tokens/auditor-e2e")[0] == 204

    # everything the run wrote: logs of every component and every response body seen by this test
    produced = [*rec.seen]
    for log in sorted(stack.logs.glob("*.log")):
        produced.append(log.read_text(errors="replace"))
    leaks = {
        s: [i for i, text in enumerate(produced) if s in text]
        for s in (
            DB_PASSWORD,
            API_KEY,
            base64.b64encode(API_KEY.encode()).decode(),
            stack.token,
            stack.kube.token(),
            stack.repo.password if stack.repo else "unused-repo-password",
        )
    }
    assert {s: where for s, where in leaks.items() if where} == {}, "secrets found in responses or logs"


def test_compat_refusals_are_audited_and_clusters_cannot_be_enumerated(api: Api, stack: Stack) -> None:
    """A caller with no rule on a cluster gets the same refusal whether it exists or not, at every door, and each
    refusal (helm-engine's HTTP 200 ``code: 1`` too) is audited as denied with the cluster it named."""
    token = api.call("POST", "/v1/tokens", {"name": "outsider-e2e"})[1]["token"]
    rules = [{"verbs": ["read", "install"], "clusters": ["elsewhere"], "namespaces": ["*"]}]
    status, _ = api.call("PUT", "/v1/policies/outsider-e2e", {"principals": ["token:outsider-e2e"], "rules": rules})
    assert status in (200, 201)
    answers = {}
    for cluster in ("local", "nope"):
        answers[cluster] = [
            request("GET", f"{stack.api}/api/releases?cluster={cluster}", token=token),
            request("GET", f"{stack.api}/v1/clusters/{cluster}/releases", token=token),
            request("GET", f"{stack.api}/cce/cam/v3/clusters/{cluster}/releases", token=token),
        ]
    for known, unknown in zip(answers["local"], answers["nope"], strict=True):
        assert known[0] == unknown[0] == 403, (known, unknown)
        assert json.dumps(known[1]).replace("local", "X") == json.dumps(unknown[1]).replace("nope", "X")
    status, out = request(
        "GET", f"{stack.api}/api/namespaces/default/releases/x?endpoint=https://10.9.9.9:1", token=token
    )
    assert status == 200 and out["code"] == 1 and "may not read" in out["error"], out
    entries = api.call("GET", "/v1/audit?principal=token:outsider-e2e&since=0&limit=100")[1]["entries"]
    assert len(entries) == 7 and {e["result"] for e in entries} == {"denied"}, entries
    assert sorted(e.get("cluster", "") for e in entries).count("local") == 3, entries
    assert any(e["status"] == 200 and e["route"].startswith("/api/namespaces/") for e in entries), entries
    assert api.call("DELETE", "/v1/tokens/outsider-e2e")[0] == 204
