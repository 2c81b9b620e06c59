"""Plans' rules: which facts changed, a plan's JSON round trip, ETags and If-Match."""

from __future__ import annotations

from chalicelib.domain import plans
from chalicelib.domain.models import ReleaseRef
from chalicelib.domain.plans import Facts, Plan

FACTS = Facts(3, "abc", "sha256:v")


def test_stale_names_each_changed_fact_in_order() -> None:
    assert plans.stale(FACTS, FACTS) == []
    assert plans.stale(FACTS, Facts(4, "abc", "sha256:v")) == ["revision"]
    assert plans.stale(FACTS, Facts(4, "def", "sha256:w")) == ["revision", "chart", "values"]
    assert plans.stale(Facts(3, None, "v"), Facts(3, None, "v")) == []


def test_a_plan_round_trips_and_answers_its_id_and_expiry() -> None:
    plan = Plan("plan-1", ReleaseRef("c", "ns", "web"), "upgrade", {"chart": "x/y"}, FACTS, 10.0, 3610.0)
    assert Plan.from_json(plan.to_json()) == plan
    assert plan.answer() == {"id": "plan-1", "expires_at": "1970-01-01T01:00:10.000Z"}


def test_the_etag_changes_with_revision_status_and_operation() -> None:
    base = plans.etag(1, "deployed", "op-1")
    assert base.startswith('"') and base.endswith('"') and base == plans.etag(1, "deployed", "op-1")
    others = {plans.etag(2, "deployed", "op-1"), plans.etag(1, "failed", "op-1"), plans.etag(1, "deployed", "op-2")}
    assert base not in others and len(others) == 3
    record = {"revision": 1, "status": "deployed", "last_operation_id": "op-1"}
    assert plans.etag_of(record) == base


def test_if_match_compares_each_tag_and_star_needs_a_release() -> None:
    tag = plans.etag(1, "deployed", "op-1")
    assert plans.matches(tag, tag) and plans.matches(f'"x", {tag}', tag) and plans.matches(f"W/{tag}", tag)
    assert plans.matches("*", tag) and not plans.matches("*", None)
    assert not plans.matches('"other"', tag) and not plans.matches(tag, None)


STEP = plans.StepFacts("apps/web", "upgrade", 2, "c" * 64, "sha256:a")


def test_a_runtime_plan_round_trips_without_any_request() -> None:
    plan = plans.RuntimePlan(
        "plan-2", "shop", "abc123", (STEP, plans.StepFacts("apps/db", "uninstall", 4, None, None)), 1.0, 2.0
    )
    assert plans.RuntimePlan.from_json(plan.to_json()) == plan
    assert "body" not in str(plan.to_json()) and plan.answer()["id"] == "plan-2"


def test_runtime_stale_names_the_commit_the_releases_and_each_releases_facts() -> None:
    plan = plans.RuntimePlan("plan-2", "shop", "abc123", (STEP,), 1.0, 2.0)
    assert plans.runtime_stale(plan, "abc123", (STEP,)) == ([], {})
    assert plans.runtime_stale(plan, "def456", (STEP,)) == (["source commit"], {})
    moved = plans.StepFacts("apps/web", "upgrade", 3, "d" * 64, "sha256:a")
    assert plans.runtime_stale(plan, "abc123", (moved,)) == (["revision", "chart"], {"apps/web": ["revision", "chart"]})
    added = (STEP, plans.StepFacts("apps/db", "install", 0, "c" * 64, "sha256:b"))
    assert plans.runtime_stale(plan, "abc123", added) == (["releases"], {})


def test_the_runtime_etag_changes_with_the_declaration_and_the_status_version() -> None:
    doc = {"name": "shop", "updated_at": "t1"}
    tag = plans.runtime_etag(doc, 3)
    assert tag == plans.runtime_etag(dict(doc), 3) and tag.startswith('"')
    assert tag != plans.runtime_etag(doc, 4) and tag != plans.runtime_etag({**doc, "updated_at": "t2"}, 3)


def test_a_request_digest_is_canonical() -> None:
    assert plans.request_digest({"a": 1, "b": [2]}) == plans.request_digest({"b": [2], "a": 1})
    assert plans.request_digest({"a": 1}) != plans.request_digest({"a": 2})
