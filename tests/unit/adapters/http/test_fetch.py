"""Outbound fetching: credentials go only to the repository's own origin; every connection goes to an address the
SSRF guard checked (one lookup, no rebinding), with TLS verified against the host name."""

from __future__ import annotations

import base64
import datetime
import http.server
import os
import socket
import ssl
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from chalicelib.adapters.http import fetch as fetching
from chalicelib.adapters.http import guard as netguard
from chalicelib.adapters.http.fetch import Access, RemoteNotFound, check_scheme, fetch, pinned_opener, safe_url
from chalicelib.adapters.http.guard import DEPLOYED, Policy
from chalicelib.errors import InvalidInput, PayloadTooLarge, RepositoryAuthFailed, RepositoryUnreachable


def test_credentials_only_for_the_repository_origin() -> None:
    access = Access("https://charts.example/stable", username="u", password="p")
    assert access.authorization("https://charts.example/stable/x.tgz") == "Basic " + base64.b64encode(b"u:p").decode()
    assert access.authorization("https://cdn.example/x.tgz") is None
    assert access.authorization("http://charts.example/stable/x.tgz") is None  # not downgraded to plain HTTP
    passing = Access("https://charts.example", token="t", pass_credentials=True)
    assert passing.authorization("https://cdn.example/x.tgz") == "Bearer t"
    assert access.secrets == ("p",)
    assert Access("https://charts.example", username="u").authorization("https://charts.example/x") is None
    assert Access("https://charts.example", password="p").authorization("https://charts.example/x") is None


def test_a_url_in_a_message_has_no_query_fragment_or_password() -> None:
    assert safe_url("https://h.example/a/index.yaml?sig=1?x=2#top#more") == "https://h.example/a/index.yaml"
    assert safe_url("https://h.example/a#frag?sig=s3cr3t") == "https://h.example/a"
    assert safe_url("https://h.example/a#one#two") == "https://h.example/a"
    assert "pw" not in safe_url("https://user:pw@h.example/a")


# ---------------------------------------------------------------- the connection goes to the checked address


STREAMED = 70_000  # more than one read of the fetcher


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = self.path.split("?", 1)[0]
        if path.startswith("/status/"):
            self.send_response(int(path.rsplit("/", 1)[-1]))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path in ("/auth", "/big", "/agent"):
            echoed = {"/auth": "Authorization", "/agent": "User-Agent"}.get(path)
            body = (self.headers.get(echoed) or "none").encode() if echoed else b"x" * 5000
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if path in ("/liar", "/stream", "/endless"):  # a length beyond the body; no length: the body to the close
            self.send_response(200)
            if path == "/liar":
                self.send_header("Content-Length", str(10**9))
            self.end_headers()
            try:
                self.wfile.write(b"x" * {"/liar": 10, "/stream": STREAMED}.get(path, 0))
                while path == "/endless":  # until the client hangs up
                    self.wfile.write(b"x" * 65536)
            except OSError:
                pass
            return
        if self.path.startswith("/redirect"):
            code = self.path.removeprefix("/redirect/").removesuffix("/uri")
            self.send_response(int(code) if code.isdigit() else 302)
            header = "URI" if self.path.endswith("/uri") else "Location"  # the old header urllib honours too
            self.send_header(header, self.server.redirect_to)  # type: ignore[attr-defined]
            self.end_headers()
            return
        body = b"index for " + (self.headers.get("Host") or "").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _serve(tls: ssl.SSLContext | None = None) -> Iterator[http.server.ThreadingHTTPServer]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    if tls is not None:
        srv.socket = tls.wrap_socket(srv.socket, server_side=True)
    srv.redirect_to = ""  # type: ignore[attr-defined]
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def server() -> Iterator[http.server.ThreadingHTTPServer]:
    yield from _serve()


