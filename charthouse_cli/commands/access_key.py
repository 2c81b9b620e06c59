"""``charthouse access-key create|list|delete``: AK/SK pairs for clients that sign requests the Huawei Cloud SDK
way (``SDK-HMAC-SHA256``), issued for your own principal. A new secret key is printed once, to stdout only."""

from __future__ import annotations

import argparse
from typing import Any

from .. import output
from ..http import path
from .common import Context, command, group


def create(ctx: Context, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"description": args.description} if args.description else {}
    if args.expires_in_days is not None:
        body["expires_in_days"] = args.expires_in_days
    reply = ctx.client.call("POST", path("v1", "access-keys"), body=body)
    ctx.emit(reply.data, lambda d: f"access_key: {d['access_key']}\nsecret_key: {d['secret_key']}\n")
    ctx.note(f"access key {reply.data['access_key']} created: its secret key is shown this once")
    return 0


def list_keys(ctx: Context, args: argparse.Namespace) -> int:
    def human(data: dict[str, Any]) -> str:
        rows = [
            (
                k.get("id"),
                k.get("owner"),
                k.get("description"),
                output.short_time(k.get("created_at")),
                "expired" if k.get("expired") else output.short_time(k.get("expires_at")),
            )
            for k in data.get("access_keys", [])
        ]
        return output.table(("ACCESS KEY", "OWNER", "DESCRIPTION", "CREATED", "EXPIRES"), rows)

    ctx.emit(ctx.client.get(path("v1", "access-keys")), human)
    return 0


def delete(ctx: Context, args: argparse.Namespace) -> int:
    ctx.client.call("DELETE", path("v1", "access-keys", args.access_key))
    ctx.emit({"deleted": args.access_key}, lambda d: f"access key {d['deleted']} deleted\n")
    return 0


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    keys = group(
        sub,
        "access-key",
        "access keys (AK/SK) for Huawei Cloud SDK clients, issued for your own principal",
        """
  charthouse access-key create --description ci
  charthouse access-key list
  charthouse access-key delete CHAK0123456789ABCDEF
""",
        aliases=("access-keys",),
    )
    p = command(
        keys,
        "create",
        create,
        "issue an access key pair: the secret key is printed once, to stdout",
        """
  charthouse access-key create --description ci -o json > ci-key.json && chmod 600 ci-key.json
  charthouse access-key create --description nightly --expires-in-days 30
""",
        parents,
    )
    p.add_argument("--description", metavar="TEXT", help="what the key is for")
    p.add_argument(
        "--expires-in-days", type=int, metavar="DAYS", help="how long the key works (default 90, at most 365)"
    )
    command(
        keys,
        "list",
        list_keys,
        "list your access keys (an admin: everyone's); never a secret",
        """
  charthouse access-key list
""",
        parents,
        aliases=("ls",),
    )
    p = command(
        keys,
        "delete",
        delete,
        "revoke an access key: requests it signs are refused",
        """
  charthouse access-key delete CHAK0123456789ABCDEF
""",
        parents,
        aliases=("rm",),
    )
    p.add_argument("access_key", metavar="ACCESS_KEY")
