"""Fetching repository indexes and chart archives over HTTP(S), with a repository's credentials.

Basic auth, bearer tokens, client certificates, a CA bundle and ``insecure_skip_tls_verify`` are applied here and
nowhere else. Credentials go only to the repository's own host (``pass_credentials`` sends them to other hosts
too, like helm's ``--pass-credentials``) and are never carried across a redirect. Every body is size-bounded;
errors name the URL without its query string.

Every connection, the first and each redirect's, goes to an address the SSRF guard checked: the host name is
resolved once (:func:`~chalicelib.adapters.http.guard.resolve`) and the socket opened to that address, so a name
that answers differently the second time (DNS rebinding) gains nothing. TLS still verifies the certificate
against the host name, which is also the SNI sent. Proxies named in the environment are not used (through a
proxy, the guard would check the proxy, not the target).

The opener has the guarded HTTP and HTTPS handlers and nothing else that opens a connection (no FTP, file or data
handler, which would bypass the guard): a URL, or a redirect, to any other scheme is refused, naming the scheme.
"""

from __future__ import annotations

import base64
import functools
import http.client
import os
import socket
import ssl
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from chalicelib.adapters.http import guard as netguard
from chalicelib.domain import redact
from chalicelib.errors import InvalidInput, PayloadTooLarge, RepositoryAuthFailed, RepositoryUnreachable

CHUNK = 1 << 16
USER_AGENT = "charthouse"
SCHEMES = ("http", "https")  # the only ones fetched: each has a guarded, pinned handler


class RemoteNotFound(RepositoryUnreachable):
    """The server answered 404 (callers turn it into the right not-found error)."""

    code = "RemoteNotFound"


@dataclass(frozen=True)
class Access:
    """How to reach one repository. Secrets live here only in memory; ``secrets`` lists them for redaction."""

    url: str
    username: str | None = None
    password: str | None = None
    token: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None
    ca_bundle: str | None = None
    insecure_skip_tls_verify: bool = False
    pass_credentials: bool = False

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.password, self.token, self.client_key) if s)

    def authorization(self, url: str) -> str | None:
        if not (self.pass_credentials or _origin(url) == _origin(self.url)):
            return None
        if self.token:
            return f"Bearer {self.token}"
        if self.username is not None and self.password is not None:
            raw = f"{self.username}:{self.password}".encode()
            return "Basic " + base64.b64encode(raw).decode()
        return None

    def ssl_context(self) -> ssl.SSLContext:
        if not self.insecure_skip_tls_verify and not (self.client_certificate and self.client_key):
            return verifying_context(self.ca_bundle)
        ctx = ssl.create_default_context(cadata=self.ca_bundle) if self.ca_bundle else ssl.create_default_context()
        if self.insecure_skip_tls_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.client_certificate and self.client_key:
            # the ssl module reads key pairs from files only: a 0700 temp dir, removed at once
            with tempfile.TemporaryDirectory(prefix="charthouse-tls-") as tmp:
                cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
                for path, text in ((cert, self.client_certificate), (key, self.client_key)):
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(fd, "w") as fh:
                        fh.write(text)
                ctx.load_cert_chain(cert, key)
        return ctx


@functools.lru_cache(maxsize=32)
def verifying_context(ca_bundle: str | None) -> ssl.SSLContext:
    """The default verifying context (the system's CAs, or a repository's own CA bundle: public data), built once
    per container and shared, never changed after: loading the CA store took ~25 ms of CPU on every chart fetch."""
    return ssl.create_default_context(cadata=ca_bundle) if ca_bundle else ssl.create_default_context()


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def safe_url(url: str) -> str:
    """The URL as it may appear in a message: no query string, no user info."""
    return redact.redact(url.split("?", 1)[0].split("#", 1)[0])


def _pinned_connect(policy: netguard.Policy, field: str) -> Any:
    """``socket.create_connection`` that resolves the host once, through the guard, and connects to one of the
    addresses it checked (in the resolver's order, like ``create_connection``)."""

    def connect(address: tuple[str, int], timeout: Any = None, source_address: Any = None) -> socket.socket:
        host, port = address
        last: OSError | None = None
        for ip in netguard.resolve(host, port, policy, field):
            try:
                return socket.create_connection((ip, port), timeout, source_address)
            except OSError as exc:
                last = exc
        raise last or OSError(f"{host} has no address")

    return connect


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, policy: netguard.Policy, field: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _pinned_connect(policy, field)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TCP to a checked address; TLS with ``server_hostname`` = the URL's host (SNI and certificate check)."""

    def __init__(self, *args: Any, policy: netguard.Policy, field: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _pinned_connect(policy, field)


class _PinnedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, policy: netguard.Policy, field: str) -> None:
        super().__init__()
        self._connection = functools.partial(_PinnedHTTPConnection, policy=policy, field=field)

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._connection, req)


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, context: ssl.SSLContext, policy: netguard.Policy, field: str) -> None:
        super().__init__(context=context)
        self._tls_context = context
        self._connection = functools.partial(_PinnedHTTPSConnection, policy=policy, field=field)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._connection, req, context=self._tls_context)


