"""``charthouse release diff NAME CHART -f values.yaml``: what an upgrade would change, per object, as a unified
diff (Secret data masked by the service); ``--to-revision N`` shows a rollback instead. Nothing is applied."""

from __future__ import annotations

import argparse
from typing import Any

from .. import values
from ..errors import UsageError
from .common import Context, add_target, command, release_path, set_if


def _human(data: dict[str, Any]) -> str:
    counts = data.get("summary") or {}
    lines = [str(o.get("diff", "")) for o in data.get("objects", []) if o.get("diff")]
    summary = ", ".join(f"{counts.get(c, 0)} {c}" for c in ("added", "changed", "removed", "unchanged"))
    return "".join(lines) + f"{data.get('action', 'upgrade')}: {summary}\n"


def diff(ctx: Context, args: argparse.Namespace) -> int:
    query = {"hooks": "true" if args.hooks else None}
    if args.to_revision is not None:
        reply = ctx.client.call(
            "POST", release_path(args, "rollback", "diff"), query=query, body={"revision": args.to_revision}
        )
    else:
        if not args.chart:
            raise UsageError("release diff: give NAME CHART (or --to-revision N)")
        body: dict[str, Any] = {"chart": args.chart}
        body.update(
            values.request_fields(args.values_files, args.set_values, args.set_string, args.set_json, ctx.stdin)
        )
        set_if(body, version=args.version, install=args.install, reuse_values=args.reuse_values)
        reply = ctx.client.call("POST", release_path(args, "diff"), query=query, body=body, retry=True)
    ctx.emit(reply.data, _human)
    changed = sum(int(v) for k, v in (reply.data.get("summary") or {}).items() if k != "unchanged")
    return 1 if args.exit_code and changed else 0


def register(rel: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = command(
        rel,
        "diff",
        diff,
        "show what an upgrade (or a rollback) would change, object by object; applies nothing",
        """
  charthouse release diff web repo/web -f values.yaml -n shop
  charthouse release diff web repo/web --set replicas=3 --hooks
  charthouse release diff web --to-revision 2 -n shop          # a rollback
  charthouse release diff web repo/web -f values.yaml --exit-code   # exit 1 when something would change
""",
        parents,
    )
    add_target(p)
    p.add_argument("name", metavar="NAME", help="release name")
    p.add_argument("chart", metavar="CHART", nargs="?", help="the chart the upgrade would use")
    p.add_argument("--version", help="chart version or constraint")
    p.add_argument("-f", "--values", action="append", metavar="FILE", dest="values_files", help="values YAML file")
    p.add_argument("--set", action="append", metavar="K=V", dest="set_values", help="helm --set (repeatable)")
    p.add_argument("--set-string", action="append", metavar="K=V", help="helm --set-string (repeatable)")
    p.add_argument("--set-json", action="append", metavar="K=JSON", help="helm --set-json (repeatable)")
    p.add_argument("--install", action="store_true", help="diff an install when the release does not exist")
    p.add_argument("--reuse-values", action="store_true", help="helm --reuse-values")
    p.add_argument("--hooks", action="store_true", help="compare the chart's hooks too")
    p.add_argument("--to-revision", type=int, metavar="N", help="diff a rollback to revision N instead")
    p.add_argument("--exit-code", action="store_true", help="exit 1 when anything would change")