class Resolver:
    """DNS under the test's control: each lookup of a name takes its next answer (the last one repeats)."""

    def __init__(self) -> None:
        self.answers: dict[str, list[str]] = {}
        self.lookups: list[str] = []

    def getaddrinfo(self, host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in self.answers:
            return REAL_GETADDRINFO(host, port, *args, **kwargs)  # IP literals
        self.lookups.append(host)
        queue = self.answers[host]
        ip = queue.pop(0) if len(queue) > 1 else queue[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]


REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> Resolver:
    resolver = Resolver()
    monkeypatch.setattr(socket, "getaddrinfo", resolver.getaddrinfo)
    return resolver


LOCAL = Policy(loopback=True)  # the local stages: the test servers run on loopback


def test_a_rebinding_name_is_resolved_once_and_the_checked_address_is_used(
    server: http.server.ThreadingHTTPServer, dns: Resolver
) -> None:
    """The name answers a permitted address first and the metadata address after: only the first is ever used."""
    port = server.server_address[1]
    dns.answers["rebind.example"] = ["127.0.0.1", "169.254.169.254"]
    body = fetch(f"http://rebind.example:{port}/index.yaml", Access("http://rebind.example"), 1000, 5, LOCAL)
    assert body == f"index for rebind.example:{port}".encode()  # the Host header keeps the name
    assert dns.lookups == ["rebind.example"]


def test_a_name_that_resolves_to_a_refused_address_is_never_connected(dns: Resolver) -> None:
    dns.answers["metadata.example"] = ["169.254.169.254"]
    with pytest.raises(InvalidInput) as exc:
        fetch("http://metadata.example/latest/meta-data/", Access("http://metadata.example"), 1000, 5, LOCAL, "chart")
    assert exc.value.field == "chart" and "metadata.example is a link-local or metadata address" in exc.value.message


def test_loopback_is_refused_by_the_deployed_policy(server: http.server.ThreadingHTTPServer, dns: Resolver) -> None:
    port = server.server_address[1]
    dns.answers["runtime.example"] = ["127.0.0.1"]
    for url in (f"http://127.0.0.1:{port}/x", f"http://runtime.example:{port}/x"):
        with pytest.raises(InvalidInput, match="loopback"):
            fetch(url, Access(url), 1000, 5, DEPLOYED)


def test_a_redirect_target_is_checked_and_pinned(server: http.server.ThreadingHTTPServer, dns: Resolver) -> None:
    port = server.server_address[1]
    dns.answers["next.example"] = ["127.0.0.1", "169.254.169.254"]
    server.redirect_to = f"http://next.example:{port}/index.yaml"  # type: ignore[attr-defined]
    assert fetch(f"http://127.0.0.1:{port}/redirect", Access("http://x"), 1000, 5, LOCAL).startswith(b"index for next")
    server.redirect_to = "http://169.254.169.254/latest/meta-data/"  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match="link-local or metadata"):
        fetch(f"http://127.0.0.1:{port}/redirect", Access("http://x"), 1000, 5, LOCAL)


def _tls_pair(name: str) -> tuple[str, ssl.SSLContext]:
    """A CA (PEM) and a server context whose certificate, signed by that CA, names ``name``."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:
        cert_path, key_path = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        with open(cert_path, "wb") as fh:
            fh.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(key_path, "wb") as fh:
            fh.write(
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
        ctx.load_cert_chain(cert_path, key_path)
    return ca.public_bytes(serialization.Encoding.PEM).decode(), ctx


@pytest.mark.parametrize(("cert_name", "ok"), [("charts.example", True), ("other.example", False)])
def test_tls_is_verified_against_the_host_name_not_the_address(dns: Resolver, cert_name: str, ok: bool) -> None:
    ca, tls = _tls_pair(cert_name)
    for srv in _serve(tls):
        port = srv.server_address[1]
        dns.answers["charts.example"] = ["127.0.0.1"]
        url = f"https://charts.example:{port}/index.yaml"
        if ok:
            assert fetch(url, Access(url, ca_bundle=ca), 1000, 5, LOCAL) == f"index for charts.example:{port}".encode()
        else:
            with pytest.raises(RepositoryUnreachable, match="TLS"):
                fetch(url, Access(url, ca_bundle=ca), 1000, 5, LOCAL)
        assert dns.lookups == ["charts.example"]


def test_a_proxy_from_the_environment_is_not_used(
    server: http.server.ThreadingHTTPServer, dns: Resolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a proxy the guard would check the proxy's address, not the target's: the target is connected."""
    port = server.server_address[1]
    dns.answers["charts.example"] = ["127.0.0.1"]
    monkeypatch.setenv("http_proxy", "http://169.254.169.254:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://169.254.169.254:3128")
    url = f"http://charts.example:{port}/index.yaml"
    assert fetch(url, Access(url), 1000, 5, LOCAL) == f"index for charts.example:{port}".encode()


