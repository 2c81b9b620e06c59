"""Frozen dataclasses and str Enums at the edges of the service.

Request specs are built with ``from_json`` (validated: every problem names its field) and travel to the worker
with ``to_message``/``from_message``. Stored things convert with ``to_item``/``from_item``; raw dicts never
travel past the module that received them.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar, Self, TypeVar

from chalicelib.domain import fields, redact
from chalicelib.domain import validate as v
from chalicelib.domain import values as vals
from chalicelib.domain.fields import CASCADE_MODES, DRY_RUN_MODES, RECOVERY_POLICIES
from chalicelib.domain.namefilter import NameFilter
from chalicelib.errors import InvalidInput


class ReleaseStatus(str, Enum):
    """Helm's own status names."""

    UNKNOWN = "unknown"
    DEPLOYED = "deployed"
    UNINSTALLED = "uninstalled"
    SUPERSEDED = "superseded"
    FAILED = "failed"
    UNINSTALLING = "uninstalling"
    PENDING_INSTALL = "pending-install"
    PENDING_UPGRADE = "pending-upgrade"
    PENDING_ROLLBACK = "pending-rollback"

    @classmethod
    def parse(cls, raw: object) -> ReleaseStatus:
        try:
            return cls(str(raw))
        except ValueError:
            return cls.UNKNOWN

    @property
    def pending(self) -> bool:
        return self.value.startswith("pending-") or self is ReleaseStatus.UNINSTALLING


STATUS_FILTERS = ("deployed", "failed", "pending", "superseded", "uninstalled", "uninstalling", "unknown")


