"""Redaction: presigned URLs, bearer and EKS tokens, passwords in URLs and text, literal secrets; the masking
rules of values, tested with the table of examples in docs/SECURITY.md as data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain import redact
from chalicelib.domain.values import sensitive_paths
from chalicelib.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("GET https://sts.amazonaws.com/?X-Amz-Signature=abc123&X-Amz-Credential=AKID", "X-Amz-Signature=abc123"),
        ("Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi.payload.sig"),
        ("token: k8s-aws-v1.aHR0cHM6Ly9zdHM", "aHR0cHM6Ly9zdHM"),
        ("fetching https://user:pa55word@charts.example.com/x.tgz", "pa55word"),
        ("password=hunter22", "hunter22"),
    ],
)
def test_redact(text: str, secret: str) -> None:
    assert secret not in redact.redact(text)


def test_redact_literal_secrets() -> None:
    assert "my-very-secret" not in redact.redact("x my-very-secret y", ("my-very-secret",))


def test_a_secret_that_is_an_alias_bomb_is_masked_whole() -> None:
    """A chart can render any text; a Secret built from nested aliases is neither expanded nor shown."""
    anchors = ["b0: &b0 [x, x, x, x, x, x, x, x, x, x]"]
    anchors += [f"b{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * 10) + "]" for i in range(1, 7)]
    doc = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n" + "\n".join(anchors) + "\nstringData: {x: *b6}\n"
    masked = redact.mask_manifest("kind: ConfigMap\n---\n" + doc)
    assert masked.startswith("kind: ConfigMap\n---\n") and len(masked) < 200
    assert "could not be parsed" in masked and "*b6" not in masked


# ---------------------------------------------------------------- the masking rules, from docs/SECURITY.md's table

SECURITY_MD = Path(__file__).resolve().parents[3] / "docs" / "SECURITY.md"


def masking_examples() -> list[tuple[Any, list[str], Any, Any]]:
    """The rows of the table between the ``masking-examples`` markers: (values, set_sensitive, added rules,
    shown)."""
    text = SECURITY_MD.read_text()
    table = text.split("<!-- masking-examples", 1)[1].split("<!-- /masking-examples -->", 1)[0]
    rows = []
    for line in table.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]  # no cell holds a "|"
        if len(cells) != 4 or not cells[0].startswith("{"):
            continue
        values, sensitive, added, shown = cells
        rules = json.loads(added) if added else None
        rows.append((json.loads(values), [s.strip("`") for s in sensitive.split()], rules, json.loads(shown)))
    return rows


def test_the_documented_table_is_read_whole() -> None:
    rows = masking_examples()
    assert len(rows) >= 18 and sum(1 for _, s, _, _ in rows if s) >= 3 and sum(1 for _, _, a, _ in rows if a) >= 3


@pytest.mark.parametrize(("values", "sensitive", "added", "shown"), masking_examples())
def test_the_documented_masking_examples(values: Any, sensitive: list[str], added: Any, shown: Any) -> None:
    """What a release shows: its set_sensitive paths joined with its cluster's or repository's added rules."""
    rules = redact.Masking(sensitive_paths(sensitive) if sensitive else ()) + redact.Masking.from_json(added)
    assert redact.mask_values(values, rules.paths, rules.keys) == shown


def test_added_rules_only_add() -> None:
    """A rule naming a key the defaults mask changes nothing; no rule shows what a default hides."""
    rules = redact.Masking.from_json({"keys": ["password"], "paths": ["nothing.here"]})
    assert redact.mask_values({"password": "p", "user": "u"}, rules.paths, rules.keys) == {
        "password": redact.MASK,
        "user": "u",
    }


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("dsn", "masking"),
        ({"keys": "dsn"}, "masking.keys"),
        ({"keys": [""]}, "masking.keys[0]"),
        ({"keys": ["ok", 3]}, "masking.keys[1]"),
        ({"paths": ["a=b"]}, "masking.paths[0]"),
        ({"paths": ["a..b"]}, "masking.paths[0]"),
        ({"paths": ["x" * 2000]}, "masking.paths[0]"),
        ({"paths": ["a"] * 101}, "masking.paths"),
        ({"words": ["a"]}, "masking"),
    ],
)
def test_bad_added_rules_name_their_field(raw: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        redact.Masking.from_json(raw)
    assert caught.value.field == field


def test_added_rules_read_back_as_shown() -> None:
    rules = redact.Masking.from_json({"keys": ["connection_string"], "paths": ["a\\.b.c[2]", "x"]})
    assert rules.to_json() == {"keys": ["connectionstring"], "paths": ["a\\.b.c[2]", "x"]}
    assert redact.Masking.from_json(rules.to_json()) == rules


def test_added_key_strings_are_scrubbed_from_messages() -> None:
    assert redact.sensitive_strings({"db": {"dsn": "host=db pw=zz"}}, keys=("dsn",)) == ("host=db pw=zz",)


def test_masked_strings_are_scrubbed_from_messages_too() -> None:
    values = {"db": {"url": "postgres://app:hunter22@db/app", "password": "pa55word"}, "tls": {"key": "x"}}
    assert set(redact.sensitive_strings(values)) == {"hunter22", "pa55word"}


def test_every_secret_in_a_manifest_has_its_data_and_string_data_masked() -> None:
    manifest = (
        "# Source: c/templates/s.yaml\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
        "data: {pw: aHVudGVyMg==}\nstringData: {token: hunter2}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {greeting: hi}\n"
    )
    masked = redact.mask_manifest(manifest)
    assert "aHVudGVyMg==" not in masked and "hunter2" not in masked
    assert "pw: <redacted>" in masked and "token: <redacted>" in masked
    assert "greeting: hi" in masked and masked.startswith("# Source: c/templates/s.yaml\n")


def test_scrubbed_strings_come_from_lists_and_set_sensitive_paths_too() -> None:
    values = {"tokens": ["tok-one", "tok-two"], "db": {"user": "app-user"}, "plain": ["visible"]}
    assert redact.sensitive_strings(values, [("db", "user")]) == ("tok-one", "tok-two", "app-user")


def test_literal_secrets_of_six_characters_or_more_are_scrubbed() -> None:
    assert redact.redact("a 123456 b", ("123456",)) == "a <redacted> b"
    assert redact.redact("a 12345 b", ("12345",)) == "a 12345 b"  # too short to scrub without eating text
    assert redact.redact("x", ("",)) == "x"
