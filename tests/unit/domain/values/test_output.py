"""chalicelib.domain.values.output: the file helm reads and the digest.

The last tests run the real helm binaries (when built under layers/helm/build) and check that
``helm template -f <our file>`` sees exactly the ``.Values`` that helm's own flags would give."""

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
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain import values as V
from chalicelib.errors import InvalidInput

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

_ROOT = Path(__file__).resolve().parents[4]
_HELMS = [_ROOT / "layers/helm/build/v3/helm", _ROOT / "layers/helm/build/v4/helm"]  # built by make setup


def _built(helm: Path) -> Path:
    assert os.access(helm, os.X_OK), f"{helm} is not built: run make setup (layers/helm/build.sh)"
    return helm


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
        [str(_built(helm)), "template", "r", str(chart), *args], capture_output=True, text=True, env=env, timeout=60
    )
    assert run.returncode == 0, run.stderr[-500:]
    line = next(line for line in run.stdout.splitlines() if line.startswith("v: "))
    return json.loads(base64.b64decode(line[3:]))


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


_FILES_DIFFERENTIAL = [
    pytest.param(
        ["a: {b: 1, c: {d: 1, e: 2}}\nl: [1, 2, 3]\ngone: {x: 1}\n", "a: {c: {e: 3}}\nl: [9]\ngone: null\n"],
        id="deep-merge-lists-replaced-null",
    ),
    pytest.param(
        [
            "t: [on, yes, 012345, 0x1F, 1.10, 1e3, 09, y, off, 22:22, 2024-01-01]\n",
            "u: {on_: on}\nbase: &b {p: 1, q: [1]}\nc:\n  <<: *b\n  q: [2]\nd: *b\n",
        ],
        id="yaml-1.1-traps-anchors-merge-keys",
    ),
    pytest.param(["", "# comment only\n", "a: ~\n"], id="empty-files"),
]


@pytest.mark.parametrize("helm", _HELMS, ids=lambda p: p.parent.name)
@pytest.mark.parametrize("files", _FILES_DIFFERENTIAL)
def test_helm_reads_our_file_as_it_reads_the_values_files(
    helm: Path, chart: Path, tmp_path: Path, files: list[str]
) -> None:
    args: list[str] = []
    for index, text in enumerate(files):
        (tmp_path / f"{index}.yaml").write_text(text)
        args += ["-f", str(tmp_path / f"{index}.yaml")]
    expected = _rendered_values(helm, chart, args, tmp_path)

    ours = tmp_path / "values.json"
    ours.write_text(V.to_helm_file(V.combine(None, None, None, None, values_files=files)), "utf-8")
    assert _rendered_values(helm, chart, ["-f", str(ours)], tmp_path) == expected


# --------------------------------------------------------------------------- differential fuzz against real helm

_KEYS = st.sampled_from(["a", "b", "c"])
_SEGMENT = st.tuples(_KEYS, st.lists(st.integers(0, 2), max_size=2)).map(
    lambda s: s[0] + "".join(f"[{i}]" for i in s[1])
)
_PATH = st.lists(_SEGMENT, min_size=1, max_size=3).map(".".join)
_SCALAR = st.sampled_from(["1", "007", "-1", "1.5", "1e3", "true", "FALSE", "null", "x", "", "a b", "0x1F"])
_SET = st.lists(st.tuples(_PATH, _SCALAR).map("=".join), min_size=1, max_size=3).map(",".join)
_JSON = st.sampled_from(["1", '"s"', "[1,2]", '{"k":1}', "null", "true", "[]", "{}", "1.5"])
_SET_JSON = st.tuples(_PATH, _JSON).map("=".join)
_BASE = st.sampled_from([None, "a: {b: 1}\n", "a: [1, {b: 2}]\nc: x\n", "b: {c: [x, y]}\n", "a: null\n"])
FUZZ_EXAMPLES = int(os.environ.get("CHARTHOUSE_FUZZ_EXAMPLES", "25"))  # `make fuzz-values` runs many more


def _drops_last_empty_item_key(item: str) -> bool:
    """helm's quirk (docs/COMPAT.md): the LAST assignment of a --set string whose path goes through a list item
    into a key (``a[0].b=``) with an empty value is dropped by helm; Charthouse sets the empty string."""
    path, _, value = item.rsplit(",", 1)[-1].partition("=")
    return value == "" and "]." in path


def test_the_documented_quirk_is_what_helm_does(chart: Path, tmp_path: Path) -> None:
    """Keeps the fuzz's one exception honest: if helm stops dropping the assignment, this fails."""
    for helm in _HELMS:
        assert _rendered_values(helm, chart, ["--set", "a[0].b=1,a[1].c="], tmp_path)["a"] == [{"b": 1}]
        assert _rendered_values(helm, chart, ["--set", "a[1].c=,d=1"], tmp_path)["a"] == [None, {"c": ""}]
    assert V.combine(None, ["a[0].b=1,a[1].c="], None, None)["a"] == [{"b": 1}, {"c": ""}]
    assert _drops_last_empty_item_key("x=1,a[0].b=") and not _drops_last_empty_item_key("a[0].b=,x=1")


@pytest.mark.parametrize("helm", _HELMS, ids=lambda p: p.parent.name)
def test_fuzz_set_forms_against_helm(helm: Path, chart: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Generated --set, --set-string and --set-json inputs over a values file: Charthouse either refuses them
    (a deliberate refusal, see docs/COMPAT.md) or gives helm a file it reads as exactly what helm's own flags
    give. A fixed seed and a bounded example count keep it fast and repeatable."""

    @settings(max_examples=FUZZ_EXAMPLES, derandomize=True, deadline=None, database=None)
    @given(
        base=_BASE,
        set_=st.lists(_SET, max_size=2),
        set_string=st.lists(_SET, max_size=1),
        set_json=st.lists(_SET_JSON, max_size=1),
    )
    def check(base: str | None, set_: list[str], set_string: list[str], set_json: list[str]) -> None:
        if any(_drops_last_empty_item_key(item) for item in (*set_, *set_string)):
            return  # a deliberate difference (docs/COMPAT.md): helm drops that assignment, Charthouse keeps it
        tmp = tmp_path_factory.mktemp("fuzz")
        try:
            ours = V.combine(base, set_ or None, set_string or None, set_json or None)
        except InvalidInput:
            return  # refused: never a crash, never something else handed to helm
        args: list[str] = []
        if base is not None:
            (tmp / "in.yaml").write_text(base)
            args += ["-f", str(tmp / "in.yaml")]
        for flag, items in (("--set-json", set_json), ("--set", set_), ("--set-string", set_string)):
            for item in items:
                args += [flag, item]
        expected = _rendered_values(helm, chart, args, tmp)
        (tmp / "values.json").write_text(V.to_helm_file(ours), "utf-8")
        got = _rendered_values(helm, chart, ["-f", str(tmp / "values.json")], tmp)
        assert got == expected, f"helm {args}: ours {got} != helm's {expected}"

    check()
