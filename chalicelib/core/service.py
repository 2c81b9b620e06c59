"""Decisions and records: what a request may do given the stored state, and what helm's state means for the store.

No chalice and no subprocess here: helm, the store and the queue are injected.
"""

from __future__ import annotations

import builtins
import dataclasses
import logging
import re
import time
from collections.abc import Callable
from typing import Any, Protocol

from chalicelib.adapters.helm import Helm
from chalicelib.adapters.kube import release_secrets
from chalicelib.adapters.store import Store
from chalicelib.core.clusters import ClusterRegistry
from chalicelib.domain import manifests, redact
from chalicelib.domain import validate as v
from chalicelib.domain import values as vals
from chalicelib.domain.models import (
    Action,
    ChartSpec,
    InstallSpec,
    Lease,
    ListQuery,
    NameRequest,
    Operation,
    ReleaseRecord,
    ReleaseRef,
    ReleaseStatus,
    Revision,
    RollbackSpec,
    Spec,
    UninstallSpec,
    UnlockSpec,
    UpgradeSpec,
    now,
)
from chalicelib.errors import (
    CharthouseError,
    HelmError,
    InvalidInput,
    NoPreviousRevision,
    ReleaseExists,
    ReleaseNotFound,
)

log = logging.getLogger(__name__)

INFO_PARTS = ("values", "manifest", "notes", "hooks", "resources")
MAX_NOTES = 16 * 1024


