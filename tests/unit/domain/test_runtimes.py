"""The runtime request body: each field's rule, secrets kept apart from what is stored."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from chalicelib.domain import runtimes
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


# ---------------------------------------------------------------- the published body is the parsed body


ACCEPTED_BODIES = [
    {"source": {"git": GIT}, "destination": DEST},
    # a registered Git repository: accepted by the parser, and (since the body is one table) published too
    {"source": {"git": {"repository": "deploy", "revision": "v1"}}, "destination": DEST, "sync": {"interval": 60}},
    {
        "source": {"inline": {"releases": [{"name": "web", "chart": "repo/web", "values": [{"a": 1}]}]}},
        "destination": DEST,
        "sync": {"prune": True, "drift_correction": True, "suspend": False, "webhook_secret": "w" * 16},
    },
]


@pytest.mark.parametrize("body", ACCEPTED_BODIES)
def test_what_the_parser_accepts_the_schema_accepts(body: dict[str, Any]) -> None:
    RuntimeSpec.from_json("dev", body)
    jsonschema.validate(body, runtimes.RUNTIME_BODY.schema())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"source": {"git": GIT}, "destination": DEST, "extra": 1}, "extra"),
        ({"source": {"git": {**GIT, "branch": "x"}}, "destination": DEST}, "source.git.branch"),
        ({"source": {"git": GIT, "other": {}}, "destination": DEST}, "source.other"),
        ({"source": {"git": GIT}, "destination": {**DEST, "server": "x"}}, "destination.server"),
        ({"source": {"git": GIT}, "destination": DEST, "sync": {"every": "1m"}}, "sync.every"),
        ({"source": {"inline": {"releases": [], "x": 1}}, "destination": DEST}, "source.inline.x"),
    ],
)
def test_what_the_schema_refuses_the_parser_refuses_naming_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body, runtimes.RUNTIME_BODY.schema())
    with pytest.raises(InvalidInput) as err:
        RuntimeSpec.from_json("dev", body)
    assert err.value.field == field


def test_a_git_repository_body_is_one_table() -> None:
    body = {"url": "https://git.example.com/deploy.git", "username": "bot", "password": "p", "description": "d"}
    runtimes.GitRepositorySpec.from_json("deploy", body)
    jsonschema.validate(body, runtimes.GIT_REPOSITORY_BODY.schema())
    with pytest.raises(InvalidInput) as err:
        runtimes.GitRepositorySpec.from_json("deploy", {**body, "token": "x"})
    assert err.value.field == "token"
