"""``charthouse context list|show|use|set|delete``: named contexts in the configuration file (``config.py``),
the way ``kubectl config`` and helm users keep their endpoints."""

from __future__ import annotations

import argparse
from typing import Any

from .. import completers, output
from ..config import AUTH_METHODS, KEYS, ConfigFile, config_path, shown
from ..errors import UsageError
from ..session import settings  # the one resolution every command uses
from .common import Context, command, group, read_secret


def _file() -> ConfigFile:
    return ConfigFile.load(config_path())


def list_(ctx: Context, args: argparse.Namespace) -> int:
    cfg = _file()
    data = {
        "current": cfg.current,
        "contexts": [{"name": n, **shown(c)} for n, c in sorted(cfg.contexts.items())],
        "file": str(cfg.path),
    }

    def human(d: dict[str, Any]) -> str:
        rows = [
            (
                "*" if c["name"] == d["current"] else "",
                c["name"],
                c.get("endpoint"),
                c.get("auth") or "auto",
                c.get("cluster"),
                c.get("namespace"),
            )
            for c in d["contexts"]
        ]
        return output.table(("CURRENT", "NAME", "ENDPOINT", "AUTH", "CLUSTER", "NAMESPACE"), rows)

    ctx.emit(data, human)
    if ctx.output == "table" and not cfg.contexts:
        ctx.note(f"(no contexts in {cfg.path}: add one with `charthouse context set NAME --endpoint URL`)")
    return 0


def show(ctx: Context, args: argparse.Namespace) -> int:
    """A named context as written; without a name, the settings in force and where each came from."""
    if args.name:
        ctx.emit({"name": args.name, **shown(_file().context(args.name))}, lambda d: output.fields(d.items()))
        return 0
    found = settings(args)
    data = {
        "context": found.context,
        "file": str(config_path()),
        "endpoint": found.endpoint,
        "auth": "sigv4" if found.sigv4 else ("token" if found.token else found.auth),
        "cluster": found.cluster,
        "namespace": found.namespace,
        "sources": found.sources,
    }

    def human(d: dict[str, Any]) -> str:
        src = d["sources"]
        rows = [
            ("context", d["context"] or "(none)", "flag/env CHARTHOUSE_CONTEXT/current-context"),
            ("endpoint", d["endpoint"], src.get("endpoint")),
            ("auth", d["auth"], src.get("token")),
            ("cluster", d["cluster"], src.get("cluster")),
            ("namespace", d["namespace"], src.get("namespace")),
        ]
        return f"configuration: {d['file']}\n" + output.table(("SETTING", "VALUE", "FROM"), rows)

    ctx.emit(data, human)
    return 0


def use(ctx: Context, args: argparse.Namespace) -> int:
    cfg = _file()
    cfg.context(args.name)  # must exist
    cfg.current = args.name
    cfg.save()
    ctx.note(f"current context: {args.name} ({cfg.path})")
    return 0


def set_(ctx: Context, args: argparse.Namespace) -> int:
    cfg = _file()
    entry = dict(cfg.contexts.get(args.name) or {})
    given = {
        "endpoint": args.ctx_endpoint,
        "auth": args.auth,
        "region": args.ctx_region,
        "cluster": args.ctx_cluster,
        "namespace": args.ctx_namespace,
        "token-file": args.token_file,
    }
    if args.ctx_endpoint and not args.ctx_endpoint.startswith(("http://", "https://")):
        raise UsageError(f"--endpoint must be an http(s):// URL, got {args.ctx_endpoint!r}")
    if args.token_stdin:
        entry["token"] = read_secret("-", "the token", ctx.stdin).strip()
        entry.pop("token-file", None)
    for key, value in given.items():
        if value is not None:
            entry[key] = value
            if key == "token-file":
                entry.pop("token", None)
    for key in args.unset or []:
        entry.pop(key, None)
    new = args.name not in cfg.contexts
    cfg.contexts[args.name] = entry
    if args.use or not cfg.current:
        cfg.current = args.name
    cfg.save()
    ctx.note(f"context {args.name} {'added' if new else 'updated'} in {cfg.path}")
    if cfg.current == args.name:
        ctx.note(f"current context: {args.name}")
    return 0


def delete(ctx: Context, args: argparse.Namespace) -> int:
    cfg = _file()
    cfg.context(args.name)
    del cfg.contexts[args.name]
    if cfg.current == args.name:
        cfg.current = None
    cfg.save()
    ctx.note(f"context {args.name} deleted from {cfg.path}")
    return 0


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    ctxs = group(
        sub,
        "context",
        "named endpoints, auth and default cluster/namespace in ~/.config/charthouse/config.yaml",
        """
  charthouse context set prod --endpoint https://abc123.execute-api.eu-west-1.amazonaws.com/api --auth sigv4
  charthouse context use prod
  charthouse context list
""",
        aliases=("contexts", "ctx"),
    )
    command(
        ctxs,
        "list",
        list_,
        "the contexts of the configuration file (* = current)",
        """
  charthouse context list
""",
        parents,
        aliases=("ls",),
        offline=True,
    )
    p = command(
        ctxs,
        "show",
        show,
        "the settings in force and where each comes from (flag, env, context, default); or one context",
        """
  charthouse context show              # endpoint, auth, cluster, namespace in force, and their source
  charthouse context show prod         # the context as written (a token is masked)
""",
        parents,
        aliases=("current",),
        offline=True,
    )
    completers.attach(p.add_argument("name", metavar="NAME", nargs="?"), completers.contexts)
    p = command(
        ctxs,
        "use",
        use,
        "make a context the current one",
        """
  charthouse context use prod
""",
        parents,
        offline=True,
    )
    completers.attach(p.add_argument("name", metavar="NAME"), completers.contexts)
    p = command(
        ctxs,
        "set",
        set_,
        "add a context, or change some of its settings",
        """
  charthouse context set local --endpoint http://127.0.0.1:8000 --cluster local --namespace default
  charthouse context set prod --endpoint https://abc123.execute-api.eu-west-1.amazonaws.com/api --auth sigv4 --use
  echo "$TOKEN" | charthouse context set staging --endpoint https://ch.example.com --auth token --token-stdin
  charthouse context set staging --unset namespace
""",
        [],
        aliases=("add",),
        offline=True,
    )
    completers.attach(p.add_argument("name", metavar="NAME"), completers.contexts)
    p.add_argument("--endpoint", dest="ctx_endpoint", metavar="URL", help="the API endpoint")
    p.add_argument("--auth", choices=AUTH_METHODS, help="auto (default), token, sigv4 or none")
    p.add_argument("--token-stdin", action="store_true", help="read a bearer token from stdin (stored 0600)")
    p.add_argument("--token-file", metavar="FILE", help="read the bearer token from this file at each use")
    p.add_argument("--region", dest="ctx_region", help="AWS region for sigv4")
    p.add_argument("-c", "--cluster", dest="ctx_cluster", help="default cluster")
    p.add_argument("-n", "--namespace", dest="ctx_namespace", help="default namespace")
    p.add_argument("--unset", action="append", choices=KEYS, metavar="KEY", help=f"remove a key: {', '.join(KEYS)}")
    p.add_argument("--use", action="store_true", help="make it the current context too")
    p = command(
        ctxs,
        "delete",
        delete,
        "remove a context",
        """
  charthouse context delete old
""",
        parents,
        aliases=("rm",),
        offline=True,
    )
    completers.attach(p.add_argument("name", metavar="NAME"), completers.contexts)
