"""Terraform's door: ``aws_lambda_invocation`` with ``lifecycle_scope = "CRUD"`` (AWS provider 5.x) invokes the
release function on create, update and destroy, and answers with the release as the invocation's ``result``.

The input is what the module ``iac/terraform/release`` encodes: ``cluster``, ``namespace``, ``name``, ``chart``,
``version``, ``values``, ``options`` (the properties of ``Custom::HelmRelease``, read by the same parser), plus
what the provider adds under ``tf``: ``{"action": "create" | "update" | "delete", "prev_input": {...} | null}``
(the previous input on update; on delete, the input the state holds). An input without ``tf`` — the
``aws_lambda_invocation`` data source — or with ``"read": true`` only reads the release.

* create -> install; update -> upgrade (``install: true``), or, when cluster, namespace or name changed, an install
  of the new release and then an uninstall of the old one; delete -> uninstall (a release that does not exist is
  done already).
* The function waits for the operation within its own time budget: a result when it succeeded, an error when it
  failed (its code, message and diagnosis summary fail the apply), or an error saying it is still running.
* Applying the same input again finds the same operation (an idempotency key made from the input and the
  action) while it runs or after it succeeded; after a failure, the next apply is a new attempt (the key of each
  attempt names the operation before it, so the chain is followed to the newest).
* Each verb goes through the hall (``core/releases.py``) as the service itself: IAM decides who may invoke the
  function, as for the custom resource; the checks, masking, leases and idempotency are every other door's.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from chalicelib.core.custom_resource import ReleaseProps, snake_case
from chalicelib.core.releases import Caller, Releases
from chalicelib.domain import diagnosis
from chalicelib.domain.models import (
    INSTALL_FIELDS,
    UPGRADE_FIELDS,
    Idempotency,
    InstallSpec,
    Limits,
    Operation,
    OperationStatus,
    ReleaseRef,
    ReleaseStatus,
    UninstallSpec,
    UpgradeSpec,
)
from chalicelib.errors import CharthouseError, ClusterNotFound, InvalidInput, ReleaseNotFound

log = logging.getLogger(__name__)

TF_KEY = "tf"  # the provider's terraform_key (its default)
ACTIONS = ("create", "update", "delete")
MAX_ATTEMPTS = 50  # failed attempts of one input followed before giving up (each apply after a failure is one)
UNINSTALL_OPTIONS = ("timeout", "wait")


class InvocationFailed(Exception):
    """The apply must fail: the message is what Terraform shows (never a credential)."""


@dataclass(frozen=True)
class TfRequest:
    """One invocation, typed: the action and the inputs (``prev`` only on update and delete)."""

    action: str  # create, update, delete or read
    props: dict[str, Any]
    prev: dict[str, Any] | None

    @classmethod
    def from_event(cls, event: object) -> TfRequest:
        if not isinstance(event, dict):
            raise InvalidInput("input", "must be a JSON object")
        body = {k: val for k, val in event.items() if k not in (TF_KEY, "read")}
        tf = event.get(TF_KEY)
        if tf is None or event.get("read") is True:
            return cls("read", body, None)
        if not isinstance(tf, dict) or tf.get("action") not in ACTIONS:
            raise InvalidInput(f"{TF_KEY}.action", f"must be one of {', '.join(ACTIONS)}")
        prev = tf.get("prev_input")
        if prev is not None and not isinstance(prev, dict):
            raise InvalidInput(f"{TF_KEY}.prev_input", "must be an object or null")
        if isinstance(prev, dict):
            prev = {k: val for k, val in prev.items() if k not in (TF_KEY, "read")}
        return cls(str(tf["action"]), body, prev)

    def digest(self) -> str:
        """What makes two invocations the same request: the action and both inputs."""
        canonical = json.dumps([self.action, self.props, self.prev], sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class TerraformReleases:
    def __init__(self, releases: Releases, limits: Limits) -> None:
        self.releases = releases
        self.limits = limits

    def handle(self, event: object, budget_s: float) -> dict[str, Any]:
        """The release after the invocation's action, as the module's outputs read it. Raises
        ``InvalidInput`` and the other domain errors for a request refused before any operation, and
        ``InvocationFailed`` for an operation that failed or is still running when the budget is spent."""
        req = TfRequest.from_event(event)
        if req.action == "read":
            return self._read(_ref(req.props))
        if req.action == "delete":
            return self._delete(req, budget_s)
        props = ReleaseProps.parse(req.props)
        prev = _old_ref(req.prev) if req.action == "update" else None
        if req.action == "create" or (prev is not None and prev != props.ref):
            out = self._run(req, "install", props.ref, budget_s, lambda idem: self._install(props, idem))
            if prev is not None:  # the old release goes once the new one stands (Terraform sends no delete)
                self._uninstall_if_there(req, prev, {}, budget_s)
            return out
        return self._run(req, "upgrade", props.ref, budget_s, lambda idem: self._upgrade(props, idem))

    # ------------------------------------------------------------ the verbs

    def _install(self, props: ReleaseProps, idem: Idempotency) -> Operation:
        spec, name = InstallSpec.from_json(props.body(INSTALL_FIELDS, name=props.ref.name), self.limits)
        return self.releases.install(_caller(idem), props.ref.cluster, props.ref.namespace, spec, name).op

    def _upgrade(self, props: ReleaseProps, idem: Idempotency) -> Operation:
        spec = UpgradeSpec.from_json(props.body(UPGRADE_FIELDS, install=True), self.limits)
        return self.releases.upgrade(_caller(idem), props.ref, spec).op

    def _delete(self, req: TfRequest, budget_s: float) -> dict[str, Any]:
        ref = _ref(req.props)
        options = req.props.get("options") if isinstance(req.props.get("options"), dict) else {}
        return self._uninstall_if_there(req, ref, options or {}, budget_s)

    def _uninstall_if_there(
        self, req: TfRequest, ref: ReleaseRef, options: dict[str, Any], budget_s: float
    ) -> dict[str, Any]:
        """Uninstall ``ref``; a release (or cluster) that is not there is uninstalled already."""
        record = self._stored(ref)
        if record is None or record.get("status") == ReleaseStatus.UNINSTALLED.value:
            return _gone(ref)
        body = {snake_case(k): val for k, val in options.items() if snake_case(k) in UNINSTALL_OPTIONS}
        spec = UninstallSpec.from_json(body, self.limits)

        def accept(idem: Idempotency) -> Operation:
            return self.releases.uninstall(_caller(idem), ref, spec).op

        try:
            return self._run(req, f"uninstall:{ref.key}", ref, budget_s, accept)
        except (InvocationFailed, ReleaseNotFound):
            if self._stored(ref) is None:  # gone meanwhile (by hand, or another uninstall)
                return _gone(ref)
            raise

    def _read(self, ref: ReleaseRef) -> dict[str, Any]:
        record = self._stored(ref)
        if record is None:
            return {**ref.to_json(), "exists": False}
        return {**_release(ref, record), "exists": record.get("status") != ReleaseStatus.UNINSTALLED.value}

    def _stored(self, ref: ReleaseRef) -> dict[str, Any] | None:
        """The release record as stored; None when there is none (nor its cluster)."""
        try:
            return self.releases.record(ref)
        except (ReleaseNotFound, ClusterNotFound):
            return None

    # ------------------------------------------------------------ one operation, waited for

    def _run(self, req: TfRequest, step: str, ref: ReleaseRef, budget_s: float, accept: Any) -> dict[str, Any]:
        """Find the attempt this input already has (running or succeeded) or make a new one, then wait for it."""
        op = self._attempt(req.digest(), step, accept)
        done = self.releases.wait(op, max(budget_s, 0.0))
        if done.status is OperationStatus.SUCCEEDED:
            return {**_release(ref, self.releases.record(ref) or {}), "operation_id": done.id, "exists": True}
        if done.status is OperationStatus.FAILED:
            raise InvocationFailed(_failure(done))
        raise InvocationFailed(
            f"operation {done.id} ({done.action.value} of {ref.key}) is still {done.status.value}; "
            "apply again to wait for it (the same input finds the same operation)"
        )

    def _attempt(self, digest: str, step: str, accept: Any) -> Operation:
        key = f"tf:{hashlib.sha256(f'{digest}:{step}'.encode()).hexdigest()[:48]}"
        for _ in range(MAX_ATTEMPTS):
            idem = Idempotency(key, digest)
            prior = self.releases.replayed(idem)
            if prior is None:
                op: Operation = accept(idem)
                log.info("terraform %s of %s: operation %s", step, op.release.key, op.id)
                return op
            if prior.status is not OperationStatus.FAILED:
                return prior
            key = f"{key.split('/', 1)[0]}/{prior.id}"[:128]  # the next attempt after this failed one
        raise InvocationFailed(f"{MAX_ATTEMPTS} attempts of this input failed; change the input to try again")


def _caller(idem: Idempotency) -> Caller:
    """The service itself (IAM authorized the invocation), with this attempt's key; the waiting is done here."""
    return Caller.service("terraform", idempotency=idem)