class OperationStatus(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (OperationStatus.SUCCEEDED, OperationStatus.FAILED)


class Action(str, Enum):
    INSTALL = "install"
    UPGRADE = "upgrade"
    ROLLBACK = "rollback"
    UNINSTALL = "uninstall"
    UNLOCK = "unlock"  # recover a release left pending by a lost worker (see RELIABILITY.md)
    RECONCILE = "reconcile"  # bring the store in line with a whole cluster (reconcile.py); not per release
    TEST = "test"  # run the chart's test hooks (helm test)


def now() -> float:
    return round(time.time(), 3)


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"


CLUSTER_WIDE = "*"  # namespace and name of the pseudo-release of cluster-wide operations (never a DNS label)


@dataclass(frozen=True)
class ReleaseRef:
    """Where a release lives: cluster, namespace, name."""

    cluster: str
    namespace: str
    name: str

    @classmethod
    def parse(cls, cluster: object, namespace: object, name: object) -> ReleaseRef:
        return cls(
            v.dns_label("cluster", cluster),
            v.dns_label("namespace", namespace),
            v.release_name("name", name),
        )

    @property
    def key(self) -> str:
        return f"{self.cluster}/{self.namespace}/{self.name}"

    @classmethod
    def whole_cluster(cls, cluster: str) -> ReleaseRef:
        """The pseudo-release a cluster-wide operation (reconcile) is recorded and leased under."""
        return cls(cluster, CLUSTER_WIDE, CLUSTER_WIDE)

    @property
    def cluster_wide(self) -> bool:
        return self.namespace == CLUSTER_WIDE

    def to_json(self) -> dict[str, str]:
        return {"cluster": self.cluster, "namespace": self.namespace, "name": self.name}


# ---------------------------------------------------------------- request specs

COMMON_FIELDS = fields.declare(
    "chart",
    "version",
    "values",
    "values_files",
    "set",
    "set_string",
    "set_json",
    "dry_run",
    "disable_hooks",
    "wait",
    "wait_for_jobs",
    "timeout",
    "atomic",
    "rollback_on_failure",
    "skip_crds",
    "create_namespace",
    "dependency_update",
    "description",
    "devel",
    "render_subchart_notes",
    "labels",
    "max_history",
    "verify",
    "drift_correction",
    "set_sensitive",
)
INSTALL_FIELDS = COMMON_FIELDS | fields.declare("name", "generate_name", "name_template", "replace")
UPGRADE_FIELDS = COMMON_FIELDS | fields.declare(
    "reuse_values", "reset_values", "reset_then_reuse_values", "force", "cleanup_on_fail", "install"
)


@dataclass(frozen=True)
class Limits:
    """Bounds the worker can honour, from Settings."""

    max_timeout_s: int
    default_timeout_s: int
    default_max_history: int
    allow_http_charts: bool


def _dry_run(raw: object) -> str | None:
    if raw is None or raw is False:
        return None
    if raw is True:
        return "client"
    return v.choice("dry_run", raw, DRY_RUN_MODES)


@dataclass(frozen=True)
class ChartSpec:
    """Options shared by install and upgrade (helm's chart-installing flags)."""

    chart: str
    version: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    dry_run: str | None = None
    disable_hooks: bool = False
    wait: bool = False
    wait_for_jobs: bool = False
    timeout_s: int = 300
    atomic: bool = False
    skip_crds: bool = False
    create_namespace: bool = False
    dependency_update: bool = False
    description: str | None = None
    devel: bool = False
    render_subchart_notes: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    max_history: int = 10
    verify: bool = False
    sensitive_paths: tuple[tuple[str | int, ...], ...] = ()  # set_sensitive: masked wherever values are shown
    sensitive_keys: tuple[str, ...] = ()  # key names the cluster's and repository's masking rules add (redact.py)
    drift_correction: bool = False  # Charthouse's own: reconcile re-applies the release when it drifts (drift.py)

    def masked_by(self, rules: redact.Masking) -> Self:
        """This spec with ``rules`` (a cluster's or repository's added masking) joined to its own."""
        joined = redact.Masking(self.sensitive_paths, self.sensitive_keys) + rules
        return dataclasses.replace(self, sensitive_paths=joined.paths, sensitive_keys=joined.keys)

    @staticmethod
    def parse_common(body: dict[str, Any], limits: Limits) -> dict[str, Any]:
        atomic = v.boolean("atomic", body.get("atomic")) or v.boolean(
            "rollback_on_failure", body.get("rollback_on_failure")
        )
        wait_for_jobs = v.boolean("wait_for_jobs", body.get("wait_for_jobs"))
        return dict(
            chart=v.chart_reference("chart", body.get("chart"), limits.allow_http_charts),
            version=v.chart_version("version", body.get("version")),
            values=vals.combine(
                body.get("values"),
                body.get("set"),
                body.get("set_string"),
                body.get("set_json"),
                set_sensitive=body.get("set_sensitive"),
                values_files=body.get("values_files"),
            ),
            sensitive_paths=vals.sensitive_paths(body.get("set_sensitive")),
            dry_run=_dry_run(body.get("dry_run")),
            disable_hooks=v.boolean("disable_hooks", body.get("disable_hooks")),
            # helm: --atomic and --wait-for-jobs imply --wait
            wait=v.boolean("wait", body.get("wait")) or atomic or wait_for_jobs,
            wait_for_jobs=wait_for_jobs,
            timeout_s=v.duration_seconds(
                "timeout", body.get("timeout"), limits.max_timeout_s, limits.default_timeout_s
            ),
            atomic=atomic,
            skip_crds=v.boolean("skip_crds", body.get("skip_crds")),
            create_namespace=v.boolean("create_namespace", body.get("create_namespace")),
            dependency_update=v.boolean("dependency_update", body.get("dependency_update")),
            description=v.text("description", body.get("description")),
            devel=v.boolean("devel", body.get("devel")),
            render_subchart_notes=v.boolean("render_subchart_notes", body.get("render_subchart_notes")),
            labels=v.labels("labels", body.get("labels")),
            max_history=v.integer("max_history", body.get("max_history"), 0, 1000, limits.default_max_history),
            verify=v.boolean("verify", body.get("verify")),
            drift_correction=v.boolean("drift_correction", body.get("drift_correction")),
        )


@dataclass(frozen=True)
class InstallSpec(ChartSpec):
    """helm install. ``name_template`` is resolved to a name by the API before the operation is queued."""

    replace: bool = False

    @classmethod
    def from_json(cls, body: dict[str, Any], limits: Limits) -> tuple[InstallSpec, NameRequest]:
        v.no_unknown(body, INSTALL_FIELDS)
        name_req = NameRequest(
            name=None if body.get("name") in (None, "") else v.release_name("name", body.get("name")),
            generate_name=v.boolean("generate_name", body.get("generate_name")),
            name_template=v.text("name_template", body.get("name_template"), 256),
        )
        if sum(bool(x) for x in (name_req.name, name_req.generate_name, name_req.name_template)) != 1:
            raise InvalidInput("name", "give exactly one of name, generate_name: true, or name_template")
        spec = cls(**cls.parse_common(body, limits), replace=v.boolean("replace", body.get("replace")))
        return spec, name_req


@dataclass(frozen=True)
class NameRequest:
    name: str | None
    generate_name: bool
    name_template: str | None


@dataclass(frozen=True)
class UpgradeSpec(ChartSpec):
    """helm upgrade (``install`` makes it an upsert, like ``helm upgrade --install``)."""

    reuse_values: bool = False
    reset_values: bool = False
    reset_then_reuse_values: bool = False
    force: bool = False
    cleanup_on_fail: bool = False
    install: bool = False

    @classmethod
    def from_json(cls, body: dict[str, Any], limits: Limits) -> UpgradeSpec:
        v.no_unknown(body, UPGRADE_FIELDS)
        reuse = v.boolean("reuse_values", body.get("reuse_values"))
        reset = v.boolean("reset_values", body.get("reset_values"))
        reset_reuse = v.boolean("reset_then_reuse_values", body.get("reset_then_reuse_values"))
        if reuse + reset + reset_reuse > 1:
            raise InvalidInput(
                "reuse_values", "reuse_values, reset_values and reset_then_reuse_values exclude each other"
            )
        return cls(
            **cls.parse_common(body, limits),
            reuse_values=reuse,
            reset_values=reset,
            reset_then_reuse_values=reset_reuse,
            force=v.boolean("force", body.get("force")),
            cleanup_on_fail=v.boolean("cleanup_on_fail", body.get("cleanup_on_fail")),
            install=v.boolean("install", body.get("install")),
        )


ROLLBACK_FIELDS = fields.declare(
    "revision",
    "wait",
    "wait_for_jobs",
    "timeout",
    "force",
    "cleanup_on_fail",
    "disable_hooks",
    "description",
    "max_history",
    "dry_run",
)


@dataclass(frozen=True)
class RollbackSpec:
    """helm rollback. ``revision`` 0 means the previous revision, as in helm."""

    revision: int = 0
    wait: bool = False
    wait_for_jobs: bool = False
    timeout_s: int = 300
    force: bool = False
    cleanup_on_fail: bool = False
    disable_hooks: bool = False
    description: str | None = None
    max_history: int = 10
    dry_run: str | None = None  # checked and answered at once (what it would roll back to); nothing runs

    @classmethod
    def from_json(cls, body: dict[str, Any], limits: Limits) -> RollbackSpec:
        v.no_unknown(body, ROLLBACK_FIELDS)
        wait_for_jobs = v.boolean("wait_for_jobs", body.get("wait_for_jobs"))
        return cls(
            revision=v.integer("revision", body.get("revision"), 0, 1_000_000, 0) or 0,
            wait=v.boolean("wait", body.get("wait")) or wait_for_jobs,
            wait_for_jobs=wait_for_jobs,
            timeout_s=v.duration_seconds(
                "timeout", body.get("timeout"), limits.max_timeout_s, limits.default_timeout_s
            ),
            force=v.boolean("force", body.get("force")),
            cleanup_on_fail=v.boolean("cleanup_on_fail", body.get("cleanup_on_fail")),
            disable_hooks=v.boolean("disable_hooks", body.get("disable_hooks")),
            description=v.text("description", body.get("description")),
            max_history=v.integer("max_history", body.get("max_history"), 0, 1000, limits.default_max_history) or 0,
            dry_run=_dry_run(body.get("dry_run")),
        )


UNINSTALL_FIELDS = fields.declare("keep_history", "disable_hooks", "wait", "timeout", "cascade", "description")


@dataclass(frozen=True)
class UninstallSpec:
    """helm uninstall. Options may come as a JSON body or as query parameters."""

    keep_history: bool = False
    disable_hooks: bool = False
    wait: bool = False
    timeout_s: int = 300
    cascade: str = "background"
    description: str | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any], limits: Limits) -> UninstallSpec:
        v.no_unknown(body, UNINSTALL_FIELDS)
        return cls(
            keep_history=v.boolean("keep_history", body.get("keep_history")),
            disable_hooks=v.boolean("disable_hooks", body.get("disable_hooks")),
            wait=v.boolean("wait", body.get("wait")),
            timeout_s=v.duration_seconds(
                "timeout", body.get("timeout"), limits.max_timeout_s, limits.default_timeout_s
            ),
            cascade=v.choice("cascade", body.get("cascade"), CASCADE_MODES, "background") or "background",
            description=v.text("description", body.get("description")),
        )


