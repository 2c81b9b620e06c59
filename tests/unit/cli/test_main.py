"""Argument parsing: global options anywhere, options in order, aliases and environment defaults, usage errors,
help with examples on every command."""

from __future__ import annotations

import pytest

from charthouse_cli.main import build_parser, main
from charthouse_cli.session import settings
from tests.unit.cli.fakeapi import FakeApi, run


def test_global_options_go_before_or_after_the_command() -> None:
    parser = build_parser()
    a = parser.parse_args(["-o", "json", "--endpoint", "http://x:1", "release", "list"])
    b = parser.parse_args(["release", "list", "-o", "json", "--endpoint", "http://x:1"])
    assert (a.output, a.endpoint) == (b.output, b.endpoint) == ("json", "http://x:1")
    assert parser.parse_args(["release", "list"]).output == "table"


def test_release_create_options_are_parsed_in_order() -> None:
    args = build_parser().parse_args(
        [
            "release",
            "create",
            "web",
            "repo/web",
            "-n",
            "shop",
            "-c",
            "prod",
            "-f",
            "a.yaml",
            "--values",
            "b.yaml",
            "--set",
            "x=1",
            "--set",
            "y=2",
            "--set-string",
            "z=007",
            "--set-json",
            'j={"a":1}',
            "--label",
            "team=x",
            "--timeout",
            "5m",
            "--dry-run",
        ]
    )
    assert args.positional == ["web", "repo/web"]
    assert (args.cluster, args.namespace) == ("prod", "shop")
    assert args.values_files == ["a.yaml", "b.yaml"]
    assert args.set_values == ["x=1", "y=2"] and args.set_string == ["z=007"] and args.set_json == ['j={"a":1}']
    assert args.label == [("team", "x")] and args.timeout == "5m" and args.dry_run is True
    assert args.no_wait is False and args.wait_timeout == 900


def test_aliases_and_defaults_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHARTHOUSE_CLUSTER", "prod")
    monkeypatch.setenv("CHARTHOUSE_NAMESPACE", "shop")
    args = build_parser().parse_args(["rel", "uninstall", "web", "--keep-history"])
    settings(args)  # flags > environment > context > defaults
    assert (args.cluster, args.namespace, args.name, args.keep_history) == ("prod", "shop", "web", True)


@pytest.mark.parametrize(
    "argv",
    [
        ["release", "create", "only-one"],  # NAME CHART needed
        ["release", "create", "a", "b", "c"],
        ["release", "show"],  # NAME missing
        ["release", "list", "--status", "bogus"],
        ["release", "rollback", "web", "zero"],
        ["release", "frobnicate"],
        ["-o", "xml", "cluster", "list"],
        ["release"],  # a group without a command
        ["cluster", "add", "x"],  # no credentials
        ["cluster", "add", "x", "--kubeconfig", "k", "--server", "https://s"],
    ],
)
def test_usage_errors_exit_2(fake: FakeApi, argv: list[str]) -> None:
    code, out, err = run(fake, *argv)
    assert code == 2, (out, err)
    assert fake.requests == []


def test_help_on_every_command_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    commands = [
        ["release", c] for c in ("create", "list", "show", "upgrade", "history", "rollback", "delete", "unlock")
    ]
    commands += [["cluster", c] for c in ("add", "list", "show", "delete")]
    commands += [["repo", c] for c in ("add", "list", "refresh", "delete")]
    commands += [["chart", c] for c in ("search", "show", "upload", "push")]
    commands += [["context", c] for c in ("list", "show", "use", "set", "delete")]
    commands += [["operation", c] for c in ("show", "list", "wait")] + [["completion"]]
    for argv in [*commands, []]:
        assert main([*argv, "--help"]) == 0
        text = capsys.readouterr().out
        assert "examples:" in text and "charthouse" in text, argv
    assert main(["--help"]) == 0
    assert "exit codes:" in capsys.readouterr().out
