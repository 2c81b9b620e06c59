"""The configuration file: contexts, and flags > environment > context > defaults for every setting."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from charthouse_cli.config import ConfigFile, config_path, resolve
from charthouse_cli.errors import UsageError
from tests.unit.cli.fakeapi import FakeApi, run

CONFIG = {
    "current-context": "prod",
    "contexts": {
        "prod": {
            "endpoint": "https://prod.example.com",
            "cluster": "eks1",
            "namespace": "shop",
            "auth": "token",
            "token": "ctx-token",
        },
        "signed": {"endpoint": "https://abc.execute-api.eu-west-1.amazonaws.com/api", "auth": "sigv4"},
    },
}


def cfg(tmp_path: Path) -> ConfigFile:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    return ConfigFile.load(path)


def test_xdg_config_home_and_charthouse_config() -> None:
    assert config_path({"XDG_CONFIG_HOME": "/x"}) == Path("/x/charthouse/config.yaml")
    assert config_path({"HOME": "/home/u"}) == Path("/home/u/.config/charthouse/config.yaml")
    assert config_path({"CHARTHOUSE_CONFIG": "/etc/ch.yaml", "XDG_CONFIG_HOME": "/x"}) == Path("/etc/ch.yaml")


def test_precedence_flag_env_context_default(tmp_path: Path) -> None:
    c = cfg(tmp_path)
    # the context alone
    s = resolve({}, {}, c)
    assert (s.endpoint, s.cluster, s.namespace, s.token, s.context) == (
        "https://prod.example.com",
        "eks1",
        "shop",
        "ctx-token",
        "prod",
    )
    assert s.sources["cluster"] == "context prod"
    # the environment beats the context
    env = {"CHARTHOUSE_CLUSTER": "envc", "CHARTHOUSE_ENDPOINT": "http://env:1", "CHARTHOUSE_TOKEN": "env-token"}
    s = resolve({}, env, c)
    assert (s.endpoint, s.cluster, s.namespace, s.token) == ("http://env:1", "envc", "shop", "env-token")
    assert s.sources["cluster"] == "env CHARTHOUSE_CLUSTER"
    # flags beat both
    s = resolve({"cluster": "flagc", "endpoint": "http://flag:2", "token": "flag-token"}, env, c)
    assert (s.endpoint, s.cluster, s.token, s.sources["endpoint"]) == ("http://flag:2", "flagc", "flag-token", "flag")
    # no context: the defaults
    s = resolve({}, {}, ConfigFile(tmp_path / "none.yaml"))
    assert (s.endpoint, s.cluster, s.namespace, s.token, s.context) == (
        "http://127.0.0.1:8000",
        "local",
        "default",
        None,
        None,
    )


def test_choosing_the_context_and_its_auth(tmp_path: Path) -> None:
    c = cfg(tmp_path)
    assert resolve({}, {"CHARTHOUSE_CONTEXT": "signed"}, c).sigv4 is True
    assert resolve({"context": "prod"}, {"CHARTHOUSE_CONTEXT": "signed"}, c).context == "prod"  # flag > env
    assert resolve({"context": "signed"}, {"CHARTHOUSE_TOKEN": "t"}, c).sigv4 is False  # an env token wins
    signed = resolve({"sigv4": True}, {"CHARTHOUSE_TOKEN": "t"}, c)  # --sigv4 beats the environment's token
    assert (signed.sigv4, signed.token) == (True, None)
    with pytest.raises(UsageError, match="no context 'nope'.*prod, signed"):
        resolve({"context": "nope"}, {}, c)


def test_bad_files_name_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("contexts:\n  a: {endpoint: x, colour: red}\n")
    with pytest.raises(UsageError, match="unknown keys colour"):
        ConfigFile.load(path)
    path.write_text("contexts: [1]\n")
    with pytest.raises(UsageError, match="mapping"):
        ConfigFile.load(path)


def test_context_commands_and_precedence_through_the_cli(fake: FakeApi, own_config: Path) -> None:
    fake.on("GET", "/v1/clusters/eks1/namespaces/shop/releases/web", (200, {"name": "web"}))
    fake.on("GET", "/v1/clusters/other/namespaces/shop/releases/web", (200, {"name": "web"}))
    code, _, err = run(
        None,
        "context",
        "set",
        "dev",
        "--endpoint",
        fake.url,
        "-c",
        "eks1",
        "-n",
        "shop",
        "--token-stdin",
        stdin="cht_secret\n",
    )
    assert code == 0 and "context dev added" in err and "current context: dev" in err
    file = own_config / "charthouse" / "config.yaml"
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert run(None, "release", "show", "web")[0] == 0  # endpoint, token, cluster, namespace from the context
    request = fake.requests[-1]
    assert request["path"] == "/v1/clusters/eks1/namespaces/shop/releases/web"
    assert request["headers"]["Authorization"] == "Bearer cht_secret"
    assert run(None, "release", "show", "web", "-c", "other")[0] == 0
    assert fake.requests[-1]["path"].startswith("/v1/clusters/other/")
    code, out, _ = run(None, "context", "list")
    assert code == 0 and "dev" in out and fake.url in out and "cht_secret" not in out
    code, out, _ = run(None, "context", "show", "dev")
    assert "***" in out and "cht_secret" not in out
    code, out, _ = run(None, "context", "show")
    assert "context dev" in out and "eks1" in out
    run(None, "context", "set", "other", "--endpoint", "http://127.0.0.1:1")
    assert run(None, "context", "use", "other")[0] == 0
    assert "current-context: other" in file.read_text()
    assert run(None, "context", "use", "missing")[0] == 2
    assert run(None, "context", "delete", "other")[0] == 0
