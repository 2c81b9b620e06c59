"""Charts from every source, through the real API, the real helm and the real cluster: a private HTTP repository
(basic auth), a private OCI registry (TLS with its own CA + basic auth), uploads (direct and presigned), and charts
with dependencies, CRDs, hooks, NOTES and signatures."""

from __future__ import annotations

import base64
import io
import json
import tarfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from devstack.stack import Stack
from devstack.tls import client_tls
from tests.e2e.conftest import Api, helm_cli
from tests.e2e.repos import Published, https_repo, repository_body

pytestmark = pytest.mark.e2e
NS = "/v1/clusters/local/namespaces/default/releases"


def raw(method: str, url: str, data: bytes, content_type: str, token: str = "") -> tuple[int, Any]:
    headers = {"Content-Type": content_type, **({"Authorization": f"Bearer {token}"} if token else {})}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            body = resp.read()
            return resp.status, json.loads(body) if body else None
    except urllib.error.HTTPError as err:
        body = err.read()
        return err.code, json.loads(body) if body else None


def repo_body(stack: Stack, **more: Any) -> dict[str, Any]:
    assert stack.repo is not None
    return {"url": stack.repo.base_url, "username": stack.repo.username, "password": stack.repo.password, **more}


def registry_body(stack: Stack, **more: Any) -> dict[str, Any]:
    reg = stack.registry
    assert reg is not None and reg.ca_pem
    return {"url": reg.url, "username": reg.username, "password": reg.password, "ca_bundle": reg.ca_pem, **more}


def install(api: Api, name: str, chart: str, **more: Any) -> dict[str, Any]:
    return api.run("POST", NS, {"name": name, "chart": chart, **more})


def uninstall(api: Api, name: str) -> None:
    assert api.run("DELETE", f"{NS}/{name}")["status"] == "succeeded"


# ---------------------------------------------------------------- HTTP repository


def test_private_http_repository(api: Api, stack: Stack) -> None:
    assert stack.repo is not None and stack.repo.password
    # a wrong password is refused when the repository is added, and nothing is stored
    status, err = api.call("PUT", "/v1/repositories/badcreds", repo_body(stack, password="wrong-password"))
    assert status == 502 and err["error"]["code"] == "RepositoryAuthFailed", err
    assert api.call("GET", "/v1/repositories/badcreds")[0] == 404
    # without credentials helm's index is out of reach too
    status, err = api.call("PUT", "/v1/repositories/anon", {"url": stack.repo.base_url})
    assert status == 502 and err["error"]["code"] == "RepositoryAuthFailed", err

    status, repo = api.call("PUT", "/v1/repositories/private", repo_body(stack, description="the stack's repo"))
    assert status in (200, 201), repo
    assert repo["type"] == "http" and repo["auth"]["basic"] and repo["index"]["charts"] >= 1
    assert stack.repo.password not in json.dumps(repo)
    listed = api.call("GET", "/v1/repositories")[1]["repositories"]
    assert [r["name"] for r in listed][0] == "uploaded" and "private" in [r["name"] for r in listed]
    assert stack.repo.password not in json.dumps(listed)

    status, found = api.call("GET", "/v1/charts?q=hello&repository=private")
    assert status == 200 and [c["ref"] for c in found["charts"]] == ["private/hello"], found
    status, shown = api.call("GET", "/v1/charts/private/hello?info=all")
    assert status == 200, shown
    assert shown["chart"]["name"] == "hello" and "greeting" in shown["values"] and shown["version"] == "0.1.0"

    op = install(api, "from-repo", "private/hello", version="^0.1", values={"greeting": "from a private repo"})
    assert op["status"] == "succeeded", op
    assert "from a private repo" in helm_cli(stack, "get", "values", "from-repo", "-n", "default")
    assert "hello-0.1.0" in helm_cli(stack, "list", "-n", "default", "--filter", "^from-repo$")
    # a version no index entry satisfies fails the operation with a clear code, nothing installed
    op = install(api, "no-such-version", "private/hello", version=">=9")
    assert op["status"] == "failed" and op["error"]["code"] == "ChartVersionNotFound", op
    uninstall(api, "from-repo")


