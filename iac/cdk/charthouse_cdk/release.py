"""``HelmRelease``: one Helm release as a CDK construct, over Charthouse's ``Custom::HelmRelease``.

Create installs, a changed property upgrades (a new cluster, namespace or name replaces the release: the new one
is installed, then CloudFormation deletes the old one), Delete uninstalls. Charthouse answers CloudFormation when
the operation has ended, whatever helm's duration (the resource's ``service_timeout``, at most an hour), holds the
release's lease so two stacks never run helm on it at once, and recovers a lost operation on purpose.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_cdk import CustomResource, Duration
from constructs import Construct

RESOURCE_TYPE = "Custom::HelmRelease"
MAX_SERVICE_TIMEOUT = Duration.hours(1)  # CloudFormation's limit for a custom resource's answer


@dataclass(frozen=True)
class HelmReleaseOptions:
    """The install and upgrade options of Charthouse's API most releases use (any other goes in ``extra``)."""

    create_namespace: bool | None = None
    wait: bool | None = None
    timeout: str | None = None  # helm's --timeout: "5m", "300s"
    atomic: bool | None = None
    max_history: int | None = None
    extra: dict[str, Any] | None = None

    def to_properties(self) -> dict[str, Any]:
        known = {
            "CreateNamespace": self.create_namespace,
            "Wait": self.wait,
            "Timeout": self.timeout,
            "Atomic": self.atomic,
            "MaxHistory": self.max_history,
        }
        return {**{k: v for k, v in known.items() if v is not None}, **(self.extra or {})}


class HelmRelease(Construct):
    """A Helm release that a Charthouse stage installs, upgrades and uninstalls with the stack.

    :param service_token: the Charthouse stage's ``HelmReleaseServiceToken`` (stack output, exported as
        ``<stack>-HelmReleaseServiceToken``).
    :param cluster: a cluster registered with Charthouse.
    :param namespace: the release's namespace.
    :param name: the release's name (a DNS-1123 label, at most 53 characters).
    :param chart: ``<repository>/<chart>``, ``uploaded/<chart>``, ``oci://...`` or an ``https://`` archive URL.
    :param version: an exact version or a constraint (``^1.2``); default: the newest stable version.
    :param values: the release's values. Sent as a JSON document, so numbers and booleans keep their types
        (CloudFormation would turn every scalar of an object property into a string).
    :param options: install/upgrade options (``HelmReleaseOptions``).
    :param service_timeout: how long CloudFormation waits for Charthouse's answer (default 30 minutes, at most 1 hour).

    Attributes: ``revision`` and ``status`` (the release after the operation), ``operation_id``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service_token: str,
        cluster: str,
        namespace: str,
        name: str,
        chart: str,
        version: str | None = None,
        values: dict[str, Any] | None = None,
        options: HelmReleaseOptions | None = None,
        service_timeout: Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        timeout = service_timeout or Duration.minutes(30)
        if timeout.to_seconds() > MAX_SERVICE_TIMEOUT.to_seconds():
            raise ValueError("service_timeout: CloudFormation waits at most one hour for a custom resource")
        properties: dict[str, Any] = {"Cluster": cluster, "Namespace": namespace, "Name": name, "Chart": chart}
        if version:
            properties["Version"] = version
        if values:
            properties["Values"] = json.dumps(values, sort_keys=True)
        opts = (options or HelmReleaseOptions()).to_properties()
        if opts:
            properties["Options"] = opts
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=service_token,
            resource_type=RESOURCE_TYPE,
            properties=properties,
            service_timeout=timeout,
        )

    @property
    def revision(self) -> str:
        """The release's revision after the operation (``!GetAtt <resource>.Revision``)."""
        return self.resource.get_att_string("Revision")

    @property
    def status(self) -> str:
        """helm's status of the release after the operation."""
        return self.resource.get_att_string("Status")

    @property
    def operation_id(self) -> str:
        """The Charthouse operation that made the change (``GET /v1/operations/{id}``)."""
        return self.resource.get_att_string("OperationId")