class ReleaseService:
    def __init__(
        self,
        store: Store,
        registry: ClusterRegistry,
        helm: Helm,
        repository_masking: Callable[[ChartSpec], redact.Masking] = lambda spec: redact.NO_MASKING,
    ) -> None:
        self.store = store
        self.registry = registry
        self.helm = helm
        self._repository_masking = repository_masking  # Catalog.masking: the chart repository's added rules
        self._helm_version: str | None = None

    def helm_version(self) -> str:
        """The helm binary's version (``v4.0.1``), read once per container; ``unknown`` when helm cannot say."""
        if self._helm_version is None:
            try:
                self._helm_version = self.helm.version or "unknown"
            except CharthouseError:
                return "unknown"
        return self._helm_version

    # ------------------------------------------------------------ decisions before accepting

    def resolve_name(self, cluster: str, chart: str, req: NameRequest) -> str:
        """The release name an install will use: given, generated like helm does, or rendered from a template."""
        if req.name:
            return req.name
        if req.name_template:
            try:
                name = self.helm.render_name(req.name_template)
            except (HelmError, InvalidInput) as exc:
                raise InvalidInput("name_template", f"could not be rendered: {exc.message}") from exc
            return v.release_name("name_template", name)
        base = re.sub(r"-v?\d+(\.\d+)*([-+].*)?$", "", chart.rstrip("/").rsplit("/", 1)[-1].removesuffix(".tgz"))
        base = re.sub(r"[^a-z0-9-]", "-", base.lower()).strip("-")[:42] or "release"
        return f"{base}-{int(time.time())}"

    # The checks below read the stored state of a release on a cluster the caller resolved (``core/releases.py``).

    # Each returns the record it read (None: there is none), for the run to use (``core/operations.Basis``).

    def check_install(self, ref: ReleaseRef, spec: InstallSpec) -> ReleaseRecord | None:
        record = self.store.get_release(ref)
        if record and record.status is not ReleaseStatus.UNINSTALLED and not spec.dry_run:
            if not (spec.replace and record.status is ReleaseStatus.FAILED):
                raise ReleaseExists(
                    f"release {ref.key} already exists ({record.status.value}); upgrade it instead",
                    status=record.status.value,
                )
        return record

    def check_upgrade(self, ref: ReleaseRef, spec: UpgradeSpec) -> ReleaseRecord | None:
        record = self.store.get_release(ref)
        if (record is None or record.status is ReleaseStatus.UNINSTALLED) and not spec.install:
            raise ReleaseNotFound(f"release {ref.key} not found; set install: true to install it")
        return record

    def require_release(self, ref: ReleaseRef) -> ReleaseRecord:
        """The stored record of a release, its cluster resolved first (``ClusterNotFound``, ``ReleaseNotFound``)."""
        self.registry.get(ref.cluster)
        return self._stored(ref)

    def _stored(self, ref: ReleaseRef) -> ReleaseRecord:
        record = self.store.get_release(ref)
        if record is None:
            raise ReleaseNotFound(f"release {ref.key} not found")
        return record

    def check_rollback(self, ref: ReleaseRef, revision: int) -> int:
        """The revision a rollback goes to (``revision``, or the one before the current one); refused when there
        is none: ``NoPreviousRevision`` (409) rather than helm's own error after the operation ran."""
        return self.checked_rollback(ref, revision)[0]

    def checked_rollback(self, ref: ReleaseRef, revision: int) -> tuple[int, ReleaseRecord]:
        """``check_rollback``, and the record it read."""
        record = self._stored(ref)
        history = self.store.history(ref, 1000)
        if record.status is ReleaseStatus.UNINSTALLED and not history:
            raise ReleaseNotFound(f"release {ref.key} was uninstalled without history")
        if revision:
            if not any(r.revision == revision for r in history):
                raise InvalidInput("revision", f"release {ref.key} has no revision {revision}")
            return revision, record
        earlier = [r.revision for r in history if r.revision < record.revision]
        if not earlier:
            raise NoPreviousRevision(
                f"release {ref.key} has no revision before {record.revision} to roll back to",
                revision=record.revision,
            )
        return max(earlier), record

    def rollback_preview(self, ref: ReleaseRef, spec: RollbackSpec) -> dict[str, Any]:
        """A rollback's dry run: what it would do, checked like the real one; nothing runs and nothing changes."""
        target = self.check_rollback(ref, spec.revision)
        record = self.require_release(ref)
        to = next(r for r in self.store.history(ref, 1000) if r.revision == target)
        return {
            "dry_run": spec.dry_run,
            "release": {**ref.to_json(), "revision": record.revision, "status": record.status.value},
            "rollback_to": to.to_json(),
            "new_revision": max(r.revision for r in self.store.history(ref, 1)) + 1,
        }

    def check_test(self, ref: ReleaseRef) -> ReleaseRecord:
        record = self._stored(ref)
        if record.status is ReleaseStatus.UNINSTALLED:
            raise ReleaseNotFound(f"release {ref.key} is uninstalled: nothing to test")
        return record

    def check_uninstall(self, ref: ReleaseRef) -> ReleaseRecord:
        record = self._stored(ref)
        if record.status is ReleaseStatus.UNINSTALLED:
            raise ReleaseNotFound(f"release {ref.key} is already uninstalled")
        return record

    # ------------------------------------------------------------ dry run (synchronous)

    def added_masking(self, cluster: str, spec: ChartSpec) -> redact.Masking:
        """The cluster's and the chart repository's added masking rules (docs/SECURITY.md), to join to ``spec``'s
        own ``set_sensitive`` (``ChartSpec.masked_by``): helm's messages are scrubbed by them, and the release
        remembers them. The hall joins them when it accepts (``core/releases.py``) and the executor again when it
        runs (the rules as they are then), so no door can skip them."""
        return self.registry.get(cluster).masking + self._repository_masking(spec)

    def dry_run(self, ref: ReleaseRef, spec: ChartSpec, reveal: bool = False) -> dict[str, Any]:
        """helm's dry run of ``spec``, whose added masking rules the hall has joined (``core/releases.py``)."""
        creds = self.registry.credentials(ref.cluster)
        if isinstance(spec, InstallSpec):
            release = self.helm.install(creds.kubeconfig, ref, spec)
        else:
            assert isinstance(spec, UpgradeSpec)
            release = self.helm.upgrade(creds.kubeconfig, ref, spec)
        info = release.get("info") or {}
        return {
            "dry_run": spec.dry_run,
            "release": {
                **ref.to_json(),
                **_chart_fields(release),
                "revision": release.get("version"),
                "status": info.get("status"),
            },
            "manifest": _shown_manifest(release.get("manifest", ""), reveal),
            "notes": info.get("notes", ""),
            "hooks": [_hook(h) for h in release.get("hooks") or []],
            "resources": manifests.resources(release.get("manifest", ""), ref.namespace),
        }

    # ------------------------------------------------------------ reads

    def current(self, ref: ReleaseRef) -> ReleaseRecord | None:
        """The stored record as it is right now: while an accepted operation holds the release, its status is
        the one helm gives it meanwhile (``pending-install``, ``pending-upgrade``, ``pending-rollback``,
        ``uninstalling``), from the moment it is accepted; a first install shows a record at revision 0."""
        return self._pending(ref, self.store.get_release(ref), self.store.lease(ref))

    def _pending(self, ref: ReleaseRef, record: ReleaseRecord | None, lease: Lease | None) -> ReleaseRecord | None:
        if lease is None or lease.expired:
            return record
        op = self.store.get_operation(lease.operation_id)
        if op is None or op.status.terminal or op.action not in _PENDING:
            return record
        if record is None or record.status is ReleaseStatus.UNINSTALLED:
            if op.action not in (Action.INSTALL, Action.UPGRADE):
                return record
            return _pending_record(ref, op, record)
        return dataclasses.replace(
            record, status=_PENDING[op.action], last_action=op.action.value, last_operation_id=op.id
        )

    def _with_pending(self, records: list[ReleaseRecord]) -> list[ReleaseRecord]:
        """``current`` for a page of records: one query for the live leases, an operation read per held one."""
        leases = {lease.ref.key: lease for lease in self.store.live_leases()} if records else {}
        return [self._pending(r.ref, r, leases[r.ref.key]) or r if r.ref.key in leases else r for r in records]

    def get(
        self, ref: ReleaseRef, parts: tuple[str, ...], revision: int | None, reveal: bool = False
    ) -> dict[str, Any]:
        """The stored record, plus ``parts`` read through helm. Values and manifests are masked (secret-looking
        keys, ``set_sensitive`` paths, the cluster's added rules, Secret data) unless ``reveal``. A release being installed answers too
        (``current``), without details until its first revision exists."""
        self.registry.get(ref.cluster)
        record = self.current(ref)
        if record is None:
            raise ReleaseNotFound(f"release {ref.key} not found")
        out = record.to_json()
        if record.status is ReleaseStatus.PENDING_INSTALL and not self.store.history(ref, 1):
            return out  # nothing helm could show yet
        if revision:
            match = [r for r in self.store.history(ref, 1000) if r.revision == revision]
            if not match:
                raise ReleaseNotFound(f"release {ref.key} has no revision {revision}")
            out["requested_revision"] = match[0].to_json()
        if not parts:
            return out
        if record.status is ReleaseStatus.UNINSTALLED and not self.store.history(ref, 1):
            raise ReleaseNotFound(f"release {ref.key} was uninstalled; its details are gone")
        creds = self.registry.credentials(ref.cluster)
        for part in parts:
            if part == "resources":
                manifest = self.helm.get(creds.kubeconfig, ref, "manifest", revision)
                out["resources"] = manifests.resources(str(manifest), ref.namespace)
            elif part == "hooks":
                text = str(self.helm.get(creds.kubeconfig, ref, "hooks", revision))
                out["hooks"] = [manifests.hook_summary(d) for d in manifests.documents(text)]
            elif part == "values":
                shown = self.helm.get(creds.kubeconfig, ref, "values", revision) or {}
                masking = record.masking + self.registry.get(ref.cluster).masking  # its rules as they are now
                out["values"] = shown if reveal else redact.mask_values(shown, masking.paths, masking.keys)
            elif part == "manifest":
                out["manifest"] = _shown_manifest(
                    str(self.helm.get(creds.kubeconfig, ref, "manifest", revision)), reveal
                )
            elif part == "notes":
                out["notes"] = str(self.helm.get(creds.kubeconfig, ref, "notes", revision)).removeprefix("NOTES:\n")
            else:
                out[part] = self.helm.get(creds.kubeconfig, ref, part, revision)
        return out

    def record(self, ref: ReleaseRef) -> dict[str, Any] | None:
        """The stored record as ``get`` shows it without details; None when there is none."""
        found = self.store.get_release(ref)
        return found.to_json() if found else None

    def history(self, ref: ReleaseRef, max_entries: int) -> list[dict[str, Any]]:
        if self.current(ref) is None:
            self.require_release(ref)
        return [r.to_json() for r in self.store.history(ref, max_entries)]

    def list(self, q: ListQuery) -> tuple[list[dict[str, Any]], str | None]:
        """One page of records. Sorted (``sort``) or filtered by a regular expression (``filter``), every matching
        record is read first (at most ``MAX_WHOLE_LIST``), then paged with an offset token."""
        if q.cluster:
            self.registry.get(q.cluster)
        if not q.whole:
            records, token = self.store.list_releases(q)
            return [r.to_json() for r in self._with_pending(records)], token
        start = _offset(q.next_token)
        found: list[ReleaseRecord] = []
        page = dataclasses.replace(q, limit=1000, next_token=None)
        while True:
            records, token = self.store.list_releases(page)
            found += [r for r in records if q.filter is None or q.filter.matches(r.ref.name)]
            if token is None or len(found) >= MAX_WHOLE_LIST:
                break
            page = dataclasses.replace(page, next_token=token)
        if q.sort:
            found.sort(key=lambda r: (r.ref.name, r.ref.namespace, r.ref.cluster))
            if q.sort == "last_deployed":
                found.sort(key=lambda r: r.last_deployed)
        if q.reverse:
            found.reverse()
        more = start + q.limit < len(found)
        shown = self._with_pending(found[start : start + q.limit])
        return [r.to_json() for r in shown], f"{OFFSET}{start + q.limit}" if more else None

    # ------------------------------------------------------------ recovery (worker side of an unlock operation)

    def recover(self, kubeconfig: str, ref: ReleaseRef, spec: UnlockSpec) -> dict[str, Any]:
        """Bring a release left ``pending-*`` (or ``uninstalling``) by a lost helm process back to a state helm
        accepts operations on. The pending revision is marked ``failed`` (it did not complete); then, with policy
        ``rollback``, the release is rolled back to the newest good revision when there is one."""
        try:
            status = self.helm.status(kubeconfig, ref)
        except ReleaseNotFound:
            return {"recovery": "none", "detail": "helm has no such release"}
        current = ReleaseStatus.parse((status.get("info") or {}).get("status"))
        if not current.pending:
            return {"recovery": "none", "detail": f"the release is {current.value}; nothing to recover"}
        revision = int(status.get("version") or 0)
        good = [
            h.revision
            for h in map(Revision.from_json, self.helm.history(kubeconfig, ref))
            if h.status in (ReleaseStatus.DEPLOYED, ReleaseStatus.SUPERSEDED) and h.revision < revision
        ]
        self.helm.mark_failed(kubeconfig, ref, revision, "marked failed by Charthouse: its operation was lost")
        outcome = {"recovery": "marked-failed", "from_status": current.value, "failed_revision": revision}
        if spec.policy == "rollback" and good and current is not ReleaseStatus.UNINSTALLING:
            self.helm.rollback(kubeconfig, ref, RollbackSpec(revision=max(good), timeout_s=spec.timeout_s))
            outcome.update(recovery="rolled-back", to_revision=max(good))
        return outcome

    # ------------------------------------------------------------ recording what helm did

    def snapshot(
        self,
        kubeconfig: str,
        op: Operation,
        spec: Spec,
        previous: ReleaseRecord | None,
        failed: bool,
        released: dict[str, Any] | None = None,
    ) -> ReleaseRecord | None:
        """``read_back``, and the revision history written at once (``Store.sync_revisions``): for callers that
        do not write it with the operation's outcome (the reconcile)."""
        record, history = self.read_back(kubeconfig, op, spec, previous, failed, released)
        self.store.sync_revisions(op.release, history)
        return record

    def read_back(
        self,
        kubeconfig: str,
        op: Operation,
        spec: Spec,
        previous: ReleaseRecord | None,
        failed: bool,
        released: dict[str, Any] | None = None,
    ) -> tuple[ReleaseRecord | None, builtins.list[Revision]]:
        """Read helm's view of the release and turn it into the record to store and the revision history helm
        keeps (to store with it: ``Store.finish_operation``): from helm's release Secrets in one API call, or
        through helm when they cannot be read (``_read_back``).

        ``released`` is what install/upgrade printed (``-o json``: status, revision, chart, notes, values): with
        it, only the history is read back (``helm status`` alone costs more than the rest; docs/PERFORMANCE.md).
        Returns None when helm knows nothing and nothing was stored before (a failed first install that left
        no release behind).
        """
        ref = op.release
        helm_said = self._read_back(kubeconfig, op, spec)
        history = [Revision.from_json(h) for h in helm_said.history()]
        if not history:
            if previous is None:
                return None, history
            gone = _record(previous, op, failed, status=ReleaseStatus.UNINSTALLED, notes="", changed_out_of_band=False)
            return gone, history
        if released is not None and int(released.get("version") or 0) == max(h.revision for h in history):
            status = released
            chart = (released.get("chart") or {}).get("metadata") or {}
            meta = {"chart": chart.get("name"), "version": chart.get("version"), "appVersion": chart.get("appVersion")}
        else:  # the newest history entry has what `helm status` would say, for far less (no resource lookups)
            newest, oldest = max(history, key=lambda h: h.revision), min(history, key=lambda h: h.revision)
            status = {
                "version": newest.revision,
                "info": {
                    "status": newest.status.value,
                    "description": newest.description,
                    "last_deployed": newest.updated,
                    "first_deployed": previous.first_deployed
                    if previous and previous.first_deployed
                    else oldest.updated,
                    "notes": helm_said.notes().removeprefix("NOTES:\n"),
                },
            }
            meta = helm_said.metadata() or {}
        info = status.get("info") or {}
        reused = isinstance(spec, UpgradeSpec) and (spec.reuse_values or spec.reset_then_reuse_values)
        if isinstance(spec, ChartSpec) and not reused:
            digest = vals.digest(spec.values)  # exactly the user values helm stored: our one values file
        elif status is released and isinstance(released.get("config"), dict):
            digest = vals.digest(released["config"])  # the values helm stored for this revision, as it printed them
        else:  # reused, rolled back or recovered values are some earlier revision's: ask helm which
            digest = vals.digest(helm_said.values() or {})
        labels = spec.labels if isinstance(spec, ChartSpec) and spec.labels else (previous.labels if previous else {})
        base = ReleaseRecord(
            ref=ref,
            status=ReleaseStatus.parse(info.get("status")),
            revision=int(status.get("version") or 0),
            chart_name=str(meta.get("chart") or ""),
            chart_version=str(meta.get("version") or ""),
            app_version=str(meta.get("appVersion") or ""),
            first_deployed=str(info.get("first_deployed") or ""),
            last_deployed=str(info.get("last_deployed") or ""),
            description=str(info.get("description") or ""),
            notes=str(info.get("notes") or "")[:MAX_NOTES],
            values_digest=digest,
            labels=labels,
            last_action=op.action.value,
            last_operation_id=op.id,
            failures=previous.failures if previous else 0,
            updated_at=now(),
            sensitive_paths=_sensitive(previous, spec),
            sensitive_keys=_sensitive_keys(previous, spec),
            drift_correction=spec.drift_correction
            if isinstance(spec, ChartSpec)
            else bool(previous and previous.drift_correction),
        )
        return _record(base, op, failed), history

    def _read_back(self, kubeconfig: str, op: Operation, spec: Spec) -> ReadBack:
        """What helm now keeps of the release: its release Secrets, read once; helm itself (a process per
        question) when they cannot be read, or when none were found where helm should have kept some (a storage
        driver other than Secrets). Says which in the operation's log line."""
        try:
            stored = self.helm.stored(kubeconfig, op.release)
        except release_secrets.Unreadable as exc:
            log.info("operation %s: read back with helm: the release Secrets could not be read (%s)", op.id, exc)
            return HelmReadBack(self.helm, kubeconfig, op.release)
        if not stored.revisions and not (isinstance(spec, UninstallSpec) and not spec.keep_history):
            log.info("operation %s: read back with helm: no release Secrets of %s found", op.id, op.release.key)
            return HelmReadBack(self.helm, kubeconfig, op.release)
        log.info("operation %s: read back from %d release Secrets", op.id, len(stored.revisions))
        return stored


