"""``charthouse cluster add|list|show|delete|namespaces``. Credentials are read from files or stdin and sent
once; they are never printed (the API never returns them either)."""

from __future__ import annotations

import argparse
import copy
from typing import Any

from .. import completers, output
from ..completers import attach
from ..errors import UsageError
from ..http import path
from .common import Context, command, group, read_secret, set_if


def _human(c: dict[str, Any]) -> str:
    return output.fields(
        [
            ("NAME", c.get("name")),
            ("AUTH", c.get("auth")),
            ("SERVER", c.get("server")),
            ("DESCRIPTION", c.get("description")),
            ("EKS", c.get("eks")),
            ("REACHABLE", c.get("reachable")),
            ("SERVER VERSION", c.get("server_version")),
            ("UNREACHABLE BECAUSE", c.get("unreachable_reason")),
            ("CREATED", output.short_time(c.get("created_at"))),
            ("UPDATED", output.short_time(c.get("updated_at"))),
        ]
    )


def add(ctx: Context, args: argparse.Namespace) -> int:
    modes = [m for m in (args.kubeconfig, args.server, args.eks) if m]
    if len(modes) != 1:
        raise UsageError(
            "cluster add: give exactly one of --kubeconfig, --server (with --ca-file and --token-file), --eks"
        )
    body: dict[str, Any] = {}
    if args.kubeconfig:
        body["kubeconfig"] = read_secret(args.kubeconfig, "the kubeconfig", ctx.stdin)
        set_if(body, context=args.kube_context)
    elif args.server:
        if not args.token_file or not (args.ca_file or args.insecure_skip_tls_verify):
            raise UsageError("cluster add --server needs --token-file and --ca-file (or --insecure-skip-tls-verify)")
        body["server"] = args.server
        body["token"] = read_secret(args.token_file, "the token", ctx.stdin).strip()
        if args.ca_file:
            body["ca_data"] = read_secret(args.ca_file, "the CA certificate", ctx.stdin)
    else:
        if not args.eks_region:
            raise UsageError("cluster add --eks needs --eks-region")
        body["eks"] = set_if({"name": args.eks, "region": args.eks_region}, role_arn=args.role_arn)
    set_if(body, description=args.description, insecure_skip_tls_verify=args.insecure_skip_tls_verify)
    reply = ctx.client.call("PUT", path("v1", "clusters", args.name), body=body)
    ctx.emit(reply.data, _human)
    ctx.note(f"cluster {args.name} {'registered' if reply.status == 201 else 'replaced'}")
    return 0


def list_(ctx: Context, args: argparse.Namespace) -> int:
    def human(data: dict[str, Any]) -> str:
        rows = [
            (
                c.get("name"),
                c.get("auth"),
                c.get("server"),
                c.get("description"),
                output.short_time(c.get("created_at")),
            )
            for c in data.get("clusters", [])
        ]
        return output.table(("NAME", "AUTH", "SERVER", "DESCRIPTION", "CREATED"), rows)

    ctx.emit(ctx.client.get(path("v1", "clusters")), human)
    return 0


def show(ctx: Context, args: argparse.Namespace) -> int:
    ctx.emit(ctx.client.get(path("v1", "clusters", args.name)), _human)
    return 0


def delete(ctx: Context, args: argparse.Namespace) -> int:
    ctx.client.call("DELETE", path("v1", "clusters", args.name), query={"force": True if args.force else None})
    ctx.emit({"deleted": args.name}, lambda d: f"cluster {d['deleted']} deleted\n")
    return 0


def namespaces(ctx: Context, args: argparse.Namespace) -> int:
    def human(data: dict[str, Any]) -> str:
        return output.table(("NAME",), [(n.get("name"),) for n in data.get("namespaces", [])])

    ctx.emit(ctx.client.get(path("v1", "clusters", args.name, "namespaces")), human)
    return 0


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    cl = group(
        sub,
        "cluster",
        "register, inspect and forget Kubernetes clusters",
        """
  charthouse cluster add prod --kubeconfig ~/.kube/prod.yaml --context prod-admin
  charthouse cluster list
""",
        aliases=("clusters",),
    )

    p = command(
        cl,
        "add",
        add,
        "register or replace a cluster (credentials go to the service's secret store)",
        """
  charthouse cluster add prod --kubeconfig ~/.kube/prod.yaml --context prod-admin
  kubectl config view --raw --minify | charthouse cluster add dev --kubeconfig -
  charthouse cluster add edge --server https://10.0.0.1:6443 --ca-file ca.pem --token-file token.txt
  charthouse cluster add eks1 --eks my-cluster --eks-region eu-west-1 --role-arn arn:aws:iam::123456789012:role/deployer

The kubeconfig must embed its data (no file paths, no exec plugins); only the chosen context is kept.
Secrets are read from files or stdin (-), never from the command line, and never printed.
""",
        copy.deepcopy(parents),  # its --context replaces the common one: on a copy, never the shared parser
        conflict_handler="resolve",
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig file (- for stdin)")
    # here --context is the kubeconfig's (as it always was); charthouse's own goes before the command
    p.add_argument(
        "--kube-context", "--context", dest="kube_context", help="kubeconfig context (default: current-context)"
    )
    p.add_argument("--server", metavar="URL", help="API server URL (with --ca-file and --token-file)")
    p.add_argument("--ca-file", metavar="FILE", help="CA certificate (PEM) of --server")
    p.add_argument("--token-file", metavar="FILE", help="bearer token file for --server (- for stdin)")
    p.add_argument("--eks", metavar="EKS_NAME", help="an EKS cluster name (with --eks-region)")
    p.add_argument("--eks-region", metavar="REGION")
    p.add_argument("--role-arn", help="IAM role the service assumes for EKS")
    p.add_argument("--insecure-skip-tls-verify", action="store_true", help="do not verify the server's certificate")
    p.add_argument("--description")

    command(
        cl,
        "list",
        list_,
        "list registered clusters",
        """
  charthouse cluster list
  charthouse cluster list -o json
""",
        parents,
        aliases=("ls",),
    )

    p = command(
        cl,
        "show",
        show,
        "one cluster, checked live: reachable, server version",
        """
  charthouse cluster show local
""",
        parents,
        aliases=("get",),
    )
    attach(p.add_argument("name", metavar="NAME"), completers.clusters)

    p = command(
        cl,
        "delete",
        delete,
        "forget a cluster and delete its credentials",
        """
  charthouse cluster delete old            # exit 3 while it still has releases
  charthouse cluster delete old --force
""",
        parents,
        aliases=("rm",),
    )
    attach(p.add_argument("name", metavar="NAME"), completers.clusters)
    p.add_argument("--force", action="store_true", help="even if it still has releases")

    p = command(
        cl,
        "namespaces",
        namespaces,
        "namespaces of a cluster, read live",
        """
  charthouse cluster namespaces local
""",
        parents,
        aliases=("ns",),
    )
    attach(p.add_argument("name", metavar="NAME"), completers.clusters)