UNLOCK_FIELDS = fields.declare("policy", "timeout")


@dataclass(frozen=True)
class UnlockSpec:
    """Recover a release stuck ``pending-*``: ``rollback`` to the last good revision when there is one (else mark
    the pending revision failed), or ``mark-failed`` always."""

    policy: str = "rollback"
    timeout_s: int = 300

    @classmethod
    def from_json(cls, body: dict[str, Any], limits: Limits, default_policy: str = "rollback") -> UnlockSpec:
        v.no_unknown(body, UNLOCK_FIELDS)
        return cls(
            policy=v.choice("policy", body.get("policy"), RECOVERY_POLICIES, default_policy) or default_policy,
            timeout_s=v.duration_seconds(
                "timeout", body.get("timeout"), limits.max_timeout_s, limits.default_timeout_s
            ),
        )


RECONCILE_FIELDS = fields.declare("timeout")


@dataclass(frozen=True)
class ReconcileSpec:
    """Reconcile a whole cluster: helm's releases -> the store (``reconcile.py``). ``timeout_s`` bounds the lease."""

    timeout_s: int = 300

    @classmethod
    def from_json(cls, body: dict[str, Any], limits: Limits) -> ReconcileSpec:
        v.no_unknown(body, RECONCILE_FIELDS)
        return cls(
            timeout_s=v.duration_seconds(
                "timeout", body.get("timeout"), limits.max_timeout_s, limits.default_timeout_s
            ),
        )


