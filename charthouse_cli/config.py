"""The configuration file and its named contexts, and the one place where every setting is resolved.

``$XDG_CONFIG_HOME/charthouse/config.yaml`` (``~/.config/charthouse/config.yaml`` by default; ``CHARTHOUSE_CONFIG``
names another file)::

    current-context: prod
    contexts:
      local:
        endpoint: http://127.0.0.1:8000
      prod:
        endpoint: https://abc123.execute-api.eu-west-1.amazonaws.com/api
        auth: sigv4              # auto (default) | token | sigv4 | none
        region: eu-west-1
        cluster: prod
        namespace: shop
      staging:
        endpoint: https://charthouse.staging.example.com
        auth: token
        token-file: ~/.config/charthouse/staging.token   # or token: cht_... (the file is kept 0600)

Every setting is taken from the first of: the flag (``--endpoint``, ``--token``, ``--sigv4``, ``--region``,
``-c/--cluster``, ``-n/--namespace``), the environment (``CHARTHOUSE_ENDPOINT``, ``CHARTHOUSE_TOKEN``,
``CHARTHOUSE_CLUSTER``, ``CHARTHOUSE_NAMESPACE``), the context (``--context``, else ``CHARTHOUSE_CONTEXT``, else
``current-context``), the defaults (``http://127.0.0.1:8000``, cluster ``local``, namespace ``default``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import UsageError

DEFAULT_ENDPOINT = "http://127.0.0.1:8000"
DEFAULT_CLUSTER = "local"
DEFAULT_NAMESPACE = "default"
AUTH_METHODS = ("auto", "token", "sigv4", "none")
KEYS = ("endpoint", "auth", "token", "token-file", "region", "cluster", "namespace")
SECRET_KEYS = ("token",)


def config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("CHARTHOUSE_CONFIG"):
        return Path(env["CHARTHOUSE_CONFIG"]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base).expanduser() / "charthouse" / "config.yaml"


class ConfigFile:
    """The file's ``current-context`` and ``contexts``; absent file = no contexts."""

    def __init__(self, path: Path, data: dict[str, Any] | None = None) -> None:
        self.path = path
        data = data or {}
        self.current: str | None = data.get("current-context") or None
        contexts = data.get("contexts") or {}
        self.contexts: dict[str, dict[str, Any]] = {str(k): dict(v or {}) for k, v in contexts.items()}

    @classmethod
    def load(cls, path: Path) -> ConfigFile:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path)
        except OSError as exc:
            raise UsageError(f"cannot read the configuration {path}: {exc.strerror}") from None
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise UsageError(f"the configuration {path} is not valid YAML: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("contexts") or {}, dict):
            raise UsageError(f"the configuration {path} must be a mapping with `contexts:` a mapping of names")
        for name, ctx in (data.get("contexts") or {}).items():
            if not isinstance(ctx, dict | type(None)):
                raise UsageError(f"{path}: context {name!r} must be a mapping")
            unknown = sorted(set(ctx or {}) - set(KEYS))
            if unknown:
                raise UsageError(
                    f"{path}: context {name!r}: unknown keys {', '.join(unknown)} (known: {', '.join(KEYS)})"
                )
            auth = (ctx or {}).get("auth")
            if auth is not None and auth not in AUTH_METHODS:
                raise UsageError(f"{path}: context {name!r}: auth must be one of {', '.join(AUTH_METHODS)}")
        return cls(path, data)

    def save(self) -> None:
        """Written whole, atomically, readable by its owner only (a context may hold a token)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data: dict[str, Any] = {}
        if self.current:
            data["current-context"] = self.current
        data["contexts"] = self.contexts
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".config-", suffix=".yaml")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                yaml.safe_dump(data, out, sort_keys=False, default_flow_style=False)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def context(self, name: str) -> dict[str, Any]:
        if name not in self.contexts:
            known = ", ".join(sorted(self.contexts)) or "none yet: `charthouse context set NAME --endpoint URL`"
            raise UsageError(f"no context {name!r} in {self.path} (contexts: {known})")
        return self.contexts[name]


@dataclass(frozen=True)
class Settings:
    """What a command runs with, each value from the first place that has it."""

    endpoint: str
    token: str | None  # an explicit bearer token (flag, environment, or the context)
    sigv4: bool
    auth: str  # auto | token | sigv4 | none
    region: str | None
    cluster: str
    namespace: str
    context: str | None  # the context in use, if any
    sources: dict[str, str]  # setting -> flag | env | context NAME | default


def _read_token_file(value: str, context: str) -> str:
    file = Path(value).expanduser()
    try:
        return file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise UsageError(f"context {context}: cannot read token-file {value}: {exc.strerror}") from None


def resolve(
    flags: Mapping[str, Any], env: Mapping[str, str] | None = None, config: ConfigFile | None = None
) -> Settings:
    """flags > environment > context > defaults, for each setting on its own.

    ``flags`` holds what was given on the command line (None when absent): context, endpoint, token, sigv4,
    region, cluster, namespace."""
    env = os.environ if env is None else env
    config = config if config is not None else ConfigFile.load(config_path(env))
    name = flags.get("context") or env.get("CHARTHOUSE_CONTEXT") or config.current
    ctx = config.context(name) if name else {}
    where = f"context {name}"
    sources: dict[str, str] = {}

    def pick(key: str, env_var: str | None, ctx_key: str, default: Any) -> Any:
        if flags.get(key) not in (None, False, ""):
            sources[key] = "flag"
            return flags[key]
        if env_var and env.get(env_var):
            sources[key] = f"env {env_var}"
            return env[env_var]
        if ctx.get(ctx_key) not in (None, ""):
            sources[key] = where
            return ctx[ctx_key]
        sources[key] = "default"
        return default

    endpoint = str(pick("endpoint", "CHARTHOUSE_ENDPOINT", "endpoint", DEFAULT_ENDPOINT)).rstrip("/")
    token = pick("token", "CHARTHOUSE_TOKEN", "token", None)
    if token is None and ctx.get("token-file"):
        token = _read_token_file(str(ctx["token-file"]), str(name))
        sources["token"] = where
    auth = str(ctx.get("auth") or "auto")
    sigv4 = bool(flags.get("sigv4"))
    if not sigv4 and auth == "sigv4" and sources.get("token") in ("default", where):
        sigv4 = True  # the context asks for SigV4, and no flag or environment token overrides it
    if auth == "none" and sources.get("token") == where:
        token = None
    if sigv4 and sources.get("token") != "flag":
        token = None  # SigV4 signs; a token from the environment or the context is not sent (--token is refused)
    return Settings(
        endpoint=endpoint,
        token=str(token) if token else None,
        sigv4=sigv4,
        auth=auth,
        region=pick("region", None, "region", None),
        cluster=str(pick("cluster", "CHARTHOUSE_CLUSTER", "cluster", DEFAULT_CLUSTER)),
        namespace=str(pick("namespace", "CHARTHOUSE_NAMESPACE", "namespace", DEFAULT_NAMESPACE)),
        context=name,
        sources=sources,
    )


def shown(ctx: Mapping[str, Any]) -> dict[str, Any]:
    """A context for printing: a token is masked."""
    return {k: ("***" if k in SECRET_KEYS and v else v) for k, v in ctx.items()}
