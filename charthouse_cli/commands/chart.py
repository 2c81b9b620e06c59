"""``charthouse chart search|show|upload``."""

from __future__ import annotations

import argparse
from typing import Any

import yaml

from .. import completers, localchart, output, packaging
from ..completers import attach
from ..errors import UsageError
from ..http import path
from .common import Context, command, group, positive_int

INFO_PARTS = ("chart", "values", "readme", "crds", "all")


def search(ctx: Context, args: argparse.Namespace) -> int:
    def human(data: dict[str, Any]) -> str:
        rows = [
            (
                c.get("ref") or f"{c.get('repository')}/{c.get('name')}",
                c.get("version"),
                c.get("app_version"),
                c.get("description"),
            )
            for c in data.get("charts", [])
        ]
        return output.table(("NAME", "CHART VERSION", "APP VERSION", "DESCRIPTION"), rows)

    query = {
        "q": args.query,
        "repository": args.repo,
        "versions": args.versions or None,
        "devel": args.devel or None,
        "version": args.version,
        "limit": args.limit,
        "next_token": args.next_token,
    }
    data = ctx.client.get(path("v1", "charts"), query)
    ctx.emit(data, human)
    if ctx.output == "table" and data.get("next_token"):
        ctx.note(f"(more: add --next-token {data['next_token']})")
    return 0


def _show_human(data: dict[str, Any]) -> str:
    text = output.fields(
        [
            ("REPOSITORY", data.get("repository")),
            ("NAME", data.get("name")),
            ("VERSION", data.get("version")),
            ("DIGEST", data.get("digest")),
        ]
    )
    if data.get("chart"):
        text += "\nCHART:\n" + yaml.safe_dump(data["chart"], sort_keys=False)
    if data.get("values") is not None:
        text += "\nVALUES:\n" + str(data["values"]).rstrip("\n") + "\n"
    if data.get("readme"):
        text += "\nREADME:\n" + str(data["readme"]).rstrip("\n") + "\n"
    for crd in data.get("crds") or []:
        text += f"\nCRD {crd.get('path')}:\n" + str(crd.get("content", "")).rstrip("\n") + "\n"
    return text


def show(ctx: Context, args: argparse.Namespace) -> int:
    repo, sep, chart = args.ref.partition("/")
    if not sep or not repo or not chart or "/" in chart:
        raise UsageError(f"chart show: expected REPOSITORY/CHART, got {args.ref!r}")
    query = {"version": args.version, "info": args.info, "devel": args.devel or None}
    data = ctx.client.get(path("v1", "charts", repo, chart), query)
    if ctx.output == "table" and args.info in ("values", "readme"):
        text = str(data.get(args.info) or "")  # raw, so that `> defaults.yaml` is the file itself
        ctx.stdout.write(text if text.endswith("\n") or not text else text + "\n")
        return 0
    ctx.emit(data, _show_human)
    return 0


def upload(ctx: Context, args: argparse.Namespace) -> int:
    """``chart push|upload PATH``: a chart directory (packaged as helm would) or a ``.tgz``, uploaded."""
    local = localchart.local_path(args.file)
    if local is None:  # a reference (repo/chart, oci://...): nothing on this disk to push
        raise UsageError(f"chart push: {args.file} is not a local chart directory or .tgz")
    if local.is_dir():
        ctx.note(f"packaging {args.file}")
        missing = packaging.missing_dependencies(local)
        if missing:
            ctx.note(f"  dependencies {', '.join(missing)} are not in charts/: install it with --dependency-update")
    package = localchart.build(local, dependency_update=True)
    ctx.note(f"uploading {package.filename} ({len(package.data)} bytes, sha256 {package.digest[:12]})")
    chart, new = localchart.upload(ctx.client, package, args.overwrite, args.presigned, args.file)
    ctx.emit(chart, _show_human)
    state = "uploaded" if new else "already stored (same bytes)"
    ctx.note(f"{state}: use chart uploaded/{chart.get('name')} --version {chart.get('version')}")
    return 0


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    charts = group(
        sub,
        "chart",
        "find, inspect and upload charts",
        """
  charthouse chart search nginx
  charthouse chart push ./web                   # a chart directory, packaged as helm would, or a .tgz
""",
        aliases=("charts",),
    )

    p = command(
        charts,
        "search",
        search,
        "search the charts of the repositories (and uploads)",
        """
  charthouse chart search                       # everything, latest versions
  charthouse chart search nginx --repo bitnami --versions
  charthouse chart search web --devel -o json
""",
        parents,
    )
    p.add_argument("query", metavar="QUERY", nargs="?", help="words in the name or description")
    attach(p.add_argument("--repo", help="only this repository"), completers.repositories)
    p.add_argument("--versions", action="store_true", help="every version, not only the latest")
    p.add_argument("--devel", action="store_true", help="include development versions")
    p.add_argument("--version", help="only versions matching this constraint, e.g. '^1.2'")
    p.add_argument("--limit", type=positive_int)
    p.add_argument("--next-token")

    p = command(
        charts,
        "show",
        show,
        "a chart's metadata, default values, readme or CRDs",
        """
  charthouse chart show bitnami/nginx
  charthouse chart show bitnami/nginx --version 18.1.0 --info values > defaults.yaml
  charthouse chart show uploaded/web --info all -o json
""",
        parents,
        aliases=("get",),
    )
    attach(p.add_argument("ref", metavar="REPOSITORY/CHART"), completers.charts)
    p.add_argument("--version", help="version or constraint (default: the latest)")
    p.add_argument("--devel", action="store_true", help="let the latest be a development version")
    p.add_argument("--info", choices=INFO_PARTS, help="what to show (default: the service's, chart)")

    p = command(
        charts,
        "push",
        upload,
        "upload a chart directory (packaged as helm would) or a .tgz; install it as uploaded/NAME",
        """
  charthouse chart push ./web                   # .helmignore honoured; same directory, same bytes
  charthouse chart push web-1.0.0.tgz
  charthouse release create web uploaded/web --version 1.0.0
The same bytes again change nothing. Archives over 9 MiB (or any, with --presigned) go through a presigned
upload URL (never printed).
""",
        parents,
        aliases=("upload",),
    )
    p.add_argument("file", metavar="PATH", help="a chart directory or a .tgz")
    p.add_argument("--overwrite", action="store_true", help="replace an uploaded chart of the same name and version")
    p.add_argument(
        "--presigned",
        action="store_true",
        help="always upload through a presigned URL (e.g. behind a proxy with a small body limit)",
    )
