"""helm's stderr -> the typed errors of ``chalicelib/errors.py``, with a message safe to show (values named as
secrets, tokens and presigned URLs redacted). Pure: a table of patterns, first match wins."""

from __future__ import annotations

import re
from collections.abc import Callable

from chalicelib.domain import redact
from chalicelib.errors import (
    ChartNotFound,
    ClusterAuthFailed,
    ClusterUnreachable,
    HelmError,
    HelmTimeout,
    InvalidInput,
    ReleaseExists,
    ReleaseNotFound,
)

_Factory = Callable[[str, int, str], Exception]


def _helm(cls: type[HelmError]) -> _Factory:
    return lambda message, rc, stderr: cls(message, returncode=rc, stderr=stderr)


def _input(field: str) -> _Factory:
    """Failures caused by what the caller sent (values, chart content): a 422 naming the field."""
    return lambda message, rc, stderr: InvalidInput(field, message)


_CLASSES: tuple[tuple[re.Pattern[str], _Factory], ...] = (
    (re.compile(r"cannot re-use a name that is still in use"), lambda m, rc, e: ReleaseExists(m)),
    (re.compile(r"release: not found|has no deployed releases|release not found"), lambda m, rc, e: ReleaseNotFound(m)),
    (
        re.compile(r"(?i)unauthorized|provide credentials|forbidden: User \"system:anonymous\""),
        lambda m, rc, e: ClusterAuthFailed(m),
    ),
    (
        re.compile(
            r"(?i)cluster unreachable|connection refused|no such host|i/o timeout|x509:|tls:|"
            r"dial tcp|network is unreachable|no route to host"
        ),
        lambda m, rc, e: ClusterUnreachable(m),
    ),
    (
        re.compile(
            r"(?i)failed to fetch|404 not found|chart not found|failed to download|not a valid chart|"
            r"no chart version found|unable to locate chart|looks like .* is not a valid chart repository"
        ),
        _helm(ChartNotFound),
    ),
    (re.compile(r"(?i)timed out waiting|context deadline exceeded"), _helm(HelmTimeout)),
    (re.compile(r"values don't meet the specifications of the schema|execution error at"), _input("values")),
    (
        re.compile(r"unable to build kubernetes objects from release manifest|parse error at|YAML parse error"),
        _input("chart"),
    ),
)


def classify(verb: str, returncode: int, stderr: str, secrets: tuple[str, ...] = ()) -> Exception:
    """Map helm's stderr to a typed error whose message is safe to show."""
    stderr = redact.redact(stderr, secrets)
    message = redact.short(stderr.replace("Error: ", "", 1)) or f"helm {verb} failed with exit code {returncode}"
    for pattern, factory in _CLASSES:
        if pattern.search(stderr):
            return factory(message, returncode, stderr)
    return HelmError(message, returncode=returncode, stderr=stderr)
