"""The HTTP client: JSON in and out, authentication, error answers as :class:`ApiError`, safe retries.

Only the stdlib (``urllib``). Connection failures and ``503`` answers are retried a few times with a short
backoff, but only where a retry cannot run a request twice: ``GET``, ``PUT`` and ``DELETE`` (they name their
result), and a ``POST`` that carries an ``Idempotency-Key`` the service honours (release operations: each CLI
invocation sends one key with every attempt, so the service runs it at most once). Any other ``POST`` (token
create, chart upload) is sent once: its first attempt may have succeeded with the reply lost, and a retry would
answer 409 and lose the new token. A caller may pass ``retry=True`` for a ``POST`` that is safe to repeat.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from . import __version__
from .auth import Auth, NoAuth
from .errors import ApiError, CliError, ConnectError

USER_AGENT = f"charthouse-cli/{__version__}"
RETRY_STATUSES = (503,)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    data: Any


def path(*segments: str) -> str:
    """``/v1/a/b`` with every segment percent-encoded (a name can never add a path level)."""
    return "/" + "/".join(quote(s, safe="") for s in segments)


def _query_string(query: Mapping[str, object] | None) -> str:
    if not query:
        return ""
    pairs = []
    for key, value in query.items():
        if value is None:
            continue
        pairs.append((key, str(value).lower() if isinstance(value, bool) else str(value)))
    return "?" + urlencode(pairs) if pairs else ""


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def _api_error(status: int, data: Any) -> ApiError:
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        err = data["error"]
        details = err.get("details") if isinstance(err.get("details"), dict) else {}
        return ApiError(status, str(err.get("code") or "Error"), str(err.get("message") or ""), details)
    if isinstance(data, dict) and "message" in data:  # API Gateway's own shape, before the app runs
        return ApiError(status, f"HTTP{status}", str(data["message"]))
    snippet = str(data or "")[:200].strip()
    return ApiError(status, f"HTTP{status}", snippet or "no details")


class ApiClient:
    def __init__(
        self,
        endpoint: str,
        auth: Auth | None = None,
        timeout: float = 60.0,
        retries: int = 2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.auth: Auth = auth or NoAuth()
        self.timeout = timeout
        self.retries = retries
        self._sleep = sleep

    def call(
        self,
        method: str,
        url_path: str,
        *,
        query: Mapping[str, object] | None = None,
        body: Any = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
        idempotency_key: str | None = None,
        retry: bool | None = None,
        prefer: str | None = None,
    ) -> Reply:
        """One API call; an error answer raises :class:`ApiError`, no connection :class:`ConnectError`.

        ``retry`` (default: the method is idempotent or ``idempotency_key`` is given) allows the retries of the
        module docstring; without it the request is sent once."""
        url = self.endpoint + url_path + _query_string(query)
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if data is not None:
            headers["Content-Type"] = content_type
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if prefer:
            headers["Prefer"] = prefer  # RFC 7240, e.g. wait=20: the server may answer when the operation ended
        retries = (
            self.retries
            if (retry if retry is not None else bool(idempotency_key) or method in IDEMPOTENT_METHODS)
            else 0
        )
        attempt = 0
        while True:
            try:
                return self._send(method, url, headers, data)
            except ApiError as exc:
                if exc.status not in RETRY_STATUSES or attempt >= retries:
                    raise
            except ConnectError:
                if attempt >= retries:
                    raise
            attempt += 1
            self._sleep(0.25 * 2**attempt)

    def _send(self, method: str, url: str, headers: dict[str, str], data: bytes | None) -> Reply:
        signed = self.auth.headers(method, url, headers, data)
        request = urllib.request.Request(url, data=data, method=method, headers=signed)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                return Reply(resp.status, dict(resp.headers.items()), _decode(resp.read()))
        except urllib.error.HTTPError as err:
            raise _api_error(err.code, _decode(err.read())) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as err:
            reason = getattr(err, "reason", err)
            raise ConnectError(f"cannot connect to {self.endpoint}: {reason}") from None

    def get(self, url_path: str, query: Mapping[str, object] | None = None) -> Any:
        return self.call("GET", url_path, query=query).data


def put_presigned(url: str, data: bytes, headers: Mapping[str, str], timeout: float = 300.0) -> None:
    """PUT a file to a presigned URL (no Charthouse auth: the URL carries its own). Errors never show the URL."""
    request = urllib.request.Request(url, data=data, method="PUT", headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            resp.read()
    except urllib.error.HTTPError as err:
        raise CliError(f"the upload was refused by the storage service (HTTP {err.code})") from None
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        raise ConnectError("cannot connect to the upload URL the API handed out") from None
