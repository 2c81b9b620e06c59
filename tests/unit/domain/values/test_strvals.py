"""chalicelib.domain.values.strvals: helm's --set, --set-string and --set-json syntax, typing, paths and limits."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain import values as V
from chalicelib.errors import InvalidInput, PayloadTooLarge
from tests.unit.domain.values.support import SMALL, raises, short

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
    err = raises(InvalidInput, V.parse_set, raw, "set", "set")
    assert err.field == "set"
    assert fragment in str(err)
    assert not isinstance(err, PayloadTooLarge)


def test_set_errors_name_the_list_item_and_object_path() -> None:
    err = raises(InvalidInput, V.parse_set, ["a=1", "b=2", "c..d=3"], "set", "set")
    assert err.field == "set[2]"
    assert str(err).startswith("set[2]: assignment 1 (")
    err = raises(InvalidInput, V.parse_set, {"a": 1, "a.b": 2}, "set", "set")
    assert err.field == "set.a.b"
    assert str(err) == 'set.a.b: cannot set "a.b": "a" is an integer, not a mapping'
    err = raises(InvalidInput, V.parse_set, ["a=1", 2], "set", "set")
    assert err.field == "set[1]"


def test_set_error_snippets_are_short() -> None:
    err = raises(InvalidInput, V.parse_set, "k" * 5000 + "[x]=" + "v" * 5000, "set", "set")
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
    assert fragment in str(raises(InvalidInput, V.parse_set, raw, "set", "set"))


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
    err = raises(InvalidInput, V.parse_set, raw, kind, kind)
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
    ids=short,
)
def test_set_json_errors(raw: str, fragment: str) -> None:
    err = raises(InvalidInput, V.parse_set, raw, "set_json", "set_json")
    assert fragment in str(err)
    assert err.field.startswith("set_json")


@pytest.mark.parametrize("raw", [42, 1.5, True, ("a=1",), {"a=1"}])
def test_set_raw_type(raw: object) -> None:
    assert "must be a JSON object" in str(raises(InvalidInput, V.parse_set, raw, "set", "set"))


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
    ids=short,
)
def test_set_limits(raw: object, fragment: str) -> None:
    assert fragment in str(raises(PayloadTooLarge, V.parse_set, raw, "set", "set", SMALL))


def test_path_nesting_limits() -> None:
    assert V.parse_set(".".join(["k"] * 31) + "=1", "set", "set")
    err = raises(PayloadTooLarge, V.parse_set, ".".join(["k"] * 32) + "=1", "set", "set")
    assert "nested more than 30 levels (helm's limit)" in str(err)
    err = raises(PayloadTooLarge, V.parse_set, {".".join(["k"] * 40): 1}, "set", "set", V.Limits(max_depth=10))
    assert err.field.startswith("set.k.k.k")
    assert "more than 10 segments" in str(err)


def test_index_padding_cannot_explode_memory() -> None:
    flags = [f"x{i}[65536]=1" for i in range(1000)]
    err = raises(PayloadTooLarge, V.parse_set, flags, "set", "set")
    assert err.field == "set[1]"