class ReadBack(Protocol):
    """helm's state of one release after a verb, as helm's CLI prints it (``history``, ``get metadata``,
    ``get notes``, ``get values``): ``release_secrets.StoredRelease``, or helm itself (``HelmReadBack``)."""

    def history(self) -> list[dict[str, Any]]: ...
    def metadata(self) -> dict[str, Any]: ...
    def notes(self) -> str: ...
    def values(self) -> Any: ...


class HelmReadBack:
    """``ReadBack`` through the helm binary, one process per call (the fallback)."""

    def __init__(self, helm: Helm, kubeconfig: str, ref: ReleaseRef) -> None:
        self.helm, self.kubeconfig, self.ref = helm, kubeconfig, ref

    def history(self) -> list[dict[str, Any]]:
        try:
            return self.helm.history(self.kubeconfig, self.ref)
        except ReleaseNotFound:
            return []

    def metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = self.helm.get(self.kubeconfig, self.ref, "metadata", None) or {}
        return meta

    def notes(self) -> str:
        try:
            return str(self.helm.get(self.kubeconfig, self.ref, "notes", None) or "")
        except HelmError:
            return ""  # a chart without NOTES.txt

    def values(self) -> Any:
        return self.helm.get(self.kubeconfig, self.ref, "values", None)


