"""The domain error tree. No HTTP here: ``api/web.py`` maps each class to a status in one place.

::

    CharthouseError                      every error the service raises on purpose
    ├── InvalidInput (field)             a request field is malformed or out of range
    │   └── PayloadTooLarge              a body or a values document exceeds its limit
    ├── Unauthenticated                  no credentials, or credentials the service does not know
    ├── Forbidden (permission)           the caller may not do this here (policies: docs/SECURITY.md)
    ├── NotFound                         the addressed thing does not exist
    │   ├── ClusterNotFound
    │   ├── ReleaseNotFound
    │   ├── OperationNotFound
    │   ├── RepositoryNotFound
    │   ├── RuntimeNotFound
    │   ├── ChartVersionNotFound         no chart or version in a repository matches the reference
    │   └── PlanNotFound                 no plan with this id for this release and verb, or it expired
    ├── Conflict                         the request is valid but clashes with current state
    │   ├── ReleaseLocked (operation_id) another operation holds the release's lease
    │   ├── ReleaseExists                install of a name that is already deployed
    │   ├── NoPreviousRevision           a rollback to "the previous revision" of a release that has none
    │   ├── ChartVersionExists           an upload of a name+version already stored with other content
    │   └── PlanStale (changed)          a plan whose revision, chart, values or source commit changed
    ├── PreconditionFailed               If-Match / If-None-Match no longer holds (nothing was changed)
    ├── UpstreamError                    a cluster or helm failed
    │   ├── ClusterUnreachable           connection refused, TLS, DNS, timeout
    │   ├── ClusterAuthFailed            the cluster rejected the credentials (401/403)
    │   ├── RepositoryUnreachable        a chart repository or registry failed (connection, TLS, 5xx)
    │   │   └── RepositoryAuthFailed     it refused the credentials (401/403)
    │   └── HelmError (returncode, stderr)
    │       ├── ChartNotFound            the chart reference could not be fetched
    │       ├── HelmTimeout              helm ran past its timeout and was killed
    │       └── HelmMissing              the helm binary is not where config says
    └── DependencyUnavailable            DynamoDB, SQS or Secrets Manager failed or throttled

Every message is safe to show to a caller: no credential, token, kubeconfig or URL with a query string.
"""

from __future__ import annotations

from typing import Any


class CharthouseError(Exception):
    """Base class. ``code`` is the stable machine-readable name returned to callers."""

    code = "InternalError"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = {k: v for k, v in details.items() if v is not None}


class InvalidInput(CharthouseError):
    code = "InvalidInput"

    def __init__(self, field: str, message: str, **details: Any) -> None:
        super().__init__(f"{field}: {message}", field=field, **details)
        self.field = field


class PayloadTooLarge(InvalidInput):
    code = "PayloadTooLarge"


class Unauthenticated(CharthouseError):
    code = "Unauthenticated"


class Forbidden(CharthouseError):
    code = "Forbidden"


class NotFound(CharthouseError):
    code = "NotFound"


class ClusterNotFound(NotFound):
    code = "ClusterNotFound"


class ReleaseNotFound(NotFound):
    code = "ReleaseNotFound"


class OperationNotFound(NotFound):
    code = "OperationNotFound"


class RepositoryNotFound(NotFound):
    code = "RepositoryNotFound"


class RuntimeNotFound(NotFound):
    code = "RuntimeNotFound"


class ChartVersionNotFound(NotFound):
    code = "ChartVersionNotFound"


class PlanNotFound(NotFound):
    code = "PlanNotFound"


class Conflict(CharthouseError):
    code = "Conflict"


class ReleaseLocked(Conflict):
    code = "ReleaseLocked"

    def __init__(self, message: str, operation_id: str | None = None) -> None:
        super().__init__(message, operation_id=operation_id)
        self.operation_id = operation_id


class ReleaseExists(Conflict):
    code = "ReleaseExists"


class NoPreviousRevision(Conflict):
    code = "NoPreviousRevision"


class ChartVersionExists(Conflict):
    code = "ChartVersionExists"


class PlanStale(Conflict):
    """``changed``: what differs from the plan, among ``revision``, ``chart``, ``values`` (a runtime's plan also
    ``source commit``, ``releases``, ``action``; ``releases``: per release, its own facts that changed)."""

    code = "PlanStale"

    def __init__(self, message: str, changed: list[str], releases: dict[str, Any] | None = None) -> None:
        super().__init__(message, changed=changed, releases=releases)
        self.changed = changed


class PreconditionFailed(CharthouseError):
    code = "PreconditionFailed"


class UpstreamError(CharthouseError):
    code = "UpstreamError"


class RepositoryUnreachable(UpstreamError):
    code = "RepositoryUnreachable"


class RepositoryAuthFailed(RepositoryUnreachable):
    code = "RepositoryAuthFailed"


class ClusterUnreachable(UpstreamError):
    code = "ClusterUnreachable"


class ClusterAuthFailed(UpstreamError):
    code = "ClusterAuthFailed"


class HelmError(UpstreamError):
    code = "HelmError"

    def __init__(self, message: str, returncode: int | None = None, stderr: str = "") -> None:
        super().__init__(message, returncode=returncode)
        self.returncode = returncode
        self.stderr = stderr


class ChartNotFound(HelmError):
    code = "ChartNotFound"


class HelmTimeout(HelmError):
    code = "HelmTimeout"


class HelmMissing(HelmError):
    code = "HelmMissing"


class DependencyUnavailable(CharthouseError):
    code = "DependencyUnavailable"