def test_refresh_sees_new_versions(api: Api, stack: Stack, published: Published) -> None:
    assert api.call("PUT", "/v1/repositories/private", repo_body(stack))[0] in (200, 201)
    before = api.call("GET", "/v1/repositories/private")[1]["index"]
    # publish after the index was cached: not visible until a refresh
    refreshed = api.call("POST", "/v1/repositories/private/refresh")[1]
    assert refreshed["index"]["versions"] >= before["versions"]
    charts = api.call("GET", "/v1/charts?repository=private&versions=true&limit=1000")[1]["charts"]
    assert {("plain", published.plain.version), ("crdhook", published.crdhook.version)} <= {
        (c["name"], c["version"]) for c in charts
    }


def test_https_repository_with_token_and_client_certificate(
    api: Api, stack: Stack, published: Published, tmp_path: Path
) -> None:
    """HTTPS from a private CA, a bearer token and mutual TLS: everything helm's own repository support can't do
    all at once (it has no bearer tokens), done by the service's own fetcher."""
    client = client_tls(tmp_path / "client")
    server = https_repo(tmp_path / "https", stack.cfg.helm_binary, token="s3cr3t-bearer-token", client_ca=client.ca)
    try:
        server.add(published.plain.archive)
        body = repository_body(server, auth="token", client=client)
        assert {"ca_bundle", "client_certificate", "client_key", "token"} <= set(body)
        # without the client certificate the TLS handshake fails; without the CA the server is not trusted
        for drop in (("client_certificate", "client_key"), ("ca_bundle",)):
            partial = {k: val for k, val in body.items() if k not in drop}
            status, err = api.call("PUT", "/v1/repositories/mtls", partial)
            assert status == 502 and err["error"]["code"] == "RepositoryUnreachable", (drop, err)
        status, repo = api.call("PUT", "/v1/repositories/mtls", body)
        assert status in (200, 201) and repo["auth"] == {
            "basic": False,
            "token": True,
            "client_certificate": True,
            "ca_bundle": True,
        }, repo
        assert "s3cr3t-bearer-token" not in json.dumps(repo) and "PRIVATE KEY" not in json.dumps(repo)
        op = install(api, "from-mtls", "mtls/plain", version=published.plain.version)
        assert op["status"] == "succeeded", op
        assert "from-mtls-plain" in helm_cli(stack, "get", "manifest", "from-mtls", "-n", "default")
        uninstall(api, "from-mtls")
        assert api.call("DELETE", "/v1/repositories/mtls")[0] == 204
    finally:
        server.close()


# ---------------------------------------------------------------- OCI registry


def test_private_oci_registry(api: Api, stack: Stack) -> None:
    reg = stack.registry
    assert reg is not None
    status, repo = api.call("PUT", "/v1/repositories/oci", registry_body(stack))
    assert status in (200, 201) and repo["type"] == "oci" and repo["auth"]["ca_bundle"], repo
    assert reg.password not in json.dumps(repo)
    status, shown = api.call("GET", "/v1/charts/oci/hello?version=0.1.0&info=chart")
    assert status == 200 and shown["chart"]["name"] == "hello", shown

    op = install(api, "from-oci", "oci/hello", version="0.1.0")
    assert op["status"] == "succeeded", op
    # a direct oci:// reference borrows the credentials of the registered registry it falls under
    op = install(api, "from-oci-url", f"{reg.url}/hello", version="0.1.0")
    assert op["status"] == "succeeded", op
    assert "hello-0.1.0" in helm_cli(stack, "list", "-n", "default", "--filter", "^from-oci")
    for name in ("from-oci", "from-oci-url"):
        uninstall(api, name)

    # the same registry without credentials: the pull is refused, the operation fails, nothing is installed
    status, _ = api.call("PUT", "/v1/repositories/oci-anon", {"url": reg.url, "ca_bundle": reg.ca_pem})
    assert status in (200, 201)
    op = install(api, "oci-anon", "oci-anon/hello", version="0.1.0")
    assert op["status"] == "failed" and op["error"]["code"] == "RepositoryAuthFailed", op
    assert "oci-anon" not in helm_cli(stack, "list", "-n", "default", "-q")
    assert api.call("DELETE", "/v1/repositories/oci-anon")[0] == 204


# ---------------------------------------------------------------- uploads


