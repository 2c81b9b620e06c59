"""The ``charthouse`` command: parse, build the session (``session.py``), run one handler, map errors to exit
codes. The top of the client: nothing in ``charthouse_cli`` imports it."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import IO

from . import __version__, completers
from .commands import (
    access,
    access_key,
    chart,
    cluster,
    completion,
    context,
    operation,
    release,
    repo,
    runtime,
)
from .commands.common import Formatter, positive_float
from .config import DEFAULT_ENDPOINT
from .errors import EXIT_CODES_HELP, INTERRUPTED, CliError, OperationFailed
from .output import FORMATS
from .session import make_context, offline_context

# The command modules, in the order of `charthouse --help`. A new command is one module in commands/ with a
# ``register(sub, parents)`` function, and one line here (and one in the import above).
COMMANDS = (
    release,
    cluster,
    repo,
    chart,
    operation,
    access,
    access_key,
    context,
    runtime,
    completion,
)
EXAMPLES = (
    f"""examples:
  charthouse cluster list
  charthouse release create web https://charts.example.com/web-1.0.0.tgz -n shop --create-namespace -f values.yaml
  charthouse release upgrade web https://charts.example.com/web-1.1.0.tgz -n shop --set replicas=3
  charthouse release list -A -o json
  charthouse release rollback web -n shop
  charthouse --endpoint https://abc123.execute-api.eu-west-1.amazonaws.com/api release list   # SigV4

environment (flags > environment > the context of the configuration file > defaults):
  CHARTHOUSE_ENDPOINT   API endpoint (default: {DEFAULT_ENDPOINT}, the local stack of `make run`)
  CHARTHOUSE_TOKEN      bearer token (else .local/token for a loopback endpoint, when present)
  CHARTHOUSE_CLUSTER    default cluster (default: local)
  CHARTHOUSE_NAMESPACE  default namespace (default: default)
  CHARTHOUSE_CONTEXT    the context to use (default: current-context of the configuration file)
  CHARTHOUSE_CONFIG     the configuration file (default: $XDG_CONFIG_HOME/charthouse/config.yaml)
  NO_COLOR              no colours in --watch
  AWS_PROFILE, AWS_REGION...   the AWS credential chain, for --sigv4

"""
    + EXIT_CODES_HELP
)


def _global_options(suppress: bool) -> argparse.ArgumentParser:
    """The connection and output options; on the root with defaults, on every command with none, so they
    can be given before or after the command (``charthouse -o json release list`` = ``... list -o json``)."""
    p = argparse.ArgumentParser(add_help=False)
    d = (lambda value: argparse.SUPPRESS) if suppress else (lambda value: value)
    g = p.add_argument_group("connection and output")
    context_option = g.add_argument(
        "--context",
        default=d(None),
        metavar="NAME",
        help="a context of the configuration file (env CHARTHOUSE_CONTEXT; default: its current-context)",
    )
    completers.attach(context_option, completers.contexts)
    g.add_argument(
        "--endpoint",
        default=d(None),
        metavar="URL",
        help=f"API endpoint (env CHARTHOUSE_ENDPOINT; else the context's; default {DEFAULT_ENDPOINT})",
    )
    g.add_argument("--token", default=d(None), help="bearer token (prefer env CHARTHOUSE_TOKEN: argv is visible)")
    g.add_argument(
        "--sigv4",
        action="store_true",
        default=d(False),
        help="sign requests with AWS SigV4 (automatic for execute-api hosts)",
    )
    g.add_argument("--region", default=d(None), help="AWS region for --sigv4 (default: from the host, env, profile)")
    g.add_argument("-o", "--output", choices=FORMATS, default=d("table"), help="output format (default: table)")
    g.add_argument(
        "--request-timeout",
        type=positive_float,
        default=d(60.0),
        metavar="SECONDS",
        help="timeout of one HTTP request (default: 60)",
    )
    return p


def build_parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="charthouse",
        description="Command-line client of the Charthouse Helm release service.",
        epilog=EXAMPLES,
        formatter_class=Formatter,
        parents=[_global_options(suppress=False)],
    )
    root.add_argument("--version", action="version", version=f"charthouse {__version__}")
    root.set_defaults(handler=None, group_parser=root, root_parser=root)
    sub = root.add_subparsers(title="commands", metavar="COMMAND")
    leaf_parents = [_global_options(suppress=True)]
    for module in COMMANDS:
        module.register(sub, leaf_parents)
    return root


def main(
    argv: Sequence[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    stdin: IO[str] | None = None,
) -> int:
    """Run one command; returns the exit code (see ``charthouse --help``)."""
    out, err, inp = stdout or sys.stdout, stderr or sys.stderr, stdin or sys.stdin
    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:  # a shell asks for completions (`charthouse completion SHELL`): answer, exit
        import argcomplete

        argcomplete.autocomplete(parser, always_complete_options=False)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help / --version (0) or a usage error (2)
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    if args.handler is None:
        args.group_parser.print_help(err)
        return 2
    if hasattr(args, "post"):
        args.post(args)
    try:
        build = offline_context if getattr(args, "offline", False) else make_context
        ctx = build(args, out, err, inp)
        return int(args.handler(ctx, args))
    except OperationFailed as exc:
        err.write(f"error: {exc.message}\n")
        return exc.exit_code
    except CliError as exc:
        err.write(f"error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        err.write("\ninterrupted: a submitted operation goes on; follow it with `charthouse operation list`\n")
        return INTERRUPTED
    except BrokenPipeError:  # `charthouse release list | head`
        return 0
