"""The Kubernetes API client (the ``kubernetes`` package, imported lazily: ~0.8 s): version, namespaces, objects.

Every call takes the cluster's kubeconfig (YAML text with embedded credentials) and maps client failures to
``ClusterAuthFailed`` / ``ClusterUnreachable`` with a short reason that never carries a credential.
"""

from __future__ import annotations

from typing import Any

import yaml

from chalicelib.config import CLUSTER_PROBE_TIMEOUT_S
from chalicelib.domain.yamlguard import SafeLoader
from chalicelib.errors import ClusterAuthFailed, ClusterUnreachable


def parse_kubeconfig(kubeconfig: str) -> Any:
    """The kubeconfig as a dict, parsed by libyaml's safe loader: the pure-Python ``yaml.safe_load`` took ~16 ms of
    CPU per operation on a kubeconfig with embedded certificates (docs/PERFORMANCE.md, profile)."""
    return yaml.load(kubeconfig, Loader=SafeLoader)  # noqa: S506 - a safe loader


def api_client(kubeconfig: str) -> Any:
    """A kubernetes ApiClient for the cluster (use it as a context manager)."""
    from kubernetes import config as kconfig

    return kconfig.new_client_from_config_dict(parse_kubeconfig(kubeconfig))  # type: ignore[no-untyped-call]


def server_version(kubeconfig: str) -> str:
    """The API server's version (``git_version``)."""
    from kubernetes import client as k8s

    try:
        with api_client(kubeconfig) as api:
            return str(k8s.VersionApi(api).get_code(_request_timeout=CLUSTER_PROBE_TIMEOUT_S).git_version)
    except Exception as exc:  # noqa: BLE001 - any client failure means "not reachable", with a safe reason
        raise _failure(exc, "the cluster") from exc


def namespaces(kubeconfig: str, cluster: str) -> list[dict[str, Any]]:
    """The cluster's namespaces: name and phase."""
    from kubernetes import client as k8s

    try:
        with api_client(kubeconfig) as api:
            items = k8s.CoreV1Api(api).list_namespace(_request_timeout=CLUSTER_PROBE_TIMEOUT_S).items
    except Exception as exc:  # noqa: BLE001 - mapped to a typed, safe error
        raise _failure(exc, f"cluster {cluster}") from exc
    return [
        {"name": ns.metadata.name if ns.metadata else "", "status": getattr(ns.status, "phase", None)} for ns in items
    ]


def _failure(exc: Exception, what: str) -> ClusterAuthFailed | ClusterUnreachable:
    status = getattr(exc, "status", None)
    if status in (401, 403):
        return ClusterAuthFailed(f"the cluster refused the credentials (HTTP {status})")
    return ClusterUnreachable(f"{what} is unreachable: {safe_reason(exc)}")


def safe_reason(exc: BaseException) -> str:
    """A short, credential-free reason for a client failure."""
    status = getattr(exc, "status", None)
    if status:
        return f"HTTP {status} {getattr(exc, 'reason', '')}".strip()
    text = type(exc).__name__
    for marker in (
        "Connection refused",
        "timed out",
        "Name or service not known",
        "CERTIFICATE_VERIFY_FAILED",
        "No route to host",
    ):
        if marker in str(exc):
            return f"{text}: {marker}"
    return text
