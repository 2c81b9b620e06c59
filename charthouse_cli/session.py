"""The session a command runs in: the settings in force for a parsed command line (flags > environment > context
> defaults, ``config.resolve``), the API client they give, and the ``Context`` every handler receives.

``main`` builds one per command; the completers build one per completion (with a short timeout); commands that
report the settings (``context show``) read them here. It imports nothing of ``main``, ``commands`` or
``completers`` (the ``charthouse_cli`` layers contract in pyproject.toml)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from . import config, output
from .auth import AuthOptions, NoAuth, resolve
from .errors import UsageError
from .http import ApiClient


@dataclass
class Context:
    """What a handler gets: the API client, the output format and the standard streams."""

    client: ApiClient
    output: str = "table"
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    tty: bool | None = None  # None: ask stderr
    settings: config.Settings | None = None  # what was resolved (flags > environment > context > defaults)

    def emit(self, data: Any, human: Callable[[Any], str]) -> None:
        output.emit(self.stdout, data, self.output, human)

    def note(self, text: str) -> None:
        """A remark for people (stderr), never mixed into machine-readable stdout."""
        self.stderr.write(text.rstrip("\n") + "\n")
        self.stderr.flush()


def settings(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> config.Settings:
    """The settings in force for ``args`` (flags > environment > context > defaults); fills in the cluster and
    namespace of a command that addresses a release (``add_target``) when no flag gave them."""
    flags = {k: getattr(args, k, None) for k in ("context", "endpoint", "token", "sigv4", "region")}
    for key in getattr(args, "target_defaults", ()):
        flags[key] = getattr(args, key, None)
    found = config.resolve(flags, os.environ if env is None else env)
    for key in getattr(args, "target_defaults", ()):
        if getattr(args, key, None) is None:
            setattr(args, key, getattr(found, key))
    return found


def client_for(found: config.Settings, timeout: float, env: Mapping[str, str] | None = None) -> ApiClient:
    """The API client of these settings: the endpoint checked, the auth chosen (token, SigV4 or none)."""
    endpoint = found.endpoint
    if not endpoint.startswith(("http://", "https://")):
        raise UsageError(f"--endpoint must be an http(s):// URL, got {endpoint!r}")
    if found.auth == "token" and not found.token:
        raise UsageError(f"context {found.context}: auth is token, but it has no token or token-file")
    if found.auth == "none" and not found.token and not found.sigv4:
        return ApiClient(endpoint, NoAuth(), timeout=timeout)
    options = AuthOptions(token=found.token, sigv4=found.sigv4, region=found.region)
    return ApiClient(endpoint, resolve(endpoint, options, env=env), timeout=timeout)


def make_context(args: argparse.Namespace, stdout: IO[str], stderr: IO[str], stdin: IO[str]) -> Context:
    """The context of a command that talks to the API."""
    found = settings(args)
    client = client_for(found, args.request_timeout)
    return Context(client=client, output=args.output, stdout=stdout, stderr=stderr, stdin=stdin, settings=found)


def offline_context(args: argparse.Namespace, stdout: IO[str], stderr: IO[str], stdin: IO[str]) -> Context:
    """The context of a command that talks to no API (``context``, ``completion``): no settings are resolved, so
    a broken configuration cannot stop the command that repairs it; its client is never used."""
    client = ApiClient(config.DEFAULT_ENDPOINT)
    return Context(client=client, output=args.output, stdout=stdout, stderr=stderr, stdin=stdin)
