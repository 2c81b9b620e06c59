"""chalicelib.domain.values.yaml_dialect: helm's YAML dialect, its traps, limits and the alias guard."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from chalicelib.domain import values as V
from chalicelib.errors import InvalidInput, PayloadTooLarge
from tests.unit.domain.values.support import SMALL, raises, short

# --------------------------------------------------------------------------- parse_values


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, {}),
        ("", {}),
        ("   \n", {}),
        ("# only a comment\n", {}),
        ("~", {}),
        ("null", {}),
        ("---\n", {}),
        ("a: 1\nb: [x, 2]\nc: {d: null}\n", {"a": 1, "b": ["x", 2], "c": {"d": None}}),
        ("---\na: 1\n...\n", {"a": 1}),
        ('{"a": {"b": [1, 2.5, "x", true, null]}}', {"a": {"b": [1, 2.5, "x", True, None]}}),
        ({"a": {"b": [1, 2.5, "x", True, None]}}, {"a": {"b": [1, 2.5, "x", True, None]}}),
        ({"on": "y", "dotted.key": 1}, {"on": "y", "dotted.key": 1}),
        ({}, {}),
        (
            "image:\n  tag: '1.10'\n  pullPolicy: IfNotPresent\n",
            {"image": {"tag": "1.10", "pullPolicy": "IfNotPresent"}},
        ),
        ("a: &x {b: 1}\nc: *x\nd:\n  <<: *x\n  e: 2\n", {"a": {"b": 1}, "c": {"b": 1}, "d": {"b": 1, "e": 2}}),
        ("a: 1\na: 2\n", {"a": 2}),
        ("s: |\n  line1\n  line2\n", {"s": "line1\nline2\n"}),
        ("u: caf\u00e9 \U0001f600\n", {"u": "caf\u00e9 \U0001f600"}),
    ],
)
def test_parse_values_accepts(raw: object, expected: dict[str, Any]) -> None:
    result = V.parse_values(raw)
    assert result == expected
    json.dumps(result, allow_nan=False)  # always JSON-serialisable


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        # timestamps and dates stay strings (no datetime objects)
        ("d: 2024-01-01", "2024-01-01"),
        ("d: 2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"),
        ("d: 2001-12-14 21:59:43.10 -5", "2001-12-14 21:59:43.10 -5"),
        ("d: !!timestamp 2001-01-01", "2001-01-01"),
        # YAML 1.1 booleans, as helm (go-yaml v2) reads them
        ("d: on", True),
        ("d: off", False),
        ("d: yes", True),
        ("d: No", False),
        ("d: TRUE", True),
        ("d: y", True),
        ("d: Y", True),
        ("d: n", False),
        ("d: N", False),
        ("d: oN", "oN"),
        ("d: tRUE", "tRUE"),
        ('d: "on"', "on"),
        ("d: 'y'", "y"),
        # numbers
        ("d: 1.10", 1.1),
        ('d: "1.10"', "1.10"),
        ("d: 007", 7),
        ('d: "007"', "007"),
        ("d: 017", 15),
        ("d: 0o17", 15),
        ("d: 0x1F", 31),
        ("d: 0X1f", 31),
        ("d: 0b101", 5),
        ("d: 0B1", 1),
        ("d: 1_000", 1000),
        ("d: 1e3", 1000.0),
        ("d: 1.0e3", 1000.0),
        ("d: -.5", -0.5),
        ("d: .5", 0.5),
        ("d: 12345678901234567890", 12345678901234567890),
        # base 60 is not a number in helm
        ("d: 22:22", "22:22"),
        ("d: 1:2:3.5", "1:2:3.5"),
        # odd scalars
        ("d: =", "="),
        ("d: <<", "<<"),
        ("d: ~", None),
        ("d: !!str 1", "1"),
        ("d: !!binary aGk=", "hi"),
    ],
)
def test_yaml_scalars_match_helm(doc: str, expected: object) -> None:
    result = V.parse_values(doc)
    assert result == {"d": expected}
    assert type(result["d"]) is type(expected)


@pytest.mark.parametrize(
    "raw",
    ["- a\n- b\n", "[1, 2]", "42", "hello", '"quoted"', "true", [1, 2], 5, True, 1.5],
)
def test_non_mapping_root_is_rejected(raw: object) -> None:
    err = raises(InvalidInput, V.parse_values, raw)
    assert str(err) == "values: must be a mapping at the top level"
    assert err.field == "values"


@pytest.mark.parametrize("raw", [b"a: 1", object(), {1, 2}, ("a", 1)])
def test_unsupported_raw_type(raw: object) -> None:
    assert "YAML string or a JSON object" in str(raises(InvalidInput, V.parse_values, raw))


@pytest.mark.parametrize(
    "doc",
    ["a: 1\n---\nb: 2\n", "---\na: 1\n---\n", "a: 1\n...\n---\nb: 2\n", "--- 1\n--- 2\n"],
)
def test_multiple_documents_are_rejected(doc: str) -> None:
    err = raises(InvalidInput, V.parse_values, doc)
    assert "single YAML document" in str(err)
    assert not isinstance(err, PayloadTooLarge)


@pytest.mark.parametrize(
    ("doc", "field", "fragment"),
    [
        ("on: yes\n", "values", 'key "on" on line 1 is read by YAML 1.1 as a boolean'),
        ("a:\n  b:\n    - {y: 1}\n", "values.a.b[0]", 'key "y" on line 3'),
        ("a:\n  1: x\n", "values.a", 'key "1" on line 2 is read by YAML 1.1 as an integer'),
        ("~: 1\n", "values", "as null"),
        ("1.5: a\n", "values", "as a number"),
        ("base: &b {off: 1}\nc:\n  <<: *b\n", "values.base", 'key "off"'),
    ],
    ids=short,
)
def test_non_string_keys_are_rejected_with_path_and_text(doc: str, field: str, fragment: str) -> None:
    err = raises(InvalidInput, V.parse_values, doc)
    assert err.field == field
    assert str(err).startswith(f"{field}: ")
    assert fragment in str(err)
    assert "quote it" in str(err)


def test_quoted_yaml_11_keys_round_trip_through_the_helm_file() -> None:
    values = V.parse_values('"on": yes\n"y": n\n"1": "1.10"\n"null": ~\nport: "22:22"\n')
    assert values == {"on": True, "y": False, "1": "1.10", "null": None, "port": "22:22"}
    text = V.to_helm_file(values)
    assert json.loads(text) == values
    assert yaml.safe_load(text) == values  # a YAML 1.1 reader (like helm's) sees the same thing


def test_non_string_keys_in_a_json_object_are_rejected() -> None:
    err = raises(InvalidInput, V.parse_values, {"a": {1: "x"}})
    assert err.field == "values.a"
    assert "keys must be strings" in str(err)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("a: .nan", "NaN"),
        ("a: -.inf", "NaN and infinite"),
        ("a: [1e400]", "NaN and infinite"),
        ({"a": float("nan")}, "NaN"),
        ({"a": [float("inf")]}, "NaN"),
        ("a: !!set {x, y}", "!!set"),
        ("a: !!omap [x: 1]", "!!omap"),
        ("a: !!pairs [x: 1]", "!!omap"),
        ("a: !custom x", "could not determine a constructor"),
        ("a: !!python/object/apply:os.system [echo]", "could not determine a constructor"),
        ("a: !!binary /w==", "not UTF-8"),
        ("a: " + "9" * 5000, "number"),
        ("a: 1" + "0" * 400, "out of range"),
        ({"a": 10**400}, "out of range"),
        ({"a": "\ud800"}, "surrogate"),
        ("a: \ud800", "surrogate"),
        ({"a": b"bytes"}, "binary"),
        ({"a": object()}, "unsupported value type"),
        ("a: *nowhere", "undefined or recursive"),
        ("a: &x [*x]", "undefined or recursive"),
        ("a: [unclosed", "invalid YAML at line"),
        ("a: b: c", "invalid YAML at line 1"),
        ("a:\n\t- tab", "invalid YAML"),
        ("a: 1\nb: &x 1\nc: &x 2\n", "duplicate anchor"),
        ("? [a]\n: 1\n", "unhashable"),
    ],
    ids=short,
)
def test_invalid_values(raw: object, fragment: str) -> None:
    err = raises(InvalidInput, V.parse_values, raw)
    assert fragment in str(err)
    assert str(err).startswith("values")


def test_errors_name_the_given_field() -> None:
    assert str(raises(InvalidInput, V.parse_values, "[1]", "previous_values")).startswith("previous_values: ")
    assert raises(InvalidInput, V.parse_values, {"a": {"b": float("nan")}}, "v").field == "v.a.b"


def test_yaml_errors_do_not_echo_the_input() -> None:
    secret = "hunter2-" + "s" * 200
    for doc in (f'password: "{secret}', f"password: {secret}\n  bad: indent", f"password: [{secret}"):
        message = str(raises(InvalidInput, V.parse_values, doc))
        assert "hunter2" not in message
    # a tag is quoted, but only as a short snippet
    assert len(str(raises(InvalidInput, V.parse_values, f"a: !{secret} x"))) < 200


def test_billion_laughs_is_rejected() -> None:
    lol = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        prev, name = chr(ord("a") + level - 1), chr(ord("a") + level)
        lol.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    err = raises(PayloadTooLarge, V.parse_values, "\n".join(lol))
    assert isinstance(err, InvalidInput)
    assert "values and keys" in str(err)


def test_alias_to_a_big_string_is_rejected() -> None:
    doc = 'a: &a "' + "x" * 100_000 + '"\nb: [' + ", ".join(["*a"] * 20) + "]\n"
    err = raises(PayloadTooLarge, V.parse_values, doc)
    assert "bytes" in str(err)


def test_aliases_are_counted_at_their_expanded_size() -> None:
    limits = V.Limits(max_nodes=35)
    base = "p: &x [1, 2, 3, 4, 5, 6, 7, 8]\n"  # 9 nodes, +1 for the key
    assert V.parse_values(base + "q: [*x, *x]\n", limits=limits)  # 1 + 10 + 1 + 1 + 2 * 9 = 31
    raises(PayloadTooLarge, V.parse_values, base + "q: [*x, *x, *x]\n", limits=limits)  # 40


def test_aliases_do_not_share_containers() -> None:
    result = V.parse_values("a: &x {b: [1]}\nc: *x\n")
    assert result["a"] == result["c"]
    assert result["a"] is not result["c"]
    assert result["a"]["b"] is not result["c"]["b"]


def test_json_object_input_is_copied_not_shared() -> None:
    raw: dict[str, Any] = {"a": {"b": [1]}}
    result = V.parse_values(raw)
    assert result == raw
    assert result is not raw
    assert result["a"]["b"] is not raw["a"]["b"]


@pytest.mark.parametrize(
    ("raw", "ok"),
    [
        ("a: {b: {c: 1}}", True),  # depth 3
        ("a: {b: {c: {}}}", False),  # depth 4
        ("a: [[1]]", True),
        ("a: [[[1]]]", False),
        ("p: &x {a: {b: 1}}\n", True),
        ("p: &x {a: 1}\nq: {z: *x}\n", True),
        ("p: &x {a: {b: 1}}\nq: {z: *x}\n", False),  # the alias adds depth
        ("a: " + "[" * 100_000, False),
        ("".join("  " * i + f"k{i}:\n" for i in range(200)), False),
        ({"a": {"b": {"c": 1}}}, True),
        ({"a": {"b": {"c": {}}}}, False),
    ],
    ids=short,
)
def test_depth_limit(raw: object, ok: bool) -> None:
    limits = V.Limits(max_depth=3)
    if ok:
        V.parse_values(raw, limits=limits)
    else:
        assert "nested deeper than 3" in str(raises(PayloadTooLarge, V.parse_values, raw, limits=limits))


def test_deep_nesting_with_default_limits() -> None:
    err = raises(PayloadTooLarge, V.parse_values, "a: " + "[" * 400_000 + "]" * 400_000)
    assert "nested deeper than 64 levels" in str(err)
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(100):
        node["k"] = {}
        node = node["k"]
    raises(PayloadTooLarge, V.parse_values, deep)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("a: " + "x" * 3000, "YAML is larger than 2000 bytes"),
        ({"a": "x" * 3000}, "larger than 2000 bytes as JSON"),
        ({"a": list(range(60))}, "more than 50 values and keys"),
        ("a: [" + ", ".join(["1"] * 60) + "]", "more than 50 values and keys"),
        ({"a": "\u00e9" * 1500}, "larger than 2000 bytes as JSON"),  # counted in UTF-8 bytes
    ],
    ids=short,
)
def test_size_limits(raw: object, fragment: str) -> None:
    err = raises(PayloadTooLarge, V.parse_values, raw, limits=SMALL)
    assert fragment in str(err)
    assert err.field == "values"


def test_huge_document_with_default_limits() -> None:
    doc = "".join(f"key{i}: {'v' * 90}\n" for i in range(11_000))
    assert len(doc) > 1_000_000
    raises(PayloadTooLarge, V.parse_values, doc)
    many = "".join(f"k{i}: [1, 2, 3, 4]\n" for i in range(20_000))
    assert "more than 100000" in str(raises(PayloadTooLarge, V.parse_values, many))