_PENDING = {
    Action.INSTALL: ReleaseStatus.PENDING_INSTALL,
    Action.UPGRADE: ReleaseStatus.PENDING_UPGRADE,
    Action.ROLLBACK: ReleaseStatus.PENDING_ROLLBACK,
    Action.UNINSTALL: ReleaseStatus.UNINSTALLING,
}
MAX_WHOLE_LIST = 10_000
OFFSET = "offset:"


def _offset(token: str | None) -> int:
    if not token:
        return 0
    number = token.removeprefix(OFFSET)
    if not token.startswith(OFFSET) or not number.isdigit() or len(number) > 9:
        raise InvalidInput("next_token", "is not a token this API returned (for this sort or filter)")
    return int(number)


def _pending_record(ref: ReleaseRef, op: Operation, before: ReleaseRecord | None) -> ReleaseRecord:
    """What a release being installed shows before helm has made its first revision."""
    chart = str(op.request.get("chart") or "")
    return ReleaseRecord(
        ref=ref,
        status=ReleaseStatus.PENDING_INSTALL,
        revision=before.revision if before else 0,
        chart_name=chart.rstrip("/").rsplit("/", 1)[-1].removesuffix(".tgz"),
        chart_version=str(op.request.get("version") or ""),
        app_version="",
        first_deployed="",
        last_deployed="",
        description="Install accepted",
        notes="",
        values_digest=str(op.request.get("values") or ""),
        labels=dict(op.request.get("labels") or {}),
        last_action=op.action.value,
        last_operation_id=op.id,
        failures=0,
        updated_at=op.created_at,
    )


