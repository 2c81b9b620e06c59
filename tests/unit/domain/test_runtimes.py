"""The runtime request body: each field's rule, secrets kept apart from what is stored."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.runtimes import RuntimeSpec
from chalicelib.errors import InvalidInput

GIT = {"url": "https://git.example.com/deploy.git", "revision": "main", "path": "envs/dev/"}
DEST = {"cluster": "prod", "namespaces": ["shop", "shop"]}


def test_git_source_with_credentials_and_sync() -> None:
    body = {
        "source": {"git": {**GIT, "username": "bot", "password": "s3cret-token"}},
        "destination": DEST,
        "sync": {"interval": "2m", "prune": True, "webhook_secret": "w" * 20},
    }
    spec, secrets = RuntimeSpec.from_json("dev", body)
    assert spec.git is not None and spec.git.path == "envs/dev"
    assert spec.destination.namespaces == ("shop",)
    assert (spec.sync.interval_s, spec.sync.prune) == (120, True)
    assert secrets.git == {"username": "bot", "password": "s3cret-token"} and secrets.webhook == "w" * 20
    stored = spec.to_json()
    assert "s3cret" not in str(stored)
    assert RuntimeSpec.from_stored(stored) == spec


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"source": {}, "destination": DEST}, "source"),
        ({"source": {"git": {**GIT, "url": "ftp://x"}}, "destination": DEST}, "source.git.url"),
        ({"source": {"git": {**GIT, "url": "https://u:p@h/x.git"}}, "destination": DEST}, "source.git.url"),
        ({"source": {"git": {**GIT, "path": "../up"}}, "destination": DEST}, "source.git.path"),
        ({"source": {"git": {**GIT, "revision": "--upload-pack=x"}}, "destination": DEST}, "source.git.revision"),
        ({"source": {"git": {**GIT, "username": "u"}}, "destination": DEST}, "source.git.password"),
        ({"source": {"inline": {}}, "destination": DEST}, "source.inline.releases"),
        ({"source": {"git": GIT}, "destination": {"cluster": "prod", "namespaces": []}}, "destination.namespaces"),
        ({"source": {"git": GIT}, "destination": {"cluster": "Bad_Name", "namespaces": ["a"]}}, "destination.cluster"),
        ({"source": {"git": GIT}, "destination": DEST, "sync": {"interval": 0}}, "sync.interval"),
        ({"source": {"git": GIT}, "destination": DEST, "sync": {"webhook_secret": "short"}}, "sync.webhook_secret"),
        ({"source": {"git": GIT}, "destination": DEST, "other": 1}, "other"),
    ],
)
def test_each_rule_names_its_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        RuntimeSpec.from_json("dev", body)
    assert err.value.field == field
