"""Exit codes and the errors that carry them.

Every failure the CLI reports is a :class:`CliError` whose ``exit_code`` is one of the constants below; ``main``
prints its message on stderr and exits with that code. Messages never contain a token, a credential, a
kubeconfig or a presigned URL.

    CliError                       1 unless a subclass says otherwise
    ├── UsageError                 2  bad arguments or input files (argparse also exits 2)
    ├── ConnectError               5  the endpoint could not be reached
    ├── ApiError                   from the HTTP status: 404 -> 4, 409 -> 3, 400/413/422 -> 2, else 1
    └── OperationFailed            1  the operation ended ``failed`` (or did not end in time)
"""

from __future__ import annotations

from typing import Any

OK = 0
FAILED = 1
USAGE = 2
CONFLICT = 3
NOT_FOUND = 4
UNREACHABLE = 5
INTERRUPTED = 130

EXIT_CODES_HELP = """exit codes:
  0  success
  1  the operation failed, or the server failed (5xx, auth refused)
  2  usage error: bad arguments, unreadable input, or input the API refused (400/413/422)
  3  conflict (409): the release is locked by another operation, or already exists
  4  not found (404): no such cluster, release, operation, repository or chart
  5  cannot connect to the endpoint
  130 interrupted (Ctrl-C) while waiting; the operation goes on on the server"""


class CliError(Exception):
    exit_code = FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(CliError):
    exit_code = USAGE


class ConnectError(CliError):
    exit_code = UNREACHABLE


class OperationFailed(CliError):
    exit_code = FAILED

    def __init__(self, message: str, operation: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.operation = operation


def exit_code_for_status(status: int) -> int:
    if status == 404:
        return NOT_FOUND
    if status == 409:
        return CONFLICT
    if status in (400, 413, 422):
        return USAGE
    return FAILED


class ApiError(CliError):
    """An error answer of the API: ``{"error": {"code", "message", "details"}}`` and its HTTP status."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.details = details or {}
        self.exit_code = exit_code_for_status(status)

    def __str__(self) -> str:
        text = f"{self.code} ({self.status}): {self.message}"
        field = self.details.get("field")
        if field and str(field) not in self.message:
            text += f" [field: {field}]"
        op = self.details.get("operation_id")
        if op:
            text += f" [operation: {op}]"
        return text
