"""PUT to a presigned URL (CloudFormation's ResponseURL). The URL is a credential: it is never logged."""

from __future__ import annotations

import urllib.request

TIMEOUT_S = 20


def put(url: str, body: bytes) -> None:
    """PUT ``body`` with an empty Content-Type, as the presigned signature expects; ``OSError`` when it fails."""
    req = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:  # noqa: S310 - the caller checked the scheme
        resp.read()
