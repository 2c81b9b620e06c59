"""chalicelib.values: user values -> the one mapping helm reads with ``-f``, table by table.

The last class runs the real helm binaries (when built under layers/helm/build) and checks that
``helm template -f <our file>`` sees exactly the ``.Values`` that helm's own flags would give.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib.domain import values as V
from chalicelib.errors import InvalidInput, PayloadTooLarge

SMALL = V.Limits(max_bytes=2000, max_depth=3, max_nodes=50, max_set_entries=3)


def _short(value: object) -> str | None:
    """Readable test ids for long string parameters (None: pytest's default id)."""
    if isinstance(value, str) and len(value) > 40:
        return value[:30].encode("unicode_escape").decode() + f"...<{len(value)} chars>"
    return None


def _raises(exc: type[InvalidInput], call: Any, *args: Any, **kwargs: Any) -> InvalidInput:
    with pytest.raises(exc) as info:
        call(*args, **kwargs)
    return info.value


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
    err = _raises(InvalidInput, V.parse_values, raw)
    assert str(err) == "values: must be a mapping at the top level"
    assert err.field == "values"


@pytest.mark.parametrize("raw", [b"a: 1", object(), {1, 2}, ("a", 1)])
def test_unsupported_raw_type(raw: object) -> None:
    assert "YAML string or a JSON object" in str(_raises(InvalidInput, V.parse_values, raw))


@pytest.mark.parametrize(
    "doc",
    ["a: 1\n---\nb: 2\n", "---\na: 1\n---\n", "a: 1\n...\n---\nb: 2\n", "--- 1\n--- 2\n"],
)
def test_multiple_documents_are_rejected(doc: str) -> None:
    err = _raises(InvalidInput, V.parse_values, doc)
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
    ids=_short,
)
def test_non_string_keys_are_rejected_with_path_and_text(doc: str, field: str, fragment: str) -> None:
    err = _raises(InvalidInput, V.parse_values, doc)
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
    err = _raises(InvalidInput, V.parse_values, {"a": {1: "x"}})
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
    ids=_short,
)
def test_invalid_values(raw: object, fragment: str) -> None:
    err = _raises(InvalidInput, V.parse_values, raw)
    assert fragment in str(err)
    assert str(err).startswith("values")


def test_errors_name_the_given_field() -> None:
    assert str(_raises(InvalidInput, V.parse_values, "[1]", "previous_values")).startswith("previous_values: ")
    assert _raises(InvalidInput, V.parse_values, {"a": {"b": float("nan")}}, "v").field == "v.a.b"


def test_yaml_errors_do_not_echo_the_input() -> None:
    secret = "hunter2-" + "s" * 200
    for doc in (f'password: "{secret}', f"password: {secret}\n  bad: indent", f"password: [{secret}"):
        message = str(_raises(InvalidInput, V.parse_values, doc))
        assert "hunter2" not in message
    # a tag is quoted, but only as a short snippet
    assert len(str(_raises(InvalidInput, V.parse_values, f"a: !{secret} x"))) < 200


def test_billion_laughs_is_rejected() -> None:
    lol = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        prev, name = chr(ord("a") + level - 1), chr(ord("a") + level)
        lol.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    err = _raises(PayloadTooLarge, V.parse_values, "\n".join(lol))
    assert isinstance(err, InvalidInput)
    assert "values and keys" in str(err)


def test_alias_to_a_big_string_is_rejected() -> None:
    doc = 'a: &a "' + "x" * 100_000 + '"\nb: [' + ", ".join(["*a"] * 20) + "]\n"
    err = _raises(PayloadTooLarge, V.parse_values, doc)
    assert "bytes" in str(err)


