"""Policies: which principals a policy applies to, what a rule grants (verbs, clusters, namespace patterns)."""

from __future__ import annotations

import pytest

from chalicelib.core.auth import Principal
from chalicelib.core.authz import Policy, Rule
from chalicelib.errors import InvalidInput

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
