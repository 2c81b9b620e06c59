"""Rendered manifests: the objects a release creates, read from helm's YAML (no cluster access here)."""

from __future__ import annotations

from typing import Any

from chalicelib.domain import yamlguard

CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "StorageClass",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PriorityClass",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "APIService",
        "IngressClass",
        "RuntimeClass",
        "CSIDriver",
        "CSINode",
        "VolumeAttachment",
        "PodSecurityPolicy",
        "CertificateSigningRequest",
    }
)


def documents(text: str) -> list[dict[str, Any]]:
    """The YAML documents of a manifest that are objects; one that cannot be parsed ends the list there."""
    # a manifest helm accepted but we cannot parse (or that breaks the YAML guard): list what we could
    return [doc for doc in yamlguard.load_leading(text, "manifest", yamlguard.MANIFEST) if isinstance(doc, dict)]


def resources(manifest: str, namespace: str) -> list[dict[str, str]]:
    """The objects a manifest creates: apiVersion, kind, name, namespace (none for cluster-scoped kinds)."""
    out = []
    for doc in documents(manifest):
        meta = doc.get("metadata") or {}
        kind = str(doc.get("kind") or "")
        if not kind or not isinstance(meta, dict):
            continue
        item = {"api_version": str(doc.get("apiVersion") or ""), "kind": kind, "name": str(meta.get("name") or "")}
        if kind not in CLUSTER_SCOPED:
            item["namespace"] = str(meta.get("namespace") or namespace)
        out.append(item)
    return out


def hook_summary(doc: dict[str, Any]) -> dict[str, Any]:
    """A hook as ``?info=hooks`` shows it: name, kind and the events (``helm.sh/hook``) it runs on."""
    meta = doc.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    events = str(annotations.get("helm.sh/hook") or "")
    return {"name": meta.get("name"), "kind": doc.get("kind"), "events": [e.strip() for e in events.split(",") if e]}
