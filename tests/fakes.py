"""In-memory fakes with the interfaces of ``chalicelib.adapters.helm.HelmCli`` and ``chalicelib.adapters.queue.SqsQueue``,
for unit and functional tests."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from chalicelib.adapters.kube.release_secrets import StoredRelease, Unreadable
from chalicelib.adapters.queue import Message
from chalicelib.domain.models import (
    ChartSpec,
    InstallSpec,
    ReleaseRef,
    ReleaseTestSpec,
    RollbackSpec,
    UninstallSpec,
    UpgradeSpec,
)
from chalicelib.errors import ChartNotFound, ClusterUnreachable, DependencyUnavailable, ReleaseExists, ReleaseNotFound


def chart_meta(url: str) -> dict[str, str]:
    base = url.rsplit("/", 1)[-1].removesuffix(".tgz")
    m = re.match(r"^(.*)-(\d+\.\d+\.\d+.*)$", base)
    name, version = (m.group(1), m.group(2)) if m else (base, "0.1.0")
    return {"name": name, "version": version, "appVersion": "1.0"}


def fake_manifest(ref: ReleaseRef, values: dict[str, Any]) -> str:
    """A ConfigMap ``<name>-cm`` (``values.data`` as its data), a Secret ``<name>-secret`` when ``values.secret``
    is given, and one ConfigMap per name in ``values.extra``: enough for a diff to see changes."""
    text = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {ref.name}-cm\n"
    if isinstance(values.get("data"), dict):
        text += "data:\n" + "".join(f"  {k}: {json.dumps(str(v))}\n" for k, v in values["data"].items())
    if isinstance(values.get("secret"), dict):
        text += f"---\n# Source: fake/templates/secret.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: {ref.name}-secret\n"
        text += "stringData:\n" + "".join(f"  {k}: {json.dumps(str(v))}\n" for k, v in values["secret"].items())
    for extra in values.get("extra") or []:
        text += f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {extra}\n"
    return text


@dataclass
class FakeHelm:
    releases: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    unreachable: bool = False
    secrets_unreadable: bool = False  # the release Secrets cannot be read (RBAC): the service must ask helm
    version: str = "v4.0.0-fake"

    def _check(self, kubeconfig: str, verb: str) -> None:
        self.calls.append(verb)
        if self.unreachable:
            raise ClusterUnreachable("Kubernetes cluster unreachable: connection refused")

    def _new(self, ref: ReleaseRef, spec: ChartSpec, values: dict[str, Any], description: str) -> dict[str, Any]:
        if "missing" in spec.chart:
            raise ChartNotFound("failed to fetch chart: 404 Not Found")
        history = self.releases.setdefault(ref.key, [])
        for rev in history:
            if rev["info"]["status"] == "deployed":
                rev["info"]["status"] = "superseded"
        release = {
            "name": ref.name,
            "namespace": ref.namespace,
            "version": len(history) + 1,
            "info": {
                "status": "deployed",
                "first_deployed": "2026-01-01T00:00:00Z",
                "last_deployed": "2026-01-01T00:00:00Z",
                "description": description,
                "notes": "hello notes",
            },
            "chart": {"metadata": chart_meta(spec.chart)},
            "config": values,
            "manifest": fake_manifest(ref, values),
            "hooks": [],
        }
        if not spec.dry_run:
            history.append(release)
        return release

    def install(self, kubeconfig: str, ref: ReleaseRef, spec: InstallSpec) -> dict[str, Any]:
        self._check(kubeconfig, "install")
        history = self.releases.get(ref.key)
        if history and history[-1]["info"]["status"] != "uninstalled" and not spec.dry_run:
            raise ReleaseExists("cannot re-use a name that is still in use")
        return self._new(ref, spec, spec.values, "Install complete")

    def upgrade(self, kubeconfig: str, ref: ReleaseRef, spec: UpgradeSpec) -> dict[str, Any]:
        self._check(kubeconfig, "upgrade")
        if not self.releases.get(ref.key) and not spec.install:
            raise ReleaseNotFound('"x" has no deployed releases')
        values = dict(spec.values)
        if spec.reuse_values and self.releases.get(ref.key):
            values = {**self.releases[ref.key][-1]["config"], **values}
        return self._new(ref, spec, values, "Upgrade complete")

    def rollback(self, kubeconfig: str, ref: ReleaseRef, spec: RollbackSpec) -> None:
        self._check(kubeconfig, "rollback")
        history = self.releases.get(ref.key)
        if not history:
            raise ReleaseNotFound("release: not found")
        target = history[spec.revision - 1] if spec.revision else history[-2]
        for rev in history:
            if rev["info"]["status"] == "deployed":
                rev["info"]["status"] = "superseded"
        copy = {
            **target,
            "version": len(history) + 1,
            "info": {**target["info"], "status": "deployed", "description": f"Rollback to {target['version']}"},
        }
        history.append(copy)

    def uninstall(self, kubeconfig: str, ref: ReleaseRef, spec: UninstallSpec) -> None:
        self._check(kubeconfig, "uninstall")
        if ref.key not in self.releases:
            raise ReleaseNotFound("release: not found")
        if spec.keep_history:
            self.releases[ref.key][-1]["info"]["status"] = "uninstalled"
        else:
            del self.releases[ref.key]

    def test(self, kubeconfig: str, ref: ReleaseRef, spec: ReleaseTestSpec) -> list[dict[str, Any]]:
        self._check(kubeconfig, "test")
        if ref.key not in self.releases:
            raise ReleaseNotFound(f"release: not found: {ref.name}")
        return [
            {"name": f"{ref.name}-test", "kind": "Pod", "phase": "Succeeded", "started_at": None, "completed_at": None}
        ]

    def status(self, kubeconfig: str, ref: ReleaseRef) -> dict[str, Any]:
        self._check(kubeconfig, "status")
        if ref.key not in self.releases:
            raise ReleaseNotFound("release: not found")
        return {k: v for k, v in self.releases[ref.key][-1].items() if k != "chart"}  # as helm: no chart

    def history(self, kubeconfig: str, ref: ReleaseRef) -> list[dict[str, Any]]:
        self._check(kubeconfig, "history")
        if ref.key not in self.releases:
            raise ReleaseNotFound("release: not found")
        return [
            {
                "revision": r["version"],
                "status": r["info"]["status"],
                "chart": f"{r['chart']['metadata']['name']}-{r['chart']['metadata']['version']}",
                "app_version": r["chart"]["metadata"]["appVersion"],
                "updated": r["info"]["last_deployed"],
                "description": r["info"]["description"],
            }
            for r in self.releases[ref.key]
        ]

    def get(self, kubeconfig: str, ref: ReleaseRef, what: str, revision: int | None) -> Any:
        self._check(kubeconfig, f"get {what}")
        history = self.releases.get(ref.key)
        if not history:
            raise ReleaseNotFound("release: not found")
        rel = history[revision - 1] if revision else history[-1]
        meta = rel["chart"]["metadata"]
        return {
            "values": rel["config"],
            "manifest": rel["manifest"],
            "notes": rel["info"]["notes"],
            "hooks": "",
            "metadata": {
                "chart": meta["name"],
                "version": meta["version"],
                "appVersion": meta["appVersion"],
                "revision": rel["version"],
                "status": rel["info"]["status"],
            },
        }[what]

    def stored(self, kubeconfig: str, ref: ReleaseRef) -> StoredRelease:
        """``releases`` are kept in helm's storage format: read back as the Secrets would be."""
        self._check(kubeconfig, "stored")
        if self.secrets_unreadable:
            raise Unreadable("HTTP 403 Forbidden")
        return StoredRelease(tuple(copy.deepcopy(self.releases.get(ref.key, []))))

    def mark_failed(self, kubeconfig: str, ref: ReleaseRef, revision: int, description: str) -> None:
        self._check(kubeconfig, "mark_failed")
        self.releases[ref.key][revision - 1]["info"]["status"] = "failed"

    def list_releases(self, kubeconfig: str) -> list[dict[str, Any]]:
        self._check(kubeconfig, "list")
        out = []
        for history in self.releases.values():
            last = history[-1]
            meta = last["chart"]["metadata"]
            out.append(
                {
                    "name": last["name"],
                    "namespace": last["namespace"],
                    "revision": str(last["version"]),
                    "status": last["info"]["status"],
                    "chart": f"{meta['name']}-{meta['version']}",
                    "app_version": meta["appVersion"],
                    "updated": last["info"]["last_deployed"],
                }
            )
        return out

    def render_name(self, template: str) -> str:
        return template.replace("{{ randAlpha 5 | lower }}", "abcde")


