"""The ``charthouse`` command: parse, build the client, run one handler, map errors to exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import IO

from . import __version__
from .auth import AuthOptions, resolve
from .commands import access, access_key, chart, cluster, completion, operation, release, repo
from .commands.common import Context, Formatter, positive_float
from .errors import EXIT_CODES_HELP, INTERRUPTED, CliError, OperationFailed, UsageError
from .http import ApiClient
from .output import FORMATS

DEFAULT_ENDPOINT = "http://127.0.0.1:8000"
EXAMPLES = (
    f"""examples:
  charthouse cluster list
  charthouse release create web https://charts.example.com/web-1.0.0.tgz -n shop --create-namespace -f values.yaml
  charthouse release upgrade web https://charts.example.com/web-1.1.0.tgz -n shop --set replicas=3
  charthouse release list -A -o json
  charthouse release rollback web -n shop
  charthouse --endpoint https://abc123.execute-api.eu-west-1.amazonaws.com/api release list   # SigV4

environment:
  CHARTHOUSE_ENDPOINT   API endpoint (default: {DEFAULT_ENDPOINT}, the local stack of `make run`)
  CHARTHOUSE_TOKEN      bearer token (else .local/token for a loopback endpoint, when present)
  CHARTHOUSE_CLUSTER    default cluster (default: local)
  CHARTHOUSE_NAMESPACE  default namespace (default: default)
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
    g.add_argument(
        "--endpoint",
        default=d(None),
        metavar="URL",
        help=f"API endpoint (env CHARTHOUSE_ENDPOINT; default {DEFAULT_ENDPOINT})",
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
    for module in (release, cluster, repo, chart, operation, access, access_key, completion):
        module.register(sub, leaf_parents)
    return root


def make_context(args: argparse.Namespace, stdout: IO[str], stderr: IO[str], stdin: IO[str]) -> Context:
    endpoint = (args.endpoint or os.environ.get("CHARTHOUSE_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    if not endpoint.startswith(("http://", "https://")):
        raise UsageError(f"--endpoint must be an http(s):// URL, got {endpoint!r}")
    auth = resolve(endpoint, AuthOptions(token=args.token, sigv4=args.sigv4, region=args.region))
    client = ApiClient(endpoint, auth, timeout=args.request_timeout)
    return Context(client=client, output=args.output, stdout=stdout, stderr=stderr, stdin=stdin)


def main(
    argv: Sequence[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    stdin: IO[str] | None = None,
) -> int:
    """Run one command; returns the exit code (see ``charthouse --help``)."""
    out, err, inp = stdout or sys.stdout, stderr or sys.stderr, stdin or sys.stdin
    parser = build_parser()
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
        ctx = make_context(args, out, err, inp)
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
