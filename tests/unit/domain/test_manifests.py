"""Rendered manifests: the objects a release creates (``resources``), table-driven."""

from __future__ import annotations

import pytest

from chalicelib.domain import manifests


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
def test_resources_of_a_manifest(manifest: str, expected: list[dict[str, str]]) -> None:
    assert manifests.resources(manifest, "ns") == expected