def test_credentials_go_with_the_request_and_not_across_a_redirect(
    server: http.server.ThreadingHTTPServer, dns: Resolver
) -> None:
    port = server.server_address[1]
    dns.answers["charts.example"] = ["127.0.0.1"]
    dns.answers["cdn.example"] = ["127.0.0.1"]
    base = f"http://charts.example:{port}"
    access = Access(base, username="u", password="p")
    assert fetch(f"{base}/auth", access, 1000, 5, LOCAL) == b"Basic " + base64.b64encode(b"u:p")
    assert fetch(f"http://cdn.example:{port}/auth", access, 1000, 5, LOCAL) == b"none"  # another origin
    server.redirect_to = f"{base}/auth"  # type: ignore[attr-defined]
    assert fetch(f"{base}/redirect", access, 1000, 5, LOCAL) == b"none"  # not carried across a redirect
    assert fetch(f"{base}/auth", Access(base, token="t0k"), 1000, 5, LOCAL) == b"Bearer t0k"


@pytest.mark.parametrize(
    ("path", "error", "words"),
    [
        ("/status/401", RepositoryAuthFailed, "refused the credentials (HTTP 401)"),
        ("/status/403", RepositoryAuthFailed, "refused the credentials (HTTP 403)"),
        ("/status/404", RemoteNotFound, "was not found (HTTP 404)"),
        ("/status/500", RepositoryUnreachable, "answered HTTP 500"),
        ("/big", PayloadTooLarge, "is larger than 1000 bytes"),
    ],
)
def test_answers_become_typed_errors_naming_the_url_without_its_query(
    server: http.server.ThreadingHTTPServer, path: str, error: type[Exception], words: str
) -> None:
    url = f"http://127.0.0.1:{server.server_address[1]}{path}?X-Amz-Signature=s3cr3t"
    with pytest.raises(error) as exc:
        fetch(url, Access(url), 1000, 5, LOCAL)
    assert words in str(exc.value) and "s3cr3t" not in str(exc.value)
    assert f"127.0.0.1:{server.server_address[1]}{path}" in str(exc.value)


# ---------------------------------------------------------------- only http and https, directly or by redirect


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback port that counts as an FTP server: the test checks nothing ever connected to it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    sock.setblocking(False)
    yield sock
    sock.close()


def _connected(sock: socket.socket) -> bool:
    try:
        sock.accept()[0].close()
    except BlockingIOError:
        return False
    return True


def _other_schemes(port: int) -> list[tuple[str, str]]:
    return [
        ("ftp", f"ftp://127.0.0.1:{port}/pub/chart.tgz"),
        ("file", "file:///etc/passwd"),
        ("data", "data:text/plain;base64,c2VjcmV0"),
        ("gopher", f"gopher://127.0.0.1:{port}/x"),
        ("x-unknown", "x-unknown://host/path"),
    ]


def test_the_opener_has_only_the_guarded_http_handlers() -> None:
    opener = pinned_opener(Access("https://x"), LOCAL, "url")
    assert set(opener.handle_open) == {"http", "https", "unknown"}
    assert "ftp" not in opener.handle_open and "file" not in opener.handle_open and "data" not in opener.handle_open


@pytest.mark.parametrize("index", range(5))
def test_another_scheme_is_refused_naming_it(listener: socket.socket, index: int) -> None:
    scheme, url = _other_schemes(listener.getsockname()[1])[index]
    with pytest.raises(InvalidInput, match=f"has the scheme {scheme}: refused") as exc:
        fetch(url, Access(url), 1000, 5, LOCAL, field="repository.url")
    assert exc.value.field == "repository.url"
    assert not _connected(listener)


