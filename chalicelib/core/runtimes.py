"""Runtimes: declared releases kept in sync with their source (a Git revision and path, or inline).

A **plan** reads the source at its current commit (``gitops.desired``) and says, per release, ``install``,
``upgrade`` (with the diff helm renders), ``uninstall`` (``installed: false``, or gone from the source when the
runtime prunes) or ``unchanged`` (same request as last applied, release deployed). It is kept (``plan.id``: the
commit, and per release its step, revision, chart digest and request digest; ``domain/plans.RuntimePlan``), and a
sync given that id reads the source again and starts only if every fact is the same (``PlanStale`` naming those
that are not); each of its steps is then accepted only while its release is still at the planned revision (the
accept transaction checks it).

**Conditional requests**: a runtime's ``etag`` covers its declaration and its status document's version (bumped by
every sync's write); ``If-Match`` on put, delete and sync refuses (``PreconditionFailed``) when it no longer holds.
An Idempotency-Key on a sync is remembered in the status document (the last ``MAX_REQUESTS`` keys): the same key and
request answer the runtime as it is, without starting or checking anything again.

A **sync** turns a plan into ordinary operations (same leases, audit, events), one at a time in ``needs`` order
(uninstalls last): each operation is written together with a note of the step it is (``OP#<id>``/``RUNTIME``);
when it ends, the announcer tells ``operation_ended``, which records the release's state and submits the next
step, or stops the run at the first failure. Nothing waits: a sync started by the API, the schedule (``tick``)
or a push webhook answers at once, and the worker advances it. A source that cannot be read (unknown revision,
missing path, invalid releases file, unreachable repository, wrong credentials) changes nothing: the status says
why (``last_error``) and the next interval tries again.

The status document (``RUNTIME#<name>``/``STATUS``) is written conditionally on its version, so a sync started
twice at once runs once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from chalicelib.adapters.store import Store
from chalicelib.adapters.vault import Vault
from chalicelib.core.auth import Principal
from chalicelib.core.authz import Authorizer
from chalicelib.core.clusters import ClusterRegistry
from chalicelib.core.diffs import Differ
from chalicelib.core.operations import Intake
from chalicelib.core.releases import Caller, Releases
from chalicelib.core.uploads import RuntimeCharts
from chalicelib.domain import gitops, origins, plans
from chalicelib.domain.models import (
    Action,
    Idempotency,
    Limits,
    Operation,
    OperationStatus,
    ReleaseRef,
    ReleaseStatus,
    UninstallSpec,
    UpgradeSpec,
    iso,
)
from chalicelib.domain.plans import RuntimePlan, StepFacts
from chalicelib.domain.runtimes import GitRepositorySpec, RuntimeSpec, Secrets
from chalicelib.errors import (
    CharthouseError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    RuntimeNotFound,
    Unauthenticated,
)

log = logging.getLogger(__name__)

STALE_RUN_S = 3600  # a run whose operations were lost (no announcement) is abandoned after this long
MAX_REQUESTS = 20  # Idempotency-Keys of syncs remembered per runtime
HIDDEN_STATUS = ("run", "checked_ts", "requests")  # kept in the status document, not shown


class GitReader(Protocol):
    """Reads one revision of a repository (``adapters/git.py``; a fake in the tests)."""

    def fetch(self, url: str, revision: str, credentials: dict[str, str] | None) -> gitops.Tree: ...


class RuntimeService:
    def __init__(
        self,
        store: Store,
        vault: Vault,
        git: GitReader,
        charts: RuntimeCharts,
        intake: Intake,
        differ: Differ,
        registry: ClusterRegistry,
        limits: Limits,
        releases: Releases,
        clock: Callable[[], float] = time.time,
        authorizer: Authorizer | None = None,
    ) -> None:
        self.store = store
        self.vault = vault
        self.git = git
        self.charts = charts
        self.intake = intake
        self.differ = differ
        self.registry = registry
        self.limits = limits
        self.releases = releases  # a sync's steps go through the hall, as any door's requests
        self.clock = clock
        self.authorizer = authorizer

    def _at(self) -> str:
        return str(iso(self.clock()))

    # ------------------------------------------------------------ declaration

    def _require(self, name: str) -> dict[str, Any]:
        doc = self.store.get_runtime(name)
        if doc is None:
            raise RuntimeNotFound(f"runtime {name} not found")
        return doc

    # ------------------------------------------------------------ Git repositories

    def put_repository(self, spec: GitRepositorySpec, creds: dict[str, str] | None) -> tuple[dict[str, Any], bool]:
        """Register a Git repository (credentials to Secrets Manager; omitted: the stored ones are kept for a URL of
        the same origin, deleted otherwise)."""
        old = self.store.get_git_repository(spec.name)
        secret = self._bound_secret(
            (old or {}).get("secret"), (old or {}).get("url"), spec.url, creds, f"git-repositories/{spec.name}"
        )
        doc = {**spec.to_json(), "secret": secret, "created_at": (old or {}).get("created_at") or self._at()}
        self.store.put_git_repository(spec.name, doc)
        return self.repository(spec.name), old is None

    def repository(self, name: str) -> dict[str, Any]:
        doc = self.store.get_git_repository(name)
        if doc is None:
            raise NotFound(f"Git repository {name} is not registered (PUT /v1/git-repositories/{name})")
        return {**{k: v for k, v in doc.items() if k != "secret"}, "credentials": bool(doc.get("secret"))}

    def repositories(self) -> list[dict[str, Any]]:
        return [self.repository(d["name"]) for d in self.store.list_git_repositories()]

    def delete_repository(self, name: str) -> None:
        self.repository(name)
        users = [
            d["name"] for d in self.store.list_runtimes() if (d["source"].get("git") or {}).get("repository") == name
        ]
        if users:
            raise Conflict(f"Git repository {name} is the source of runtimes {', '.join(users)}", runtimes=users)
        doc = self.store.get_git_repository(name) or {}
        self.store.delete_git_repository(name)
        if doc.get("secret"):
            self.vault.delete(doc["secret"])

    def _bound_secret(
        self, old_id: str | None, old_url: str | None, new_url: str | None, creds: dict[str, str] | None, name: str
    ) -> str | None:
        """The secret a declaration keeps: new credentials replace it; none given, the stored ones stay only for
        the same origin (``domain/origins``), and are deleted otherwise (never sent to another host)."""
        if creds is not None:
            new_id = self.vault.put(name, creds)
            if old_id and old_id != new_id:
                self.vault.delete(old_id)
            return new_id
        if old_id and origins.keeps_credentials(old_url, new_url, False):
            return old_id
        if old_id:
            self.vault.delete(old_id)
        return None

    def require_repository(self, principal: Principal, repository: str, destination: dict[str, Any]) -> None:
        """``use`` of a registered Git repository, on every namespace of the runtime's destination."""
        if self.authorizer is None:
            return
        for namespace in destination.get("namespaces") or []:
            self.authorizer.require(principal, "use", destination["cluster"], namespace, repository=repository)

    def _git_access(self, doc: dict[str, Any], spec: RuntimeSpec) -> tuple[str, dict[str, str] | None]:
        """The URL and credentials a runtime's Git source reads with (its own, or its repository's: then its owner
        must still be granted ``use`` of the repository, at every read)."""
        assert spec.git is not None
        if spec.git.repository:
            owner = doc.get("owner")
            if not isinstance(owner, dict) or not owner.get("id"):
                raise Forbidden(
                    f"runtime {spec.name} names Git repository {spec.git.repository} but has no recorded owner: "
                    "declare it again (PUT) as a principal granted use of the repository",
                    permission="use",
                    repository=spec.git.repository,
                )
            principal = Principal(str(owner["id"]), str(owner.get("kind") or ""), tuple(owner.get("groups") or ()))
            self.require_repository(principal, spec.git.repository, doc["destination"])
            repo = self.store.get_git_repository(spec.git.repository)
            if repo is None:
                raise NotFound(f"Git repository {spec.git.repository} is not registered")
            return str(repo["url"]), self.vault.get(repo["secret"]) if repo.get("secret") else None
        return spec.git.url, self.vault.get(doc["git_secret"]) if doc.get("git_secret") else None

    # ------------------------------------------------------------ runtimes

    def put(
        self, spec: RuntimeSpec, secrets: Secrets, owner: Principal | None = None, if_match: str | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Create or replace; the destination cannot change once anything was deployed (409). ``owner`` (who
        declares it) is recorded: a registered Git repository is read only while the owner may ``use`` it.
        ``if_match``: the runtime's ETag (or ``*``: it exists), else ``PreconditionFailed``."""
        self._precondition(spec.name, if_match)
        self.registry.get(spec.destination.cluster)
        if spec.git and spec.git.repository:
            self.repository(spec.git.repository)
            if owner is not None:
                self.require_repository(owner, spec.git.repository, spec.destination.to_json())
        old = self.store.get_runtime(spec.name)
        status, _ = self.store.get_runtime_status(spec.name)
        if old and status.get("deployed") and old["destination"] != spec.destination.to_json():
            raise Conflict(
                f"runtime {spec.name} is deployed: its destination (cluster, namespaces) cannot change; "
                "delete it (prune: true) and create another",
                destination=old["destination"],
            )
        doc: dict[str, Any] = {**spec.to_json(), "created_at": (old or {}).get("created_at") or self._at()}
        doc["updated_at"] = self._at()
        old_git = ((old or {}).get("source") or {}).get("git") or {}
        git_secret = self._bound_secret(
            (old or {}).get("git_secret"),
            old_git.get("url"),
            spec.git.url if spec.git else None,
            secrets.git if spec.git else None,
            f"{spec.name}/git",
        )
        if owner is not None:
            doc["owner"] = owner.to_json()
        elif old and old.get("owner"):
            doc["owner"] = old["owner"]
        webhook = (old or {}).get("webhook_secret")
        if secrets.webhook is not None:
            webhook = self.vault.put(f"{spec.name}/webhook", {"secret": secrets.webhook})
        doc.update(git_secret=git_secret, webhook_secret=webhook)
        self.store.put_runtime(spec.name, doc)
        return self.view(spec.name), old is None

    def declared(self, name: str) -> dict[str, Any] | None:
        """The stored declaration (secret ids included: never shown), or None."""
        return self.store.get_runtime(name)

    def view(self, name: str) -> dict[str, Any]:
        return self._shown(self._require(name), self.store.get_runtime_status(name)[0])

    def tagged(self, name: str) -> tuple[dict[str, Any], str]:
        """The runtime as shown, and its ETag (``domain/plans.runtime_etag``)."""
        doc = self._require(name)
        status, version = self.store.get_runtime_status(name)
        return self._shown(doc, status), plans.runtime_etag(doc, version)

    def _precondition(self, name: str, if_match: str | None) -> None:
        """``If-Match``: the runtime's ETag must still be one given (``*``: the runtime exists)."""
        if if_match is None:
            return
        doc = self.store.get_runtime(name)
        tag = None if doc is None else plans.runtime_etag(doc, self.store.get_runtime_status(name)[1])
        if not plans.matches(if_match, tag):
            raise PreconditionFailed(
                f"runtime {name} is no longer in the state If-Match names (its ETag changed); nothing was changed"
            )

    @staticmethod
    def _shown(doc: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in doc.items() if k not in ("git_secret", "webhook_secret", "owner")}
        if out["source"].get("git") is not None:
            out["source"] = {"git": {**out["source"]["git"], "credentials": bool(doc.get("git_secret"))}}
        out["sync"] = {**out["sync"], "webhook": bool(doc.get("webhook_secret"))}
        shown = {k: v for k, v in status.items() if k not in HIDDEN_STATUS}
        run = status.get("run")
        if run:
            shown["run"] = {k: v for k, v in run.items() if k != "steps"}
            shown["run"]["steps"] = [{k: v for k, v in s.items() if k != "body"} for s in run.get("steps", [])]
        out["status"] = {"phase": "new", "releases": {}, **shown}
        return out

    def all(self) -> list[dict[str, Any]]:
        return [self._shown(d, self.store.get_runtime_status(d["name"])[0]) for d in self.store.list_runtimes()]

    def delete(self, name: str, prune: bool, if_match: str | None = None) -> dict[str, Any]:
        """Forget the runtime; with ``prune``, uninstall (as operations) every release it installed."""
        doc = self._require(name)
        self._precondition(name, if_match)
        status, _ = self.store.get_runtime_status(name)
        queued, errors = [], []
        if prune:
            cluster = doc["destination"]["cluster"]
            for key, rel in (status.get("releases") or {}).items():
                if rel.get("state") == "uninstalled":
                    continue
                ref = ReleaseRef.parse(cluster, *key.split("/", 1))
                record = self.store.get_release(ref)
                if record is None or record.status is ReleaseStatus.UNINSTALLED:
                    continue
                try:
                    queued.append(
                        self.intake.accept(Action.UNINSTALL, ref, UninstallSpec.from_json({}, self.limits)).to_json()
                    )
                except CharthouseError as exc:
                    errors.append({"release": key, "code": exc.code, "message": exc.message})
        self.store.delete_runtime(name)
        for secret in (doc.get("git_secret"), doc.get("webhook_secret")):
            if secret:
                self.vault.delete(secret)
        return {"name": name, "deleted": True, "operations": queued, "errors": errors}

    # ------------------------------------------------------------ reading the source

    def _read(self, doc: dict[str, Any]) -> tuple[str, list[gitops.Desired]]:
        spec = RuntimeSpec.from_stored(doc)
        tree = None
        if spec.git:
            url, creds = self._git_access(doc, spec)
            tree = self.git.fetch(url, spec.git.revision, creds)
            commit = tree.commit
        else:
            commit = "inline-" + hashlib.sha256(json.dumps(spec.inline, sort_keys=True).encode()).hexdigest()[:12]
        items = gitops.desired(
            tree,
            spec.git.path if spec.git else "",
            spec.inline,
            spec.name,
            spec.destination.namespaces,
            spec.sync.drift_correction,
        )
        for d in items:  # the request each would make must be valid now, not when its turn comes
            UpgradeSpec.from_json(d.body, self.limits)
        return commit, items

    def _steps(self, doc: dict[str, Any], status: dict[str, Any], items: list[gitops.Desired]) -> list[dict[str, Any]]:
        cluster = doc["destination"]["cluster"]
        applied: dict[str, Any] = status.get("releases") or {}
        steps: list[dict[str, Any]] = []
        removals: list[dict[str, Any]] = []
        for d in items:
            record = self.store.get_release(ReleaseRef.parse(cluster, d.namespace, d.name))
            live = record is not None and record.status is not ReleaseStatus.UNINSTALLED
            revision = record.revision if record is not None and live else 0
            base = {"key": d.key, "namespace": d.namespace, "name": d.name, "revision": revision}
            if not d.installed:
                removals.append({**base, "action": "uninstall" if live else "unchanged", "reason": "installed: false"})
                continue
            prev = applied.get(d.key) or {}
            if not live:
                action = "install"
            elif prev.get("digest") != d.digest() or (
                record is not None and record.status is not ReleaseStatus.DEPLOYED
            ):
                action = "upgrade"
            else:
                action = "unchanged"
            steps.append({**base, "action": action, "body": d.body, "digest": d.digest()})
        if doc["sync"].get("prune"):
            declared = {d.key for d in items}
            for key, prev in applied.items():
                if key in declared or prev.get("state") == "uninstalled":
                    continue
                namespace, name = key.split("/", 1)
                record = self.store.get_release(ReleaseRef.parse(cluster, namespace, name))
                if record is not None and record.status is not ReleaseStatus.UNINSTALLED:
                    removals.append(
                        {
                            "key": key,
                            "namespace": namespace,
                            "name": name,
                            "revision": record.revision,
                            "action": "uninstall",
                            "reason": "pruned",
                        }
                    )
        return steps + list(reversed(removals))

    def _charts(self, items: list[gitops.Desired], steps: list[dict[str, Any]]) -> None:
        """Store the charts built from the repository that a step installs or upgrades (content-addressed, apart
        from uploaded charts: ``runtime/<chart>``)."""
        wanted = {s["key"] for s in steps if s["action"] in ("install", "upgrade")}
        for d in items:
            if d.chart is not None and d.key in wanted:
                self.charts.add(d.chart.archive)

    # ------------------------------------------------------------ plan

    def _facts(self, steps: list[dict[str, Any]]) -> tuple[StepFacts, ...]:
        """What each step is bound to: its action, its release's revision, its chart archive's digest (installs and
        upgrades) and its request's digest."""
        out = []
        for step in steps:
            chart = None
            if step["action"] in ("install", "upgrade"):
                chart = self.releases.planner.chart_digest(UpgradeSpec.from_json(step["body"], self.limits))
            out.append(StepFacts(step["key"], step["action"], int(step["revision"]), chart, step.get("digest")))
        return tuple(out)

    def plan(self, name: str) -> dict[str, Any]:
        """What a sync would do now, with each upgrade's diff; nothing is applied. The answer's ``plan`` (id,
        expires_at) is what a sync may be given to apply exactly this, or be refused."""
        doc = self._require(name)
        status, _ = self.store.get_runtime_status(name)
        commit, items = self._read(doc)
        steps = self._steps(doc, status, items)
        self._charts(items, steps)
        kept = self.releases.planner.keep_runtime(name, commit, self._facts(steps))
        out = []
        for step in steps:
            shown = {k: v for k, v in step.items() if k not in ("body", "key")}
            if step["action"] in ("install", "upgrade"):
                ref = ReleaseRef.parse(doc["destination"]["cluster"], step["namespace"], step["name"])
                diff = self.differ.upgrade(ref, UpgradeSpec.from_json(step["body"], self.limits))
                shown["summary"], shown["objects"] = diff["summary"], diff["objects"]
            out.append(shown)
        return {"runtime": name, "commit": commit, "releases": out, "plan": kept.answer()}

    # ------------------------------------------------------------ sync

    def sync(
        self,
        name: str,
        trigger: str = "api",
        plan_id: object = None,
        if_match: str | None = None,
        idem: Idempotency | None = None,
    ) -> dict[str, Any]:
        """Start a sync run (unless one is running); answers at once with the runtime and its status.

        ``plan_id``: apply exactly what that plan showed — refused (``PlanStale``) when the source commit or any
        release's step, revision, chart or request changed, ``PlanNotFound`` for an unknown or expired plan, a 409
        while another run goes on; a source that cannot be read is the caller's error (nothing recorded).
        ``if_match``: the runtime's ETag. ``idem``: a replayed key answers the runtime, nothing started again."""
        doc = self._require(name)
        status, version = self.store.get_runtime_status(name)
        if _replayed(status, idem):
            return self._shown(doc, status)
        self._precondition(name, if_match)
        plan = None if plan_id is None else self.releases.planner.load_runtime(plan_id, name)
        run = status.get("run")
        ts = self.clock()
        if status.get("phase") == "syncing" and run and ts - float(run.get("started_at", 0)) < STALE_RUN_S:
            if plan is not None:
                raise Conflict(f"runtime {name} is syncing: apply the plan once this run ended", run=run.get("id"))
            return self._shown(doc, status)
        status = {**status, "checked_at": self._at(), "checked_ts": ts}
        status.pop("run", None)
        _remember(status, idem, ts)
        try:
            commit, items = self._read(doc)
            steps = self._steps(doc, status, items)
            self._charts(items, steps)
            if plan is not None:
                self.releases.planner.check_runtime(plan, commit, self._facts(steps))
        except CharthouseError as exc:
            if plan is not None:
                raise  # the caller applying a plan is told; the runtime's status is left as it was
            log.info("runtime %s: source not read: %s", name, exc.message)
            status.update(
                phase="error",
                last_error={"code": exc.code, "message": exc.message, "at": self._at(), "stage": "source"},
            )
            self.store.put_runtime_status(name, status, version)
            return self._shown(doc, status)
        return self._start(name, doc, status, version, commit, steps, trigger, plan)

    def _start(
        self,
        name: str,
        doc: dict[str, Any],
        status: dict[str, Any],
        version: int,
        commit: str,
        steps: list[dict[str, Any]],
        trigger: str,
        plan: RuntimePlan | None,
    ) -> dict[str, Any]:
        """Record the run (conditional on the status version) and submit its first step."""
        status["commit"] = commit
        for step in steps:
            if step["action"] == "unchanged" and step["key"] in (status.get("releases") or {}):
                status["releases"][step["key"]]["commit"] = commit
        work = [s for s in steps if s["action"] != "unchanged"]
        if not work:
            status.update(phase="synced", synced_commit=commit, synced_at=self._at(), last_error=None)
            if not self.store.put_runtime_status(name, status, version) and plan is not None:
                raise Conflict(f"runtime {name} changed while the plan was applied; plan it again")
            return self._shown(doc, status)
        status.update(
            phase="syncing",
            run={
                "id": uuid.uuid4().hex,
                "commit": commit,
                "trigger": trigger,
                "started_at": self.clock(),
                "index": 0,
                "steps": work,
                **({"plan": plan.id} if plan is not None else {}),
            },
        )
        if not self.store.put_runtime_status(name, status, version):
            if plan is not None:
                raise Conflict(f"runtime {name}: another sync started first; plan it again once it ended")
            return self.view(name)  # another sync started first
        self._advance(name)
        return self.view(name)

    def _advance(self, name: str) -> None:
        """Submit the run's current step; a step that cannot be accepted ends the run."""
        doc = self.store.get_runtime(name)
        status, version = self.store.get_runtime_status(name)
        run = status.get("run")
        if doc is None or not run or status.get("phase") != "syncing":
            return
        step = run["steps"][run["index"]]
        ref = ReleaseRef.parse(doc["destination"]["cluster"], step["namespace"], step["name"])
        attach = self.store.runtime_step_item({"runtime": name, "run": run["id"], "index": run["index"]})
        # declaring the runtime was authorized; its steps may name the charts it built (runtime/<chart>); a planned
        # run's step is accepted only while its release is at the planned revision (checked in the accept)
        revision = int(step["revision"]) if run.get("plan") and "revision" in step else None
        caller = Caller.service(f"runtime:{name}", attachments=(attach,), runtime_charts=True, revision=revision)
        try:  # the hall's checks: the cluster, the release's state (an upsert: install: true), the chart's source
            if step["action"] == "uninstall":
                op = self.releases.uninstall(caller, ref, UninstallSpec.from_json({}, self.limits)).op
            else:
                op = self.releases.upgrade(caller, ref, UpgradeSpec.from_json(step["body"], self.limits)).op
        except CharthouseError as exc:
            self._stop(name, step, {"code": exc.code, "message": exc.message})
            return
        for _ in range(5):  # the operation may already have ended: never overwrite what its end recorded
            if status.get("run", {}).get("id") != run["id"] or status["run"]["index"] != run["index"]:
                return
            releases = status.setdefault("releases", {})
            current = releases.get(step["key"]) or {}
            if current.get("operation_id") != op.id:
                releases[step["key"]] = {**current, "state": "syncing", "operation_id": op.id, "action": step["action"]}
            status["run"]["steps"][run["index"]]["operation_id"] = op.id
            if self.store.put_runtime_status(name, status, version):
                return
            status, version = self.store.get_runtime_status(name)

    def _stop(self, name: str, step: dict[str, Any], error: dict[str, Any], op_id: str | None = None) -> None:
        for _ in range(5):
            status, version = self.store.get_runtime_status(name)
            releases = status.setdefault("releases", {})
            releases[step["key"]] = {
                **(releases.get(step["key"]) or {}),
                "state": "failed",
                "action": step["action"],
                "operation_id": op_id,
                "error": error,
            }
            status.update(
                phase="failed",
                last_error={**error, "release": step["key"], "operation_id": op_id, "at": self._at(), "stage": "apply"},
            )
            status.pop("run", None)
            if self.store.put_runtime_status(name, status, version):
                return

    def operation_ended(self, op: Operation) -> None:
        """The announcer's listener: record the step's outcome, then submit the next step or stop."""
        note = self.store.get_runtime_step(op)
        if note is None:
            return
        name = str(note["runtime"])
        for _ in range(5):
            status, version = self.store.get_runtime_status(name)
            run = status.get("run")
            if not run or run.get("id") != note["run"] or run.get("index") != note["index"]:
                return  # a run that was replaced, or a step already recorded
            step = run["steps"][run["index"]]
            if op.status is not OperationStatus.SUCCEEDED:
                error = op.error or {"code": "OperationFailed", "message": f"operation {op.id} failed"}
                self._stop(name, step, {"code": error.get("code"), "message": error.get("message")}, op.id)
                return
            releases = status.setdefault("releases", {})
            uninstalled = step["action"] == "uninstall"
            entry = {
                "state": "uninstalled" if uninstalled else "synced",
                "action": step["action"],
                "operation_id": op.id,
                "commit": run["commit"],
                "revision": (op.result or {}).get("revision"),
                "at": self._at(),
            }
            if not uninstalled:
                entry["digest"] = step["digest"]
                status["deployed"] = True
            releases[step["key"]] = entry
            if run["index"] + 1 < len(run["steps"]):
                run["index"] += 1
                if self.store.put_runtime_status(name, status, version):
                    self._advance(name)
                    return
                continue
            status.pop("run", None)
            status.update(phase="synced", synced_commit=run["commit"], synced_at=self._at(), last_error=None)
            if self.store.put_runtime_status(name, status, version):
                return

    # ------------------------------------------------------------ schedule and webhook

    def tick(self) -> dict[str, Any]:
        """The schedule: sync every runtime whose interval has passed (not suspended). One failure stays its own."""
        started, failed = [], []
        ts = self.clock()
        for doc in self.store.list_runtimes():
            spec = RuntimeSpec.from_stored(doc)
            if spec.sync.suspend:
                continue
            status, _ = self.store.get_runtime_status(spec.name)
            last = float(status.get("checked_ts") or 0)
            if ts - last < spec.sync.interval_s:
                continue
            try:
                self.sync(spec.name, "schedule")
                started.append(spec.name)
            except CharthouseError as exc:
                log.warning("runtime %s not synced: %s", spec.name, exc.message)
                failed.append(spec.name)
                self._failed(spec.name, exc.code, exc.message)
            except Exception as exc:  # noqa: BLE001 - one runtime's failure never stops the others in the tick
                log.exception("runtime %s not synced", spec.name)
                failed.append(spec.name)
                self._failed(spec.name, "InternalError", f"the sync failed unexpectedly ({type(exc).__name__})")
        return {"synced": started, "failed": failed}

    def _failed(self, name: str, code: str, message: str) -> None:
        """Record on the runtime why the schedule could not sync it (best effort: the tick goes on)."""
        try:
            status, version = self.store.get_runtime_status(name)
            if status.get("phase") == "syncing":
                return
            status.update(
                phase="error",
                checked_at=self._at(),
                checked_ts=self.clock(),
                last_error={"code": code, "message": message, "at": self._at(), "stage": "source"},
            )
            self.store.put_runtime_status(name, status, version)
        except Exception:  # noqa: BLE001 - the store itself failing is logged, the tick goes on
            log.exception("runtime %s: the failure could not be recorded", name)

    def webhook(self, name: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        """A push event (GitHub ``X-Hub-Signature-256``, GitLab ``X-Gitlab-Token``) verified against the runtime's
        webhook secret, then a sync. Anything unverified is a 401 that says nothing about the runtime."""
        doc = self.store.get_runtime(name)
        secret_id = (doc or {}).get("webhook_secret")
        secret = (self.vault.get(secret_id) or {}).get("secret") if secret_id else None
        if not doc or not isinstance(secret, str) or not verify_push(secret, headers, body):
            raise WebhookRefused(_why_refused(doc, secret, headers))
        if RuntimeSpec.from_stored(doc).sync.suspend:
            return {"runtime": name, "sync": "suspended"}
        return {"runtime": name, "sync": "started", "status": self.sync(name, "webhook")["status"]}


def _replayed(status: dict[str, Any], idem: Idempotency | None) -> bool:
    """Whether ``idem`` was this runtime's sync request already (another request with the key: 422)."""
    if idem is None:
        return False
    seen = (status.get("requests") or {}).get(idem.key)
    if seen is None:
        return False
    if seen.get("hash") != idem.request_hash:
        raise InvalidInput("Idempotency-Key", "was already used with a different request")
    return True


def _remember(status: dict[str, Any], idem: Idempotency | None, ts: float) -> None:
    """Keep ``idem`` in the status document written next (the newest ``MAX_REQUESTS``)."""
    if idem is None:
        return
    requests = dict(status.get("requests") or {})
    requests[idem.key] = {"hash": idem.request_hash, "at": ts}
    newest = sorted(requests.items(), key=lambda kv: float(kv[1].get("at") or 0))[-MAX_REQUESTS:]
    status["requests"] = dict(newest)


class WebhookRefused(Unauthenticated):
    """An unverified push: the caller learns nothing about the runtime; ``reason`` is for the audit log only."""

    def __init__(self, reason: str) -> None:
        super().__init__("the webhook signature is missing or wrong")
        self.reason = reason


def _why_refused(doc: dict[str, Any] | None, secret: object, headers: dict[str, str]) -> str:
    if not doc:
        return "no such runtime"
    if not isinstance(secret, str):
        return "the runtime has no webhook secret"
    if not {k.lower() for k in headers} & {"x-hub-signature-256", "x-gitlab-token"}:
        return "no signature (X-Hub-Signature-256 or X-Gitlab-Token)"
    return "the signature does not match the runtime's webhook secret"


def verify_push(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """GitHub: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``; GitLab: ``X-Gitlab-Token: <secret>``."""
    lower = {k.lower(): v for k, v in headers.items()}
    signature = lower.get("x-hub-signature-256")
    if signature:
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), signature.strip().encode())
    token = lower.get("x-gitlab-token")
    if token:
        return hmac.compare_digest(secret.encode(), token.encode())
    return False