def test_aliases_are_counted_at_their_expanded_size() -> None:
    limits = V.Limits(max_nodes=35)
    base = "p: &x [1, 2, 3, 4, 5, 6, 7, 8]\n"  # 9 nodes, +1 for the key
    assert V.parse_values(base + "q: [*x, *x]\n", limits=limits)  # 1 + 10 + 1 + 1 + 2 * 9 = 31
    _raises(PayloadTooLarge, V.parse_values, base + "q: [*x, *x, *x]\n", limits=limits)  # 40


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
    ids=_short,
)
def test_depth_limit(raw: object, ok: bool) -> None:
    limits = V.Limits(max_depth=3)
    if ok:
        V.parse_values(raw, limits=limits)
    else:
        assert "nested deeper than 3" in str(_raises(PayloadTooLarge, V.parse_values, raw, limits=limits))


def test_deep_nesting_with_default_limits() -> None:
    err = _raises(PayloadTooLarge, V.parse_values, "a: " + "[" * 400_000 + "]" * 400_000)
    assert "nested deeper than 64 levels" in str(err)
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(100):
        node["k"] = {}
        node = node["k"]
    _raises(PayloadTooLarge, V.parse_values, deep)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("a: " + "x" * 3000, "YAML is larger than 2000 bytes"),
        ({"a": "x" * 3000}, "larger than 2000 bytes as JSON"),
        ({"a": list(range(60))}, "more than 50 values and keys"),
        ("a: [" + ", ".join(["1"] * 60) + "]", "more than 50 values and keys"),
        ({"a": "\u00e9" * 1500}, "larger than 2000 bytes as JSON"),  # counted in UTF-8 bytes
    ],
    ids=_short,
)
def test_size_limits(raw: object, fragment: str) -> None:
    err = _raises(PayloadTooLarge, V.parse_values, raw, limits=SMALL)
    assert fragment in str(err)
    assert err.field == "values"


def test_huge_document_with_default_limits() -> None:
    doc = "".join(f"key{i}: {'v' * 90}\n" for i in range(11_000))
    assert len(doc) > 1_000_000
    _raises(PayloadTooLarge, V.parse_values, doc)
    many = "".join(f"k{i}: [1, 2, 3, 4]\n" for i in range(20_000))
    assert "more than 100000" in str(_raises(PayloadTooLarge, V.parse_values, many))


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        V.Limits(max_depth=0)
    with pytest.raises(ValueError):
        V.Limits(max_nodes=True)


# --------------------------------------------------------------------------- parse_set: typing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("false", False),
        ("FaLsE", False),
        ("null", None),
        ("NULL", None),
        ("0", 0),
        ("1", 1),
        ("-7", -7),
        ("+5", 5),
        ("-0", 0),
        ("-007", -7),  # helm only checks the first character for a leading zero
        ("9223372036854775807", 9223372036854775807),
        ("-9223372036854775808", -9223372036854775808),
        ("9223372036854775808", "9223372036854775808"),
        ("99999999999999999999999", "99999999999999999999999"),
        ("007", "007"),
        ("00", "00"),
        ("0x1F", "0x1F"),
        ("1.5", "1.5"),
        ("1e3", "1e3"),
        ("1_000", "1_000"),
        ("yes", "yes"),
        ("on", "on"),
        ("y", "y"),
        ("~", "~"),
        ("", ""),
        (" 5", " 5"),
        ("5 ", "5 "),
        ("\u0663", "\u0663"),  # a non-ASCII digit is not a number
        ("2024-01-01", "2024-01-01"),
        ("+", "+"),
        ("-", "-"),
    ],
)
def test_set_types_scalars_like_helm(text: str, expected: object) -> None:
    for raw in (f"k={text.replace(',', chr(92) + ',')}", [f"k={text}"]):
        result = V.parse_set(raw, "set", "set")
        assert result == {"k": expected}
        assert type(result["k"]) is type(expected)
    # the object form types strings the same way
    assert V.parse_set({"k": text}, "set", "set") == {"k": expected}


