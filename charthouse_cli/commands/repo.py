"""``charthouse repo add|list|refresh|delete``: chart repositories (HTTP index or OCI registry).

Passwords, tokens and private keys are read from files or stdin, never from the command line, and never
printed (the API returns only which kinds of credentials a repository has)."""

from __future__ import annotations

import argparse
import base64
from pathlib import Path
from typing import Any

from .. import completers, output
from ..completers import attach
from ..errors import UsageError
from ..http import path
from .common import Context, command, group, read_secret, set_if


def _auth(r: dict[str, Any]) -> str:
    auth = r.get("auth") or {}
    return ",".join(sorted(k for k, v in auth.items() if v)) if isinstance(auth, dict) else output.cell(auth)


def _human(r: dict[str, Any]) -> str:
    index = r.get("index") or {}
    return output.fields(
        [
            ("NAME", r.get("name")),
            ("TYPE", r.get("type")),
            ("URL", r.get("url")),
            ("DESCRIPTION", r.get("description")),
            ("AUTH", _auth(r)),
            ("CHARTS", index.get("charts")),
            ("VERSIONS", index.get("versions")),
            ("REFRESHED", output.short_time(index.get("refreshed_at"))),
        ]
    )


def add(ctx: Context, args: argparse.Namespace) -> int:
    if args.password_stdin and args.password_file:
        raise UsageError("choose one of --password-stdin and --password-file")
    if bool(args.cert_file) != bool(args.key_file):
        raise UsageError("--cert-file and --key-file go together")
    body: dict[str, Any] = {"url": args.url}
    set_if(
        body,
        description=args.description,
        username=args.username,
        insecure_skip_tls_verify=args.insecure_skip_tls_verify,
        pass_credentials=args.pass_credentials,
        plain_http=args.plain_http,
    )
    if args.password_stdin or args.password_file:
        body["password"] = read_secret(
            "-" if args.password_stdin else args.password_file, "the password", ctx.stdin
        ).rstrip("\r\n")
    if args.bearer_token_file:
        body["token"] = read_secret(args.bearer_token_file, "the token", ctx.stdin).strip()
    if args.cert_file:
        body["client_certificate"] = read_secret(args.cert_file, "the client certificate", ctx.stdin)
        body["client_key"] = read_secret(args.key_file, "the client key", ctx.stdin)
    if args.ca_file:
        body["ca_bundle"] = read_secret(args.ca_file, "the CA bundle", ctx.stdin)
    if args.keyring:
        try:
            body["keyring"] = base64.b64encode(Path(args.keyring).read_bytes()).decode()
        except OSError as exc:
            raise UsageError(f"cannot read the keyring {args.keyring}: {exc.strerror}") from None
    reply = ctx.client.call("PUT", path("v1", "repositories", args.name), body=body)
    ctx.emit(reply.data, _human)
    ctx.note(f"repository {args.name} {'added' if reply.status == 201 else 'replaced'}")
    return 0


def list_(ctx: Context, args: argparse.Namespace) -> int:
    def human(data: dict[str, Any]) -> str:
        rows = [
            (
                r.get("name"),
                r.get("type"),
                r.get("url"),
                _auth(r),
                (r.get("index") or {}).get("charts"),
                output.short_time((r.get("index") or {}).get("refreshed_at")),
            )
            for r in data.get("repositories", [])
        ]
        return output.table(("NAME", "TYPE", "URL", "AUTH", "CHARTS", "REFRESHED"), rows)

    ctx.emit(ctx.client.get(path("v1", "repositories")), human)
    return 0


def refresh(ctx: Context, args: argparse.Namespace) -> int:
    ctx.emit(ctx.client.call("POST", path("v1", "repositories", args.name, "refresh"), retry=True).data, _human)
    return 0


def delete(ctx: Context, args: argparse.Namespace) -> int:
    ctx.client.call("DELETE", path("v1", "repositories", args.name))
    ctx.emit({"deleted": args.name}, lambda d: f"repository {d['deleted']} deleted\n")
    return 0


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    repos = group(
        sub,
        "repo",
        "chart repositories: HTTP (index.yaml) or OCI registries",
        """
  charthouse repo add bitnami https://charts.bitnami.com/bitnami
  charthouse repo list
""",
        aliases=("repos", "repository"),
    )

    p = command(
        repos,
        "add",
        add,
        "add or replace a chart repository",
        """
  charthouse repo add bitnami https://charts.bitnami.com/bitnami
  charthouse repo add ghcr oci://ghcr.io/acme/charts --username bot --password-file ~/.ghcr-token
  echo "$PASSWORD" | charthouse repo add private https://charts.acme.internal --username ci --password-stdin \\
      --ca-file acme-ca.pem
  charthouse repo add mtls https://charts.acme.internal --cert-file client.pem --key-file client.key
""",
        parents,
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("url", metavar="URL", help="https://... (an index.yaml repository) or oci://host/path")
    p.add_argument("--description")
    p.add_argument("--username")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.add_argument("--password-file", metavar="FILE", help="read the password from a file")
    p.add_argument("--bearer-token-file", metavar="FILE", help="a bearer token for the repository (- for stdin)")
    p.add_argument("--cert-file", metavar="FILE", help="client certificate (PEM), with --key-file")
    p.add_argument("--key-file", metavar="FILE", help="client key (PEM)")
    p.add_argument("--ca-file", metavar="FILE", help="CA bundle (PEM) to verify the repository")
    p.add_argument("--insecure-skip-tls-verify", action="store_true")
    p.add_argument("--pass-credentials", action="store_true", help="send credentials to other hosts too")
    p.add_argument("--plain-http", action="store_true", help="OCI over plain HTTP")
    p.add_argument("--keyring", metavar="FILE", help="public keyring to verify signed charts")

    command(
        repos,
        "list",
        list_,
        "list repositories",
        """
  charthouse repo list
  charthouse repo list -o yaml
""",
        parents,
        aliases=("ls",),
    )

    p = command(
        repos,
        "refresh",
        refresh,
        "re-read a repository's index",
        """
  charthouse repo refresh bitnami
""",
        parents,
        aliases=("update",),
    )
    attach(p.add_argument("name", metavar="NAME"), completers.repositories)

    p = command(
        repos,
        "delete",
        delete,
        "remove a repository and its credentials",
        """
  charthouse repo delete bitnami
""",
        parents,
        aliases=("rm", "remove"),
    )
    attach(p.add_argument("name", metavar="NAME"), completers.repositories)