@pytest.mark.parametrize("index", range(5))
def test_a_redirect_to_another_scheme_is_refused_naming_it(
    server: http.server.ThreadingHTTPServer, listener: socket.socket, index: int
) -> None:
    scheme, target = _other_schemes(listener.getsockname()[1])[index]
    server.redirect_to = target  # type: ignore[attr-defined]
    for code in (301, 302, 303, 307, 308):
        url = f"http://127.0.0.1:{server.server_address[1]}/redirect/{code}"
        with pytest.raises(InvalidInput, match=f"a redirect to .* has the scheme {scheme}: refused") as exc:
            fetch(url, Access(url), 1000, 5, LOCAL)
        assert exc.value.field == "url" and "c2VjcmV0" not in str(exc.value) and "passwd" not in str(exc.value)
    assert not _connected(listener)


def test_a_redirect_to_https_or_a_relative_path_is_still_followed(server: http.server.ThreadingHTTPServer) -> None:
    server.redirect_to = "/index.yaml"  # type: ignore[attr-defined]
    base = f"http://127.0.0.1:{server.server_address[1]}"
    assert fetch(f"{base}/redirect/301", Access(base), 1000, 5, LOCAL).startswith(b"index for 127.0.0.1")


def test_refusals_name_the_scheme_and_nothing_else(server: http.server.ThreadingHTTPServer) -> None:
    def refusal(url: str) -> str:
        with pytest.raises(InvalidInput) as exc:
            fetch(url, Access(url), 1000, 5, LOCAL, field="source.url")
        return exc.value.message

    base = f"http://127.0.0.1:{server.server_address[1]}"
    server.redirect_to = "ftp://files.example/pub/x.tgz?token=s3cr3t"  # type: ignore[attr-defined]
    by_location = refusal(f"{base}/redirect/302")
    by_uri = refusal(f"{base}/redirect/302/uri")  # the URI header, which urllib follows too
    server.redirect_to = "data:text/plain,s3cr3t"  # type: ignore[attr-defined]
    assert [by_location, by_uri, refusal(f"{base}/redirect/307"), refusal("ftp://h/x"), refusal("charts/x")] == [
        "source.url: a redirect to ftp://files.example has the scheme ftp: refused, only http and https are fetched",
        "source.url: a redirect to ftp://files.example has the scheme ftp: refused, only http and https are fetched",
        "source.url: a redirect to a data URL has the scheme data: refused, only http and https are fetched",
        "source.url: the URL has the scheme ftp: refused, only http and https are fetched",
        "source.url: the URL has the scheme (none): refused, only http and https are fetched",
    ]


def test_the_user_agent_is_charthouse(server: http.server.ThreadingHTTPServer) -> None:
    url = f"http://127.0.0.1:{server.server_address[1]}/agent"
    assert fetch(url, Access(url), 1000, 5, LOCAL) == b"charthouse"


def test_an_https_url_to_a_refused_address_names_its_field(dns: Resolver) -> None:
    dns.answers["meta.example"] = ["169.254.169.254"]
    with pytest.raises(InvalidInput) as exc:
        fetch("https://meta.example/index.yaml", Access("https://meta.example"), 1000, 5, LOCAL, "repository.url")
    assert exc.value.field == "repository.url" and "link-local or metadata" in exc.value.message


def test_a_verifying_tls_context_is_built_once_and_shared_a_custom_one_is_not() -> None:
    plain = Access(url="https://charts.example/")
    assert plain.ssl_context() is Access(url="https://other.example/").ssl_context()  # the CA store loaded once
    assert plain.ssl_context().verify_mode == ssl.CERT_REQUIRED and plain.ssl_context().check_hostname
    insecure = Access(url="https://charts.example/", insecure_skip_tls_verify=True)
    first, second = insecure.ssl_context(), insecure.ssl_context()
    assert first is not second and first.verify_mode == ssl.CERT_NONE
    assert plain.ssl_context().verify_mode == ssl.CERT_REQUIRED  # the shared one was not changed by it


# ---------------------------------------------------------------- bounds, and what the connection is given


def test_a_declared_length_over_the_bound_is_refused_before_the_body_is_read(
    server: http.server.ThreadingHTTPServer,
) -> None:
    url = f"http://127.0.0.1:{server.server_address[1]}/liar"  # 10 bytes sent: only the header says too many
    with pytest.raises(PayloadTooLarge) as exc:
        fetch(url, Access(url), 1000, 5, LOCAL)
    assert exc.value.field == "chart" and exc.value.message.endswith("/liar is larger than 1000 bytes")


