"""The local stack's chart servers are real: the real helm (4 and 3.19, see conftest's ``helm_major``) adds the
private HTTP repository, pulls from the OCI registry over TLS, verifies signed charts, builds dependencies, and
installs what it got into the real kube-apiserver; without credentials (or without the CA) it is refused.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from devstack.kube import free_port_numbers
from devstack.registry import OciRegistry
from devstack.stack import REPO_USER, Stack
from devstack.tls import client_tls
from tests.e2e.repos import (
    CRD_GROUP,
    Published,
    dependency_build,
    dependent_chart,
    gpg_key,
    helm,
    https_repo,
    registry_body,
    repo_add_args,
    repository_body,
)

pytestmark = pytest.mark.e2e
NS = "chart-servers"
# With TLS 1.3 the client finishes its handshake before the server checks its certificate: the server's alert
# ("certificate required", "unknown certificate authority") can lose the race with the client's first write.
NO_CLIENT_CERT = ("certificate", "broken pipe", "connection reset")


def install_args(stack: Stack) -> list[str]:
    """``--namespace``, and client-side apply for helm 4 (the local 1.20 API server refuses some server-side ones)."""
    flags = ["--namespace", NS, "--create-namespace"]
    return flags + (["--server-side=false"] if stack.cfg.helm_binary.parent.name == "v4" else [])


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def refused(done: subprocess.CompletedProcess[str], *reasons: str) -> str:
    assert done.returncode != 0, done.stdout
    assert any(r in done.stderr for r in reasons), done.stderr
    return done.stderr


def http_get(url: str, auth: str | None = None, context: ssl.SSLContext | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": auth} if auth else {})
    try:
        with urllib.request.urlopen(req, timeout=10, context=context) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def kube_objects(stack: Stack, release: str) -> list[tuple[str, str]]:
    """(kind, name) of the objects in the release's manifest, as helm recorded them."""
    manifest = ok(helm(stack, stack.cfg.state_dir / "helm-chart-servers", "get", "manifest", release, "-n", NS))
    return sorted((d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(manifest) if d)


def read_object(stack: Stack, *path: str) -> dict:
    """GET an object from the API server itself (not helm's view), with the stack's kubeconfig and kubectl."""
    done = subprocess.run(
        [str(stack.cfg.helm_binary.parent.parent / "kubectl"), "get", *path, "-o", "json"],
        env={
            "KUBECONFIG": str(stack.cfg.state_dir / "kubeconfig"),
            "PATH": "/usr/bin:/bin",
            "HOME": str(stack.cfg.state_dir),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


# ---------------------------------------------------------------- the private HTTP repository


def test_private_repo_refuses_without_credentials(stack: Stack, published: Published) -> None:
    repo = published.repo
    assert (repo.username, repo.password, repo.token) == (REPO_USER, repo.password, repo.token)
    assert repo.password and repo.token
    assert http_get(repo.index_url)[0] == 401
    assert http_get(repo.index_url, basic(REPO_USER, "wrong"))[0] == 401
    assert http_get(repo.index_url, "Bearer wrong")[0] == 401
    assert http_get(published.plain.repo_url)[0] == 401

    status, body = http_get(repo.index_url, basic(REPO_USER, repo.password))
    assert status == 200
    index = yaml.safe_load(body)
    for chart in (published.plain, published.parent, published.crdhook, published.signed):
        entry = next(e for e in index["entries"][chart.name] if e["version"] == chart.version)
        assert entry["urls"] == [chart.repo_url]  # helm repo index --url: absolute, under the served base URL
    assert "hello" in index["entries"]  # the stack's own example chart
    assert http_get(repo.index_url, f"Bearer {repo.token}")[0] == 200
    assert http_get(published.signed.repo_url + ".prov", f"Bearer {repo.token}")[0] == 200

    home = stack.cfg.state_dir / "helm-norepo"
    refused(helm(stack, home, "repo", "add", "nocreds", repo.base_url), "401")
    refused(
        helm(stack, home, "repo", "add", "badcreds", repo.base_url, "--username", REPO_USER, "--password", "x"), "401"
    )
    assert repository_body(repo) == {"url": repo.base_url, "username": REPO_USER, "password": repo.password}
    assert repository_body(repo, auth="token") == {"url": repo.base_url, "token": repo.token}


def test_helm_repo_add_and_install_from_the_private_repo(stack: Stack, published: Published) -> None:
    home = stack.cfg.state_dir / "helm-repo"
    ok(helm(stack, home, *repo_add_args(published.repo)))
    found = json.loads(ok(helm(stack, home, "search", "repo", "charthouse/", "-o", "json")))
    assert {"charthouse/plain", "charthouse/parent", "charthouse/crdhook", "charthouse/hello"} <= {
        c["name"] for c in found
    }
    ok(
        helm(
            stack,
            home,
            "install",
            "srv-repo",
            published.plain.repo_ref,
            "--version",
            "0.1.0",
            "--set",
            "greeting=from-repo",
            *install_args(stack),
        )
    )
    cm = read_object(stack, "configmap", "srv-repo-plain", "-n", NS)
    assert cm["data"] == {"greeting": "from-repo", "chart": "plain-0.1.0"}
    ok(helm(stack, home, "uninstall", "srv-repo", "-n", NS))


def test_https_repo_needs_its_ca(stack: Stack, tmp_path: Path) -> None:
    server = https_repo(tmp_path, stack.cfg.helm_binary, username="u", password="p", token="t0k")
    try:
        server.package(Path(__file__).resolve().parents[2] / "examples" / "charts" / "hello")
        assert server.base_url.startswith("https://127.0.0.1:")
        trusted = ssl.create_default_context(cafile=str(server.tls.ca)) if server.tls else None
        assert http_get(server.index_url, "Bearer t0k", trusted)[0] == 200
        assert http_get(server.index_url, None, trusted)[0] == 401
        home = tmp_path / "helm"
        refused(
            helm(stack, home, "repo", "add", "tls", server.base_url, "--username", "u", "--password", "p"),
            "x509",
            "certificate",
        )
        ok(helm(stack, home, *repo_add_args(server, "tls")))
        ok(helm(stack, home, "show", "chart", "tls/hello"))
    finally:
        server.close()


def test_client_certificates_for_repo_and_registry(stack: Stack, published: Published, tmp_path: Path) -> None:
    client, stranger = client_tls(tmp_path / "client"), client_tls(tmp_path / "stranger")
    mine = ["--cert-file", str(client.cert), "--key-file", str(client.key)]
    theirs = ["--cert-file", str(stranger.cert), "--key-file", str(stranger.key)]
    home = tmp_path / "helm"
    server = https_repo(tmp_path / "repo", stack.cfg.helm_binary, client_ca=client.ca)
    try:
        assert server.add(published.signed.archive) == server.url("signed-0.1.0.tgz")
        assert (server.www / "signed-0.1.0.tgz.prov").exists()  # add() brings the provenance along
        assert server.tls is not None
        ca = ["--ca-file", str(server.tls.ca)]
        refused(helm(stack, home, "repo", "add", "m", server.base_url, *ca), *NO_CLIENT_CERT)
        refused(helm(stack, home, "repo", "add", "m", server.base_url, *ca, *theirs), *NO_CLIENT_CERT)
        ok(helm(stack, home, "repo", "add", "m", server.base_url, *ca, *mine))
        ok(
            helm(
                stack,
                home,
                "pull",
                "m/signed",
                "--verify",
                "--keyring",
                str(published.key.pubring),
                "-d",
                str(tmp_path),
                *ca,
                *mine,
            )
        )
        body = repository_body(server, auth="none", client=client, keyring=published.key)
        assert set(body) == {"url", "ca_bundle", "client_certificate", "client_key", "keyring"}
    finally:
        server.close()

    (port,) = free_port_numbers(1)
    with OciRegistry(tmp_path / "registry", port, "u", "p", client_tls=client) as registry:
        pushed = registry.push(stack.cfg.helm_binary, published.plain.archive)
        creds = ["--username", "u", "--password", "p"]
        refused(
            helm(
                stack,
                home,
                "show",
                "chart",
                pushed.ref,
                "--version",
                pushed.version,
                *creds,
                "--ca-file",
                str(registry.ca_file),
            ),
            *NO_CLIENT_CERT,
        )
        ok(helm(stack, home, "show", "chart", pushed.ref, "--version", pushed.version, *creds, *registry.tls_args()))
        assert set(registry_body(registry)) == {
            "url",
            "username",
            "password",
            "ca_bundle",
            "client_certificate",
            "client_key",
        }


# ---------------------------------------------------------------- the OCI registry


def test_oci_install_with_login_and_ca(stack: Stack, published: Published) -> None:
    registry, chart = published.registry, published.plain
    assert chart.oci == f"{registry.url}/plain" and registry.url.startswith("oci://127.0.0.1:")
    assert registry.ca_pem and "BEGIN CERTIFICATE" in registry.ca_pem
    assert registry_body(registry) == {
        "url": registry.url,
        "username": REPO_USER,
        "password": registry.password,
        "ca_bundle": registry.ca_pem,
    }
    home = stack.cfg.state_dir / "helm-oci"
    ca = ["--ca-file", str(registry.ca_file)]
    # no login: the registry asks for credentials; no CA: the certificate is not trusted
    refused(
        helm(stack, home, "show", "chart", chart.oci, "--version", chart.version, *ca),
        "basic credential not found",
        "401",
        "unauthorized",
    )
    refused(
        helm(
            stack,
            home,
            "registry",
            "login",
            registry.host,
            "--username",
            REPO_USER,
            "--password-stdin",
            *ca,
            stdin="wrong\n",
        ),
        "401",
        "unauthorized",
    )
    refused(
        helm(
            stack,
            home,
            "show",
            "chart",
            chart.oci,
            "--version",
            chart.version,
            "--username",
            REPO_USER,
            "--password",
            str(registry.password),
        ),
        "x509",
        "certificate",
    )

    assert registry.password is not None
    ok(
        helm(
            stack,
            home,
            "registry",
            "login",
            registry.host,
            "--username",
            REPO_USER,
            "--password-stdin",
            *ca,
            stdin=registry.password,
        )
    )
    ok(
        helm(
            stack,
            home,
            "install",
            "srv-oci",
            chart.oci,
            "--version",
            chart.version,
            *ca,
            "--set",
            "greeting=from-oci",
            *install_args(stack),
        )
    )
    assert read_object(stack, "configmap", "srv-oci-plain", "-n", NS)["data"]["greeting"] == "from-oci"
    ok(helm(stack, home, "uninstall", "srv-oci", "-n", NS))


def test_anonymous_registry_over_plain_http(stack: Stack, published: Published, tmp_path: Path) -> None:
    (port,) = free_port_numbers(1)
    with OciRegistry(tmp_path / "registry", port, plain_http=True) as registry:
        assert registry.ca_pem is None and registry.tls_args() == ["--plain-http"]
        pushed = registry.push(stack.cfg.helm_binary, published.plain.archive)
        assert (pushed.ref, pushed.version) == (f"oci://127.0.0.1:{port}/charts/plain", "0.1.0")
        assert pushed.digest.startswith("sha256:")
        show = helm(stack, tmp_path / "helm", "show", "chart", pushed.ref, "--version", "0.1.0", "--plain-http")
        assert yaml.safe_load(ok(show))["name"] == "plain"
    assert not registry.running()


def test_example_chart_is_in_both_servers(stack: Stack) -> None:
    assert stack.repo is not None and stack.registry is not None
    assert set(stack.example_repo_charts) == set(stack.example_oci) == set(stack.example_charts)
    creds = json.loads(stack.credentials_file.read_text())
    assert os.stat(stack.credentials_file).st_mode & 0o777 == 0o600
    assert creds["repository"] == {
        "url": stack.repo.base_url,
        "username": REPO_USER,
        "password": stack.repo.password,
        "token": stack.repo.token,
    }
    assert creds["registry"]["url"] == stack.registry.url and creds["registry"]["password"] == stack.registry.password
    home = stack.cfg.state_dir / "helm-example"
    hello = stack.example_oci["hello"]
    show = helm(
        stack,
        home,
        "show",
        "chart",
        hello.ref,
        "--version",
        hello.version,
        "--username",
        REPO_USER,
        "--password",
        str(stack.registry.password),
        *stack.registry.tls_args(),
    )
    assert yaml.safe_load(ok(show))["name"] == "hello"


# ---------------------------------------------------------------- signed charts, dependencies, CRDs and hooks


def test_signed_chart_verifies(stack: Stack, published: Published, tmp_path: Path) -> None:
    signed, key = published.signed, published.key
    home = stack.cfg.state_dir / "helm-signed"
    out = ok(helm(stack, home, "verify", str(signed.archive), "--keyring", str(key.pubring)))
    assert key.name in out and "Chart Hash Verified" in out
    ok(helm(stack, home, *repo_add_args(published.repo)))
    ok(
        helm(
            stack,
            home,
            "install",
            "srv-signed",
            signed.repo_ref,
            "--version",
            signed.version,
            "--verify",
            "--keyring",
            str(key.pubring),
            *install_args(stack),
        )
    )
    assert read_object(stack, "configmap", "srv-signed-signed", "-n", NS)["data"]["chart"] == "signed-0.1.0"
    ok(helm(stack, home, "uninstall", "srv-signed", "-n", NS))
    # helm push sent the .prov beside the archive as the OCI artifact's provenance layer
    registry = published.registry
    ok(
        helm(
            stack,
            home,
            "registry",
            "login",
            registry.host,
            "--username",
            REPO_USER,
            "--password-stdin",
            *registry.tls_args(),
            stdin=str(registry.password),
        )
    )
    ok(
        helm(
            stack,
            home,
            "install",
            "srv-signed-oci",
            signed.oci,
            "--version",
            signed.version,
            "--verify",
            "--keyring",
            str(key.pubring),
            *registry.tls_args(),
            *install_args(stack),
        )
    )
    ok(helm(stack, home, "uninstall", "srv-signed-oci", "-n", NS))

    stranger = gpg_key(tmp_path / "stranger", name="Someone Else", email="else@charthouse.test")
    refused(
        helm(
            stack,
            home,
            "install",
            "srv-unsigned",
            signed.repo_ref,
            "--verify",
            "--keyring",
            str(stranger.pubring),
            *install_args(stack),
        ),
        "unknown entity",
    )
    refused(
        helm(
            stack,
            home,
            "install",
            "srv-noprov",
            published.plain.repo_ref,
            "--verify",
            "--keyring",
            str(key.pubring),
            *install_args(stack),
        ),
        "prov",
        "404",
    )


def test_dependency_from_the_private_repo_builds_and_installs(
    stack: Stack, published: Published, tmp_path: Path
) -> None:
    chart = dependent_chart(tmp_path / "src", published.repo.base_url, name="child-of-repo")
    home = tmp_path / "helm"
    refused(
        helm(stack, home, "dependency", "build", str(chart)), "401", "no cached repository", "no repository definition"
    )
    dependency_build(stack.cfg.helm_binary, chart, published.repo, home)
    assert [p.name for p in (chart / "charts").iterdir()] == ["plain-0.1.0.tgz"]
    ok(helm(stack, home, "install", "srv-dep", str(chart), *install_args(stack)))
    assert ("ConfigMap", "srv-dep-child-of-repo") in kube_objects(stack, "srv-dep")
    assert (
        read_object(stack, "configmap", "srv-dep-plain", "-n", NS)["data"]["greeting"] == "from-child-of-repo-to-plain"
    )
    ok(helm(stack, home, "uninstall", "srv-dep", "-n", NS))

    # the published parent carries its dependency: it installs from OCI with nothing else to fetch
    parent, registry = published.parent, published.registry
    ok(
        helm(
            stack,
            home,
            "registry",
            "login",
            registry.host,
            "--username",
            REPO_USER,
            "--password-stdin",
            *registry.tls_args(),
            stdin=str(registry.password),
        )
    )
    ok(
        helm(
            stack,
            home,
            "install",
            "srv-parent",
            parent.oci,
            "--version",
            parent.version,
            *registry.tls_args(),
            *install_args(stack),
        )
    )
    assert kube_objects(stack, "srv-parent") == [("ConfigMap", "srv-parent-parent"), ("ConfigMap", "srv-parent-plain")]
    ok(helm(stack, home, "uninstall", "srv-parent", "-n", NS))


def test_crds_hooks_and_notes(stack: Stack, published: Published) -> None:
    chart, registry = published.crdhook, published.registry
    home = stack.cfg.state_dir / "helm-crd"
    ok(
        helm(
            stack,
            home,
            "registry",
            "login",
            registry.host,
            "--username",
            REPO_USER,
            "--password-stdin",
            *registry.tls_args(),
            stdin=str(registry.password),
        )
    )
    args = [chart.oci, "--version", chart.version, *registry.tls_args(), *install_args(stack)]
    out = ok(helm(stack, home, "install", "srv-crd", *args))
    assert "CronTab srv-crd-tab installed by a hook-checked release" in out  # NOTES.txt

    crd = read_object(stack, "crd", f"crontabs.{CRD_GROUP}")
    assert crd["spec"]["names"]["kind"] == "CronTab"
    assert read_object(stack, f"crontabs.{CRD_GROUP}", "srv-crd-tab", "-n", NS)["spec"]["cronSpec"] == "*/5 * * * *"
    assert read_object(stack, "configmap", "srv-crd-hook", "-n", NS)["data"] == {"revision": "1"}
    hooks = yaml.safe_load(ok(helm(stack, home, "get", "hooks", "srv-crd", "-n", NS)))
    assert hooks["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"

    ok(helm(stack, home, "upgrade", "srv-crd", *args, "--set", "schedule=0 * * * *"))
    assert read_object(stack, "configmap", "srv-crd-hook", "-n", NS)["data"] == {"revision": "2"}  # re-run
    assert read_object(stack, f"crontabs.{CRD_GROUP}", "srv-crd-tab", "-n", NS)["spec"]["cronSpec"] == "0 * * * *"
    ok(helm(stack, home, "uninstall", "srv-crd", "-n", NS))
