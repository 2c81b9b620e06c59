"""Values files: read as text and sent in order (the service merges them; the CLI parses no YAML); the request
fields."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from charthouse_cli import values
from charthouse_cli.errors import UsageError


def test_values_files_are_sent_as_text_in_order(tmp_path: Path) -> None:
    # the CLI does not parse them: the service merges them like helm (tests/unit/domain/values/test_merge.py)
    (tmp_path / "a.yaml").write_text("image: {repo: web, tag: v1}\non: !!binary x\n")
    (tmp_path / "b.yaml").write_text("image: {tag: v2}\n")
    sent = values.read_files([str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")])
    assert sent == [
        {"name": str(tmp_path / "a.yaml"), "content": "image: {repo: web, tag: v1}\non: !!binary x\n"},
        {"name": str(tmp_path / "b.yaml"), "content": "image: {tag: v2}\n"},
    ]
    with pytest.raises(UsageError, match="standard input can be read only once"):
        values.read_files(["-", "-"], stdin=io.StringIO(""))


def test_request_fields_keep_set_order_and_only_what_was_given(tmp_path: Path) -> None:
    (tmp_path / "v.yaml").write_text("a: 1\n")
    assert values.request_fields(None, None, None, None) == {}
    fields = values.request_fields(
        [str(tmp_path / "v.yaml"), "-"], ["b=2", "a=3"], None, ['j={"x":1}'], stdin=io.StringIO("c: 4\n")
    )
    assert fields == {
        "values_files": [
            {"name": str(tmp_path / "v.yaml"), "content": "a: 1\n"},
            {"name": "<stdin>", "content": "c: 4\n"},
        ],
        "set": ["b=2", "a=3"],
        "set_json": ['j={"x":1}'],
    }
    with pytest.raises(UsageError, match="cannot read values file"):
        values.read_files([str(tmp_path / "missing.yaml")])
