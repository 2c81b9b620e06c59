"""Credentials are bound to the origin they were given for: scheme, host and port (the default port of the
scheme when none is written). The one rule for every stored credential that follows a URL (runtimes' and
registered Git repositories' credentials): a replacement URL of another origin, given without new credentials,
drops the stored ones; the same origin (another path, say) keeps them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)``, lower-cased, the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: an origin of its own, never equal to a valid one
        return scheme, (parts.hostname or "").lower(), -1
    return scheme, (parts.hostname or "").lower(), port if port is not None else DEFAULT_PORTS.get(scheme)


def same_origin(a: str, b: str) -> bool:
    return bool(a) and bool(b) and origin(a) == origin(b)


def keeps_credentials(old_url: str | None, new_url: str | None, new_credentials: bool) -> bool:
    """Whether credentials stored for ``old_url`` stay with a declaration that now says ``new_url``: only when none
    were given in their place and the new URL is of the same origin."""
    if new_credentials or not old_url or not new_url:
        return False
    return same_origin(old_url, new_url)