@pytest.mark.parametrize(
    ("raw", "kind", "expected"),
    [
        ("a={x,1,true,null}", "set", {"a": ["x", 1, True, None]}),
        ("a={x,1,true,null}", "set_string", {"a": ["x", "1", "true", "null"]}),
        ("a={}", "set", {"a": [""]}),  # helm's behaviour
        ("a={x\\,y,z\\}}", "set", {"a": ["x,y", "z}"]}),
        ("a={x},b=1", "set", {"a": ["x"], "b": 1}),
        ("a=x{y}", "set", {"a": "x{y}"}),
        ("a=1,b=true,c=null,d=007", "set_string", {"a": "1", "b": "true", "c": "null", "d": "007"}),
        ("a=", "set", {"a": ""}),
        ("a=,b=1", "set", {"a": "", "b": 1}),
        ("a=1,", "set", {"a": 1}),
        ("", "set", {}),
        ("a=b=c", "set", {"a": "b=c"}),
        ("a=x y", "set", {"a": "x y"}),
    ],
)
def test_set_string_forms(raw: str, kind: V.SetKind, expected: dict[str, Any]) -> None:
    assert V.parse_set(raw, kind, kind) == expected


# --------------------------------------------------------------------------- parse_set: paths


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a.b.c=1", {"a": {"b": {"c": 1}}}),
        ("a.b=1,a.c=2", {"a": {"b": 1, "c": 2}}),
        ("a\\.b=1", {"a.b": 1}),
        ("nodeSelector.kubernetes\\.io/os=linux", {"nodeSelector": {"kubernetes.io/os": "linux"}}),
        ("a=x\\,y", {"a": "x,y"}),
        ("a=x\\\\y", {"a": "x\\y"}),
        ("a\\=b=1", {"a=b": 1}),
        ("a\\[0\\]=1", {"a[0]": 1}),
        ("a=\\q", {"a": "q"}),
        ("a[0]=x", {"a": ["x"]}),
        ("a[2]=x", {"a": [None, None, "x"]}),
        ("a[0]=x,a[2]=y", {"a": ["x", None, "y"]}),
        ("a[2]=y,a[0]=x", {"a": ["x", None, "y"]}),
        ("a[0].b=1,a[0].c=2,a[1].d=3", {"a": [{"b": 1, "c": 2}, {"d": 3}]}),
        ("a[1][2]=x", {"a": [None, [None, None, "x"]]}),
        ("a[0][0]=x,a[0][1]=y", {"a": [["x", "y"]]}),
        ("a[0]=1,a[0].b=2", {"a": [{"b": 2}]}),  # helm replaces a non-mapping item
        ("a.b[1].c[0]=z", {"a": {"b": [None, {"c": ["z"]}]}}),
        ("a=1,a=2", {"a": 2}),
        ("a.b=1,a=2", {"a": 2}),
        ("a[0]=1,a=2", {"a": 2}),
        ("a[65536]=1", None),
    ],
)
def test_set_paths(raw: str, expected: dict[str, Any] | None) -> None:
    result = V.parse_set(raw, "set", "set")
    if expected is None:
        assert len(result["a"]) == V.MAX_INDEX + 1
    else:
        assert result == expected


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("a", "has no '=value'"),
        ("a.b", "has no '=value'"),
        ("a,b=1", "has no '=value'"),
        ("=1", "empty key name"),
        (",a=1", "empty key name"),
        ("a=1,,b=2", "assignment 2"),
        ("a..b=1", "empty key name"),
        ("a.=1", "empty key name"),
        ("[0]=1", "empty key name"),
        ("a[0", "unterminated '['"),
        ("a[]=1", "not a non-negative integer"),
        ("a[-1]=1", "not a non-negative integer"),
        ("a[x]=1", "not a non-negative integer"),
        ("a[ 1]=1", "not a non-negative integer"),
        ("a[65537]=1", "greater than 65536"),
        ("a[99999999]=1", "not a non-negative integer"),
        ("a[0]b=1", "unexpected text after ']'"),
        ("a[0]", "has no '=value'"),
        ("a={x", "does not end with '}'"),
        ("a={x}y", "unexpected text after '}'"),
        ("a=x\\", "lone backslash"),
        ("a\\", "lone backslash"),
    ],
)
def test_set_syntax_errors(raw: str, fragment: str) -> None:
    err = _raises(InvalidInput, V.parse_set, raw, "set", "set")
    assert err.field == "set"
    assert fragment in str(err)
    assert not isinstance(err, PayloadTooLarge)