@dataclass
class FakeQueue:
    """An in-memory worker queue with ``SqsQueue.send``'s interface. Messages are kept as their encoded body, so
    ``take`` hands the worker exactly what SQS would; ``down`` makes every send fail as an unavailable SQS does."""

    bodies: list[tuple[str, str]] = field(default_factory=list)  # (group, body)
    down: bool = False

    def send(self, message: Message, group: str) -> None:
        body = message.to_body()
        if self.down:
            raise DependencyUnavailable("the operation queue is unavailable")
        self.bodies.append((group, body))

    def take(self) -> Message:
        """The oldest message (first in, first out), removed from the queue."""
        return Message.from_body(self.bodies.pop(0)[1])


@dataclass
class FakeGit:
    """``core.runtimes.GitReader``: repositories as dicts of files, one commit per ``commit`` call."""

    repos: dict[str, list[tuple[str, dict[str, bytes]]]] = field(default_factory=dict)
    credentials: dict[str, dict[str, str]] = field(default_factory=dict)  # url -> the only accepted credentials
    calls: list[tuple[str, str]] = field(default_factory=list)
    sent: list[tuple[str, dict[str, str] | None]] = field(default_factory=list)  # (url, the credentials sent)
    failures: dict[str, Exception] = field(default_factory=dict)  # url -> what reading it raises

    def commit(self, url: str, files: dict[str, str]) -> str:
        history = self.repos.setdefault(url, [])
        merged = {**(history[-1][1] if history else {}), **{k: v.encode() for k, v in files.items()}}
        merged = {k: v for k, v in merged.items() if v}  # an empty text deletes the file
        sha = f"{len(history) + 1:040x}"
        history.append((sha, merged))
        return sha

    def fetch(self, url: str, revision: str, credentials: dict[str, str] | None) -> Any:
        from chalicelib.domain.gitops import Tree
        from chalicelib.errors import InvalidInput, RepositoryAuthFailed, RepositoryUnreachable

        self.calls.append((url, revision))
        self.sent.append((url, credentials))
        if url in self.failures:
            raise self.failures[url]
        if url not in self.repos:
            raise RepositoryUnreachable(f"{url} is unreachable: ConnectionRefusedError")
        if url in self.credentials and credentials != self.credentials[url]:
            raise RepositoryAuthFailed(f"{url} refused the credentials (HTTP 401)")
        history = self.repos[url]
        if revision in ("HEAD", "main"):
            sha, files = history[-1]
        else:
            found = [h for h in history if h[0] == revision]
            if not found:
                raise InvalidInput("source.git.revision", f"{revision} is not a branch, tag or commit of {url}")
            sha, files = found[0]
        return Tree(sha, dict(files))
