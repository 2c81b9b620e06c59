"""Helm's release storage (Secrets of type ``helm.sh/release.v1``), for the one thing the helm CLI cannot do:
mark a revision left ``pending-*`` by a killed helm process as ``failed``, so helm accepts the next operation.

A release revision is the Secret ``sh.helm.release.v1.<name>.v<revision>`` in the release's namespace; its
``release`` data is base64(gzip(JSON)) (under the API's own base64), and its ``status`` label mirrors
``info.status``. helm 3 and helm 4 share this format.
"""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import yaml

from chalicelib.errors import ClusterUnreachable, ReleaseNotFound

MAX_RELEASE_BYTES = 64 * 1024 * 1024


def secret_name(name: str, revision: int) -> str:
    return f"sh.helm.release.v1.{name}.v{revision}"


def decode(data: str) -> dict[str, Any]:
    """The ``release`` value as the API returns it -> the release JSON."""
    inner = base64.b64decode(base64.b64decode(data))
    raw = gzip.decompress(inner) if inner[:2] == b"\x1f\x8b" else inner
    if len(raw) > MAX_RELEASE_BYTES:
        raise ValueError("release record too large")
    result: dict[str, Any] = json.loads(raw)
    return result


def encode(release: dict[str, Any]) -> str:
    """The inverse of ``decode``: what goes back into the Secret's ``release`` data."""
    packed = gzip.compress(json.dumps(release, separators=(",", ":")).encode())
    return base64.b64encode(base64.b64encode(packed)).decode()


def mark_failed(kubeconfig: str, namespace: str, name: str, revision: int, description: str) -> None:
    """Set revision ``revision`` of release ``name`` to ``failed`` (data and label), as Flux's unlock does."""
    from kubernetes import client as k8s  # lazily: only recovery needs it
    from kubernetes import config as kconfig
    from kubernetes.client.exceptions import ApiException

    api = kconfig.new_client_from_config_dict(yaml.safe_load(kubeconfig))  # type: ignore[no-untyped-call]
    try:
        with api:
            _patch(k8s.CoreV1Api(api), namespace, name, revision, description)
    except ApiException as exc:
        if exc.status == 404:
            raise ReleaseNotFound(f"release {namespace}/{name} has no revision {revision} in the cluster") from exc
        raise ClusterUnreachable(f"could not update the release record in the cluster (HTTP {exc.status})") from exc


def _patch(core: Any, namespace: str, name: str, revision: int, description: str) -> None:
    try:
        secret = core.read_namespaced_secret(secret_name(name, revision), namespace, _request_timeout=10)
        release = decode(str((secret.data or {})["release"]))
        release.setdefault("info", {})["status"] = "failed"
        release["info"]["description"] = description
        body = {"metadata": {"labels": {"status": "failed"}}, "data": {"release": encode(release)}}
        core.patch_namespaced_secret(secret_name(name, revision), namespace, body, _request_timeout=10)
    except (KeyError, ValueError) as exc:
        raise ClusterUnreachable(f"the release record of {namespace}/{name} v{revision} is not helm's") from exc
