"""Field rules, one function per rule. Each raises ``InvalidInput`` naming the field, or returns the clean value.

Raw request JSON enters here and leaves as plain typed Python values; nothing below ``models.py`` sees raw input.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from chalicelib.errors import InvalidInput

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
RELEASE_NAME_MAX = 53  # helm: the name becomes part of object names and labels
LABEL_MAX = 63
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_VERSION = re.compile(r"^[0-9A-Za-z.+\-~^*<>=,| xX]{1,128}$")
_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
MAX_TEXT = 1024
HELM_RESERVED_LABELS = frozenset({"name", "owner", "status", "version", "createdAt", "modifiedAt"})
MAX_URL = 2048


def dns_label(field: str, value: object, max_len: int = LABEL_MAX) -> str:
    """A Kubernetes DNS-1123 label: lower-case alphanumerics and '-', alphanumeric at both ends."""
    if not isinstance(value, str) or not value:
        raise InvalidInput(field, "must be a non-empty string")
    if len(value) > max_len:
        raise InvalidInput(field, f"must be at most {max_len} characters")
    if not DNS1123_LABEL.match(value):
        raise InvalidInput(
            field,
            "must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit",
        )
    return value


def release_name(field: str, value: object) -> str:
    return dns_label(field, value, RELEASE_NAME_MAX)


def boolean(field: str, value: object, default: bool = False) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidInput(field, "must be true or false")
    return value


def integer(field: str, value: object, lo: int, hi: int, default: int | None = None) -> int | None:
    """An integer in [lo, hi]; strings of digits are accepted (query parameters arrive as strings)."""
    if value is None or value == "":
        return default
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,12}", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, "must be an integer")
    if not lo <= value <= hi:
        raise InvalidInput(field, f"must be between {lo} and {hi}")
    return value


def text(field: str, value: object, max_len: int = MAX_TEXT, default: str | None = None) -> str | None:
    """Free text (descriptions): printable, bounded."""
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidInput(field, "must be a string")
    if len(value) > max_len:
        raise InvalidInput(field, f"must be at most {max_len} characters")
    if any(ord(c) < 32 and c not in "\t\n" or 0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise InvalidInput(field, "must not contain control characters or lone surrogates")
    return value


def duration_seconds(field: str, value: object, max_s: int, default: int) -> int:
    """A timeout as whole seconds (300) or a Go duration ("5m", "1h2m3s"), between 1 s and ``max_s``."""
    if value is None:
        return default
    seconds: int
    if isinstance(value, bool):
        raise InvalidInput(field, "must be a number of seconds or a duration like '5m30s'")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and value.isdigit() and len(value) < 10:
        seconds = int(value)
    elif isinstance(value, str) and value and (m := _DURATION.match(value)):
        h, mi, s = (int(g) if g else 0 for g in m.groups())
        seconds = h * 3600 + mi * 60 + s
    else:
        raise InvalidInput(field, "must be a number of seconds or a duration like '5m30s'")
    if seconds < 1:
        raise InvalidInput(field, "must be at least 1 second")
    if seconds > max_s:
        raise InvalidInput(field, f"must be at most {max_s} seconds: the worker must outlive helm's timeout")
    return seconds


def chart_version(field: str, value: object) -> str | None:
    """A chart version or semver constraint ("1.2.3", "^1.2", ">=1.0 <2.0")."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _VERSION.match(value) or value.startswith("-"):
        raise InvalidInput(field, "must be a semantic version or version constraint such as '1.2.3' or '^1.2'")
    return value


def chart_url(field: str, value: object, allow_http: bool) -> str:
    """An absolute http(s) URL of a chart archive. Local paths and other schemes are refused."""
    if not isinstance(value, str) or not value:
        raise InvalidInput(field, "must be a chart archive URL (https://.../name-1.0.0.tgz)")
    if len(value) > MAX_URL or any(c.isspace() or ord(c) < 32 for c in value):
        raise InvalidInput(field, "must be a URL without spaces, at most 2048 characters")
    parts = urlsplit(value)
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        allowed = " or ".join(f"{s}://" for s in schemes)
        raise InvalidInput(field, f"must be an absolute {allowed} URL of a chart archive")
    if parts.username or parts.password:
        raise InvalidInput(field, "must not carry credentials")
    return value


_REPO_REF = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_OCI_REF = re.compile(r"^oci://[A-Za-z0-9.\-\[\]:]+(:\d{1,5})?(/[A-Za-z0-9._\-]+)+$")
CHART_FORMS = "<repository>/<chart>, uploaded/<chart>, oci://host/path/chart, or the https:// URL of a chart archive"


def chart_reference_kind(field: str, value: object) -> str:
    """Which form of chart reference ``value`` is: repo (also ``uploaded/x``), oci or url."""
    if not isinstance(value, str) or not value or len(value) > MAX_URL:
        raise InvalidInput(field, f"must be one of {CHART_FORMS}")
    if value.startswith("oci://"):
        if not _OCI_REF.match(value):
            raise InvalidInput(field, "must be oci://host[:port]/path/chart (the version goes in 'version')")
        return "oci"
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", value):
        return "url"
    if not _REPO_REF.match(value):
        raise InvalidInput(field, f"must be one of {CHART_FORMS}")
    return "repo"


def chart_reference(field: str, value: object, allow_http: bool) -> str:
    """A chart reference (see ``catalog``): repository/chart, uploaded/chart, oci://..., or an archive URL."""
    if chart_reference_kind(field, value) == "url":
        return chart_url(field, value, allow_http)
    assert isinstance(value, str)
    return value


def labels(field: str, value: object) -> dict[str, str]:
    """Release labels (helm --labels): Kubernetes label keys and values."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(field, "must be an object of label names to string values")
    out: dict[str, str] = {}
    for key, val in value.items():
        if not isinstance(key, str) or not _LABEL_KEY.match(key):
            raise InvalidInput(f"{field}.{key}", "is not a valid label name")
        if key in HELM_RESERVED_LABELS:
            raise InvalidInput(f"{field}.{key}", "is reserved by helm for its own release labels")
        if not isinstance(val, str) or not _LABEL_VALUE.match(val):
            raise InvalidInput(f"{field}.{key}", "must be a label value: up to 63 letters, digits, '-', '_', '.'")
        out[key] = val
    if len(out) > 64:
        raise InvalidInput(field, "at most 64 labels")
    return out


def choice(field: str, value: object, allowed: tuple[str, ...], default: str | None = None) -> str | None:
    if value is None or value == "":
        return default
    if not isinstance(value, str) or value not in allowed:
        raise InvalidInput(field, f"must be one of {', '.join(allowed)}")
    return value


def object_body(body: Any) -> dict[str, Any]:
    """The request body must be a JSON object."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise InvalidInput("body", "must be a JSON object")
    return body


def no_unknown(body: dict[str, Any], known: frozenset[str], prefix: str = "") -> None:
    """Unknown fields are errors: a typo must not silently do nothing."""
    unknown = sorted(set(body) - known)
    if unknown:
        raise InvalidInput(f"{prefix}{unknown[0]}", "is not a known field", known=sorted(known))
