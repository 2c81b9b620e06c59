"""``charthouse release create|list|show|upgrade|history|rollback|test|delete|unlock``."""

from __future__ import annotations

import argparse
from typing import Any

import yaml

from .. import completers, localchart, output, values, watch
from ..completers import attach
from ..errors import UsageError
from ..http import path
from . import release_diff, release_plan
from .common import (
    Context,
    add_target,
    add_wait,
    add_watch,
    command,
    group,
    key_value,
    positive_int,
    release_path,
    set_if,
    submit,
    timeout_value,
)

INFO_PARTS = ("values", "manifest", "notes", "hooks", "resources", "all")
STATUS_FILTERS = ("deployed", "failed", "pending", "superseded", "uninstalled", "uninstalling", "unknown")


def _values_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-f",
        "--values",
        action="append",
        metavar="FILE",
        dest="values_files",
        help="values YAML file (repeatable, merged in order, later wins; - for stdin)",
    )
    p.add_argument("--set", action="append", metavar="K=V", dest="set_values", help="helm --set (repeatable)")
    p.add_argument("--set-string", action="append", metavar="K=V", help="helm --set-string (repeatable)")
    p.add_argument("--set-json", action="append", metavar="K=JSON", help="helm --set-json (repeatable)")


def _chart_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--version", help="chart version or constraint")
    _values_options(p)
    p.add_argument("--description", help="a description of this revision")
    p.add_argument("--label", action="append", type=key_value, metavar="K=V", help="release label (repeatable)")
    p.add_argument("--create-namespace", action="store_true", help="create the namespace if it is missing")
    p.add_argument("--wait-ready", action="store_true", help="helm --wait: wait until the resources are ready")
    p.add_argument("--wait-for-jobs", action="store_true", help="helm --wait-for-jobs")
    p.add_argument("--timeout", type=timeout_value, help="helm --timeout: seconds or a duration like 5m30s")
    p.add_argument("--atomic", action="store_true", help="roll back on failure (helm 4 --rollback-on-failure)")
    p.add_argument("--disable-hooks", action="store_true", help="do not run the chart's hooks")
    p.add_argument("--skip-crds", action="store_true", help="do not install CRDs")
    p.add_argument(
        "--dependency-update",
        action="store_true",
        help="fetch the chart's dependencies first, from the service's registered repositories",
    )
    p.add_argument("--devel", action="store_true", help="allow development versions (pre-releases)")
    p.add_argument("--render-subchart-notes", action="store_true", help="render the subcharts' notes too")
    p.add_argument("--max-history", type=int, metavar="N", help="revisions helm keeps")
    p.add_argument(
        "--dry-run",
        nargs="?",
        const=True,
        choices=["client", "server"],
        help="render only (client, or server); answers at once and records nothing",
    )
    add_wait(p)


def _chart_body(ctx: Context, args: argparse.Namespace, chart: str) -> dict[str, Any]:
    """The chart and values fields of an install or upgrade; a local chart is packaged and uploaded first."""
    fields = values.request_fields(args.values_files, args.set_values, args.set_string, args.set_json, ctx.stdin)
    resolved = localchart.resolve(ctx.client, chart, args.version, ctx.note, args.dependency_update)
    body: dict[str, Any] = {"chart": resolved.chart, **fields}
    return set_if(
        body,
        version=resolved.version,
        description=args.description,
        labels=dict(args.label) if args.label else None,
        create_namespace=args.create_namespace,
        wait=args.wait_ready,
        wait_for_jobs=args.wait_for_jobs,
        timeout=args.timeout,
        atomic=args.atomic,
        disable_hooks=args.disable_hooks,
        skip_crds=args.skip_crds,
        dependency_update=args.dependency_update,
        devel=args.devel,
        render_subchart_notes=args.render_subchart_notes,
        max_history=args.max_history,
        dry_run=args.dry_run,
    )


# ---------------------------------------------------------------- handlers


