"""Rendered manifests: the objects in helm's YAML, their namespaces (none for cluster-scoped kinds), hooks."""

from __future__ import annotations

import pytest

from chalicelib.domain.manifests import documents, hook_summary, resources

MANIFEST = """---
# Source: demo/templates/ns.yaml
apiVersion: v1
kind: Namespace
metadata:
  name: extra
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: elsewhere
---
# an empty document, then a list: neither is an object
---
- a
- b
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: web-reader
---
metadata: {name: no-kind}
"""


def test_documents_are_the_objects_only() -> None:
    docs = documents(MANIFEST)
    assert [d.get("kind") for d in docs] == ["Namespace", "ConfigMap", "Deployment", "ClusterRole", None]


def test_a_document_that_does_not_parse_ends_the_list_there() -> None:
    assert documents("kind: ConfigMap\nmetadata: {name: a}\n---\nkind: [unclosed\n---\nkind: Secret\n") == [
        {"kind": "ConfigMap", "metadata": {"name": "a"}}
    ]


def test_resources_with_their_namespaces() -> None:
    assert resources(MANIFEST, "apps") == [
        {"api_version": "v1", "kind": "Namespace", "name": "extra"},
        {"api_version": "v1", "kind": "ConfigMap", "name": "web-config", "namespace": "apps"},
        {"api_version": "apps/v1", "kind": "Deployment", "name": "web", "namespace": "elsewhere"},
        {"api_version": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "name": "web-reader"},
    ]
    assert resources("", "apps") == []


def test_hook_summary() -> None:
    hook = {
        "kind": "Job",
        "metadata": {"name": "migrate", "annotations": {"helm.sh/hook": "pre-install, pre-upgrade"}},
    }
    assert hook_summary(hook) == {"name": "migrate", "kind": "Job", "events": ["pre-install", "pre-upgrade"]}
    assert hook_summary({"kind": "Pod", "metadata": {"name": "p"}})["events"] == []


def test_an_alias_bomb_ends_the_list_there() -> None:
    anchors = ["b0: &b0 [x, x, x, x, x, x, x, x, x, x]"]
    anchors += [f"b{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * 10) + "]" for i in range(1, 7)]
    bomb = "kind: ConfigMap\nmetadata: {name: b}\n" + "\n".join(anchors) + "\ndata: {x: *b6}\n"
    assert documents("kind: ConfigMap\nmetadata: {name: a}\n---\n" + bomb) == [
        {"kind": "ConfigMap", "metadata": {"name": "a"}}
    ]


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        ("", []),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
            [{"api_version": "v1", "kind": "ConfigMap", "name": "a", "namespace": "ns"}],
        ),
        (
            "kind: Service\nmetadata:\n  name: s\n  namespace: other\n",
            [{"api_version": "", "kind": "Service", "name": "s", "namespace": "other"}],
        ),
        (
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n---\n# only a comment\n",
            [{"api_version": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "name": "r"}],
        ),
        ("metadata: {name: no-kind}\n---\n- a list\n", []),
        ("kind: [unclosed\n", []),  # helm accepted it; we list what we can parse
    ],
)
def test_resources_table(manifest: str, expected: list[dict[str, str]]) -> None:
    assert resources(manifest, "ns") == expected
