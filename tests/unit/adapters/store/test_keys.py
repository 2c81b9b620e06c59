"""The key layout: what ``keys`` builds is what the package docstring's table says, item by item."""

from __future__ import annotations

import re

import pytest

import chalicelib.adapters.store as store_package
from chalicelib.adapters.store import keys
from chalicelib.domain.models import Action, Operation, OperationStatus, ReleaseRef

REF = ReleaseRef("c1", "ns1", "n1")
T = 1_700_000_000.5
EXP = 1_700_000_600.25
OP = Operation("op-1", Action.INSTALL, OperationStatus.QUEUED, REF, T, T)
SHA = "ab" * 32

# the docstring's placeholders, each given one value (<key> is both a release key and an Idempotency-Key)
PLACEHOLDERS = {
    "<c>": "c1",
    "<ns>": "ns1",
    "<n>": "n1",
    "<r>": "0000000007",
    "<exp>": keys.sortable(EXP),
    "<key>": REF.key,
    "<id>": "op-1",
    "<t>": keys.sortable(T),
    "<u>": "u1",
    "<sha256>": SHA,
    "<name>": "web",
    "<version>": "1.2.3",
    "<v>": "1.2.3",
    "<owner>": "token:ci",
    "<hex>": "0f" * 32,
}

# docstring row -> (item key, index keys) as ``keys`` builds them for the placeholders' values
BUILT: dict[str, tuple[keys.ItemKey, keys.IndexKeys]] = {
    "cluster": (keys.cluster("c1"), keys.cluster_index("c1")),
    "release record": (keys.release(REF), keys.release_indexes(REF)),
    "revision": (keys.revision(REF, 7), {}),
    "lease": (keys.lease(REF), keys.lease_index(REF, EXP)),
    "idempotency key": (keys.idempotency(REF.key), {}),
    "operation": (keys.operation("op-1"), keys.operation_indexes(OP)),
    "audit entry": (keys.audit("op-1"), keys.audit_index(T, "op-1")),
    "token (local stages)": (keys.token(SHA), keys.token_index("web")),
    "policy": (keys.policy("web"), keys.policy_index("web")),
    "repository": (keys.repository("web"), keys.repository_index("web")),
    "repositories version": (keys.repositories_version(), {}),
    "uploaded chart": (keys.uploaded_chart("web", "1.2.3"), keys.uploaded_chart_index("web", "1.2.3")),
    "release event": (keys.release_event(REF, T, "u1"), {}),
    "CloudFormation reply": (keys.cfn_reply("op-1"), {}),
    "plan": (keys.plan("op-1"), {}),
    "access key": (keys.access_key("op-1"), keys.access_key_index("token:ci", "op-1")),
    "used signature": (keys.seen_signature("0f" * 32), {}),
    "runtime": (keys.runtime("web"), keys.runtime_index("web")),
    "runtime status": (keys.runtime_status("web"), {}),
    "runtime sync step": (keys.runtime_step("op-1"), {}),
    "Git repository": (keys.git_repository("web"), keys.git_repository_index("web")),
}


def _documented_rows() -> dict[str, list[str]]:
    """The key table of the package docstring: item -> [pk / sk, gsi1pk / gsi1sk, gsi2pk / gsi2sk]."""
    doc = store_package.__doc__ or ""
    lines = doc.splitlines()
    rules = [i for i, line in enumerate(lines) if line.startswith("====")]
    spans = [m.span() for m in re.finditer(r"=+", lines[rules[0]])]
    rows: dict[str, list[str]] = {}
    for line in lines[rules[1] + 1 : rules[2]]:
        cells = [
            line[start : (spans[i + 1][0] if i + 1 < len(spans) else None)].strip()
            for i, (start, _) in enumerate(spans)
        ]
        rows[cells[0]] = cells[1:4]
    return rows


def _render(text: str) -> str:
    for placeholder, value in PLACEHOLDERS.items():
        text = text.replace(placeholder, value)
    return text


def _pair(attrs: dict[str, str], pk: str, sk: str) -> str:
    return f"{attrs[pk]} / {attrs[sk]}" if pk in attrs else "-"


ROWS = _documented_rows()


def test_the_docstring_table_lists_every_item_keys_builds() -> None:
    assert sorted(ROWS) == sorted(BUILT)


@pytest.mark.parametrize("item", sorted(BUILT))
def test_keys_build_what_the_docstring_table_says(item: str) -> None:
    key, index = BUILT[item]
    documented = [_render(cell) for cell in ROWS[item]]
    assert documented == [_pair(key, "pk", "sk"), _pair(index, "gsi1pk", "gsi1sk"), _pair(index, "gsi2pk", "gsi2sk")]


def test_no_two_kinds_of_item_share_a_key() -> None:
    built = [(k["pk"], k["sk"]) for k, _ in BUILT.values()]
    assert len(set(built)) == len(built)


@pytest.mark.parametrize(
    ("earlier", "later"),
    [(1.5, 10.25), (999.999, 1000.0), (1_699_999_999.999, 1_700_000_000.0), (0.0, 0.001)],
)
def test_sortable_times_sort_as_numbers(earlier: float, later: float) -> None:
    assert keys.sortable(earlier) < keys.sortable(later)
    assert len(keys.sortable(earlier)) == len(keys.sortable(later)) == 17


@pytest.mark.parametrize(("lower", "higher"), [(1, 2), (9, 10), (99, 100), (1, 1_000_000_000)])
def test_revision_keys_sort_as_numbers(lower: int, higher: int) -> None:
    assert keys.revision(REF, lower)["sk"] < keys.revision(REF, higher)["sk"]


def test_a_release_partition_holds_its_record_revisions_lease_and_events() -> None:
    parts = [keys.release(REF), keys.revision(REF, 1), keys.lease(REF), keys.release_event(REF, T, "x")]
    assert {k["pk"] for k in parts} == {keys.release_pk(REF)}
    other = ReleaseRef("c1", "ns1", "n10")
    assert keys.release_pk(other) != keys.release_pk(REF)
    assert not keys.revision(REF, 1)["sk"].startswith(keys.EVENT_PREFIX)


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (keys.releases(None), "gsi2"),
        (keys.releases("c1"), "gsi1"),
        (keys.releases("c1", "ns1"), "gsi1"),
        (keys.revisions(REF), None),
        (keys.release_events(REF), None),
        (keys.leases_expired_before(T), "gsi1"),
        (keys.operations("c1"), "gsi1"),
        (keys.operations(None), "gsi2"),
        (keys.audit_since(T), "gsi1"),
        (keys.clusters(), "gsi1"),
        (keys.tokens(), "gsi1"),
        (keys.tokens("web"), "gsi1"),
        (keys.policies(), "gsi1"),
        (keys.repositories(), "gsi1"),
        (keys.uploaded_charts(), "gsi1"),
        (keys.uploaded_charts("web"), "gsi1"),
    ],
)
def test_each_query_names_the_index_that_holds_its_keys(query: keys.Query, index: str | None) -> None:
    assert query[0] == index
