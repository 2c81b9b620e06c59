"""``charthouse whoami``, ``token create|list|delete``, ``policy put|list|show|delete``, ``audit list``: access
control (docs/SECURITY.md). A new token is printed once, to stdout only."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from .. import output
from ..errors import UsageError
from ..http import path
from .common import Context, command, group


def whoami(ctx: Context, args: argparse.Namespace) -> int:
    def human(me: dict[str, Any]) -> str:
        rules = [(",".join(r["verbs"]), ",".join(r["clusters"]), ",".join(r["namespaces"])) for r in me["rules"]]
        head = output.fields(
            [
                ("ID", me.get("id")),
                ("KIND", me.get("kind")),
                ("ADMIN", me.get("admin")),
                ("GROUPS", ",".join(me.get("groups") or [])),
            ]
        )
        return head + ("\n" + output.table(("VERBS", "CLUSTERS", "NAMESPACES"), rules) if rules else "")

    ctx.emit(ctx.client.get(path("v1", "whoami")), human)
    return 0


# ---------------------------------------------------------------- tokens


def token_create(ctx: Context, args: argparse.Namespace) -> int:
    reply = ctx.client.call("POST", path("v1", "tokens"), body={"name": args.name})
    ctx.emit(reply.data, lambda d: f"{d['token']}\n")
    ctx.note(f"token {args.name} created: it is shown this once")
    return 0


def token_list(ctx: Context, args: argparse.Namespace) -> int:
    def human(data: dict[str, Any]) -> str:
        rows = [(t.get("name"), output.short_time(t.get("created_at"))) for t in data.get("tokens", [])]
        return output.table(("NAME", "CREATED"), rows)

    ctx.emit(ctx.client.get(path("v1", "tokens")), human)
    return 0


def token_delete(ctx: Context, args: argparse.Namespace) -> int:
    ctx.client.call("DELETE", path("v1", "tokens", args.name))
    ctx.emit({"deleted": args.name}, lambda d: f"token {d['deleted']} deleted\n")
    return 0


# ---------------------------------------------------------------- policies


def _policy_human(p: dict[str, Any]) -> str:
    rows = [(",".join(r["verbs"]), ",".join(r["clusters"]), ",".join(r["namespaces"])) for r in p.get("rules", [])]
    head = output.fields(
        [
            ("NAME", p.get("name")),
            ("DESCRIPTION", p.get("description")),
            ("PRINCIPALS", ",".join(p.get("principals") or [])),
        ]
    )
    return head + "\n" + output.table(("VERBS", "CLUSTERS", "NAMESPACES"), rows)


def policy_put(ctx: Context, args: argparse.Namespace) -> int:
    try:
        text = ctx.stdin.read() if args.file == "-" else Path(args.file).read_text()
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    try:
        body = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"{args.file} is not YAML or JSON: {exc}") from None
    if not isinstance(body, dict):
        raise UsageError(f"{args.file} must hold a policy: principals and rules")
    reply = ctx.client.call("PUT", path("v1", "policies", args.name), body=body)
    ctx.emit(reply.data, _policy_human)
    ctx.note(f"policy {args.name} {'created' if reply.status == 201 else 'replaced'}")
    return 0


def policy_list(ctx: Context, args: argparse.Namespace) -> int:
    def human(data: dict[str, Any]) -> str:
        rows = [
            (p.get("name"), ",".join(p.get("principals") or []), len(p.get("rules") or []), p.get("description"))
            for p in data.get("policies", [])
        ]
        return output.table(("NAME", "PRINCIPALS", "RULES", "DESCRIPTION"), rows)

    ctx.emit(ctx.client.get(path("v1", "policies")), human)
    return 0


def policy_show(ctx: Context, args: argparse.Namespace) -> int:
    ctx.emit(ctx.client.get(path("v1", "policies", args.name)), _policy_human)
    return 0


def policy_delete(ctx: Context, args: argparse.Namespace) -> int:
    ctx.client.call("DELETE", path("v1", "policies", args.name))
    ctx.emit({"deleted": args.name}, lambda d: f"policy {d['deleted']} deleted\n")
    return 0


# ---------------------------------------------------------------- audit


def audit_list(ctx: Context, args: argparse.Namespace) -> int:
    query = {
        k: v
        for k, v in (
            ("cluster", args.cluster),
            ("namespace", args.namespace),
            ("release", args.release),
            ("principal", args.principal),
            ("result", args.result),
            ("since", args.since),
            ("limit", args.limit),
        )
        if v is not None
    }

    def human(data: dict[str, Any]) -> str:
        rows = [
            (
                output.short_time(e.get("at")),
                e.get("principal"),
                e.get("method"),
                e.get("path"),
                e.get("status"),
                e.get("result"),
                e.get("operation_id") or "",
            )
            for e in data.get("entries", [])
        ]
        return output.table(("AT", "PRINCIPAL", "METHOD", "PATH", "STATUS", "RESULT", "OPERATION"), rows)

    ctx.emit(ctx.client.get(path("v1", "audit"), query), human)
    return 0


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    command(
        sub,
        "whoami",
        whoami,
        "who the service takes you for, and your rules",
        """
  charthouse whoami
  charthouse whoami -o json
