"""What an upgrade or a rollback would change, answered at once: helm renders the target (a dry run) and the
stored manifest of the current revision is the other side; the cluster's objects are never touched."""

from __future__ import annotations

import dataclasses
from typing import Any

from chalicelib.adapters.helm import Helm
from chalicelib.adapters.store import Store
from chalicelib.core.clusters import ClusterRegistry
from chalicelib.domain import diff
from chalicelib.domain.models import ReleaseRecord, ReleaseRef, ReleaseStatus, RollbackSpec, UpgradeSpec
from chalicelib.errors import InvalidInput, ReleaseNotFound


class Differ:
    def __init__(self, store: Store, registry: ClusterRegistry, helm: Helm) -> None:
        self.store = store
        self.registry = registry
        self.helm = helm

    def _current(self, ref: ReleaseRef) -> ReleaseRecord | None:
        self.registry.get(ref.cluster)
        record = self.store.get_release(ref)
        return None if record is None or record.status is ReleaseStatus.UNINSTALLED else record

    def _stored(self, kubeconfig: str, ref: ReleaseRef, revision: int | None, hooks: bool) -> list[diff.Obj]:
        found = diff.objects(str(self.helm.get(kubeconfig, ref, "manifest", revision) or ""), ref.namespace)
        if hooks:
            text = str(self.helm.get(kubeconfig, ref, "hooks", revision) or "")
            found += diff.objects(text, ref.namespace, hook=True)
        return found

    def upgrade(self, ref: ReleaseRef, spec: UpgradeSpec, hooks: bool = False, reveal: bool = False) -> dict[str, Any]:
        """The upgrade ``spec`` against the current revision; with ``install: true`` and no release, all added."""
        record = self._current(ref)
        if record is None and not spec.install:
            raise ReleaseNotFound(f"release {ref.key} not found; set install: true to diff an install")
        kubeconfig = self.registry.credentials(ref.cluster).kubeconfig
        current = self._stored(kubeconfig, ref, None, hooks) if record else []
        rendered = self.helm.upgrade(kubeconfig, ref, dataclasses.replace(spec, dry_run=spec.dry_run or "client"))
        target = diff.objects(str(rendered.get("manifest") or ""), ref.namespace)
        if hooks:
            for h in rendered.get("hooks") or []:
                target += diff.objects(str(h.get("manifest") or ""), ref.namespace, hook=True)
        return self._answer(ref, "upgrade" if record else "install", record, None, current, target, reveal)

    def rollback(
        self, ref: ReleaseRef, spec: RollbackSpec, hooks: bool = False, reveal: bool = False
    ) -> dict[str, Any]:
        """A rollback to ``spec.revision`` (default: the one before the current) against the current revision."""
        record = self._current(ref)
        if record is None:
            raise ReleaseNotFound(f"release {ref.key} not found")
        revision = spec.revision or record.revision - 1
        if revision < 1 or not any(r.revision == revision for r in self.store.history(ref, 1000)):
            raise InvalidInput("revision", f"release {ref.key} has no revision {revision or 0} to roll back to")
        kubeconfig = self.registry.credentials(ref.cluster).kubeconfig
        current = self._stored(kubeconfig, ref, None, hooks)
        target = self._stored(kubeconfig, ref, revision, hooks)
        return self._answer(ref, "rollback", record, revision, current, target, reveal)

    @staticmethod
    def _answer(
        ref: ReleaseRef,
        action: str,
        record: ReleaseRecord | None,
        to_revision: int | None,
        current: list[diff.Obj],
        target: list[diff.Obj],
        reveal: bool,
    ) -> dict[str, Any]:
        entries = diff.compare(current, target, reveal)
        out: dict[str, Any] = {
            "release": ref.to_json(),
            "action": action,
            "from_revision": record.revision if record else 0,
            "summary": diff.summary(entries),
            "objects": entries,
        }
        if to_revision is not None:
            out["to_revision"] = to_revision
        return out