def test_a_body_of_exactly_the_bound_is_fetched_and_one_byte_more_is_not(
    server: http.server.ThreadingHTTPServer,
) -> None:
    base = f"http://127.0.0.1:{server.server_address[1]}"
    for path, size in (("/big", 5000), ("/stream", STREAMED)):  # declared, and only counted as it comes (in reads)
        assert fetch(base + path, Access(base), size, 5, LOCAL) == b"x" * size
        with pytest.raises(PayloadTooLarge) as exc:
            fetch(base + path, Access(base), size - 1, 5, LOCAL)
        assert exc.value.field == "chart" and exc.value.message.endswith(f"{path} is larger than {size - 1} bytes")


def test_an_endless_body_is_cut_at_the_bound(server: http.server.ThreadingHTTPServer) -> None:
    url = f"http://127.0.0.1:{server.server_address[1]}/endless"
    with pytest.raises(PayloadTooLarge, match="is larger than 200000 bytes"):
        fetch(url, Access(url), 200_000, 5, LOCAL)


def test_the_pinned_connection_tries_each_checked_address_with_the_callers_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resolved: list[tuple[Any, ...]] = []
    connected: list[tuple[Any, ...]] = []

    def resolve(host: str, port: int, policy: Policy, field: str) -> list[str]:
        resolved.append((host, port, policy, field))
        return [] if host == "nowhere.example" else ["192.0.2.1", "192.0.2.2"]

    def create_connection(address: tuple[str, int], timeout: Any, source_address: Any) -> Any:
        connected.append((address, timeout, source_address))
        if address[0] == "192.0.2.1" or address[1] == 1:
            raise ConnectionRefusedError(f"refused by {address[0]}")
        return "a socket"

    monkeypatch.setattr(netguard, "resolve", resolve)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    connect = fetching._pinned_connect(LOCAL, "chart")
    assert connect(("charts.example", 8443), 7.5, ("10.0.0.9", 0)) == "a socket"
    assert resolved == [("charts.example", 8443, LOCAL, "chart")]
    assert connected == [(("192.0.2.1", 8443), 7.5, ("10.0.0.9", 0)), (("192.0.2.2", 8443), 7.5, ("10.0.0.9", 0))]
    with pytest.raises(ConnectionRefusedError, match=r"^refused by 192\.0\.2\.2$"):  # the last address's error
        connect(("charts.example", 1))
    with pytest.raises(OSError, match=r"^nowhere\.example has no address$"):
        connect(("nowhere.example", 80))


def test_the_pinned_connections_keep_their_timeout() -> None:
    plain = fetching._PinnedHTTPConnection("charts.example", 8080, timeout=3.5, policy=LOCAL, field="url")
    tls = fetching._PinnedHTTPSConnection("charts.example", 8443, timeout=4.5, policy=LOCAL, field="url")
    assert (plain.host, plain.port, plain.timeout) == ("charts.example", 8080, 3.5)
    assert (tls.host, tls.port, tls.timeout) == ("charts.example", 8443, 4.5)


def test_the_opener_is_given_the_access_policy_field_and_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[Any, ...]] = []

    class Opener:
        def open(self, req: urllib.request.Request, timeout: float | None = None) -> Any:
            seen.append((req.full_url, timeout, req.get_header("User-agent")))
            raise urllib.error.URLError("down")

    def opener(access: Access, policy: Policy, field: str) -> Opener:
        seen.append((access, policy, field))
        return Opener()

    monkeypatch.setattr(fetching, "pinned_opener", opener)
    access = Access("https://charts.example")
    with pytest.raises(RepositoryUnreachable, match="is unreachable: down"):
        fetch("https://charts.example/index.yaml", access, 10, 2.5, LOCAL, "repository.url")
    assert seen == [(access, LOCAL, "repository.url"), ("https://charts.example/index.yaml", 2.5, "charthouse")]


def test_a_redirect_to_a_relative_url_without_a_scheme_is_named_so() -> None:
    with pytest.raises(InvalidInput) as exc:
        check_scheme("charts/x.tgz", "url", redirect=True)
    assert (
        exc.value.message
        == "url: a redirect to a relative URL has the scheme (none): refused, only http and https are fetched"
    )


def _ssl_error(message: str) -> ssl.SSLError:
    error = ssl.SSLError(message)
    error.reason = None  # type: ignore[misc]  # what the ssl module sets when OpenSSL gives no reason
    return error


