"""What the command modules share: the handler signature, common options, running a mutation. (The context a
handler runs in is ``session.Context``, re-exported here for the command modules.)"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from .. import completers, diagnosis, output, waiting
from ..completers import attach
from ..errors import OperationFailed, UsageError
from ..http import Reply, path
from ..session import Context as Context  # re-exported: the command modules take it from here

DEFAULT_WAIT_TIMEOUT_S = 900.0
MAX_PREFER_WAIT_S = 20  # asked of the server per request (it allows 25: API Gateway answers within 29 s)


Handler = Callable[[Context, argparse.Namespace], int]


class Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)


def command(
    sub: Any,
    name: str,
    handler: Handler,
    help_text: str,
    examples: str,
    parents: list[argparse.ArgumentParser],
    aliases: tuple[str, ...] = (),
    offline: bool = False,
    conflict_handler: str = "error",
) -> argparse.ArgumentParser:
    """A leaf command with its handler, help, examples (epilog) and the common options. An ``offline`` command
    talks to no API: its handler gets a context whose client is never used, and no settings are resolved."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog="examples:\n" + examples.strip("\n"),
        formatter_class=Formatter,
        parents=parents,
        aliases=list(aliases),
        conflict_handler=conflict_handler,  # "resolve": the command's own option replaces a common one
    )
    parser.set_defaults(handler=handler, offline=offline)
    return parser


def group(sub: Any, name: str, help_text: str, examples: str, aliases: tuple[str, ...] = ()) -> Any:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog="examples:\n" + examples.strip("\n"),
        formatter_class=Formatter,
        aliases=list(aliases),
    )
    parser.set_defaults(handler=None, group_parser=parser)
    return parser.add_subparsers(title="commands", metavar="COMMAND")


def add_target(parser: argparse.ArgumentParser, namespace_default: bool = True) -> None:
    """``-c/--cluster`` and ``-n/--namespace``; when not given, ``main`` fills them in from the environment, the
    context, then the defaults (``local``, ``default``). With ``namespace_default=False`` (``release list``) no
    namespace means every namespace."""
    cluster_help = "cluster name (env CHARTHOUSE_CLUSTER, else the context's; default: local)"
    attach(parser.add_argument("-c", "--cluster", help=cluster_help), completers.clusters)
    if namespace_default:
        namespace_help = "namespace (env CHARTHOUSE_NAMESPACE, else the context's; default: default)"
        attach(parser.add_argument("-n", "--namespace", help=namespace_help), completers.namespaces)
        parser.set_defaults(target_defaults=("cluster", "namespace"))
    else:
        attach(parser.add_argument("-n", "--namespace", help="only this namespace"), completers.namespaces)
        parser.set_defaults(target_defaults=("cluster",))


def add_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-wait", action="store_true", help="print the accepted operation and return at once (do not wait for it)"
    )
    parser.add_argument(
        "--wait-timeout",
        type=positive_float,
        default=DEFAULT_WAIT_TIMEOUT_S,
        metavar="SECONDS",
        help="give up waiting after this long (default: %(default).0f); the operation goes on",
    )


def add_watch(parser: argparse.ArgumentParser) -> None:
    """``-w/--watch`` and ``--interval`` (``watch.py``)."""
    parser.add_argument(
        "-w", "--watch", action="store_true", help="show it again as it changes, until Ctrl-C (NO_COLOR honoured)"
    )
    parser.add_argument(
        "--interval",
        type=positive_float,
        default=2.0,
        metavar="SECONDS",
        help="with --watch: seconds between polls (default: %(default).0f, at least 1)",
    )


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def timeout_value(text: str) -> int | str:
    """helm-style timeout: seconds (``300``) or a duration (``5m30s``), passed to the API as given."""
    return int(text) if text.isdigit() else text


def release_path(args: argparse.Namespace, *more: str) -> str:
    return path("v1", "clusters", args.cluster, "namespaces", args.namespace, "releases", args.name, *more)


