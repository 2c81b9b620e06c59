"""Every certificate the local stack makes: private certificate authorities and the certificates they sign.

Two shapes, one code path (``_new_ca``, ``_sign``, ``_leaf_valid``):

* A throwaway CA per server. ``local_tls(directory)`` writes (or reuses, when still valid) ``ca.pem``, ``server.pem``
  and ``server-key.pem`` in ``directory``; the server certificate names ``127.0.0.1``, ``::1`` and ``localhost``.
  Clients trust the CA (``helm --ca-file ca.pem``, ``ssl.create_default_context(cafile=...)``).
  ``client_tls(directory)`` writes (or reuses) a client certificate for mutual TLS: ``client-ca.pem`` (what a server
  trusts for client certificates: ``ChartServer(client_ca=...)``, ``OciRegistry(client_ca=...)``), ``client.pem``
  and ``client-key.pem`` (``helm --cert-file/--key-file``). The CA's key is not kept: nothing else is ever signed
  with it, so the whole set is made again when any part of it is missing, broken or near expiry.
* A kept CA: ``Authority(cert, key, name)``, whose key stays beside its certificate so that it can sign more
  certificates later (the local Kubernetes PKI: the API server's serving certificate, the controllers' client
  certificates). ``Authority.issue(cert, key, Subject(...))`` reuses a certificate that this CA signed, that names
  the same subject and that is not near expiry; otherwise it signs a new one.

New keys are EC P-256 (fast to generate); a kept CA made elsewhere (e.g. an RSA CA from ``openssl``) is reused as
it is. Private keys are written 0600, certificates 0644, each file atomically. Reusing the files across restarts of
``make run`` keeps a CA that a user has already pointed a client at. ``rsa_key_pair`` makes the one key that is not
a certificate's: the RSA pair that signs Kubernetes service-account tokens.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "LOOPBACK_IPS",
    "LOOPBACK_NAMES",
    "Authority",
    "Subject",
    "TlsFiles",
    "client_tls",
    "local_tls",
    "rsa_key_pair",
]

LOOPBACK_NAMES: Final = ("localhost",)
LOOPBACK_IPS: Final = ("127.0.0.1", "::1")
VALID_DAYS: Final = 825
RENEW_BEFORE: Final = datetime.timedelta(days=7)
_RSA_BITS: Final = 2048


@dataclass(frozen=True)
class TlsFiles:
    """Paths of a CA certificate and a certificate + key signed by it (all PEM)."""

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


@dataclass(frozen=True)
class Subject:
    """What a leaf certificate says: its name (and organization: Kubernetes reads it as the group), whether it
    serves (serverAuth) or authenticates a client (clientAuth), and the names it is valid for."""

    common_name: str
    organization: str | None = None
    server: bool = True
    dns_names: tuple[str, ...] = LOOPBACK_NAMES
    ip_addresses: tuple[str, ...] = LOOPBACK_IPS

    def name(self) -> x509.Name:
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, self.common_name)]
        if self.organization is not None:
            attributes.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.organization))
        return x509.Name(attributes)

    def alternative_names(self) -> list[x509.GeneralName]:
        names: list[x509.GeneralName] = [x509.DNSName(n) for n in self.dns_names]
        names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in self.ip_addresses]
        return names


# --- throwaway CAs ------------------------------------------------------------------------------------------


def local_tls(directory: Path, common_name: str = "charthouse local") -> TlsFiles:
    """The CA and loopback server certificate in ``directory``: reused when valid, else (re)generated."""
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
    return _issue_with_throwaway_ca(files, Subject(common_name, server=True))


def client_tls(directory: Path, common_name: str = "charthouse client") -> TlsFiles:
    """A client certificate and key, and the CA that signed it (``ca``: what servers must trust), in ``directory``."""
    files = TlsFiles(directory / "client-ca.pem", directory / "client.pem", directory / "client-key.pem")
    return _issue_with_throwaway_ca(files, Subject(common_name, server=False))


def _issue_with_throwaway_ca(files: TlsFiles, subject: Subject) -> TlsFiles:
    files.ca.parent.mkdir(parents=True, exist_ok=True)
    ca = _load_certificate(files.ca)
    if ca is not None and _ca_valid(ca) and _leaf_valid(files.cert, files.key, ca, subject):
        return files
    ca_key, ca_cert = _new_ca(f"{subject.common_name} CA")
    _sign(files.cert, files.key, subject, ca_cert, ca_key)
    _write(files.ca, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return files


# --- kept CAs -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Authority:
    """A CA kept in two files (certificate and key) so that it can sign certificates at any later time."""

    cert: Path
    key: Path
    name: str

    def ensure(self) -> Authority:
        """Reuse the CA in ``cert``/``key`` when both are there, match and are not near expiry; else make one."""
        self.cert.parent.mkdir(parents=True, exist_ok=True)
        if self._load() is None:
            key, cert = _new_ca(self.name)
            _write(self.key, _key_pem(key), 0o600)
            _write(self.cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)
        return self

    def issue(self, cert: Path, key: Path, subject: Subject) -> TlsFiles:
        """A certificate for ``subject`` signed by this CA, in ``cert``/``key``: reused when still valid."""
        loaded = self._load()
        if loaded is None:
            raise FileNotFoundError(f"no usable CA in {self.cert} (call ensure() first)")
        ca_key, ca_cert = loaded
        if not _leaf_valid(cert, key, ca_cert, subject):
            _sign(cert, key, subject, ca_cert, ca_key)
        return TlsFiles(self.cert, cert, key)

    def _load(self) -> tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate] | None:
        cert = _load_certificate(self.cert)
        key = _load_key(self.key)
        if cert is None or key is None or not _ca_valid(cert) or not _same_public_key(key, cert):
            return None
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            return None
        return key, cert


def rsa_key_pair(private: Path, public: Path) -> None:
    """An RSA key pair in PEM (PKCS#8 private, 0600; SubjectPublicKeyInfo public), kept when both are there."""
    key = _load_key(private)
    if isinstance(key, rsa.RSAPrivateKey) and public.exists():
        return
    key = rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write(private, _key_pem(key), 0o600)
    _write(public, public_pem, 0o644)


# --- the one code path ----------------------------------------------------------------------------------------


def _new_ca(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
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
    return key, _validity(builder).sign(key, hashes.SHA256())


def _sign(
    cert_path: Path,
    key_path: Path,
    subject: Subject,
    ca: x509.Certificate,
    ca_key: CertificateIssuerPrivateKeyTypes,
) -> None:
    """Make a key and a certificate for ``subject`` signed by ``ca``; write the key first (0600), then the cert."""
    key = ec.generate_private_key(ec.SECP256R1())
    usage = ExtendedKeyUsageOID.SERVER_AUTH if subject.server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject.name())
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    names = subject.alternative_names()
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = _validity(builder).sign(ca_key, hashes.SHA256())
    _write(key_path, _key_pem(key), 0o600)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _leaf_valid(cert_path: Path, key_path: Path, ca: x509.Certificate, subject: Subject) -> bool:
    """True when ``cert_path`` was signed by ``ca``, matches ``key_path``, says ``subject`` and is not near expiry."""
    cert = _load_certificate(cert_path)
    key = _load_key(key_path)
    if cert is None or key is None or not _same_public_key(key, cert):
        return False
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    if cert.subject != subject.name() or not _not_near_expiry(cert):
        return False
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return not subject.alternative_names()
    return set(names) == set(subject.alternative_names())


def _ca_valid(cert: x509.Certificate) -> bool:
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    return basic.ca and _not_near_expiry(cert)


def _not_near_expiry(cert: x509.Certificate) -> bool:
    return cert.not_valid_after_utc - RENEW_BEFORE > datetime.datetime.now(datetime.UTC)


def _same_public_key(key: object, cert: x509.Certificate) -> bool:
    public_key = getattr(key, "public_key", None)
    return callable(public_key) and bool(public_key() == cert.public_key())


def _load_certificate(path: Path) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None


def _load_key(path: Path) -> object | None:
    try:
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
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