def test_set_errors_name_the_list_item_and_object_path() -> None:
    err = _raises(InvalidInput, V.parse_set, ["a=1", "b=2", "c..d=3"], "set", "set")
    assert err.field == "set[2]"
    assert str(err).startswith("set[2]: assignment 1 (")
    err = _raises(InvalidInput, V.parse_set, {"a": 1, "a.b": 2}, "set", "set")
    assert err.field == "set.a.b"
    assert str(err) == 'set.a.b: cannot set "a.b": "a" is an integer, not a mapping'
    err = _raises(InvalidInput, V.parse_set, ["a=1", 2], "set", "set")
    assert err.field == "set[1]"


def test_set_error_snippets_are_short() -> None:
    err = _raises(InvalidInput, V.parse_set, "k" * 5000 + "[x]=" + "v" * 5000, "set", "set")
    assert len(str(err)) < 200


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("a=1,a.b=2", '"a" is an integer, not a mapping'),
        ("a=x,a[0]=2", '"a" is a string, not a list'),
        ("a.b=1,a[0]=2", '"a" is a mapping, not a list'),
        ("a[0]=1,a.b=2", '"a" is a list, not a mapping'),
        ("a=null,a.b=1", '"a" is null, not a mapping'),
        ("a[0]=1,a[0][0]=2", '"a[0]" is an integer, not a list'),
        ("a\\.b=1,a\\.b.c=2", '"a\\\\.b" is an integer'),
    ],
)
def test_set_type_conflicts_fail_like_helm(raw: str, fragment: str) -> None:
    assert fragment in str(_raises(InvalidInput, V.parse_set, raw, "set", "set"))


# --------------------------------------------------------------------------- parse_set: object form


@pytest.mark.parametrize(
    ("raw", "kind", "expected"),
    [
        ({"replicaCount": 3}, "set", {"replicaCount": 3}),
        ({"a.b": "3", "c[1]": "x"}, "set", {"a": {"b": 3}, "c": [None, "x"]}),
        ({"a": "x,y", "b": "{p,q}", "c": "\\."}, "set", {"a": "x,y", "b": "{p,q}", "c": "\\."}),  # values are literal
        ({"a": [1, "true"], "b": {"c": None}}, "set", {"a": [1, "true"], "b": {"c": None}}),
        ({"a\\.b": True}, "set", {"a.b": True}),
        (
            {"a": 3, "b": True, "c": None, "d": 1.5, "e": "007", "f": 10**20},
            "set_string",
            {"a": "3", "b": "true", "c": "null", "d": "1.5", "e": "007", "f": "100000000000000000000"},
        ),
        (
            {"a": "[1,2]", "b": [1, 2], "c": {"d": 1}, "e": None},
            "set_json",
            {"a": "[1,2]", "b": [1, 2], "c": {"d": 1}, "e": None},
        ),
        ({}, "set", {}),
    ],
)
def test_set_object_form(raw: dict[str, Any], kind: V.SetKind, expected: dict[str, Any]) -> None:
    assert V.parse_set(raw, kind, kind) == expected


@pytest.mark.parametrize(
    ("raw", "kind", "field", "fragment"),
    [
        ({"a,b": 1}, "set", "set.a,b", "unescaped ','"),
        ({"a=b": 1}, "set", "set.a=b", "unescaped '='"),
        ({"": 1}, "set", "set.", "empty key name"),
        ({"a..b": 1}, "set", "set.a..b", "empty key name"),
        ({"a[x]": 1}, "set", "set.a[x]", "list index"),
        ({"a": [1]}, "set_string", "set_string.a", "must be scalars, not a list"),
        ({"a": {"b": 1}}, "set_string", "set_string.a", "not a mapping"),
        ({"a": float("nan")}, "set_string", "set_string.a", "NaN"),
        ({"a": float("inf")}, "set", "set.a", "NaN"),
        ({"a": {1: 2}}, "set_json", "set_json.a", "keys must be strings"),
        ({1: 2}, "set", "set", "keys must be strings"),
    ],
)
def test_set_object_form_errors(raw: dict[Any, Any], kind: V.SetKind, field: str, fragment: str) -> None:
    err = _raises(InvalidInput, V.parse_set, raw, kind, kind)
    assert err.field == field
    assert fragment in str(err)


