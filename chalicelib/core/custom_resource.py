"""The CloudFormation custom resource ``Custom::HelmRelease``: requests in, operations through the pipeline, one
answer to the ResponseURL when the operation ends.

Properties (CloudFormation's PascalCase; lower case is accepted too): ``Cluster``, ``Namespace``, ``Name``,
``Chart`` (required), ``Version``, ``Values`` (an object, or a YAML/JSON string: CloudFormation turns every scalar
of an object into a string, a string document keeps numbers and booleans), ``Options`` (install/upgrade options of
the API, e.g. ``{"CreateNamespace": true, "Timeout": "5m"}``, either case; ``"true"``/``"false"`` and digit strings
are read as CloudFormation sends them). The PhysicalResourceId is ``<cluster>/<namespace>/<name>``.

* Create -> install. Update -> upgrade (``install: true``), or, when cluster, namespace or name changed, an install
  of the new release under a new PhysicalResourceId (CloudFormation then sends Delete for the old one).
  Delete -> uninstall; a release that does not exist (never created, already gone, unknown cluster) is a SUCCESS.
* Each request goes through the hall (``core/releases.py``) as the service itself (IAM decides who may invoke the
  function): the same checks, chart-source rules and masking as ``/v1``.
* The handler never waits for helm: it accepts the operation with the request attached (``OP#<id>`` / ``CFN``, in
  the accept transaction), and whoever ends the operation (the worker, or the sweep that declares a worker lost)
  answers through ``operation_ended``. The attachment is claimed once (a conditional write), so the answer is sent
  exactly once, however long helm runs. Requests refused before an operation exists are answered at once.
* A failed Create that must not lead CloudFormation to delete someone else's release (the name was taken) answers
  with a PhysicalResourceId that names no release (``charthouse:none:<RequestId>``); its Delete is a no-op.
* The ResponseURL is a presigned URL: it is stored only in the attachment (with a TTL), and never logged or shown.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.http import presigned
from chalicelib.adapters.store import Store
from chalicelib.core.releases import Caller, Releases
from chalicelib.domain import diagnosis
from chalicelib.domain import validate as v
from chalicelib.domain.models import (
    INSTALL_FIELDS,
    UPGRADE_FIELDS,
    Action,
    Idempotency,
    InstallSpec,
    Limits,
    Operation,
    OperationStatus,
    ReleaseRef,
    UninstallSpec,
    UpgradeSpec,
)
from chalicelib.errors import CharthouseError, ClusterNotFound, InvalidInput, ReleaseNotFound

log = logging.getLogger(__name__)

SUCCESS, FAILED = "SUCCESS", "FAILED"
NO_RELEASE = "charthouse:none:"  # prefix of a PhysicalResourceId that names no release
MAX_REASON = 1000
SEND_ATTEMPTS = 3
CLOUDFORMATION_PROPS = ("ServiceToken", "ServiceTimeout")  # CloudFormation's own, sent with the resource's
RELEASE_PROPS = ("cluster", "namespace", "name", "chart", "version", "values", "options")
NOT_OPTIONS = frozenset({"name", "generate_name", "name_template", "chart", "version", "values", "install", "dry_run"})
OPTIONS = (INSTALL_FIELDS | UPGRADE_FIELDS) - NOT_OPTIONS
ENDING_ACTIONS = (Action.INSTALL, Action.UPGRADE, Action.UNINSTALL)


def snake_case(key: str) -> str:
    """``CreateNamespace`` / ``createNamespace`` / ``create_namespace`` -> ``create_namespace``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _scalar(value: Any) -> Any:
    """CloudFormation sends every scalar as a string: read booleans and integers back."""
    if isinstance(value, str):
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        if re.fullmatch(r"\d{1,9}", value):
            return int(value)
    return value


@dataclass(frozen=True)
class ReleaseProps:
    """The resource's properties, validated."""

    ref: ReleaseRef
    chart: str
    version: str | None
    values: Any
    options: dict[str, Any]

    @classmethod
    def parse(cls, raw: object) -> ReleaseProps:
        if not isinstance(raw, dict):
            raise InvalidInput("ResourceProperties", "must be an object")
        props = {snake_case(k): val for k, val in raw.items() if k not in CLOUDFORMATION_PROPS}
        v.no_unknown(props, frozenset(RELEASE_PROPS))
        options_raw = props.get("options") or {}
        if not isinstance(options_raw, dict):
            raise InvalidInput("Options", "must be an object")
        options = {snake_case(k): _scalar(val) for k, val in options_raw.items()}
        v.no_unknown(options, OPTIONS, "Options.")
        if not isinstance(props.get("chart"), str) or not props["chart"]:
            raise InvalidInput("Chart", "is required")
        return cls(
            ReleaseRef.parse(props.get("cluster"), props.get("namespace", "default"), props.get("name")),
            props["chart"],
            props.get("version"),
            props.get("values"),
            options,
        )

    def body(self, fields: frozenset[str], **extra: Any) -> dict[str, Any]:
        out = {"chart": self.chart, **{k: val for k, val in self.options.items() if k in fields}, **extra}
        if self.version:
            out["version"] = str(self.version)
        if self.values not in (None, "", {}):
            out["values"] = self.values
        return out