def create(ctx: Context, args: argparse.Namespace) -> int:
    generated = args.generate_name or args.name_template
    if len(args.positional) != (1 if generated else 2):
        raise UsageError("release create: give NAME CHART (or CHART with --generate-name / --name-template)")
    name, chart = (None, args.positional[0]) if generated else args.positional
    body = _chart_body(ctx, args, chart)
    set_if(body, name=name, generate_name=args.generate_name, name_template=args.name_template, replace=args.replace)
    url = path("v1", "clusters", args.cluster, "namespaces", args.namespace, "releases")
    return submit(ctx, args, "POST", url, body)


def upgrade(ctx: Context, args: argparse.Namespace) -> int:
    body = _chart_body(ctx, args, args.chart)
    set_if(
        body,
        install=args.install,
        reuse_values=args.reuse_values,
        reset_values=args.reset_values,
        reset_then_reuse_values=args.reset_then_reuse_values,
        force=args.force,
        cleanup_on_fail=args.cleanup_on_fail,
    )
    if args.plan_out or args.review:
        return release_plan.planned_upgrade(ctx, args, body)
    return submit(ctx, args, "PUT", release_path(args), body)


def rollback(ctx: Context, args: argparse.Namespace) -> int:
    body = set_if(
        {},
        revision=args.revision,
        wait=args.wait_ready,
        wait_for_jobs=args.wait_for_jobs,
        timeout=args.timeout,
        force=args.force,
        cleanup_on_fail=args.cleanup_on_fail,
        disable_hooks=args.disable_hooks,
        description=args.description,
        max_history=args.max_history,
    )
    return submit(ctx, args, "POST", release_path(args, "rollback"), body)


def test(ctx: Context, args: argparse.Namespace) -> int:
    """helm test: the operation's result lists each test Pod and its phase."""
    return submit(ctx, args, "POST", release_path(args, "test"), set_if({}, timeout=args.timeout))


def delete(ctx: Context, args: argparse.Namespace) -> int:
    body = set_if(
        {},
        keep_history=args.keep_history,
        disable_hooks=args.disable_hooks,
        wait=args.wait_ready,
        timeout=args.timeout,
        cascade=args.cascade,
        description=args.description,
    )
    return submit(ctx, args, "DELETE", release_path(args), body)


def unlock(ctx: Context, args: argparse.Namespace) -> int:
    body = set_if({}, policy=args.policy, timeout=args.timeout)
    return submit(ctx, args, "POST", release_path(args, "unlock"), body)


def _list_human(data: dict[str, Any]) -> str:
    rows = [
        (
            r.get("name"),
            r.get("namespace"),
            r.get("cluster"),
            r.get("revision"),
            r.get("status"),
            f"{r.get('chart')}-{r.get('chart_version')}",
            r.get("app_version"),
            output.short_time(r.get("last_deployed") or r.get("updated_at")),
        )
        for r in data.get("releases", [])
    ]
    return output.table(("NAME", "NAMESPACE", "CLUSTER", "REVISION", "STATUS", "CHART", "APP VERSION", "UPDATED"), rows)


def list_(ctx: Context, args: argparse.Namespace) -> int:
    query: dict[str, object] = {
        "status": ",".join(args.status) if args.status else None,
        "name": args.filter_name,
        "search": args.search,
        "chart": args.chart,
        "limit": args.limit,
        "next_token": args.next_token,
    }
    if args.all_clusters:
        url = path("v1", "releases")
        query["namespace"] = args.namespace
    elif args.namespace:
        url = path("v1", "clusters", args.cluster, "namespaces", args.namespace, "releases")
    else:
        url = path("v1", "clusters", args.cluster, "releases")
    data = ctx.client.get(url, query)
    ctx.emit(data, _list_human)
    if ctx.output == "table" and data.get("next_token"):
        ctx.note(f"(more: add --next-token {data['next_token']})")
    return 0