def _archive(stack: Stack, tmp: Path, name: str, version: str, greeting: str = "uploaded") -> bytes:
    chart = tmp / f"{name}-{version}-{greeting}"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: {version}\n")
    (chart / "values.yaml").write_text(f"greeting: {greeting}\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-up\n"
        "data:\n  greeting: {{ .Values.greeting | quote }}\n"
    )
    out = tmp / f"pkg-{name}-{version}-{greeting}"
    helm_cli(stack, "package", str(chart), "-d", str(out))
    return next(out.glob("*.tgz")).read_bytes()


def _evil(member: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in (("evil/Chart.yaml", b"apiVersion: v2\nname: evil\nversion: 0.1.0\n"), (member, b"x")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_upload_direct_and_presigned(api: Api, stack: Stack, tmp_path: Path) -> None:
    charts = f"{stack.api}/v1/charts"
    small = _archive(stack, tmp_path, "upchart", "1.0.0")
    status, chart = raw("POST", charts, small, "application/gzip", stack.token)
    assert status == 201 and chart["ref"] == "uploaded/upchart" and chart["version"] == "1.0.0", chart
    assert raw("POST", charts, small, "application/gzip", stack.token)[0] == 200  # the same bytes again: a no-op
    other = _archive(stack, tmp_path, "upchart", "1.0.0", greeting="changed")
    status, err = raw("POST", charts, other, "application/gzip", stack.token)
    assert status == 409 and err["error"]["code"] == "ChartVersionExists", err

    # bad archives: each refused with the field named, nothing stored
    for data, words in (
        (b"not a tarball", "gzipped tar"),
        (_evil("evil/../../etc/passwd"), ".."),
        (_evil("/abs/path"), "absolute"),
    ):
        status, err = raw("POST", charts, data, "application/gzip", stack.token)
        assert status == 422 and err["error"]["details"]["field"] == "chart" and words in err["error"]["message"], err
    assert api.call("GET", "/v1/charts?repository=uploaded&q=evil")[1]["charts"] == []

    # a large chart's route: a presigned upload slot, a PUT to it, then the API checks and stores it
    status, slot = api.call("POST", "/v1/charts/uploads")
    assert status == 201 and slot["method"] == "PUT", slot
    status, _ = raw("PUT", slot["url"], _archive(stack, tmp_path, "upchart", "1.1.0"), slot["headers"]["Content-Type"])
    assert status == 200
    status, chart = api.call("POST", "/v1/charts", {"upload_id": slot["upload_id"]})
    assert status == 201 and chart["version"] == "1.1.0", chart
    status, err = api.call("POST", "/v1/charts", {"upload_id": slot["upload_id"]})  # the slot is used up
    assert status == 422 and err["error"]["details"]["field"] == "upload_id"

    found = api.call("GET", "/v1/charts?repository=uploaded&q=upchart&versions=true")[1]["charts"]
    assert [c["version"] for c in found] == ["1.1.0", "1.0.0"]
    op = install(api, "from-upload", "uploaded/upchart", version="~1.0")
    assert op["status"] == "succeeded", op
    data = helm_cli(stack, "get", "manifest", "from-upload", "-n", "default")
    assert 'greeting: "uploaded"' in data and "upchart-1.0.0" in helm_cli(stack, "list", "-n", "default")
    op = api.run("PUT", f"{NS}/from-upload", {"chart": "uploaded/upchart"})  # newest: 1.1.0
    assert op["status"] == "succeeded", op
    assert api.call("GET", f"{NS}/from-upload")[1]["chart_version"] == "1.1.0"
    uninstall(api, "from-upload")
    assert api.call("DELETE", "/v1/charts/uploaded/upchart?version=1.1.0")[0] == 204
    found = api.call("GET", "/v1/charts?repository=uploaded&q=upchart&versions=true")[1]["charts"]
    assert [c["version"] for c in found] == ["1.0.0"]


# ---------------------------------------------------------------- chart features


def test_dependencies_crds_hooks_and_notes(api: Api, stack: Stack, published: Published) -> None:
    assert api.call("PUT", "/v1/repositories/private", repo_body(stack))[0] in (200, 201)
    assert api.call("PUT", "/v1/repositories/oci", registry_body(stack))[0] in (200, 201)
    assert api.call("POST", "/v1/repositories/private/refresh")[0] == 200

    # a chart that vendors its dependency, from the HTTP repository
    op = install(api, "parent", f"private/{published.parent.name}", version=published.parent.version)
    assert op["status"] == "succeeded", op
    manifest = helm_cli(stack, "get", "manifest", "parent", "-n", "default")
    assert "parent-plain" in manifest or "plain" in manifest

    # CRDs, a hook and NOTES, from the OCI registry
    op = install(api, "crd", f"oci/{published.crdhook.name}", version=published.crdhook.version)
    assert op["status"] == "succeeded", op
    crds = helm_cli(stack, "get", "manifest", "crd", "-n", "default")
    assert "kind: CronTab" in crds
    status, rel = api.call("GET", f"{NS}/crd?info=notes,hooks")
    assert status == 200 and "installed by a hook-checked release" in rel["notes"], rel
    assert any("pre-install" in h["events"] for h in rel["hooks"]), rel
    shown = api.call("GET", f"/v1/charts/oci/{published.crdhook.name}?version={published.crdhook.version}&info=crds")
    assert shown[0] == 200 and shown[1]["crds"] and "CustomResourceDefinition" in shown[1]["crds"][0]["content"]
    for name in ("parent", "crd"):
        uninstall(api, name)


def test_dependency_update(api: Api, stack: Stack, published: Published, tmp_path: Path) -> None:
    """A chart whose dependency is not vendored installs only with dependency_update, which fetches it from the
    registered repository with that URL (through the SSRF guard), and is refused while no repository has it."""
    from tests.e2e.repos import dependent_chart

    assert stack.repo is not None
    # an unauthenticated copy of the dependency, named in Chart.yaml by its URL
    anon = stack.repo.__class__(tmp_path / "anon", stack.cfg.helm_binary, _free_port())
    try:
        anon.add(published.plain.archive)
        chart = dependent_chart(tmp_path / "src", anon.base_url, name="needsdep")
        buf = io.BytesIO()  # helm package refuses a chart whose dependencies are not vendored: tar it by hand
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            tar.add(chart, arcname="needsdep")
        status, up = raw("POST", f"{stack.api}/v1/charts", buf.getvalue(), "application/gzip", stack.token)
        assert status == 201, up
        op = install(api, "needsdep", "uploaded/needsdep")
        assert op["status"] == "failed" and "missing in charts" in op["error"]["message"], op
        op = install(api, "needsdep", "uploaded/needsdep", dependency_update=True)
        assert op["status"] == "failed" and op["error"]["code"] == "InvalidInput", op
        assert f"repository {anon.base_url} is not registered" in op["error"]["message"], op
        assert api.call("PUT", "/v1/repositories/anon", {"url": anon.base_url})[0] == 201
        op = install(api, "needsdep", "uploaded/needsdep", dependency_update=True)
        assert op["status"] == "succeeded", op
        assert "needsdep-plain" in helm_cli(stack, "get", "manifest", "needsdep", "-n", "default")
        uninstall(api, "needsdep")
    finally:
        api.call("DELETE", "/v1/repositories/anon")
        anon.close()


def _free_port() -> int:
    from devstack.stack import free_port

    return free_port()


def test_signed_chart_is_verified(api: Api, stack: Stack, published: Published) -> None:
    keyring = base64.b64encode(published.key.pubring.read_bytes()).decode()
    assert api.call("PUT", "/v1/repositories/signed", repo_body(stack, keyring=keyring))[0] in (200, 201)
    assert api.call("PUT", "/v1/repositories/private", repo_body(stack))[0] in (200, 201)
    # verify needs a keyring: refused before anything is queued
    status, err = api.call("POST", NS, {"name": "sig", "chart": "private/signed", "verify": True})
    assert status == 422 and err["error"]["details"]["field"] == "verify", err
    op = install(api, "sig", "signed/signed", version=published.signed.version, verify=True)
    assert op["status"] == "succeeded", op
    # an unsigned chart does not pass verification
    op = install(api, "unsigned", "signed/plain", version=published.plain.version, verify=True)
    assert op["status"] == "failed", op
    uninstall(api, "sig")