TEST_FIELDS = fields.declare("timeout")


@dataclass(frozen=True)
class ReleaseTestSpec:
    """helm test: run the release's test hooks (Pods), each until it ends or ``timeout_s``."""

    timeout_s: int = 300

    @classmethod
    def from_json(cls, body: dict[str, Any], limits: Limits) -> ReleaseTestSpec:
        v.no_unknown(body, TEST_FIELDS)
        return cls(
            timeout_s=v.duration_seconds(
                "timeout", body.get("timeout"), limits.max_timeout_s, limits.default_timeout_s
            ),
        )


Spec = InstallSpec | UpgradeSpec | RollbackSpec | UninstallSpec | UnlockSpec | ReconcileSpec | ReleaseTestSpec
SPEC_TYPES: dict[Action, type[Any]] = {
    Action.INSTALL: InstallSpec,
    Action.UPGRADE: UpgradeSpec,
    Action.ROLLBACK: RollbackSpec,
    Action.UNINSTALL: UninstallSpec,
    Action.UNLOCK: UnlockSpec,
    Action.RECONCILE: ReconcileSpec,
    Action.TEST: ReleaseTestSpec,
}
T = TypeVar("T")


def spec_to_message(spec: Spec) -> dict[str, Any]:
    return dataclasses.asdict(spec)


def spec_from_message(action: Action, data: dict[str, Any]) -> Spec:
    cls = SPEC_TYPES[action]
    names = {f.name for f in dataclasses.fields(cls)}
    spec: Spec = cls(**{k: val for k, val in data.items() if k in names})
    return spec


def spec_summary(spec: Spec) -> dict[str, Any]:
    """What an operation record keeps of its request: everything but the values, which become a digest."""
    data = dataclasses.asdict(spec)
    if "values" in data:
        data["values"] = vals.digest(data["values"])
    return data


# ---------------------------------------------------------------- stored things


@dataclass(frozen=True)
class Revision:
    """One entry of a release's history, as ``helm history`` reports it."""

    revision: int
    status: ReleaseStatus
    chart: str  # "name-version" as helm prints it
    app_version: str
    updated: str
    description: str

    def to_json(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "status": self.status.value,
            "chart": self.chart,
            "app_version": self.app_version,
            "updated": self.updated,
            "description": self.description,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Revision:
        return cls(
            revision=int(data.get("revision", 0)),
            status=ReleaseStatus.parse(data.get("status")),
            chart=str(data.get("chart") or ""),
            app_version=str(data.get("app_version") or ""),
            updated=str(data.get("updated") or ""),
            description=str(data.get("description") or ""),
        )


@dataclass(frozen=True)
class ReleaseRecord:
    """What the store knows of a release: a snapshot of helm's state after the last operation."""

    ref: ReleaseRef
    status: ReleaseStatus
    revision: int
    chart_name: str
    chart_version: str
    app_version: str
    first_deployed: str
    last_deployed: str
    description: str
    notes: str
    values_digest: str
    labels: dict[str, str]
    last_action: str
    last_operation_id: str
    failures: int
    updated_at: float
    changed_out_of_band: bool = False  # reconcile found helm's state changed outside Charthouse (reconcile.py)
    drift_correction: bool = False  # reconcile re-applies the release when its live objects drift (opt-in)
    sensitive_paths: tuple[tuple[str | int, ...], ...] = ()  # values paths given with set_sensitive (masked)
    sensitive_keys: tuple[str, ...] = ()  # key names added by the cluster's and repository's masking rules

    @property
    def masking(self) -> redact.Masking:
        """What this release's values are masked by beyond the default rules (set_sensitive, added rules)."""
        return redact.Masking(self.sensitive_paths, self.sensitive_keys)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.ref.to_json(),
            "status": self.status.value,
            "revision": self.revision,
            "chart": self.chart_name,
            "chart_version": self.chart_version,
            "app_version": self.app_version,
            "first_deployed": self.first_deployed,
            "last_deployed": self.last_deployed,
            "description": self.description,
            "notes": self.notes,
            "values_digest": self.values_digest,
            "labels": self.labels,
            "last_action": self.last_action,
            "last_operation_id": self.last_operation_id,
            "failures": self.failures,
            "updated_at": iso(self.updated_at),
            "changed_out_of_band": self.changed_out_of_band,
            "drift_correction": self.drift_correction,
        }