def _ref(props: dict[str, Any]) -> ReleaseRef:
    lower = {snake_case(k): val for k, val in props.items()}
    return ReleaseRef.parse(lower.get("cluster"), lower.get("namespace", "default"), lower.get("name"))


def _old_ref(prev: dict[str, Any] | None) -> ReleaseRef | None:
    try:
        return _ref(prev) if prev else None
    except InvalidInput:
        return None


def _release(ref: ReleaseRef, record: dict[str, Any]) -> dict[str, Any]:
    """The fields the module's outputs read (strings and numbers only: Terraform reads them as they are)."""
    return {
        **ref.to_json(),
        "revision": int(record.get("revision") or 0),
        "status": str(record.get("status") or ""),
        "chart": str(record.get("chart") or ""),
        "chart_version": str(record.get("chart_version") or ""),
        "app_version": str(record.get("app_version") or ""),
    }


def _gone(ref: ReleaseRef) -> dict[str, Any]:
    return {**ref.to_json(), "exists": False, "status": ReleaseStatus.UNINSTALLED.value, "revision": 0}


def _failure(op: Operation) -> str:
    """The failed operation as Terraform shows it: its code, then the text every door shows (``error_text``)."""
    error = op.error or {}
    where = f"operation {op.id} ({op.action.value} of {op.release.key}) failed"
    return f"{where}: {error.get('code', 'Error')}: {diagnosis.error_text(error)}"


def refusal(exc: CharthouseError) -> str:
    """A request refused before any operation, as Terraform shows it."""
    return f"{exc.code}: {exc.message}"