def test_set_object_form_does_not_share_or_mutate_input() -> None:
    inner = {"b": 1}
    raw: dict[str, Any] = {"a": inner, "a.c": 2}
    result = V.parse_set(raw, "set_json", "set_json")
    assert result == {"a": {"b": 1, "c": 2}}
    assert inner == {"b": 1}


# --------------------------------------------------------------------------- parse_set: set_json


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('a={"b":[1,2,{"c":null}]}', {"a": {"b": [1, 2, {"c": None}]}}),
        ("a=[1,2],b=3", {"a": [1, 2], "b": 3}),
        ('a="s,t"', {"a": "s,t"}),
        ("a=1.5e3", {"a": 1500.0}),
        ("a=", {"a": None}),
        ("a= ,b=1", {"a": None, "b": 1}),
        ("a=1 , b=2", {"a": 1, " b": 2}),
        ("a[1]=true", {"a": [None, True]}),
        ("a.b=null", {"a": {"b": None}}),
        ('{"a": {"b": 1}}', {"a": {"b": 1}}),  # a whole object, as helm 4 accepts
        ('  {"a": 1}  ', {"a": 1}),
        (['{"a": {"b": 1, "c": 2}}', 'a={"b": 3}'], {"a": {"b": 3}}),
        (['{"a": {"b": 1}}', '{"a": {"c": 2}}'], {"a": {"b": 1, "c": 2}}),
    ],
)
def test_set_json(raw: object, expected: dict[str, Any]) -> None:
    assert V.parse_set(raw, "set_json", "set_json") == expected


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("a=NaN", "non-finite"),
        ("a=[Infinity]", "non-finite"),
        ("a=tru", "invalid JSON"),
        ("a={'b':1}", "invalid JSON"),
        ("a=1 x", "unexpected text after the JSON value"),
        ("a=1b=2", "unexpected text after the JSON value"),
        ('{"a": 1} x', "unexpected text"),
        ("{", "invalid JSON"),
        ("a=" + "[" * 100_000, "nested too deeply"),
        ("a=" + "[" * 70 + "]" * 70, "nested deeper"),
        ("a=" + "9" * 5000, "number"),
    ],
    ids=_short,
)
def test_set_json_errors(raw: str, fragment: str) -> None:
    err = _raises(InvalidInput, V.parse_set, raw, "set_json", "set_json")
    assert fragment in str(err)
    assert err.field.startswith("set_json")


@pytest.mark.parametrize("raw", [42, 1.5, True, ("a=1",), {"a=1"}])
def test_set_raw_type(raw: object) -> None:
    assert "must be a JSON object" in str(_raises(InvalidInput, V.parse_set, raw, "set", "set"))


def test_set_unknown_kind() -> None:
    with pytest.raises(ValueError):
        V.parse_set("a=1", "set", "nope")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("a=1,b=2,c=3,d=4", "more than 3 assignments"),
        (["a=1,b=2", "c=3,d=4"], "more than 3 assignments"),
        ({"a": 1, "b": 2, "c": 3, "d": 4}, "more than 3 assignments"),
        ("a=" + "x" * 2001, "larger than 2000 bytes"),
        (["a=" + "x" * 1000, "b=" + "x" * 1000], "larger than 2000 bytes"),
        ("a[60]=1", "more than 50 values and keys"),
        ("a.b.c.d=1", "more than 3 segments"),
        ("a[0][0][0]=1", "more than 3 segments"),
        ("a=x,b=" + "y" * 1990, "larger than 2000 bytes"),
    ],
    ids=_short,
)
def test_set_limits(raw: object, fragment: str) -> None:
    assert fragment in str(_raises(PayloadTooLarge, V.parse_set, raw, "set", "set", SMALL))