def _show_human(rel: dict[str, Any]) -> str:
    text = output.fields(
        [
            ("NAME", rel.get("name")),
            ("CLUSTER", rel.get("cluster")),
            ("NAMESPACE", rel.get("namespace")),
            ("STATUS", rel.get("status")),
            ("REVISION", rel.get("revision")),
            ("CHART", f"{rel.get('chart')}-{rel.get('chart_version')}"),
            ("APP VERSION", rel.get("app_version")),
            ("FIRST DEPLOYED", output.short_time(rel.get("first_deployed"))),
            ("LAST DEPLOYED", output.short_time(rel.get("last_deployed"))),
            ("DESCRIPTION", rel.get("description")),
            ("LABELS", rel.get("labels")),
            ("LAST ACTION", rel.get("last_action")),
            ("LAST OPERATION", rel.get("last_operation_id")),
            ("FAILURES", rel.get("failures") or None),
            ("VALUES DIGEST", rel.get("values_digest")),
        ]
    )
    if "values" in rel:
        text += "\nUSER-SUPPLIED VALUES:\n" + (
            yaml.safe_dump(rel["values"], sort_keys=True) if rel["values"] else "{}\n"
        )
    if rel.get("resources"):
        rows = [(r.get("kind"), r.get("name"), r.get("namespace"), r.get("api_version")) for r in rel["resources"]]
        text += "\nRESOURCES:\n" + output.table(("KIND", "NAME", "NAMESPACE", "API VERSION"), rows)
    if rel.get("hooks"):
        text += "\nHOOKS:\n" + yaml.safe_dump(rel["hooks"], sort_keys=True)
    if rel.get("manifest"):
        text += "\nMANIFEST:\n" + str(rel["manifest"]).rstrip("\n") + "\n"
    if rel.get("notes"):
        text += "\nNOTES:\n" + str(rel["notes"]).rstrip("\n") + "\n"
    return text


def show(ctx: Context, args: argparse.Namespace) -> int:
    info = ",".join(args.info) if args.info else None
    query = {"info": info, "revision": args.revision}
    if args.watch:
        title = f"charthouse release get {args.name} -c {args.cluster} -n {args.namespace}"
        return watch.watch(ctx, lambda: ctx.client.get(release_path(args), query), _show_human, title, args.interval)
    ctx.emit(ctx.client.get(release_path(args), query), _show_human)
    return 0


def _history_human(data: dict[str, Any]) -> str:
    rows = [
        (
            h.get("revision"),
            output.short_time(h.get("updated")),
            h.get("status"),
            h.get("chart"),
            h.get("app_version"),
            h.get("description"),
        )
        for h in data.get("history", [])
    ]
    return output.table(("REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION", "DESCRIPTION"), rows)


def history(ctx: Context, args: argparse.Namespace) -> int:
    ctx.emit(ctx.client.get(release_path(args, "history"), {"max": args.max}), _history_human)
    return 0


# ---------------------------------------------------------------- parser


def _csv(choices: tuple[str, ...]) -> Any:
    def parse(text: str) -> list[str]:
        parts = [p.strip() for p in text.split(",") if p.strip()]
        bad = [p for p in parts if p not in choices]
        if bad or not parts:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(choices)} (comma-separated)")
        return parts

    return parse