def _failing_opener(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    class Opener:
        def open(self, req: urllib.request.Request, timeout: float | None = None) -> Any:
            raise error

    monkeypatch.setattr(fetching, "pinned_opener", lambda access, policy, field: Opener())


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (_ssl_error("bad record"), "TLS to https://charts.example/x failed: SSLError"),
        (ssl.SSLError("made in Python"), "TLS to https://charts.example/x failed: SSLError"),  # no reason at all
        (urllib.error.URLError(ssl.SSLError("bare")), "https://charts.example/x is unreachable: TLS: handshake failed"),
        (
            urllib.error.URLError(_ssl_error("no reason")),
            "https://charts.example/x is unreachable: TLS: handshake failed",
        ),
        (urllib.error.URLError(ConnectionRefusedError(111, "refused")), "is unreachable: ConnectionRefusedError"),
        (urllib.error.URLError("r" * 300), "is unreachable: " + "r" * 197 + "..."),
        (ConnectionResetError(104, "reset by peer"), "https://charts.example/x is unreachable: ConnectionResetError"),
    ],
)
def test_failures_to_connect_say_what_failed(monkeypatch: pytest.MonkeyPatch, error: BaseException, words: str) -> None:
    _failing_opener(monkeypatch, error)
    with pytest.raises(RepositoryUnreachable) as exc:
        fetch("https://charts.example/x?sig=s3cr3t", Access("https://charts.example"), 10, 1, LOCAL)
    assert exc.value.message.endswith(words) and "s3cr3t" not in exc.value.message


def _client_pair() -> tuple[str, str]:
    """A self-signed client certificate and its key (PEM)."""
    now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "charthouse client")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), pem_key.decode()


def test_a_client_certificate_is_presented_only_with_its_key(dns: Resolver) -> None:
    ca, tls = _tls_pair("charts.example")
    cert, key = _client_pair()
    tls.load_verify_locations(cadata=cert)
    tls.verify_mode = ssl.CERT_REQUIRED  # the server wants the client's certificate
    for srv in _serve(tls):
        dns.answers["charts.example"] = ["127.0.0.1"]
        url = f"https://charts.example:{srv.server_address[1]}/index.yaml"
        with_cert = Access(url, ca_bundle=ca, client_certificate=cert, client_key=key)
        assert fetch(url, with_cert, 1000, 5, LOCAL).startswith(b"index for charts.example")
        for partial in (Access(url, ca_bundle=ca, client_certificate=cert), Access(url, ca_bundle=ca, client_key=key)):
            with pytest.raises(RepositoryUnreachable):
                fetch(url, partial, 1000, 5, LOCAL)


def test_insecure_skip_tls_verify_turns_off_both_checks_and_nothing_else_does() -> None:
    insecure = Access("https://charts.example", insecure_skip_tls_verify=True).ssl_context()
    assert insecure.check_hostname is False and insecure.verify_mode == ssl.CERT_NONE
    for ctx in (
        Access("https://charts.example").ssl_context(),
        Access("https://x", ca_bundle=_tls_pair("x")[0]).ssl_context(),
    ):
        assert ctx.check_hostname is True and ctx.verify_mode == ssl.CERT_REQUIRED


def test_a_ca_bundle_is_the_only_authority_trusted() -> None:
    ca = _tls_pair("x")[0]
    assert len(Access("https://x", ca_bundle=ca).ssl_context().get_ca_certs()) == 1


def test_the_client_key_is_written_for_the_owner_only_and_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = _client_pair()
    opened: list[tuple[str, int, int]] = []
    real_open = os.open

    def recording_open(path: str, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        if str(path).endswith(".pem"):
            opened.append((str(path), flags, mode))
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", recording_open)
    Access("https://x", client_certificate=cert, client_key=key).ssl_context()
    assert [os.path.basename(p) for p, _, _ in opened] == ["cert.pem", "key.pem"]
    for path, flags, mode in opened:
        assert mode == 0o600 and flags & os.O_EXCL and flags & os.O_CREAT and flags & os.O_WRONLY
        assert os.path.basename(os.path.dirname(path)).startswith("charthouse-tls-") and not os.path.exists(path)