def test_path_nesting_limits() -> None:
    assert V.parse_set(".".join(["k"] * 31) + "=1", "set", "set")
    err = _raises(PayloadTooLarge, V.parse_set, ".".join(["k"] * 32) + "=1", "set", "set")
    assert "nested more than 30 levels (helm's limit)" in str(err)
    err = _raises(PayloadTooLarge, V.parse_set, {".".join(["k"] * 40): 1}, "set", "set", V.Limits(max_depth=10))
    assert err.field.startswith("set.k.k.k")
    assert "more than 10 segments" in str(err)


def test_index_padding_cannot_explode_memory() -> None:
    flags = [f"x{i}[65536]=1" for i in range(1000)]
    err = _raises(PayloadTooLarge, V.parse_set, flags, "set", "set")
    assert err.field == "set[1]"


# --------------------------------------------------------------------------- merge


@pytest.mark.parametrize(
    ("base", "overlay", "expected"),
    [
        ({"a": {"b": 1, "c": 2}}, {"a": {"b": 3}}, {"a": {"b": 3, "c": 2}}),
        ({"a": [1, 2, 3]}, {"a": [4]}, {"a": [4]}),
        ({"a": {"b": 1}}, {"a": 1}, {"a": 1}),
        ({"a": 1}, {"a": {"b": 1}}, {"a": {"b": 1}}),
        ({"a": {"b": 1}}, {"a": None}, {"a": None}),
        ({"a": {"b": {"c": 1, "d": 2}}}, {"a": {"b": {"d": None}}}, {"a": {"b": {"c": 1, "d": None}}}),
        ({}, {"a": 1}, {"a": 1}),
        ({"a": 1}, {}, {"a": 1}),
    ],
)
def test_merge(base: dict[str, Any], overlay: dict[str, Any], expected: dict[str, Any]) -> None:
    before = (json.dumps(base), json.dumps(overlay))
    result = V.merge(base, overlay)
    assert result == expected
    assert (json.dumps(base), json.dumps(overlay)) == before


def test_merge_shares_no_containers() -> None:
    base: dict[str, Any] = {"a": {"b": [1]}, "keep": {"x": 1}}
    overlay: dict[str, Any] = {"c": {"d": [2]}}
    result = V.merge(base, overlay)
    result["a"]["b"].append(9)
    result["keep"]["x"] = 2
    result["c"]["d"].append(9)
    assert base == {"a": {"b": [1]}, "keep": {"x": 1}}
    assert overlay == {"c": {"d": [2]}}


# --------------------------------------------------------------------------- combine


@pytest.mark.parametrize(
    ("values", "set_json", "set_", "set_string", "expected"),
    [
        ("a: 0", "a=1", "a=2", "a=3", "3"),
        ("a: 0", "a=1", "a=2", None, 2),
        ("a: 0", "a=1", None, None, 1),
        ("a: 0", None, None, None, 0),
        (None, "a=1", None, "a=3", "3"),
        (None, '{"a": 1}', "a=2", None, 2),
        ("a: 0", "a=1", {"a": 2}, None, 2),
        ("a: 0", ["a=1", "a=[5]"], None, None, [5]),
        ("a: 0", None, ["a=1", "a=2"], None, 2),
    ],
)
def test_combine_precedence(
    values: object, set_json: object, set_: object, set_string: object, expected: object
) -> None:
    assert V.combine(values, set_, set_string, set_json) == {"a": expected}


def test_combine_applies_sets_into_values_like_helm() -> None:
    values = "ports:\n  - name: http\n    port: 80\n  - name: https\n    port: 443\nimage: {repo: nginx, tag: '1.25'}\n"
    result = V.combine(values, "ports[0].port=8080,image.tag=1.26,ports[3].name=metrics", None, None)
    assert result == {
        "ports": [{"name": "http", "port": 8080}, {"name": "https", "port": 443}, None, {"name": "metrics"}],
        "image": {"repo": "nginx", "tag": "1.26"},
    }