@dataclass(frozen=True)
class CfnRequest:
    """A CloudFormation custom resource request (the Lambda event), typed."""

    request_type: str
    response_url: str
    stack_id: str
    request_id: str
    logical_resource_id: str
    physical_resource_id: str | None
    properties: Any
    old_properties: Any

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> CfnRequest:
        return cls(
            request_type=str(event.get("RequestType") or ""),
            response_url=str(event.get("ResponseURL") or ""),
            stack_id=str(event.get("StackId") or ""),
            request_id=str(event.get("RequestId") or ""),
            logical_resource_id=str(event.get("LogicalResourceId") or ""),
            physical_resource_id=event.get("PhysicalResourceId"),
            properties=event.get("ResourceProperties"),
            old_properties=event.get("OldResourceProperties"),
        )

    def reply(self, status: str, physical_id: str, reason: str = "", data: dict[str, Any] | None = None) -> bytes:
        body = {
            "Status": status,
            "Reason": reason[:MAX_REASON] or status,
            "PhysicalResourceId": physical_id,
            "StackId": self.stack_id,
            "RequestId": self.request_id,
            "LogicalResourceId": self.logical_resource_id,
            "NoEcho": False,
            "Data": data or {},
        }
        return json.dumps(body).encode()

    def attachment(self, physical_id: str, fallback_id: str) -> dict[str, Any]:
        """What is kept with the operation to answer later (everything ``reply`` needs)."""
        return {
            "response_url": self.response_url,
            "stack_id": self.stack_id,
            "request_id": self.request_id,
            "logical_resource_id": self.logical_resource_id,
            "request_type": self.request_type,
            "physical_resource_id": physical_id,
            "fallback_id": fallback_id,
        }

    @classmethod
    def from_attachment(cls, doc: dict[str, Any]) -> CfnRequest:
        return cls(
            doc["request_type"],
            doc["response_url"],
            doc["stack_id"],
            doc["request_id"],
            doc["logical_resource_id"],
            doc["physical_resource_id"],
            None,
            None,
        )


