"""Drift: only what the manifest sets is compared; metadata noise ignored; Secrets compared decoded and masked."""

from __future__ import annotations

import json

from chalicelib.core.drift import MASKED, compare, differences


def test_differences_compare_only_what_the_manifest_sets() -> None:
    expected = {"spec": {"ports": [{"port": 80, "protocol": "TCP"}], "selector": {"app": "x"}}}
    live = {
        "spec": {
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
            "selector": {"app": "x"},
            "clusterIP": "10.0.0.1",
        },
        "status": {},
    }
    assert differences(expected, live) == []
    assert differences({"data": {"a": "1"}}, {"data": {"a": 1}}) == []  # text-equal scalars
    assert differences({"x": True}, {"x": "true"}) == []
    assert differences({"data": {"a": "1"}}, {"data": {"a": "2"}}) == [{"path": "data.a", "expected": "1", "live": "2"}]
    assert differences({"data": {"a": "1"}}, {"data": {}}) == [{"path": "data.a", "expected": "1", "live": None}]
    assert differences({"l": [1, 2]}, {"l": [1]}) == [{"path": "l", "expected": [1, 2], "live": [1]}]
    assert differences({"l": [{"a": 1}]}, {"l": [{"a": 2, "b": 3}]}) == [{"path": "l[0].a", "expected": 1, "live": 2}]
    assert differences({"gone": None}, {}) == []


def test_compare_objects_metadata_and_secrets() -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "a", "labels": {"app": "a"}},
        "data": {"k": "v"},
    }
    live = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "a", "uid": "1", "resourceVersion": "9", "labels": {"app": "b", "extra": "x"}},
        "data": {"k": "v"},
    }
    assert compare(cm, live) == [{"path": "metadata.labels.app", "expected": "a", "live": "b"}]
    secret = {"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"password": "hunter2"}}
    assert compare(secret, {"kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "aHVudGVyMg=="}}) == []
    diffs = compare(secret, {"kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "b3RoZXI="}})
    assert diffs == [{"path": "data.password", "expected": MASKED, "live": MASKED}]
    assert "hunter2" not in json.dumps(diffs)
