"""How requests are authenticated: nothing, a bearer token, or AWS SigV4 (service ``execute-api``).

Resolution (first that applies): ``--sigv4`` -> SigV4; ``--token`` / ``CHARTHOUSE_TOKEN`` -> bearer; an endpoint
on an ``execute-api`` AWS host -> SigV4; a loopback endpoint with ``.local/token`` in the working directory (what
the local stack writes) -> bearer; else no authentication.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from .errors import UsageError

EXECUTE_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
LOCAL_TOKEN_FILE = Path(".local") / "token"


class Auth(Protocol):
    def headers(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> dict[str, str]:
        """The headers to send: ``headers`` plus whatever authenticates the request."""
        ...


class NoAuth:
    def headers(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> dict[str, str]:
        return dict(headers)

    def __repr__(self) -> str:
        return "NoAuth()"


class BearerAuth:
    def __init__(self, token: str) -> None:
        self._token = token

    def headers(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> dict[str, str]:
        return {**headers, "Authorization": f"Bearer {self._token}"}

    def __repr__(self) -> str:  # never show the token
        return "BearerAuth(***)"


class SigV4Auth:
    """Signs with the standard AWS credential chain (env, profile, SSO, instance role...)."""

    def __init__(self, region: str) -> None:
        self.region = region

    def headers(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> dict[str, str]:
        import boto3
        from botocore.auth import SigV4Auth as Signer
        from botocore.awsrequest import AWSRequest

        credentials = boto3.Session().get_credentials()
        if credentials is None:
            raise UsageError("--sigv4: no AWS credentials found (set AWS_PROFILE, AWS_ACCESS_KEY_ID... or log in)")
        request = AWSRequest(method=method, url=url, data=body or b"", headers=dict(headers))
        Signer(credentials.get_frozen_credentials(), "execute-api", self.region).add_auth(request)
        return {str(k): str(v) for k, v in request.headers.items()}

    def __repr__(self) -> str:
        return f"SigV4Auth(region={self.region!r})"


@dataclass(frozen=True)
class AuthOptions:
    token: str | None = None
    sigv4: bool = False
    region: str | None = None


def is_loopback(endpoint: str) -> bool:
    host = urlsplit(endpoint).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _region(endpoint: str, given: str | None, env: Mapping[str, str]) -> str:
    if given:
        return given
    match = EXECUTE_API_HOST.match(urlsplit(endpoint).hostname or "")
    if match:
        return match.group(1)
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if region:
        return region
    import boto3

    region = boto3.Session().region_name
    if not region:
        raise UsageError("--sigv4 needs a region: pass --region or set AWS_REGION")
    return str(region)


def resolve(endpoint: str, options: AuthOptions, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Auth:
    env = os.environ if env is None else env
    token = options.token or env.get("CHARTHOUSE_TOKEN") or None
    if options.sigv4:
        if options.token:
            raise UsageError("choose one of --token and --sigv4")
        return SigV4Auth(_region(endpoint, options.region, env))
    if token:
        return BearerAuth(token.strip())
    if EXECUTE_API_HOST.match(urlsplit(endpoint).hostname or ""):
        return SigV4Auth(_region(endpoint, options.region, env))
    local = (cwd or Path.cwd()) / LOCAL_TOKEN_FILE
    if is_loopback(endpoint) and local.is_file():
        text = local.read_text().strip()
        if text:
            return BearerAuth(text)
    return NoAuth()