class CustomResource:
    def __init__(
        self,
        store: Store,
        releases: Releases,
        limits: Limits,
        allow_http: bool,
        send: Callable[[str, bytes], None] = presigned.put,
    ) -> None:
        self.store = store
        self.releases = releases
        self.limits = limits
        self.allow_http = allow_http
        self.send = send

    # ------------------------------------------------------------ the handler side

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        """Accept the request as an operation, or answer it at once. Never raises (a raise would make Lambda
        invoke it again, and answer twice)."""
        req = CfnRequest.from_event(event if isinstance(event, dict) else {})
        if not re.match(r"^https?://", req.response_url) or (
            req.response_url.startswith("http:") and not self.allow_http
        ):
            log.error(
                "a CloudFormation request without a usable ResponseURL (request %s): nothing to answer",
                req.request_id[:64],
            )
            return {"answered": False}
        fallback = req.physical_resource_id or f"{NO_RELEASE}{req.request_id}"
        try:
            op = self._accept(req)
        except CharthouseError as exc:
            if req.request_type == "Delete" and isinstance(exc, (ReleaseNotFound, ClusterNotFound)):
                return self._answer(req, SUCCESS, fallback, "nothing to delete: the release does not exist")
            return self._answer(req, FAILED, self._failed_id(req), f"{exc.code}: {exc.message}")
        except Exception:  # noqa: BLE001 - the stack must hear back even when this handler has a bug
            log.exception("custom resource request %s failed unexpectedly", req.request_id[:64])
            return self._answer(req, FAILED, self._failed_id(req), "InternalError: the handler failed unexpectedly")
        if op is None:
            return {"answered": True}
        return {"operation_id": op.id}

    def _failed_id(self, req: CfnRequest) -> str:
        """The PhysicalResourceId of a refused request: the current one (Update, Delete) or one naming no release."""
        return req.physical_resource_id or f"{NO_RELEASE}{req.request_id}"

    def _accept(self, req: CfnRequest) -> Operation | None:
        idem = Idempotency(
            f"cfn:{req.request_id}"[:128] if req.request_id else "cfn:none",
            hashlib.sha256(f"{req.request_type}:{req.stack_id}:{req.request_id}".encode()).hexdigest(),
        )  # Lambda invoked us again for the same request: the hall answers with the operation underway
        if req.request_type == "Delete":
            return self._delete(req, idem)
        props = ReleaseProps.parse(req.properties)
        if req.request_type == "Create":
            return self._install(req, props, idem)
        if req.request_type != "Update":
            raise InvalidInput("RequestType", "must be Create, Update or Delete")
        old = _old_ref(req.old_properties)
        if old is not None and old != props.ref:
            return self._install(req, props, idem)  # replacement: CloudFormation deletes the old one afterwards
        spec = UpgradeSpec.from_json(props.body(UPGRADE_FIELDS, install=True), self.limits)
        return self.releases.upgrade(self._caller(req, props.ref.key, idem), props.ref, spec).op

    def _caller(self, req: CfnRequest, physical_id: str, idem: Idempotency, fallback: str | None = None) -> Caller:
        """The service as the caller, the answer's attachment written with the operation."""
        attach = self.store.cfn_reply_item(req.attachment(physical_id, fallback or self._failed_id(req)))
        return Caller.service("custom-resource", attachments=(attach,), idempotency=idem)

    def _install(self, req: CfnRequest, props: ReleaseProps, idem: Idempotency) -> Operation:
        spec, name = InstallSpec.from_json(props.body(INSTALL_FIELDS, name=props.ref.name), self.limits)
        ref = props.ref
        return self.releases.install(self._caller(req, ref.key, idem), ref.cluster, ref.namespace, spec, name).op

    def _delete(self, req: CfnRequest, idem: Idempotency) -> Operation | None:
        """ClusterNotFound / ReleaseNotFound (none, or already uninstalled): nothing to delete."""
        ref = _ref_of(req.physical_resource_id)
        if ref is None:
            raise ReleaseNotFound("the resource names no release")
        try:  # a Delete must not fail on properties a later template broke: they only tune the uninstall
            options = ReleaseProps.parse(req.properties).options if req.properties else {}
        except InvalidInput:
            options = {}
        spec = UninstallSpec.from_json({k: val for k, val in options.items() if k in ("timeout", "wait")}, self.limits)
        return self.releases.uninstall(self._caller(req, ref.key, idem, ref.key), ref, spec).op

    # ------------------------------------------------------------ the answer, when the operation ends

    def operation_ended(self, op: Operation) -> None:
        """An operation listener (``operations.Announcer``): answer the CloudFormation request attached to ``op``, if any, exactly once."""
        if op.action not in ENDING_ACTIONS:
            return
        doc = self.store.take_cfn_reply(op)
        if doc is None:
            return
        req = CfnRequest.from_attachment(doc)
        error = op.error or {}
        data = {
            "OperationId": op.id,
            **{k.title(): val for k, val in op.release.to_json().items()},
            "Revision": str((op.result or {}).get("revision") or ""),
            "Status": str((op.result or {}).get("status") or ""),
        }
        if op.status is OperationStatus.SUCCEEDED:
            self._answer(req, SUCCESS, doc["physical_resource_id"], f"operation {op.id} succeeded", data)
        elif op.action is Action.UNINSTALL and error.get("code") == "ReleaseNotFound":
            self._answer(req, SUCCESS, doc["physical_resource_id"], "nothing to delete: the release is gone", data)
        else:
            # a Create that lost the name to an existing release must not lead to deleting that release
            taken = op.action is Action.INSTALL and error.get("code") == "ReleaseExists"
            physical = doc["fallback_id"] if taken or req.request_type == "Update" else doc["physical_resource_id"]
            reason = f"operation {op.id} failed: {error.get('code', 'Error')}: {diagnosis.error_text(error)}"
            self._answer(req, FAILED, physical, reason, data)

    def _answer(
        self, req: CfnRequest, status: str, physical_id: str, reason: str, data: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        body = req.reply(status, physical_id, reason, data)
        for attempt in range(SEND_ATTEMPTS):
            try:
                self.send(req.response_url, body)
                log.info(
                    "answered CloudFormation request %s (%s %s): %s",
                    req.request_id[:64],
                    req.request_type,
                    req.logical_resource_id[:255],
                    status,
                )
                return {"answered": True, "status": status}
            except OSError as exc:  # urllib.error.URLError and HTTPError are OSErrors
                # never the URL itself: it is presigned
                code = getattr(exc, "code", None)
                log.warning(
                    "answer to CloudFormation request %s failed (attempt %d): %s %s",
                    req.request_id[:64],
                    attempt + 1,
                    type(exc).__name__,
                    code or "",
                )
                time.sleep(2**attempt)
        return {"answered": False, "status": status}


def _ref_of(physical_id: str | None) -> ReleaseRef | None:
    parts = (physical_id or "").split("/")
    if len(parts) != 3:
        return None
    try:
        return ReleaseRef.parse(*parts)
    except InvalidInput:
        return None


def _old_ref(old: Any) -> ReleaseRef | None:
    try:
        return ReleaseProps.parse(old).ref if old else None
    except InvalidInput:
        return None