@dataclass(frozen=True)
class Operation:
    """One accepted mutating request and what became of it."""

    id: str
    action: Action
    status: OperationStatus
    release: ReleaseRef
    created_at: float
    updated_at: float
    request: dict[str, Any] = field(default_factory=dict)
    started_at: float | None = None
    finished_at: float | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    # the kinds of item stored with it when it was accepted (a CloudFormation request, a runtime step), so that
    # whoever looks for one when it ends need not read to find none; None: not known (stored before they were kept)
    attachments: tuple[str, ...] | None = None
    # while it runs: how far helm got (core/diagnosis.py writes it; domain/diagnosis.progress computes it)
    progress: dict[str, Any] | None = None

    PREFIX: ClassVar[str] = "op-"

    @classmethod
    def new(
        cls, action: Action, release: ReleaseRef, request: dict[str, Any], attachments: tuple[str, ...] = ()
    ) -> Operation:
        ts = now()
        return cls(
            id=f"{cls.PREFIX}{uuid.uuid4().hex}",
            action=action,
            status=OperationStatus.QUEUED,
            release=release,
            created_at=ts,
            updated_at=ts,
            request=request,
            attachments=attachments,
        )

    def may_have(self, attachment: str) -> bool:
        """Whether an item of this kind may be stored with it (False only when it is known not to be)."""
        return self.attachments is None or attachment in self.attachments

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action.value,
            "status": self.status.value,
            "release": self.release.to_json(),
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "request": self.request,
            "result": self.result,
            "error": self.error,
            **({"progress": self.progress} if self.progress is not None else {}),
        }


# ---------------------------------------------------------------- stored records and queries


@dataclass(frozen=True)
class ClusterInfo:
    """A registered cluster as stored: no credentials (they are in Secrets Manager under ``secret_id``)."""

    name: str
    auth: str  # kubeconfig | token | eks
    server: str
    secret_id: str
    description: str
    created_at: float
    updated_at: float
    eks: dict[str, str] | None = None
    masking: redact.Masking = redact.NO_MASKING  # added masking rules for this cluster's releases (redact.py)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "auth": self.auth,
            "server": self.server,
            "description": self.description,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "masking": self.masking.to_json(),
        }
        if self.eks:
            out["eks"] = self.eks
        return out


@dataclass(frozen=True)
class Lease:
    """A release's lock: held by one operation until ``expires_at`` (longer than helm's timeout)."""

    ref: ReleaseRef
    operation_id: str
    expires_at: float

    @property
    def expired(self) -> bool:
        return self.expires_at < now()


@dataclass(frozen=True)
class Idempotency:
    """An Idempotency-Key and the hash of the request it was first used with."""

    key: str
    request_hash: str


@dataclass(frozen=True)
class ListQuery:
    """Filters for release lists. ``statuses`` empty means every status except ``uninstalled``."""

    cluster: str | None = None
    namespace: str | None = None
    name: str | None = None
    search: str | None = None
    chart: str | None = None
    statuses: tuple[str, ...] = ()
    limit: int = 100
    next_token: str | None = None
    sort: str | None = None  # one of LIST_SORTS; None: the store's order (cluster, namespace, name)
    reverse: bool = False
    filter: NameFilter | None = None  # a regular expression on the name (namefilter.py)

    @property
    def whole(self) -> bool:
        """Sorting and regular expressions need every matching record before the first page."""
        return self.sort is not None or self.filter is not None


LIST_SORTS = ("name", "last_deployed")
LIST_ORDERS = ("asc", "desc")


@dataclass(frozen=True)
class OperationQuery:
    """Filters for operation lists (every filter optional), newest first."""

    cluster: str | None = None
    namespace: str | None = None
    release: str | None = None
    status: str | None = None
    action: str | None = None
    limit: int = 100
    next_token: str | None = None
