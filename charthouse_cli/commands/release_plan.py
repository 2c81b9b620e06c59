"""Review, then apply exactly what was reviewed: ``release upgrade ... --plan-out FILE`` asks the service for the
diff and a plan and writes the plan (nothing applied); ``release apply FILE`` applies it (refused, naming what
changed, when the release, the chart or the values changed since); ``release upgrade ... --review`` prints the diff
and the three-way values view and asks before applying that plan (without a terminal only with ``--yes``)."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

import yaml

from ..errors import UsageError
from .common import Context, add_wait, command, release_path, submit
from .release_diff import _human as diff_human

PLAN_FILE_KIND = "charthouse/plan"


def _values_human(view: dict[str, Any]) -> str:
    out = []
    for part in ("chart_defaults", "deployed", "proposed"):
        shown = view.get(part)
        text = "(none)\n" if shown is None else yaml.safe_dump(shown, sort_keys=True, default_flow_style=False)
        out.append(f"--- values: {part}\n{text}")
    return "".join(out)


def review_human(data: dict[str, Any]) -> str:
    plan = data.get("plan") or {}
    text = diff_human(data) + _values_human(data.get("values") or {})
    return text + f"plan {plan.get('id')} (expires {plan.get('expires_at')})\n"


def planned_upgrade(ctx: Context, args: argparse.Namespace, body: dict[str, Any]) -> int:
    """``--plan-out`` / ``--review`` of ``release upgrade``: the diff with its plan, then write it or apply it."""
    reply = ctx.client.call("POST", release_path(args, "diff"), body=body, retry=True)
    data = reply.data if isinstance(reply.data, dict) else {}
    plan = data.get("plan") or {}
    if not plan.get("id"):
        raise UsageError("the service answered the diff without a plan: it is older than plans")
    ctx.emit(data, review_human)
    if args.plan_out:
        doc = {"kind": PLAN_FILE_KIND, "method": "PUT", "path": release_path(args), **plan}
        fd = os.open(args.plan_out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        ctx.note(f"plan written to {args.plan_out}: apply it with `charthouse release apply {args.plan_out}`")
        if not args.review:
            return 0
    if not args.yes:
        if not ctx.stdin.isatty():
            raise UsageError("--review asks before applying: run it in a terminal, or add --yes")
        ctx.stderr.write("Apply this plan? [y/N] ")
        ctx.stderr.flush()
        if ctx.stdin.readline().strip().lower() not in ("y", "yes"):
            ctx.note("not applied")
            return 1
    return submit(ctx, args, "PUT", release_path(args), {"plan": plan["id"]})


def apply(ctx: Context, args: argparse.Namespace) -> int:
    """Apply a plan file written by ``--plan-out``."""
    try:
        with open(args.file) as f:
            doc = json.load(f)
    except (OSError, ValueError) as exc:
        raise UsageError(f"release apply: cannot read the plan file {args.file}: {exc.__class__.__name__}") from exc
    if not isinstance(doc, dict) or doc.get("kind") != PLAN_FILE_KIND or not doc.get("id") or not doc.get("path"):
        raise UsageError(f"release apply: {args.file} is not a plan file (write one with --plan-out)")
    method = "POST" if str(doc["path"]).endswith("/rollback") else "PUT"
    return submit(ctx, args, method, str(doc["path"]), {"plan": doc["id"]})


def add_plan_options(p: argparse.ArgumentParser) -> None:
    """``release upgrade``'s review options."""
    p.add_argument("--plan-out", metavar="FILE", help="write the plan of this upgrade to FILE; apply nothing")
    p.add_argument("--review", action="store_true", help="show the diff and the values, ask, then apply that plan")
    p.add_argument("-y", "--yes", action="store_true", help="with --review: apply without asking")


def register(rel: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = command(
        rel,
        "apply",
        apply,
        "apply a plan written by `release upgrade --plan-out`: exactly what was reviewed, or refused",
        """
  charthouse release upgrade web repo/web -f prod.yaml --plan-out plan.json   # plan; the diff is printed
  charthouse release apply plan.json                                         # after approval, in another job
""",
        parents,
    )
    p.add_argument("file", metavar="FILE", help="the plan file")
    add_wait(p)