""",
        parents,
    )

    tokens = group(
        sub,
        "token",
        "bearer tokens of the local stages (admin)",
        """
  charthouse token create ci > ci.token
  charthouse token list
""",
        aliases=("tokens",),
    )
    p = command(
        tokens,
        "create",
        token_create,
        "create a token: printed once, to stdout",
        """
  charthouse token create ci > ci.token && chmod 600 ci.token
""",
        parents,
    )
    p.add_argument("name", metavar="NAME")
    command(
        tokens,
        "list",
        token_list,
        "list tokens (names only)",
        """
  charthouse token list
""",
        parents,
        aliases=("ls",),
    )
    p = command(
        tokens,
        "delete",
        token_delete,
        "delete a token: it stops working",
        """
  charthouse token delete ci
""",
        parents,
        aliases=("rm",),
    )
    p.add_argument("name", metavar="NAME")

    policies = group(
        sub,
        "policy",
        "authorization policies (admin)",
        """
  charthouse policy put team-a -f team-a.yaml
  charthouse policy list
""",
        aliases=("policies",),
    )
    p = command(
        policies,
        "put",
        policy_put,
        "create or replace a policy from a YAML or JSON file",
        """
  cat > team-a.yaml <<'EOF'
  principals: [token:team-a, "arn:aws:sts::123456789012:assumed-role/team-a-*"]
  rules:
  - {verbs: [read], clusters: ["*"], namespaces: ["*"]}
  - {verbs: [install, upgrade, rollback], clusters: [prod], namespaces: [team-a-*]}
  EOF
  charthouse policy put team-a -f team-a.yaml
""",
        parents,
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("-f", "--file", required=True, metavar="FILE", help="the policy (YAML or JSON; - for stdin)")
    command(
        policies,
        "list",
        policy_list,
        "list policies",
        """
  charthouse policy list
""",
        parents,
        aliases=("ls",),
    )
    p = command(
        policies,
        "show",
        policy_show,
        "show a policy",
        """
  charthouse policy show team-a -o yaml
""",
        parents,
        aliases=("get",),
    )
    p.add_argument("name", metavar="NAME")
    p = command(
        policies,
        "delete",
        policy_delete,
        "delete a policy",
        """
  charthouse policy delete team-a
""",
        parents,
        aliases=("rm",),
    )
    p.add_argument("name", metavar="NAME")

    audits = group(
        sub,
        "audit",
        "the audit log: mutating and refused calls (admin)",
        """
  charthouse audit list --release hello
""",
    )
    p = command(
        audits,
        "list",
        audit_list,
        "audit entries, newest first",
        """
  charthouse audit list --release hello --since 2026-11-21T00:00:00Z
  charthouse audit list --result denied -o json
""",
        parents,
        aliases=("ls",),
    )
    for flag in ("cluster", "namespace", "release", "principal"):
        p.add_argument(f"--{flag}")
    p.add_argument("--result", choices=("ok", "error", "denied"))
    p.add_argument("--since", help="ISO 8601 time or epoch seconds (default: the last 24 hours)")
    p.add_argument("--limit", type=int)
