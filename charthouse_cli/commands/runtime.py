"""``charthouse runtime apply|get|list|plan|sync|delete``: declared releases from Git, kept in sync.

``apply -f runtime.yaml`` sends the file as the ``PUT /v1/runtimes/{name}`` body (``name:`` in the file, or NAME
on the command line); Git credentials may come from ``--password-file`` or env ``CHARTHOUSE_GIT_PASSWORD``
instead of the file. ``sync --wait`` follows the status until the run ends; ``sync --plan ID`` applies exactly what
``plan`` answered (the server refuses a stale plan, naming what changed, e.g. ``source commit``).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import yaml

from .. import output
from ..errors import OperationFailed, UsageError
from ..http import path
from .common import Context, command, group, read_secret


def _human(rt: dict[str, Any]) -> str:
    st = rt.get("status") or {}
    src = rt.get("source", {}).get("git") or {}
    head = output.fields(
        [
            ("name", rt.get("name")),
            (
                "source",
                f"{src.get('repository') or src.get('url')} @ {src.get('revision')} /{src.get('path')}"
                if src
                else "inline",
            ),
            ("destination", f"{rt['destination']['cluster']}: {', '.join(rt['destination']['namespaces'])}"),
            ("phase", st.get("phase")),
            ("commit", st.get("commit")),
            ("synced commit", st.get("synced_commit")),
            ("synced at", st.get("synced_at")),
            ("last error", (st.get("last_error") or {}).get("message")),
        ]
    )
    rows = [
        (k, r.get("state"), r.get("action"), r.get("revision"), (r.get("commit") or "")[:12])
        for k, r in (st.get("releases") or {}).items()
    ]
    return head + ("\n" + output.table(["RELEASE", "STATE", "ACTION", "REVISION", "COMMIT"], rows) if rows else "")


def _list_human(data: dict[str, Any]) -> str:
    rows = [
        (
            r["name"],
            r["destination"]["cluster"],
            r["status"].get("phase"),
            (r["status"].get("synced_commit") or "")[:12],
        )
        for r in data["runtimes"]
    ]
    return output.table(["NAME", "CLUSTER", "PHASE", "SYNCED"], rows)


def _plan_human(plan: dict[str, Any]) -> str:
    lines = [f"commit {plan['commit']}"]
    if plan.get("plan"):
        lines.append(f"plan {plan['plan']['id']} (until {plan['plan']['expires_at']}: runtime sync --plan ID)")
    for r in plan["releases"]:
        lines.append(
            f"{r['action']:>10}  {r['namespace']}/{r['name']}" + (f"  ({r['reason']})" if r.get("reason") else "")
        )
        for o in r.get("objects") or []:
            if o.get("diff"):
                lines.append(o["diff"].rstrip("\n"))
    return "\n".join(lines) + "\n"


def apply(ctx: Context, args: argparse.Namespace) -> int:
    try:
        doc = (
            yaml.safe_load(Path(args.file).read_text(encoding="utf-8"))
            if args.file != "-"
            else yaml.safe_load(ctx.stdin.read())
        )
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"{args.file}: cannot read the runtime: {exc}") from None
    if not isinstance(doc, dict):
        raise UsageError(f"{args.file}: must be a mapping (name, source, destination, sync)")
    name = args.name or doc.pop("name", None)
    doc.pop("name", None)
    if not name:
        raise UsageError("runtime apply: give NAME or name: in the file")
    secret = args.password_file or (
        "env:CHARTHOUSE_GIT_PASSWORD" if os.environ.get("CHARTHOUSE_GIT_PASSWORD") else None
    )
    if secret:
        git = (doc.get("source") or {}).get("git")
        if not isinstance(git, dict):
            raise UsageError("--password-file applies to a git source")
        git["password"] = (
            os.environ["CHARTHOUSE_GIT_PASSWORD"]
            if secret.startswith("env:")
            else read_secret(secret, "password", ctx.stdin).strip()
        )
    ctx.emit(ctx.client.call("PUT", path("v1", "runtimes", name), body=doc).data, _human)
    return 0


def get(ctx: Context, args: argparse.Namespace) -> int:
    ctx.emit(ctx.client.get(path("v1", "runtimes", args.name)), _human)
    return 0


def list_(ctx: Context, args: argparse.Namespace) -> int:
    ctx.emit(ctx.client.get(path("v1", "runtimes")), _list_human)
    return 0


def plan(ctx: Context, args: argparse.Namespace) -> int:
    data = ctx.client.call("POST", path("v1", "runtimes", args.name, "plan"), retry=True).data
    ctx.emit(data, _plan_human)
    return 1 if args.exit_code and any(r["action"] != "unchanged" for r in data["releases"]) else 0


def sync(ctx: Context, args: argparse.Namespace) -> int:
    body = {"plan": args.plan} if args.plan else None
    data = ctx.client.call("POST", path("v1", "runtimes", args.name, "sync"), body=body).data
    deadline = time.monotonic() + args.timeout
    while args.wait and data["status"]["phase"] == "syncing" and time.monotonic() < deadline:
        time.sleep(1.0)
        data = ctx.client.get(path("v1", "runtimes", args.name))
    ctx.emit(data, _human)
    if data["status"]["phase"] in ("failed", "error"):
        raise OperationFailed((data["status"].get("last_error") or {}).get("message") or "the sync failed")
    return 0


def delete(ctx: Context, args: argparse.Namespace) -> int:
    url = path("v1", "runtimes", args.name)
    data = ctx.client.call("DELETE", url, query={"prune": "true" if args.prune else None}).data
    ctx.emit(data, lambda d: f"deleted {d['name']}; {len(d['operations'])} uninstall operation(s) queued\n")
    return 0


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    rt = group(
        sub,
        "runtime",
        "declare releases in Git (or inline) and keep them in sync: plan, sync, status",
        """
  charthouse runtime apply -f runtime.yaml
  charthouse runtime plan shop
  charthouse runtime sync shop --wait
  charthouse runtime delete shop --prune
