"""``charthouse operation show|list|wait``."""

from __future__ import annotations

import argparse
from typing import Any

from .. import completers, diagnosis, output, waiting, watch
from ..completers import attach
from ..errors import OperationFailed
from ..http import path
from .common import (
    DEFAULT_WAIT_TIMEOUT_S,
    Context,
    add_watch,
    command,
    group,
    operation_human,
    positive_float,
    positive_int,
)


def show(ctx: Context, args: argparse.Namespace) -> int:
    url = path("v1", "operations", args.id)
    if args.watch:  # its progress while it runs, its diagnosis once it failed
        return watch.watch(
            ctx, lambda: ctx.client.get(url), operation_human, f"charthouse operation show {args.id}", args.interval
        )
    ctx.emit(ctx.client.get(url), operation_human)
    return 0


def _list_human(data: dict[str, Any]) -> str:
    rows = []
    for op in data.get("operations", []):
        rel = op.get("release") or {}
        error = op.get("error") or {}
        rows.append(
            (
                op.get("id"),
                op.get("action"),
                op.get("status"),
                "/".join(str(rel.get(k, "")) for k in ("cluster", "namespace", "name")),
                output.short_time(op.get("created_at")),
                output.short_time(op.get("finished_at")),
                error.get("code"),
            )
        )
    return output.table(("ID", "ACTION", "STATUS", "RELEASE", "CREATED", "FINISHED", "ERROR"), rows)


def list_(ctx: Context, args: argparse.Namespace) -> int:
    query: dict[str, object] = {
        "cluster": args.cluster,
        "namespace": args.namespace,
        "release": args.release,
        "status": args.status,
        "action": args.action,
        "limit": args.limit,
        "next_token": args.next_token,
    }
    if args.watch:
        shown = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in query.items() if v is not None)
        title = f"charthouse operation list {shown}".rstrip()
        return watch.watch(
            ctx, lambda: ctx.client.get(path("v1", "operations"), query), _list_human, title, args.interval
        )
    data = ctx.client.get(path("v1", "operations"), query)
    ctx.emit(data, _list_human)
    if ctx.output == "table" and data.get("next_token"):
        ctx.note(f"(more: add --next-token {data['next_token']})")
    return 0


def wait(ctx: Context, args: argparse.Namespace) -> int:
    op = ctx.client.get(path("v1", "operations", args.id))
    op = waiting.wait(ctx.client, op, args.wait_timeout, waiting.Progress(ctx.stderr, ctx.tty))
    ctx.emit(op, operation_human)
    if op.get("status") == "failed":
        raise OperationFailed(diagnosis.failure(op), op)
    return 0


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    ops = group(
        sub,
        "operation",
        "follow the operations that mutating calls start",
        """
  charthouse operation list --release web
  charthouse operation wait op-0123...
""",
        aliases=("operations", "op"),
    )

    p = command(
        ops,
        "show",
        show,
        "one operation: status, result or error",
        """
  charthouse operation show op-0123abcd -o json
  charthouse operation show op-0123abcd --watch    # progress while helm waits, the diagnosis if it fails
""",
        parents,
        aliases=("get",),
    )
    attach(p.add_argument("id", metavar="ID"), completers.operations)
    add_watch(p)

    p = command(
        ops,
        "list",
        list_,
        "operations, newest first",
        """
  charthouse operation list
  charthouse operation list --cluster local --release web --status failed
  charthouse operation list --watch           # redrawn as operations start and end, until Ctrl-C
""",
        parents,
        aliases=("ls",),
    )
    attach(p.add_argument("--cluster"), completers.clusters)
    attach(p.add_argument("-n", "--namespace"), completers.namespaces)
    attach(p.add_argument("--release"), completers.releases)
    p.add_argument("--status", choices=["queued", "running", "succeeded", "failed"])
    p.add_argument("--action", choices=["install", "upgrade", "rollback", "uninstall", "unlock"])
    p.add_argument("--limit", type=positive_int)
    p.add_argument("--next-token")
    add_watch(p)

    p = command(
        ops,
        "wait",
        wait,
        "wait until an operation ends; exit 1 if it failed",
        """
  charthouse operation wait op-0123abcd
  charthouse operation wait op-0123abcd --wait-timeout 60 -o json
""",
        parents,
    )
    attach(p.add_argument("id", metavar="ID"), completers.operations)
    p.add_argument(
        "--wait-timeout",
        type=positive_float,
        default=DEFAULT_WAIT_TIMEOUT_S,
        metavar="SECONDS",
        help="give up after this long (default: %(default).0f)",
    )
