"""The guard every outside YAML goes through: an alias bomb, deep nesting or an extra document is refused after a
few events, with a message naming what was refused; a document within its budget loads as PyYAML's safe loader
reads it."""

from __future__ import annotations

import time

import pytest
import yaml

from chalicelib.domain import yamlguard
from chalicelib.errors import InvalidInput, PayloadTooLarge


def bomb(levels: int, key: str = "lol") -> str:
    """Ten aliases per level: ``levels`` levels expand to 10**levels scalars (a "billion laughs" at 9)."""
    lines = [f"{key}0: &{key}0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels + 1):
        lines.append(f"{key}{i}: &{key}{i} [" + ", ".join([f"*{key}{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_a_billion_laughs_is_refused_after_a_few_events() -> None:
    started = time.process_time()
    with pytest.raises(InvalidInput) as exc:
        yamlguard.load(bomb(9), "url", yamlguard.INDEX, what="the repository's index.yaml was refused: ")
    assert exc.value.field == "url"
    assert "index.yaml was refused: its aliases expand to more than 100000 values and keys" in exc.value.message
    assert time.process_time() - started < 5  # bounded work, not the 10**9 expansion


def test_a_few_anchors_pass_and_load_like_the_safe_loader() -> None:
    text = "base: &b {a: 1, b: [x, y]}\none: *b\ntwo: {<<: *b, c: 2}\n"
    assert yamlguard.load(text, "f", yamlguard.CHART_YAML) == yaml.safe_load(text)


@pytest.mark.parametrize(
    ("text", "budget", "kind", "words"),
    [
        (bomb(3), yamlguard.Budget(max_alias_nodes=500), InvalidInput, "aliases expand to more than 500"),
        (bomb(3), yamlguard.Budget(max_nodes=200, max_alias_nodes=None), InvalidInput, "more than 200 values"),
        ("a: " + "[" * 40 + "]" * 40, yamlguard.Budget(max_depth=32), InvalidInput, "nested deeper than 32 levels"),
        ("a: 1\n---\nb: 2\n", yamlguard.Budget(), InvalidInput, "single YAML document"),
        ("a: 1\n---\nb: 2\n---\nc: 3\n", yamlguard.Budget(max_documents=2), InvalidInput, "more than 2 YAML docum"),
        ("a: *nowhere\n", yamlguard.Budget(), InvalidInput, "alias *nowhere is undefined or recursive"),
        ("a: &r [*r]\n", yamlguard.Budget(), InvalidInput, "alias *r is undefined or recursive"),
    ],
)
def test_refusals_name_the_rule(text: str, budget: yamlguard.Budget, kind: type[Exception], words: str) -> None:
    with pytest.raises(kind) as exc:
        yamlguard.load(text, "f", budget)
    assert words in str(exc.value)


def test_the_caller_chooses_the_size_error() -> None:
    with pytest.raises(PayloadTooLarge):
        yamlguard.scan(bomb(3), "values", yamlguard.Budget(max_alias_nodes=10), too_large=PayloadTooLarge)


def test_syntax_errors_stay_yaml_errors() -> None:
    with pytest.raises(yaml.YAMLError):
        yamlguard.load("a: [unclosed\n", "f", yamlguard.Budget())


def test_load_leading_keeps_the_documents_before_a_refused_one() -> None:
    text = "kind: A\n---\nkind: B\n---\n" + bomb(7) + "---\nkind: C\n"
    assert yamlguard.load_leading(text, "manifest", yamlguard.MANIFEST) == [{"kind": "A"}, {"kind": "B"}]
    assert yamlguard.load_leading("kind: A\n---\nkind: [x\n", "manifest", yamlguard.MANIFEST) == [{"kind": "A"}]
