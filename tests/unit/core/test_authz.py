"""Policies: which principals a policy applies to, what a rule grants (verbs, clusters, namespace patterns)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.core.auth import Principal
from chalicelib.core.authz import SELF, VERBS, Authorizer, Policy, Rule
from chalicelib.errors import Forbidden, InvalidInput, NotFound
from tests.emulated import emulated_store

ARN = "arn:aws:sts::123456789012:assumed-role/deployer/ci-run"


def test_rules_and_patterns() -> None:
    policy = Policy.from_json(
        "team-a",
        {
            "principals": ["arn:aws:sts::123456789012:assumed-role/deployer/*"],
            "rules": [{"verbs": ["install"], "clusters": ["prod"], "namespaces": ["team-a-*"]}],
        },
    )
    assert policy.applies_to(Principal(ARN, "iam"))
    assert not policy.applies_to(Principal("arn:aws:sts::123456789012:assumed-role/other/x", "iam"))
    rule = policy.rules[0]
    assert rule.grants("install", "prod", "team-a-web")
    assert not rule.grants("install", "prod", "kube-system") and not rule.grants("upgrade", "prod", "team-a-web")
    assert not rule.grants("install", "prod", None)  # no namespace: needs a "*" pattern
    assert Rule(("read",), ("prod",), ("team-a-*",)).grants("read", "prod", None)  # read: partial access will do
    with pytest.raises(InvalidInput) as exc:
        Policy.from_json("p", {"principals": ["x"], "rules": [{"verbs": ["fly"]}]})
    assert exc.value.field == "rules[0].verbs"


@pytest.mark.parametrize("verb", ["read", "install", "upgrade", "rollback", "uninstall", "unlock", "reveal", "charts"])
def test_the_admin_verb_grants_every_verb_where_it_applies(verb: str) -> None:
    rule = Rule(("admin",), ("prod",), ("*",))
    assert rule.grants(verb, "prod", "apps") and rule.grants("admin", "prod", None)
    assert not rule.grants(verb, "dev", "apps")


# ---------------------------------------------------------------- patterns and stored policies


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "non-empty list"),
        ([], "non-empty list"),
        ("token:x", "non-empty list"),
        (["ok"] * 101, "at most 100"),
        (["has space"], "is not a pattern"),
        ([""], "is not a pattern"),
        (["x" * 513], "is not a pattern"),
        ([7], "is not a pattern"),
    ],
)
def test_bad_principal_patterns_are_refused_naming_the_field(raw: object, message: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        Policy.from_json("p", {"principals": raw, "rules": [{"verbs": ["read"]}]})
    assert exc.value.field == "principals" and message in exc.value.message


def test_the_longest_pattern_and_the_most_patterns_are_accepted() -> None:
    policy = Policy.from_json("p", {"principals": ["a" * 512] + ["b"] * 99, "rules": [{"verbs": ["read"]}]})
    assert len(policy.principals) == 100 and policy.rules[0].clusters == ("*",) == policy.rules[0].namespaces


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        (None, "rules"),
        ([], "rules"),
        ([{"verbs": ["read"]}] * 101, "rules"),
        (["read"], "rules[0]"),  # the message is checked below
        ([{"verbs": []}], "rules[0].verbs"),
        ([{"verbs": "read"}], "rules[0].verbs"),
        ([{"verbs": ["read"], "clusters": []}], "rules[0].clusters"),
        ([{"verbs": ["read"], "namespaces": ["a b"]}], "rules[0].namespaces"),
        ([{"verbs": ["read"], "where": ["x"]}], "rules[0].where"),
    ],
)
def test_bad_rules_are_refused_naming_the_field(rules: object, field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        Policy.from_json("p", {"principals": ["token:x"], "rules": rules})
    assert exc.value.field == field


def test_a_policy_reads_back_as_it_was_written() -> None:
    body = {
        "principals": ["token:a", "group:b"],
        "rules": [{"verbs": ["read", "install"], "clusters": ["prod"], "namespaces": ["a-*"]}],
        "description": "team a",
    }
    policy = Policy.from_json("team-a", body)
    assert policy.to_json() == {"name": "team-a", **body}
    assert Policy.from_json("team-a", {k: v for k, v in policy.to_json().items() if k != "name"}) == policy


@pytest.fixture
def authorizer(monkeypatch: pytest.MonkeyPatch) -> Iterator[Authorizer]:
    with emulated_store(monkeypatch) as store:
        yield Authorizer(store, ("token:root", "arn:aws:iam::*:role/admin"))


def test_policies_are_stored_listed_read_and_deleted(authorizer: Authorizer) -> None:
    body = {"principals": ["token:a"], "rules": [{"verbs": ["read"]}], "description": "d"}
    assert authorizer.put(Policy.from_json("team-a", body)) is True
    assert authorizer.put(Policy.from_json("team-a", body)) is False  # replaced, not created
    assert authorizer.put(Policy.from_json("team-b", {**body, "principals": ["token:b"]})) is True
    assert authorizer.get("team-a") == Policy.from_json("team-a", body)
    assert [p.name for p in authorizer.all()] == ["team-a", "team-b"]
    authorizer.delete("team-a")
    assert [p.name for p in authorizer.all()] == ["team-b"]
    with pytest.raises(NotFound, match="policy team-a not found"):
        authorizer.get("team-a")
    with pytest.raises(NotFound):
        authorizer.delete("team-a")
    with pytest.raises(InvalidInput):
        authorizer.get("Not_A_Name")


def test_decisions_for_admins_policies_and_strangers(authorizer: Authorizer) -> None:
    rules = [{"verbs": ["install"], "clusters": ["prod"], "namespaces": ["a-*"]}]
    authorizer.put(Policy.from_json("team-a", {"principals": ["token:a"], "rules": rules}))
    root, admin_role = Principal("token:root", "token"), Principal("arn:aws:iam::1:role/admin", "iam")
    team, stranger = Principal("token:a", "token"), Principal("token:z", "token")
    assert authorizer.rules_for(root) is None and authorizer.rules_for(admin_role) is None
    assert authorizer.rules_for(stranger) == []
    assert authorizer.allowed(root, "admin", None, None)
    assert authorizer.allowed(team, "install", "prod", "a-web")
    assert not authorizer.allowed(team, "install", "prod", "b-web")
    assert not authorizer.allowed(team, "uninstall", "prod", "a-web")
    assert not authorizer.allowed(stranger, "read", "prod", "a-web")
    authorizer.require(team, "install", "prod", "a-web")  # no exception
    with pytest.raises(Forbidden) as exc:
        authorizer.require(team, "uninstall", "prod", "a-web")
    assert exc.value.details == {"permission": "uninstall", "cluster": "prod", "namespace": "a-web"}
    assert exc.value.message == "token:a may not uninstall on cluster prod namespace a-web"
    with pytest.raises(Forbidden, match=r"^token:z may not admin$"):
        authorizer.require(stranger, "admin")
    assert authorizer.allowed(stranger, SELF)  # any authenticated caller
    seen = authorizer.reader(team)
    assert not seen.can_read("prod", "a-web")  # install grants no read
    assert authorizer.reader(root).can_read("anything", "at-all")


def test_a_rule_that_is_not_an_object_says_what_it_must_be() -> None:
    with pytest.raises(InvalidInput) as exc:
        Rule.from_json("read", "rules[3]")
    assert exc.value.message == "rules[3]: must be an object with verbs, clusters and namespaces"


def test_a_policy_name_is_checked_before_it_is_looked_up(authorizer: Authorizer) -> None:
    with pytest.raises(InvalidInput) as exc:
        authorizer.get("Not_A_Name")
    assert exc.value.field == "policy"


def test_what_a_reader_sees_is_bounded_by_cluster_and_namespace(authorizer: Authorizer) -> None:
    rules = [{"verbs": ["read"], "clusters": ["prod"], "namespaces": ["a-*"]}]
    authorizer.put(Policy.from_json("readers", {"principals": ["token:r"], "rules": rules}))
    seen = authorizer.reader(Principal("token:r", "token"))
    assert seen.can_read("prod", "a-web") and seen.can_read("prod")  # a cluster-wide list, filtered later
    assert not seen.can_read("dev", "a-web") and not seen.can_read("dev") and not seen.can_read("prod", "b")


def test_policy_bounds_and_messages_are_exact() -> None:
    """The limits are the documented ones (100 rules, 256 characters of description), and each refusal names its
    field with the message a caller reads."""
    read = {"verbs": ["read"]}
    assert len(Policy.from_json("p", {"principals": ["t"], "rules": [read] * 100}).rules) == 100
    assert Policy.from_json("p", {"principals": ["t"], "rules": [read], "description": "d" * 256}).description
    assert Policy.from_json("p", {"principals": ["t"], "rules": [read]}).description == ""
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"principals": ["t"], "rules": [read] * 101}, "rules", "must be a non-empty list of rules (at most 100)"),
        ({"principals": ["t"], "rules": [read], "description": "d" * 257}, "description", "256"),
        ({"principals": [], "rules": [read]}, "principals", "must be a non-empty list of patterns (at most 100)"),
        ({"principals": ["a b"], "rules": [read]}, "principals", "'a b' is not a pattern"),
        ({"principals": ["t"], "rules": [{"verbs": ["fly"]}]}, "rules[0].verbs", ", ".join(VERBS)),
    ]
    for body, field, text in cases:
        with pytest.raises(InvalidInput) as exc:
            Policy.from_json("p", body)
        assert exc.value.field == field and text in exc.value.message, (field, exc.value.message)
    with pytest.raises(InvalidInput) as exc:
        Policy.from_json("Bad_Name", {"principals": ["t"], "rules": [read]})
    assert exc.value.field == "policy"
    with pytest.raises(InvalidInput) as exc:
        Policy.from_json("p", {"principals": ["x" * 70 + " y"], "rules": [read]})
    assert repr("x" * 60) in exc.value.message and "x" * 61 not in exc.value.message


def test_rules_given_to_allowed_are_used_instead_of_the_stored_ones(authorizer: Authorizer) -> None:
    team = Principal("token:a", "token")
    assert not authorizer.allowed(team, "install", "prod", "a")  # no policy applies
    assert authorizer.allowed(team, "install", "prod", "a", rules=[Rule(("install",), ("prod",), ("a",))])


def test_visibility_may_and_the_refusal_name_the_permission_and_where() -> None:
    from chalicelib.core.authz import Visibility, refusal

    rule = Rule(("install",), ("prod",), ("team-a-*",))
    seen = Visibility([rule])
    assert seen.may("install", "prod", "team-a-web") and not seen.may("install", "prod", "kube-system")
    assert not seen.may("install", "dev", "team-a-web") and not seen.may("install", None, None)
    assert seen.may(SELF) and Visibility(None).may("admin", "any", "thing")
    assert not Visibility([]).may("read")
    exc = refusal(Principal("token:t", "token"), "install", "https://10.0.0.1:6443", "web")
    assert (
        isinstance(exc, Forbidden)
        and exc.message == "token:t may not install on cluster https://10.0.0.1:6443 namespace web"
    )
    assert exc.details == {"permission": "install", "cluster": "https://10.0.0.1:6443", "namespace": "web"}
    assert refusal(Principal("token:t", "token"), "read", None, None).message == "token:t may not read"


def test_a_read_rule_for_one_cluster_reads_what_is_addressed_without_one() -> None:
    rule = Rule(("read",), ("prod",), ("team-a",))
    assert rule.grants("read", None, None)  # a list across clusters: partial access will do for read
    assert not Rule(("install",), ("prod",), ("*",)).grants("install", None, None)


def test_list_bounds_say_exactly_what_they_must_be() -> None:
    with pytest.raises(InvalidInput) as exc:
        Policy.from_json("p", {"principals": ["token:a"], "rules": []})
    assert exc.value.message == "rules: must be a non-empty list of rules (at most 100)"
    with pytest.raises(InvalidInput) as exc:
        Policy.from_json("p", {"principals": [], "rules": [{"verbs": ["read"]}]})
    assert exc.value.message == "principals: must be a non-empty list of patterns (at most 100)"


def test_use_of_a_git_repository_is_granted_per_repository() -> None:
    policy = Policy.from_json(
        "team-a",
        {
            "principals": ["token:team-a"],
            "rules": [{"verbs": ["use"], "repositories": ["deploy-*"], "clusters": ["prod"], "namespaces": ["a"]}],
        },
    )
    rule = policy.rules[0]
    assert rule.grants("use", "prod", "a", "deploy-web")
    assert not rule.grants("use", "prod", "a", "infra")
    assert not rule.grants("use", "prod", "b", "deploy-web") and not rule.grants("install", "prod", "a")
    assert policy.to_json()["rules"][0]["repositories"] == ["deploy-*"]
    every = Rule(("use",), ("*",), ("*",))
    assert every.grants("use", "prod", "a", "anything") and "repositories" not in every.to_json()
    with pytest.raises(InvalidInput) as exc:
        Policy.from_json("p", {"principals": ["x"], "rules": [{"verbs": ["use"], "repositories": []}]})
    assert exc.value.field == "rules[0].repositories"


def test_the_authorizer_decides_and_refuses_use_of_a_git_repository_by_its_name(authorizer: Authorizer) -> None:
    from chalicelib.core.authz import refusal

    rules = [{"verbs": ["use"], "repositories": ["deploy-*"], "clusters": ["prod"], "namespaces": ["a"]}]
    authorizer.put(Policy.from_json("team-a", {"principals": ["token:a"], "rules": rules}))
    team = Principal("token:a", "token")
    assert authorizer.allowed(team, "use", "prod", "a", repository="deploy-web")
    assert not authorizer.allowed(team, "use", "prod", "a", repository="infra")
    authorizer.require(team, "use", "prod", "a", repository="deploy-web")  # no exception
    with pytest.raises(Forbidden) as exc:
        authorizer.require(team, "use", "prod", "a", repository="infra")
    assert exc.value.message == "token:a may not use on repository infra cluster prod namespace a"
    assert exc.value.details == {"permission": "use", "cluster": "prod", "namespace": "a", "repository": "infra"}
    assert "repository" not in refusal(team, "install", "prod", "a").details  # none named: none in the details