def check_scheme(url: str, field: str, redirect: bool = False) -> None:
    """``InvalidInput`` on ``field`` unless ``url`` is http(s), naming the scheme (and a redirect's host, nothing
    more: no path, query or inline data)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        target = f"{scheme}://{parts.hostname}" if parts.hostname else f"a {scheme or 'relative'} URL"
        what = f"a redirect to {target}" if redirect else "the URL"
        raise InvalidInput(
            field, f"{what} has the scheme {scheme or '(none)'}: refused, only http and https are fetched"
        )


class _SchemeCheckingRedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to http(s), refusing any other scheme by name (urllib's own check lets ``ftp`` by
    and answers the others with a bare HTTP error)."""

    def __init__(self, field: str) -> None:
        super().__init__()
        self._field = field

    def http_error_302(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any) -> Any:
        location = headers.get("location") or headers.get("uri")
        if location:
            check_scheme(urljoin(req.full_url, location), self._field, redirect=True)
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def pinned_opener(access: Access, policy: netguard.Policy, field: str) -> urllib.request.OpenerDirector:
    """An opener whose every connection (redirects too) goes to an address the guard checked: the pinned HTTP(S)
    handlers only, no FTP, file or data handler, no proxy (built by hand: ``build_opener`` adds all of those)."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.UnknownHandler(),  # any other scheme: "unknown url type"
        urllib.request.HTTPDefaultErrorHandler(),
        _SchemeCheckingRedirectHandler(field),
        urllib.request.HTTPErrorProcessor(),
        _PinnedHTTPHandler(policy, field),
        _PinnedHTTPSHandler(access.ssl_context(), policy, field),
    ):
        opener.add_handler(handler)
    return opener


def fetch(
    url: str,
    access: Access,
    max_bytes: int,
    timeout_s: float,
    policy: netguard.Policy = netguard.DEPLOYED,
    field: str = "url",
) -> bytes:
    """GET ``url`` with ``access``; at most ``max_bytes``. Addresses ``policy`` refuses are refused (``field`` names
    the request field the URL came from), redirects included, and the connection goes to the address that was
    checked. Raises the typed errors of ``errors.py``."""
    # No separate address check first: each connection resolves its host once, through the guard (_pinned_connect).
    check_scheme(url, field)
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    auth = access.authorization(url)
    if auth:
        req.add_unredirected_header("Authorization", auth)  # not sent again after a redirect
    shown = safe_url(url)
    try:
        # both schemes are pinned (a redirect may change the scheme), so a redirect target is checked as it is
        # connected to, like the first URL
        with pinned_opener(access, policy, field).open(req, timeout=timeout_s) as resp:
            declared = resp.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise PayloadTooLarge("chart", f"{shown} is larger than {max_bytes} bytes")
            chunks: list[bytes] = []
            size = 0
            while chunk := resp.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge("chart", f"{shown} is larger than {max_bytes} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise RepositoryAuthFailed(f"{shown} refused the credentials (HTTP {exc.code})") from None
        if exc.code == 404:
            raise RemoteNotFound(f"{shown} was not found (HTTP 404)") from None
        raise RepositoryUnreachable(f"{shown} answered HTTP {exc.code}") from None
    except ssl.SSLError as exc:
        raise RepositoryUnreachable(
            f"TLS to {shown} failed: {getattr(exc, 'reason', None) or type(exc).__name__}"
        ) from None
    except urllib.error.URLError as exc:
        reason = exc.reason if isinstance(exc.reason, str) else type(exc.reason).__name__
        if isinstance(exc.reason, ssl.SSLError):
            reason = f"TLS: {getattr(exc.reason, 'reason', None) or 'handshake failed'}"
        raise RepositoryUnreachable(f"{shown} is unreachable: {redact.short(str(reason), 200)}") from None
    except (TimeoutError, ConnectionError, OSError) as exc:
        raise RepositoryUnreachable(f"{shown} is unreachable: {type(exc).__name__}") from None
