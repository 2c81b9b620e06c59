"""The session of a command: settings resolved from the parsed command line (flags > environment > context >
defaults, cluster and namespace filled in), the API client they give (endpoint checked, auth chosen), and the
context a handler receives."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from charthouse_cli import config
from charthouse_cli.auth import BearerAuth, NoAuth, SigV4Auth
from charthouse_cli.errors import UsageError
from charthouse_cli.main import build_parser
from charthouse_cli.session import Context, client_for, make_context, offline_context, settings


def _settings(**changes: object) -> config.Settings:
    base: dict[str, object] = {
        "endpoint": "https://ch.example.com",
        "token": None,
        "sigv4": False,
        "auth": "auto",
        "region": None,
        "cluster": "local",
        "namespace": "default",
        "context": None,
        "sources": {},
    }
    return config.Settings(**{**base, **changes})  # type: ignore[arg-type]


def _write_config(own_config: Path, text: str) -> None:
    (own_config / "charthouse").mkdir(parents=True, exist_ok=True)
    (own_config / "charthouse" / "config.yaml").write_text(text)


def test_a_flag_beats_the_environment_which_beats_the_context(own_config: Path) -> None:
    _write_config(
        own_config,
        "current-context: prod\ncontexts:\n  prod:\n    endpoint: https://prod.example.com\n    cluster: c-prod\n"
        "    namespace: shop\n",
    )
    args = build_parser().parse_args(["release", "show", "web", "-n", "flagged"])
    found = settings(args, env={"XDG_CONFIG_HOME": str(own_config), "CHARTHOUSE_CLUSTER": "from-env"})
    assert (args.cluster, args.namespace) == ("from-env", "flagged")  # filled in on the namespace too
    assert found.endpoint == "https://prod.example.com" and found.context == "prod"
    assert found.sources["cluster"] == "env CHARTHOUSE_CLUSTER" and found.sources["namespace"] == "flag"
    assert found.sources["endpoint"] == "context prod"


def test_only_commands_that_address_a_release_get_a_cluster_and_namespace() -> None:
    args = build_parser().parse_args(["cluster", "list"])
    settings(args, env={"CHARTHOUSE_CLUSTER": "prod"})
    assert not hasattr(args, "namespace")
    listing = build_parser().parse_args(["release", "list"])
    settings(listing, env={})
    assert listing.cluster == "local" and listing.namespace is None  # no namespace: every namespace


def test_settings_of_an_empty_namespace_object() -> None:
    found = settings(argparse.Namespace(), env={"CHARTHOUSE_ENDPOINT": "http://10.0.0.1:9"})
    assert found.endpoint == "http://10.0.0.1:9" and found.cluster == "local" and found.namespace == "default"


@pytest.mark.parametrize(
    ("changes", "auth"),
    [
        ({"token": "cht_abc"}, BearerAuth),
        ({"auth": "none"}, NoAuth),
        ({"sigv4": True, "region": "eu-west-1"}, SigV4Auth),
        ({"endpoint": "https://abc123.execute-api.eu-west-1.amazonaws.com/api"}, SigV4Auth),  # automatic for API GW
        ({}, NoAuth),
    ],
)
def test_the_client_authenticates_as_the_settings_say(changes: dict[str, object], auth: type) -> None:
    client = client_for(_settings(**changes), 7.5, env={})
    assert type(client.auth) is auth and client.timeout == 7.5
    assert client.endpoint == str(changes.get("endpoint", "https://ch.example.com"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"endpoint": "ch.example.com"}, "--endpoint must be an http(s):// URL"),
        ({"endpoint": "ftp://ch.example.com"}, "--endpoint must be an http(s):// URL"),
        ({"auth": "token", "context": "staging"}, "context staging: auth is token, but it has no token"),
    ],
)
def test_settings_that_cannot_make_a_client_are_usage_errors(changes: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        client_for(_settings(**changes), 5, env={})


def test_make_context_carries_the_settings_and_the_streams(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .local/token from the work tree
    monkeypatch.setenv("CHARTHOUSE_TOKEN", "cht_from_env")
    args = build_parser().parse_args(["-o", "json", "--request-timeout", "3", "release", "list"])
    out, err, inp = io.StringIO(), io.StringIO(), io.StringIO()
    ctx = make_context(args, out, err, inp)
    assert ctx.output == "json" and ctx.client.timeout == 3 and type(ctx.client.auth) is BearerAuth
    assert ctx.settings is not None and ctx.settings.sources["token"] == "env CHARTHOUSE_TOKEN"
    assert (ctx.stdout, ctx.stderr, ctx.stdin) == (out, err, inp)


def test_an_offline_context_resolves_nothing(own_config: Path) -> None:
    _write_config(own_config, "current-context: gone\ncontexts: {}\n")  # a broken file: `context set` repairs it
    args = build_parser().parse_args(["context", "list"])
    with pytest.raises(UsageError):
        settings(args)
    ctx = offline_context(args, io.StringIO(), io.StringIO(), io.StringIO())
    assert ctx.settings is None and ctx.client.endpoint == config.DEFAULT_ENDPOINT


def test_emit_goes_to_stdout_and_notes_to_stderr() -> None:
    out, err = io.StringIO(), io.StringIO()
    ctx = Context(client=client_for(_settings(), 1, env={}), output="json", stdout=out, stderr=err)
    ctx.emit({"a": 1}, lambda d: "human")
    ctx.note("done\n\n")
    assert out.getvalue().strip() == '{\n  "a": 1\n}' and err.getvalue() == "done\n"