""",
        aliases=("runtimes", "rt"),
    )
    p = command(
        rt,
        "apply",
        apply,
        "create or replace a runtime from a YAML/JSON file",
        """
  charthouse runtime apply -f runtime.yaml
  CHARTHOUSE_GIT_PASSWORD=... charthouse runtime apply shop -f runtime.yaml
""",
        parents,
    )
    p.add_argument("name", metavar="NAME", nargs="?", help="runtime name (else name: in the file)")
    p.add_argument(
        "-f", "--file", required=True, metavar="FILE", help="the runtime (source, destination, sync); - for stdin"
    )
    p.add_argument("--password-file", metavar="FILE", help="the Git password or token (- for stdin)")
    p = command(
        rt,
        "get",
        get,
        "a runtime and its status",
        "  charthouse runtime get shop -o json\n",
        parents,
        aliases=("show",),
    )
    p.add_argument("name", metavar="NAME")
    command(rt, "list", list_, "runtimes", "  charthouse runtime list\n", parents, aliases=("ls",))
    p = command(
        rt,
        "plan",
        plan,
        "what a sync would do now, per release, with diffs",
        "  charthouse runtime plan shop\n",
        parents,
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--exit-code", action="store_true", help="exit 1 when anything would change")
    p = command(
        rt,
        "sync",
        sync,
        "sync now (answers at once; --wait follows it)",
        "  charthouse runtime sync shop --wait\n  charthouse runtime sync shop --plan plan-0123... --wait\n",
        parents,
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--wait", action="store_true", help="follow the status until the run ends")
    p.add_argument("--plan", metavar="ID", help="apply exactly this plan (runtime plan's id), or be refused")
    p.add_argument(
        "--timeout", type=float, default=900.0, metavar="SECONDS", help="how long --wait follows (default 900)"
    )
    p = command(
        rt, "delete", delete, "forget a runtime", "  charthouse runtime delete shop --prune\n", parents, aliases=("rm",)
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--prune", action="store_true", help="uninstall every release it installed")
