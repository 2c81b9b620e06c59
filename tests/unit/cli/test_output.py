"""Tables, fields and times as the CLI prints them."""

from __future__ import annotations

from charthouse_cli import output


def test_table_aligns_columns_without_trailing_spaces() -> None:
    text = output.table(("NAME", "REVISION", "OK"), [("web", 12, True), ("a-long-name", None, False)])
    assert text.splitlines() == [
        "NAME         REVISION  OK",
        "web          12        true",
        "a-long-name            false",
    ]
    assert output.table(("A",), []) == "A\n"
    assert output.cell({"b": 1, "a": [1]}) == '{"a":[1],"b":1}'
    assert output.cell("two\nlines") == "two lines"


def test_fields_and_times() -> None:
    assert output.fields([("NAME", "web"), ("EMPTY", ""), ("NONE", None), ("REVISION", 3)]) == (
        "NAME:      web\nREVISION:  3\n"
    )
    assert output.short_time("2026-11-21T10:40:03.123+00:00") == "2026-11-21 10:40:03"
    assert output.short_time(None) == ""