def test_combine_set_json_merges_whole_objects_into_values() -> None:
    result = V.combine("a: {b: 1, c: 2}\nl: [1, 2]", None, None, '{"a": {"b": 3}, "l": [9]}')
    assert result == {"a": {"b": 3, "c": 2}, "l": [9]}


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        ({"values": "image: nginx", "set_": "image.tag=1"}, "set", '"image" is a string, not a mapping'),
        ({"values": "a: null", "set_": ["b=1", "a[0]=1"]}, "set[1]", '"a" is null, not a list'),
        ({"values": "[1]"}, "values", "must be a mapping at the top level"),
        ({"set_json": "a=nope"}, "set_json", "invalid JSON"),
        ({"set_string": ["a=1", {"x": 1}]}, "set_string[1]", "must be a string"),
        ({"set_string": {"a.b": [1]}}, "set_string.a.b", "must be scalars"),
        ({"set_": 7}, "set", "must be a JSON object"),
    ],
)
def test_combine_errors_name_the_field(kwargs: dict[str, Any], field: str, fragment: str) -> None:
    args = {"values": None, "set_": None, "set_string": None, "set_json": None, **kwargs}
    err = _raises(InvalidInput, V.combine, **args)
    assert err.field == field
    assert str(err).startswith(f"{field}: ")
    assert fragment in str(err)


def test_combine_limits_apply_to_the_combined_result() -> None:
    values = {"a": "x" * 1500}
    assert V.combine(values, None, None, None, SMALL)
    err = _raises(PayloadTooLarge, V.combine, values, "b=" + "y" * 600, None, None, SMALL)
    assert err.field == "set"
    err = _raises(PayloadTooLarge, V.combine, {"a": list(range(40))}, "b[20]=1", None, None, SMALL)
    assert "more than 50" in str(err)


def test_combine_does_not_mutate_inputs() -> None:
    values: dict[str, Any] = {"a": {"b": [1]}}
    set_json: dict[str, Any] = {"c": {"d": 1}}
    V.combine(values, "a.b[1]=2,c.e=3", None, set_json)
    assert values == {"a": {"b": [1]}}
    assert set_json == {"c": {"d": 1}}


# --------------------------------------------------------------------------- output


def test_to_helm_file_is_sorted_json_with_every_string_quoted() -> None:
    values = {"z": 1, "a": {"y": "on", "n": "1.10", "d": "2024-01-01", "o": "007", "t": "~"}, "on": True}
    text = V.to_helm_file(values)
    assert text.endswith("\n")
    assert json.loads(text) == values
    assert yaml.safe_load(text) == values  # a YAML 1.1 reader cannot reinterpret any of it
    assert text.index('"a"') < text.index('"on"') < text.index('"z"')
    assert V.to_helm_file(dict(reversed(list(values.items())))) == text


def test_to_helm_file_escapes_what_yaml_readers_reject() -> None:
    values = {"s": "caf\u00e9 \u2028 \u2029 \x85 \x7f \x9f \ufeff \U0001f600 \t\n\x01"}
    text = V.to_helm_file(values)
    assert re.search("[\x7f-\x9f\u2028\u2029\ufeff]", text) is None
    assert "caf\u00e9" in text and "\U0001f600" in text  # other non-ASCII stays UTF-8
    assert json.loads(text) == values
    assert yaml.safe_load(text) == values


def test_the_whole_pipeline_output_is_json() -> None:
    values = V.combine("on_key: on\nd: 2024-01-01\n", "x=1.10,y=007", None, None)
    assert json.loads(V.to_helm_file(values)) == {"on_key": True, "d": "2024-01-01", "x": "1.10", "y": "007"}


@pytest.mark.parametrize(
    ("values", "exc"),
    [({1: "a"}, TypeError), ({"a": float("nan")}, ValueError), ({"a": {1, 2}}, TypeError)],
)
def test_output_preconditions(values: dict[Any, Any], exc: type[Exception]) -> None:
    with pytest.raises(exc):
        V.to_helm_file(values)
    with pytest.raises(exc):
        V.digest(values)


def test_digest() -> None:
    first = V.digest({"a": 1, "b": [1, {"c": "x"}]})
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", first)
    assert V.digest({"b": [1, {"c": "x"}], "a": 1}) == first
    assert V.digest({"a": 2, "b": [1, {"c": "x"}]}) != first
    assert V.digest({"a": "1", "b": [1, {"c": "x"}]}) != first
    assert V.digest({}) == "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"