def read_secret(source: str, what: str, stdin: IO[str]) -> str:
    """A secret from a file, or from stdin with ``-``. Error messages name the file, never the content."""
    if source == "-":
        text = stdin.read()
    else:
        try:
            text = Path(source).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {what} from {source}: {getattr(exc, 'strerror', None) or exc}") from None
    if not text.strip():
        raise UsageError(f"{what} from {'stdin' if source == '-' else source} is empty")
    return text


def operation_human(op: dict[str, Any]) -> str:
    rel = op.get("release") or {}
    result = op.get("result") or {}
    error = op.get("error") or {}
    text = output.fields(
        [
            ("OPERATION", op.get("id")),
            ("ACTION", op.get("action")),
            ("STATUS", waiting.state(op)),
            ("RELEASE", "/".join(str(rel.get(k, "")) for k in ("cluster", "namespace", "name"))),
            ("REVISION", result.get("revision")),
            ("CREATED", output.short_time(op.get("created_at"))),
            ("FINISHED", output.short_time(op.get("finished_at"))),
            ("ERROR", f"{error.get('code')}: {error.get('message')}" if error else None),
        ]
    )
    diag = (error.get("details") or {}).get("diagnosis")
    if isinstance(diag, dict):  # why it failed, read from the cluster (charthouse_cli/diagnosis.py)
        text += diagnosis.diagnosis_text(diag)
    elif op.get("status") == "running" and isinstance(op.get("progress"), dict):
        text += diagnosis.progress_text(op["progress"])
    tests = result.get("tests") or (error.get("details") or {}).get("tests")
    if tests:  # helm test: one line per test Pod
        text += "\n" + output.table(
            ["TEST", "KIND", "PHASE"], [[t.get("name"), t.get("kind"), t.get("phase")] for t in tests]
        )
    return text


def dry_run_human(data: dict[str, Any]) -> str:
    text = str(data.get("manifest") or "")
    if data.get("notes"):
        text += "\nNOTES:\n" + str(data["notes"])
    return text if text.endswith("\n") else text + "\n"


def submit(
    ctx: Context,
    args: argparse.Namespace,
    method: str,
    url_path: str,
    body: dict[str, Any] | None,
    query: dict[str, object] | None = None,
) -> int:
    """Send a mutation with a fresh Idempotency-Key, then wait for its operation unless ``--no-wait``.

    When it waits, it asks the server to answer once the operation ended (``Prefer: wait``): a quick operation
    takes one round trip; a longer one is polled as before. A dry run (200) prints what helm rendered. Exit 0
    when the operation succeeded (or was accepted with --no-wait); :class:`OperationFailed` (exit 1) when it
    failed."""
    started = time.monotonic()
    no_wait = bool(getattr(args, "no_wait", False))
    prefer = None if no_wait else f"wait={max(1, min(MAX_PREFER_WAIT_S, int(args.wait_timeout)))}"
    reply: Reply = ctx.client.call(
        method, url_path, body=body, query=query, idempotency_key=str(uuid.uuid4()), prefer=prefer
    )
    data = reply.data if isinstance(reply.data, dict) else {}
    if reply.status == 200 and "dry_run" in data:
        ctx.emit(data, dry_run_human)
        return 0
    if no_wait:
        ctx.emit(data, operation_human)
        return 0
    progress = waiting.Progress(ctx.stderr, ctx.tty)
    if data.get("status") in waiting.TERMINAL:  # answered once it ended: report it as the polling would
        progress.update(data, time.monotonic() - started)
        progress.finish()
        op = data
    else:
        op = waiting.wait(ctx.client, data, args.wait_timeout, progress)
    ctx.emit(op, operation_human)
    if op.get("status") == "failed":
        raise OperationFailed(diagnosis.failure(op), op)
    return 0


def set_if(body: dict[str, Any], **fields: object) -> dict[str, Any]:
    """Add the fields that were given (not None, not False) to ``body``."""
    for key, value in fields.items():
        if value is not None and value is not False:
            body[key] = value
    return body
