"""chalicelib.domain.values.tree: the limits, the validating copy and the deep merge primitives."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain import values as V
from chalicelib.domain.values import tree
from chalicelib.errors import InvalidInput, PayloadTooLarge


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        V.Limits(max_depth=0)
    with pytest.raises(ValueError):
        V.Limits(max_nodes=True)


def test_default_limits() -> None:
    assert V.DEFAULT_LIMITS == V.Limits(
        max_bytes=1_000_000, max_depth=64, max_nodes=100_000, max_set_entries=1000, max_files=64
    )
    with pytest.raises(ValueError, match="max_files"):
        V.Limits(max_files=0)


def test_validated_copies_and_counts() -> None:
    raw: dict[str, Any] = {"a": [1, {"b": None}], "c": "x"}
    out, nodes = tree.validated(raw, "f", V.DEFAULT_LIMITS)
    assert out == raw and out is not raw
    assert isinstance(out, dict) and out["a"] is not raw["a"]
    assert nodes == 9  # root, a, [..], 1, {..}, b, None, c, "x"


def test_a_marked_key_is_named_with_its_line() -> None:
    with pytest.raises(InvalidInput) as info:
        tree.validated({"a": {tree.MarkedKey("on", 7, True): 1}}, "values", V.DEFAULT_LIMITS)
    assert info.value.field == "values.a"
    assert 'key "on" on line 7 is read by YAML 1.1 as a boolean' in str(info.value)


def test_finish_measures_the_exact_json_size() -> None:
    limits = V.Limits(max_bytes=20)
    assert tree.finish({"a": "x" * 11}, "f", limits)[0] == {"a": "x" * 11}  # {"a":"xxxxxxxxxxx"} is 19 bytes
    with pytest.raises(PayloadTooLarge, match="larger than 20 bytes as JSON"):
        tree.finish({"a": "x" * 13}, "f", limits)


def test_check_text_size_counts_utf8_bytes_of_all_texts() -> None:
    limits = V.Limits(max_bytes=10)
    tree.check_text_size(["abcde", "\u00e9\u00e9"], "f", limits)  # 5 + 4 bytes
    with pytest.raises(PayloadTooLarge, match="f: larger than 10 bytes"):
        tree.check_text_size(["abcde", "\u00e9\u00e9\u00e9"], "f", limits)
    with pytest.raises(InvalidInput, match="surrogate"):
        tree.check_text_size(["\ud800"], "f", limits)


def test_merge_into_is_helms_merge_maps_and_shares_nothing() -> None:
    target: dict[str, Any] = {"a": {"b": 1, "c": [1]}, "d": 1}
    overlay: dict[str, Any] = {"a": {"c": [2], "e": {"f": 1}}, "d": {"g": 1}}
    tree.merge_into(target, overlay)
    assert target == {"a": {"b": 1, "c": [2], "e": {"f": 1}}, "d": {"g": 1}}
    target["a"]["e"]["f"] = 9
    target["a"]["c"].append(3)
    assert overlay == {"a": {"c": [2], "e": {"f": 1}}, "d": {"g": 1}}
    copied = tree.copy_tree(overlay)
    assert copied == overlay and copied["a"] is not overlay["a"] and copied["a"]["c"] is not overlay["a"]["c"]
