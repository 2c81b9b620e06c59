"""chalicelib.domain.values.merge: helm's precedence; values files merged like helm -f a -f b; combine."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.domain import values as V
from chalicelib.errors import InvalidInput, PayloadTooLarge
from tests.unit.domain.values.support import SMALL, raises

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
    err = raises(InvalidInput, V.combine, **args)
    assert err.field == field
    assert str(err).startswith(f"{field}: ")
    assert fragment in str(err)


def test_combine_limits_apply_to_the_combined_result() -> None:
    values = {"a": "x" * 1500}
    assert V.combine(values, None, None, None, SMALL)
    err = raises(PayloadTooLarge, V.combine, values, "b=" + "y" * 600, None, None, SMALL)
    assert err.field == "set"
    err = raises(PayloadTooLarge, V.combine, {"a": list(range(40))}, "b[20]=1", None, None, SMALL)
    assert "more than 50" in str(err)


def test_combine_does_not_mutate_inputs() -> None:
    values: dict[str, Any] = {"a": {"b": [1]}}
    set_json: dict[str, Any] = {"c": {"d": 1}}
    V.combine(values, "a.b[1]=2,c.e=3", None, set_json)
    assert values == {"a": {"b": [1]}}
    assert set_json == {"c": {"d": 1}}


# --------------------------------------------------------------------------- values_files


def _files(*texts: str) -> list[dict[str, str]]:
    return [{"name": f"f{index}.yaml", "content": text} for index, text in enumerate(texts)]


def test_values_files_deep_merge_in_order() -> None:
    a = "image: {repo: web, tag: v1}\nports: [80, 443]\nkeep: 1\ngone: x\nswap: {m: 1}\n"
    b = "image: {tag: v2}\nports: [8080]\ngone: null\nnew: {a: 1}\nswap: 2\n"
    merged = {
        "image": {"repo": "web", "tag": "v2"},
        "ports": [8080],
        "keep": 1,
        "gone": None,
        "new": {"a": 1},
        "swap": 2,
    }
    assert V.parse_values_files(_files(a, b))[0] == merged
    assert V.combine(None, None, None, None, values_files=_files(a, b)) == merged
    assert V.combine(None, None, None, None, values_files=[a, b]) == merged  # plain strings: no names
    assert V.combine(None, None, None, None, values_files=_files(b, a))["image"] == {"repo": "web", "tag": "v1"}
    # a map replaces a scalar and the other way round
    assert V.parse_values_files(["a: 1\nb: {c: 1}", "a: {x: 1}\nb: 2"])[0] == {"a": {"x": 1}, "b": 2}


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ([], {}),
        ([""], {}),
        (["# nothing\n", "~"], {}),
        ({"name": "x", "content": "a: 1"}, None),  # not a list
    ],
)
def test_values_files_empty_forms(files: object, expected: dict[str, Any] | None) -> None:
    if expected is None:
        assert "must be a list" in str(raises(InvalidInput, V.combine, None, None, None, None, values_files=files))
    else:
        assert V.combine(None, None, None, None, values_files=files) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("d: 2024-01-01", {"d": "2024-01-01"}),  # timestamps stay strings (helm)
        ("a: y\nb: N\nc: yes\nd: off", {"a": True, "b": False, "c": True, "d": False}),
        ("t: 22:22", {"t": "22:22"}),  # no base 60
        ("f: 1e3\ng: -.5\nh: 1.0e3", {"f": 1000.0, "g": -0.5, "h": 1000.0}),
        ("o: 0o17\nx: 0X1F\nb: 0B11\nl: 017\nu: 1_000", {"o": 15, "x": 31, "b": 3, "l": 15, "u": 1000}),
        ("s: '1.10'\nv: 1.10\nq: =", {"s": "1.10", "v": 1.1, "q": "="}),
        ("i: 09\nm: 012345", {"i": 9, "m": 5349}),  # helm: 9 and octal 5349
        ("a: &x {b: 1, c: [1]}\nd:\n  <<: *x\n  c: [2]\n", {"a": {"b": 1, "c": [1]}, "d": {"b": 1, "c": [2]}}),
        ("", {}),
    ],
)
def test_values_files_read_like_helm(text: str, expected: dict[str, Any]) -> None:
    assert V.parse_values_files([{"name": "v.yaml", "content": text}])[0] == expected


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("on: 1", "values_files[1]", '"v.yaml": key "on" on line 1 is read by YAML 1.1 as a boolean, not a string'),
        ("a:\n  b: [1, {n: 2}]\n", "values_files[1].a.b[1]", '"v.yaml": key "n" on line 2'),
        ("- 1\n- 2", "values_files[1]", '"v.yaml": must be a mapping at the top level'),
        ("a: 1\nb: [1\n", "values_files[1]", '"v.yaml": invalid YAML at line 3, column 1:'),
        ("a: b: c", "values_files[1]", '"v.yaml": invalid YAML at line 1, column 5:'),
        ("a: 1\n---\nb: 2", "values_files[1]", '"v.yaml": must be a single YAML document'),
        ("a: 1\nb: !!binary aGk=\n", "values_files[1]", '"v.yaml": !!binary at line 2, column 4 is not allowed'),
        ("a:\n  - !!timestamp 2001-01-01\n", "values_files[1]", '"v.yaml": !!timestamp at line 2, column 5'),
        ("a: !!binary [1]\n", "values_files[1]", '"v.yaml": !!binary at line 1, column 4'),
        ("a: !!set {x}\n", "values_files[1].a", '"v.yaml": sets (!!set) are not supported'),
        ("a: *nowhere\n", "values_files[1]", '"v.yaml": alias *nowhere is undefined or recursive'),
    ],
)
def test_values_file_errors_name_the_file_and_line(text: str, field: str, message: str) -> None:
    files = [{"name": "ok.yaml", "content": "a: 1"}, {"name": "v.yaml", "content": text}]
    err = raises(InvalidInput, V.combine, None, None, None, None, values_files=files)
    assert err.field == field
    assert str(err).startswith(f"{field}: {message}")
    assert err.details["file"] == "v.yaml"
    assert not isinstance(err, PayloadTooLarge)


def test_the_same_tags_stay_allowed_in_values() -> None:
    # values keeps helm's reading of the tags; only a values file refuses them
    assert V.combine("b: !!binary aGk=\nt: !!timestamp 2001-01-01", None, None, None) == {"b": "hi", "t": "2001-01-01"}


def test_values_file_without_a_name_is_named_by_its_index() -> None:
    err = raises(InvalidInput, V.parse_values_files, ["a: 1", "a: [1"])
    assert str(err).startswith("values_files[1]: invalid YAML at line 2")
    assert "file" not in err.details


@pytest.mark.parametrize(
    ("item", "field", "fragment"),
    [
        (5, "values_files[0]", 'a YAML string or an object {"name": ..., "content": ...}'),
        ({"name": "a.yaml"}, "values_files[0].content", "must be a string"),
        ({"content": {"a": 1}}, "values_files[0].content", "must be a string"),
        ({"content": "a: 1", "name": ""}, "values_files[0].name", "1 to 256 characters"),
        ({"content": "a: 1", "name": "n" * 257}, "values_files[0].name", "1 to 256 characters"),
        ({"content": "a: 1", "name": 3}, "values_files[0].name", "1 to 256 characters"),
        ({"content": "a: 1", "path": "x"}, "values_files[0]", 'unknown key "path"'),
    ],
)
def test_values_files_items_are_validated(item: object, field: str, fragment: str) -> None:
    err = raises(InvalidInput, V.combine, None, None, None, None, values_files=[item])
    assert err.field == field
    assert fragment in str(err)


def test_values_files_limits() -> None:
    assert V.parse_values_files(["a: 1"] * 3, limits=SMALL)[0] == {"a": 1}
    err = raises(PayloadTooLarge, V.parse_values_files, ["a: 1"] * 4, limits=SMALL)
    assert str(err) == "values_files: more than 3 files"
    assert raises(PayloadTooLarge, V.parse_values_files, ["a: 1"] * 65).field == "values_files"  # default: 64
    # the texts together
    err = raises(PayloadTooLarge, V.parse_values_files, ["a: " + "x" * 1000, "b: " + "x" * 1000], limits=SMALL)
    assert str(err) == "values_files: larger than 2000 bytes"
    # each file's own limits (nodes, depth), named by its index and name
    err = raises(PayloadTooLarge, V.parse_values_files, _files("a: [" + ", ".join(["1"] * 60) + "]"), limits=SMALL)
    assert err.field == "values_files[0]" and '"f0.yaml": more than 50 values and keys' in str(err)
    err = raises(PayloadTooLarge, V.parse_values_files, _files("a: {b: {c: {}}}"), limits=SMALL)
    assert '"f0.yaml": nested deeper than 3 levels' in str(err)
    # and the merged result
    files = [", ".join(f"k{n}{i}: 1" for i in range(12)).join("{}") for n in "abc"]
    err = raises(PayloadTooLarge, V.parse_values_files, files, limits=SMALL)  # 3 * 25 nodes > 50
    assert err.field == "values_files" and "more than 50" in str(err)


def test_values_files_come_before_values_and_the_set_forms() -> None:
    files = _files("a: f0\nb: f0\nc: f0\nd: f0\ne: f0\nm: {p: 1, q: 1}\n", "a: f1\nb: f1\nc: f1\nd: f1\nm: {q: 2}\n")
    result = V.combine("a: v\nb: v\nc: v\nm: {z: 3}", "b=set", "a=string", 'c="json"', values_files=files)
    assert result == {"a": "string", "b": "set", "c": "json", "d": "f1", "e": "f0", "m": {"p": 1, "q": 2, "z": 3}}
    assert V.combine({"l": [9]}, None, None, None, values_files=_files("l: [1, 2]\n"))["l"] == [9]  # replaced
    assert V.combine(None, "l[1]=8", None, None, values_files=_files("l: [1, 2]\n"))["l"] == [1, 8]  # set into it


def test_values_files_errors_come_before_values_errors() -> None:
    err = raises(InvalidInput, V.combine, "[1]", None, None, None, values_files=["a: [1"])
    assert err.field == "values_files[0]"


def test_values_and_files_together_are_limited_as_one_result() -> None:
    err = raises(
        PayloadTooLarge, V.combine, {"b": "y" * 1000}, None, None, None, SMALL, values_files=["a: " + "x" * 1000]
    )
    assert err.field == "values" and "larger than 2000 bytes as JSON" in str(err)


def test_set_sensitive_is_applied_last() -> None:
    """A secret given with set_sensitive wins over every other form, so what is masked is what helm gets."""
    merged = V.combine(
        "db: {password: from-values}\n",
        ["db.password=from-set"],
        ["db.password=from-set-string"],
        ['db.password="from-set-json"'],
        set_sensitive=["db.password=from-sensitive"],
        values_files=[{"name": "f.yaml", "content": "db: {password: from-file}\n"}],
    )
    assert merged == {"db": {"password": "from-sensitive"}}
