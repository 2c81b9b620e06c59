"""The Kubernetes API client against a small fake API server on loopback (plain HTTP): the version, namespaces,
the bearer token sent; refusals and unreachable servers become typed errors whose message carries no credential."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from chalicelib.adapters.kube import client as kube
from chalicelib.errors import ClusterAuthFailed, ClusterUnreachable

TOKEN = "s3cr3t-kube-token"
VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.2",
    "gitCommit": "abc",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23",
    "compiler": "gc",
    "platform": "linux/amd64",
}
NAMESPACES = {
    "kind": "NamespaceList",
    "apiVersion": "v1",
    "metadata": {},
    "items": [
        {"metadata": {"name": "default"}, "status": {"phase": "Active"}},
        {"metadata": {"name": "old"}, "status": {"phase": "Terminating"}},
    ],
}


class ApiServer:
    """Answers GET /version and /api/v1/namespaces, or ``status`` for every request when it is set."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.authorizations: list[str | None] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                fake.authorizations.append(self.headers.get("Authorization"))
                answers = {"/version": VERSION, "/api/v1/namespaces": NAMESPACES}
                path = self.path.split("?", 1)[0].rstrip("/")
                status = fake.status or (200 if path in answers else 404)
                body = json.dumps(answers[path] if status == 200 else {"kind": "Status", "code": status})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()


def kubeconfig(server: str) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "c", "cluster": {"server": server}}],
            "users": [{"name": "u", "user": {"token": TOKEN}}],
            "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "x",
        }
    )


@pytest.fixture
def apiserver() -> Iterator[ApiServer]:
    server = ApiServer()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_version_and_namespaces(apiserver: ApiServer) -> None:
    config = kubeconfig(apiserver.url)
    assert kube.server_version(config) == "v1.31.2"
    assert kube.namespaces(config, "local") == [
        {"name": "default", "status": "Active"},
        {"name": "old", "status": "Terminating"},
    ]
    assert apiserver.authorizations == [f"Bearer {TOKEN}"] * 2


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_cluster_auth_failed(apiserver: ApiServer, status: int) -> None:
    apiserver.status = status
    with pytest.raises(ClusterAuthFailed, match=f"HTTP {status}") as exc:
        kube.namespaces(kubeconfig(apiserver.url), "local")
    assert TOKEN not in str(exc.value)


def test_a_server_error_is_unreachable_with_its_status(apiserver: ApiServer) -> None:
    apiserver.status = 503
    with pytest.raises(ClusterUnreachable, match="the cluster is unreachable: HTTP 503"):
        kube.server_version(kubeconfig(apiserver.url))


def test_nobody_listening_is_unreachable_with_a_safe_reason() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ClusterUnreachable, match="cluster prod is unreachable") as exc:
        kube.namespaces(kubeconfig(f"http://127.0.0.1:{port}"), "prod")
    assert "Connection refused" in str(exc.value) and TOKEN not in str(exc.value)


def test_safe_reason_keeps_only_known_markers() -> None:
    assert kube.safe_reason(ValueError(f"token {TOKEN} rejected")) == "ValueError"
    assert kube.safe_reason(OSError("[Errno 111] Connection refused")) == "OSError: Connection refused"


def test_a_kubeconfig_parses_as_yaml_does_with_the_c_loader() -> None:
    import yaml

    from chalicelib.domain.yamlguard import SafeLoader

    text = (
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:6443', "
        "certificate-authority-data: QUJD}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: x\n"
        "  context: {cluster: c, user: u}\ncurrent-context: x\n"
    )
    assert kube.parse_kubeconfig(text) == yaml.safe_load(text)
    assert SafeLoader is getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it