# --------------------------------------------------------------------------- against real helm

_ROOT = Path(__file__).resolve().parents[2]
_HELMS = [
    p for p in (_ROOT / "layers/helm/build/v3/helm", _ROOT / "layers/helm/build/v4/helm") if os.access(p, os.X_OK)
]

_DIFFERENTIAL = [
    pytest.param(
        "ports: [{name: http, port: 80}]\nl: [a, b]\n", ["ports[0].port=8080,l[3]=x"], [], [], id="into-lists"
    ),
    pytest.param(None, ["a=007,b=0,c=-7,d=+5,e=TRUE,f=Null,g=1.5,h=9223372036854775808,i=-007"], [], [], id="typing"),
    pytest.param(
        None, ["a={x,1,true,}", "b={}", "c=", "d=x\\,y", "e\\.f=1", "g\\=h=2"], ["s={1,2},t=null"], [], id="syntax"
    ),
    pytest.param(None, ["x[1][2]=a", "y[0].z=1,y[2].w=2", "y[0]=1,y[0].q=2"], [], [], id="nested-indexes"),
    pytest.param("a: {b: 1, c: 2}\n", ["n=1"], ["n=2"], ['a={"b":[1,{"c":null}]}', "n=3", "e="], id="precedence"),
    pytest.param("a: &x {b: 1}\nc: *x\nd:\n  <<: *x\n  e: 2\n", ["c.b=5"], [], [], id="aliases"),
    pytest.param(
        "k: [y, n, yes, off, 22:22, 1e3, 0o17, 0X1F, 2001-01-01, =, !!binary aGk=, '1.10']\nz: ~\n",
        [],
        [],
        [],
        id="yaml-1.1-scalars",
    ),
    pytest.param(
        's: "caf\\u00e9 \\u2028 \\u2029 \\x85 \\x7f \\x9f \\ufeff \\x01 \\U0001F600"\n',
        ["t=\u00e9\u2028"],
        [],
        [],
        id="unicode",
    ),
]


@pytest.fixture(scope="module")
def chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("chart")
    (root / "templates").mkdir()
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: probe\nversion: 0.1.0\n")
    (root / "values.yaml").write_text("defaults: {keep: 1}\n")
    (root / "templates" / "cm.yaml").write_text("v: {{ .Values | toJson | b64enc }}\n")
    return root


def _rendered_values(helm: Path, chart: Path, args: list[str], home: Path) -> Any:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home)}
    for var in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        env[var] = str(home / var)
    run = subprocess.run(
        [str(helm), "template", "r", str(chart), *args], capture_output=True, text=True, env=env, timeout=60
    )
    assert run.returncode == 0, run.stderr[-500:]
    line = next(line for line in run.stdout.splitlines() if line.startswith("v: "))
    return json.loads(base64.b64decode(line[3:]))


@pytest.mark.skipif(not _HELMS, reason="helm binaries not built (layers/helm/build.sh)")
@pytest.mark.parametrize("helm", _HELMS, ids=lambda p: p.parent.name)
@pytest.mark.parametrize(("values", "set_", "set_string", "set_json"), _DIFFERENTIAL)
def test_helm_reads_our_file_as_it_reads_its_own_flags(
    helm: Path,
    chart: Path,
    tmp_path: Path,
    values: str | None,
    set_: list[str],
    set_string: list[str],
    set_json: list[str],
) -> None:
    args: list[str] = []
    if values is not None:
        (tmp_path / "in.yaml").write_text(values)
        args += ["-f", str(tmp_path / "in.yaml")]
    for flag, items in (("--set-json", set_json), ("--set", set_), ("--set-string", set_string)):
        for item in items:
            args += [flag, item]
    expected = _rendered_values(helm, chart, args, tmp_path)

    ours = tmp_path / "values.json"
    ours.write_text(V.to_helm_file(V.combine(values, set_ or None, set_string or None, set_json or None)), "utf-8")
    assert _rendered_values(helm, chart, ["-f", str(ours)], tmp_path) == expected
