"""A private certificate authority for the local chart servers: one CA, one server certificate for loopback.

``local_tls(directory)`` writes (or reuses, when still valid) ``ca.pem``, ``server.pem`` and ``server-key.pem``
in ``directory``; the server certificate names ``127.0.0.1``, ``::1`` and ``localhost`` and is signed by the CA.
Clients trust the CA (``helm --ca-file ca.pem``, ``ssl.create_default_context(cafile=...)``).

``client_tls(directory)`` writes (or reuses) a client certificate for mutual TLS: ``client-ca.pem`` (what a server
trusts for client certificates: ``ChartServer(client_ca=...)``, ``OciRegistry(client_ca=...)``), ``client.pem``
and ``client-key.pem`` (``helm --cert-file/--key-file``). Keys are EC P-256 (fast to generate) and written 0600. Reusing the files across restarts of ``make run`` keeps a CA that a user has
already pointed a client at.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOOPBACK_NAMES = ("localhost",)
LOOPBACK_IPS = ("127.0.0.1", "::1")
VALID_DAYS = 825
RENEW_BEFORE = datetime.timedelta(days=7)


@dataclass(frozen=True)
class TlsFiles:
    """Paths of a CA certificate and a server certificate + key signed by it (all PEM)."""

    ca: Path
    cert: Path
    key: Path

    @property
    def ca_pem(self) -> str:
        return self.ca.read_text()

    @property
    def cert_pem(self) -> str:
        return self.cert.read_text()

    @property
    def key_pem(self) -> str:
        return self.key.read_text()


def local_tls(directory: Path, common_name: str = "charthouse local") -> TlsFiles:
    """The CA and loopback server certificate in ``directory``: reused when valid, else (re)generated."""
    return _issue(
        TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server-key.pem"), common_name, server=True
    )


def client_tls(directory: Path, common_name: str = "charthouse client") -> TlsFiles:
    """A client certificate and key, and the CA that signed it (``ca``: what servers must trust), in ``directory``."""
    return _issue(
        TlsFiles(directory / "client-ca.pem", directory / "client.pem", directory / "client-key.pem"),
        common_name,
        server=False,
    )


def _issue(files: TlsFiles, common_name: str, server: bool) -> TlsFiles:
    files.ca.parent.mkdir(parents=True, exist_ok=True)
    if _still_valid(files):
        return files
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _ca_certificate(ca_key, f"{common_name} CA")
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _leaf_certificate(key, ca_cert, ca_key, common_name, server)
    _write(
        files.key,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        0o600,
    )
    _write(files.cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(files.ca, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    # The CA's key is not kept: nothing else is ever signed with it.
    return files


def _still_valid(files: TlsFiles) -> bool:
    if not (files.ca.exists() and files.cert.exists() and files.key.exists()):
        return False
    try:
        ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
        cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
        cert.verify_directly_issued_by(ca)
        key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
    except (ValueError, TypeError, InvalidSignature):
        return False
    if key.public_key() != cert.public_key():
        return False
    now = datetime.datetime.now(datetime.UTC)
    return all(c.not_valid_after_utc - RENEW_BEFORE > now for c in (ca, cert))


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _validity(builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return builder.not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(
        now + datetime.timedelta(days=VALID_DAYS)
    )


def _ca_certificate(key: ec.EllipticCurvePrivateKey, name: str) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return _validity(builder).sign(key, hashes.SHA256())


def _leaf_certificate(
    key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, name: str, server: bool
) -> x509.Certificate:
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in LOOPBACK_NAMES]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in LOOPBACK_IPS]
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    return _validity(builder).sign(ca_key, hashes.SHA256())