def _flatten(lists: list[list[str]] | None) -> list[str] | None:
    return [x for sub in lists for x in sub] if lists else None


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    rel = group(
        sub,
        "release",
        "install, upgrade, inspect, roll back and delete Helm releases",
        """
  charthouse release create web https://charts.example.com/web-1.0.0.tgz -n shop -f values.yaml
  charthouse release list -A --status deployed
  charthouse release upgrade web repo/web --version 1.1.0 --set image.tag=v2
""",
        aliases=("releases", "rel"),
    )

    release_diff.register(rel, parents)
    release_plan.register(rel, parents)
    p = command(
        rel,
        "create",
        create,
        "install a chart as a new release (waits for the operation)",
        """
  charthouse release create web ./examples/charts/hello     # a local chart: packaged, uploaded, installed
  charthouse release create web https://charts.example.com/web-1.0.0.tgz
  charthouse release create web bitnami/nginx --version 18.x -n shop --create-namespace -f base.yaml -f prod.yaml
  charthouse release create web oci://registry.example.com/charts/web --set replicas=3 --set-string tag=007
  charthouse release create --generate-name uploaded/web --no-wait -o json
  charthouse release create web repo/web --dry-run              # prints the rendered manifest
""",
        parents,
        aliases=("install",),
    )
    add_target(p)
    positional = p.add_argument(
        "positional",
        nargs="+",
        metavar="NAME CHART",
        help="release name and chart: a local chart directory or .tgz, repo/chart, oci://host/path/chart, "
        "an http(s) .tgz URL, uploaded/chart",
    )
    attach(positional, completers.chart_or_path)
    p.add_argument("--generate-name", action="store_true", help="let the service name the release (give only CHART)")
    p.add_argument("--name-template", help="a helm template for the name, e.g. '{{ randAlpha 5 | lower }}-web'")
    p.add_argument("--replace", action="store_true", help="reuse the name of a failed or uninstalled release")
    _chart_options(p)

    p = command(
        rel,
        "upgrade",
        upgrade,
        "upgrade a release to a chart version and/or new values (waits)",
        """
  charthouse release upgrade web ./examples/charts/hello --set greeting=hi   # a local chart directory or .tgz
  charthouse release upgrade web https://charts.example.com/web-1.1.0.tgz -f prod.yaml --set replicas=5
  charthouse release upgrade web repo/web --reuse-values --set image.tag=v2
  charthouse release upgrade web repo/web --install -n shop --create-namespace   # install if missing
  charthouse release upgrade web repo/web -f prod.yaml --review      # diff + values, asks, applies exactly that
  charthouse release upgrade web repo/web -f prod.yaml --plan-out plan.json   # then: release apply plan.json
""",
        parents,
    )
    add_target(p)
    attach(p.add_argument("name", metavar="NAME"), completers.releases)
    attach(
        p.add_argument("chart", metavar="CHART", help="a local chart directory or .tgz, or a reference as for create"),
        completers.chart_or_path,
    )
    p.add_argument("-i", "--install", action="store_true", help="install when the release does not exist")
    for flag, text in (
        ("--reuse-values", "start from the release's values"),
        ("--reset-values", "start from the chart's values"),
        ("--reset-then-reuse-values", "chart's values, then the release's"),
        ("--force", "replace resources (helm --force)"),
        ("--cleanup-on-fail", "delete new resources when the upgrade fails"),
    ):
        p.add_argument(flag, action="store_true", help=text)
    _chart_options(p)
    release_plan.add_plan_options(p)

    p = command(
        rel,
        "list",
        list_,
        "list releases (from the service's store, newest state)",
        """
  charthouse release list                     # cluster "local" (or -c / CHARTHOUSE_CLUSTER), every namespace
  charthouse release list -n shop --status deployed,failed
  charthouse release list -A --chart web -o json     # every cluster, for scripts
  charthouse release list --limit 50 --next-token TOKEN
""",
        parents,
        aliases=("ls",),
    )
    add_target(p, namespace_default=False)
    p.add_argument("-A", "--all-clusters", action="store_true", help="every cluster")
    p.add_argument(
        "--status",
        type=_csv(STATUS_FILTERS),
        action="append",
        help=f"comma-separated: {', '.join(STATUS_FILTERS)} (default: all but uninstalled)",
    )
    p.add_argument("--search", help="substring of the release name")
    p.add_argument("--chart", help="chart name")
    attach(p.add_argument("--name", dest="filter_name", help="exact release name"), completers.releases)
    p.add_argument("--limit", type=positive_int, help="at most this many (1-1000; default 100)")
    p.add_argument("--next-token", help="continue from the previous page")
    p.set_defaults(post=lambda a: setattr(a, "status", _flatten(a.status)))

    p = command(
        rel,
        "show",
        show,
        "show a release: status, revision, chart, notes, and more with --info",
        """
  charthouse release show web -n shop
  charthouse release show web --info values,resources
  charthouse release show web --info all --revision 2 -o yaml
  charthouse release get web --watch          # redrawn as it changes, until Ctrl-C
""",
        parents,
        aliases=("get", "status"),
    )
    add_target(p)
    attach(p.add_argument("name", metavar="NAME"), completers.releases)
    p.add_argument(
        "--info",
        type=_csv(INFO_PARTS),
        action="append",
        help=f"also read through helm: {', '.join(INFO_PARTS)} (comma-separated)",
    )
    attach(p.add_argument("--revision", type=positive_int, help="details of this revision"), completers.revisions)
    add_watch(p)
    p.set_defaults(post=lambda a: setattr(a, "info", _flatten(a.info)))

    p = command(
        rel,
        "history",
        history,
        "revision history, newest first",
        """
  charthouse release history web
  charthouse release history web --max 3 -o json
""",
        parents,
    )
    add_target(p)
    attach(p.add_argument("name", metavar="NAME"), completers.releases)
    p.add_argument("--max", type=positive_int, help="at most this many revisions")

    p = command(
        rel,
        "rollback",
        rollback,
        "roll back to a revision (default: the previous one; waits)",
        """
  charthouse release rollback web            # to the previous revision
  charthouse release rollback web 3 --wait-ready --timeout 5m
""",
        parents,
    )
    add_target(p)
    attach(p.add_argument("name", metavar="NAME"), completers.releases)
    attach(
        p.add_argument("revision", metavar="REVISION", type=positive_int, nargs="?", help="default: the previous one"),
        completers.revisions,
    )
    p.add_argument("--wait-ready", action="store_true", help="helm --wait")
    p.add_argument("--wait-for-jobs", action="store_true", help="helm --wait-for-jobs")
    p.add_argument("--timeout", type=timeout_value, help="helm --timeout")
    p.add_argument("--force", action="store_true", help="helm --force")
    p.add_argument("--cleanup-on-fail", action="store_true", help="helm --cleanup-on-fail")
    p.add_argument("--disable-hooks", action="store_true", help="helm --no-hooks")
    p.add_argument("--description", help="a description of this revision")
    p.add_argument("--max-history", type=int, metavar="N", help="revisions helm keeps")
    add_wait(p)

    p = command(
        rel,
        "test",
        test,
        "run the chart's tests (helm test; waits) and show each test Pod's phase",
        """
  charthouse release test web -n shop
  charthouse release test web --timeout 2m -o json
""",
        parents,
    )
    add_target(p)
    attach(p.add_argument("name", metavar="NAME"), completers.releases)
    p.add_argument("--timeout", type=timeout_value, help="helm --timeout: how long each test may run")
    add_wait(p)

    p = command(
        rel,
        "delete",
        delete,
        "uninstall a release (waits)",
        """
  charthouse release delete web -n shop
  charthouse release delete web --keep-history --no-wait
""",
        parents,
        aliases=("uninstall",),
    )
    add_target(p)
    attach(p.add_argument("name", metavar="NAME"), completers.releases)
    p.add_argument("--keep-history", action="store_true", help="keep helm's history (the release can be rolled back)")
    p.add_argument("--disable-hooks", action="store_true", help="do not run the chart's hooks")
    p.add_argument("--wait-ready", action="store_true", help="helm --wait: wait until the resources are gone")
    p.add_argument("--timeout", type=timeout_value, help="helm --timeout")
    p.add_argument("--cascade", choices=["background", "foreground", "orphan"], help="deletion propagation")
    p.add_argument("--description", help="a description")
    add_wait(p)

    p = command(
        rel,
        "unlock",
        unlock,
        "recover a release whose operation was lost (after its lease expired)",
        """
  charthouse release unlock web              # answers exit 3 (conflict) while the lease is still live
  charthouse release unlock web --policy mark-failed
""",
        parents,
    )
    add_target(p)
    attach(p.add_argument("name", metavar="NAME"), completers.releases)
    p.add_argument("--policy", choices=["rollback", "mark-failed"], help="what recovery does (service default)")
    p.add_argument("--timeout", type=timeout_value, help="helm --timeout for the recovery")
    add_wait(p)