def _sensitive(previous: ReleaseRecord | None, spec: Spec) -> tuple[tuple[str | int, ...], ...]:
    """Paths to mask in the values helm holds: this request's ``set_sensitive`` and every earlier one (reused or
    rolled-back values may still hold them; masking too much is the safe side)."""
    earlier = previous.sensitive_paths if previous else ()
    now_ = spec.sensitive_paths if isinstance(spec, ChartSpec) else ()
    return tuple(dict.fromkeys(tuple(p) for p in (*earlier, *now_)))  # a queued spec holds them as JSON lists


def _sensitive_keys(previous: ReleaseRecord | None, spec: Spec) -> tuple[str, ...]:
    """Key names to mask: the cluster's and repository's added rules at this operation, and every earlier one."""
    earlier = previous.sensitive_keys if previous else ()
    now_ = spec.sensitive_keys if isinstance(spec, ChartSpec) else ()
    return tuple(dict.fromkeys((*earlier, *now_)))


def _record(base: ReleaseRecord, op: Operation, failed: bool, **changes: Any) -> ReleaseRecord:
    from dataclasses import replace

    return replace(
        base,
        last_action=op.action.value,
        last_operation_id=op.id,
        updated_at=now(),
        failures=base.failures + 1 if failed else 0,
        **changes,
    )


def _shown_manifest(manifest: str, reveal: bool) -> str:
    return manifest if reveal else redact.mask_manifest(manifest)


def _chart_fields(release: dict[str, Any]) -> dict[str, str]:
    meta = (release.get("chart") or {}).get("metadata") or {}
    return {
        "chart_name": str(meta.get("name") or ""),
        "chart_version": str(meta.get("version") or ""),
        "app_version": str(meta.get("appVersion") or ""),
    }


def _hook(h: dict[str, Any]) -> dict[str, Any]:
    return {"name": h.get("name"), "kind": h.get("kind"), "events": h.get("events") or [], "path": h.get("path")}


def error_json(exc: CharthouseError) -> dict[str, Any]:
    return {"code": exc.code, "message": exc.message, "details": exc.details}
