"""devstack.tls: the one helper behind every certificate of the local stack."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from devstack.tls import Authority, Subject, client_tls, local_tls, rsa_key_pair


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def usage(cert: x509.Certificate) -> list[x509.ObjectIdentifier]:
    return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def test_local_tls_serves_loopback_and_is_reused(tmp_path: Path) -> None:
    files = local_tls(tmp_path / "a", "repo")
    cert, ca = load(files.cert), load(files.ca)
    cert.verify_directly_issued_by(ca)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    assert usage(cert) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert files.key.stat().st_mode & 0o777 == 0o600
    before = (files.ca.read_bytes(), files.cert.read_bytes(), files.key.read_bytes())
    assert local_tls(tmp_path / "a", "repo") == files
    assert (files.ca.read_bytes(), files.cert.read_bytes(), files.key.read_bytes()) == before
    assert local_tls(tmp_path / "b", "repo").ca.read_bytes() != before[0]  # each directory has its own CA


def test_a_broken_set_is_made_again(tmp_path: Path) -> None:
    files = client_tls(tmp_path)
    assert usage(load(files.cert)) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    old_ca = files.ca.read_bytes()
    files.key.write_text("not a key")
    client_tls(tmp_path)
    assert files.ca.read_bytes() != old_ca
    load(files.cert).verify_directly_issued_by(load(files.ca))


def test_authority_keeps_its_key_and_signs_later(tmp_path: Path) -> None:
    ca = Authority(tmp_path / "ca.crt", tmp_path / "ca.key", "test-ca").ensure()
    assert ca.key.stat().st_mode & 0o777 == 0o600
    first = ca.ensure().cert.read_bytes()
    assert Authority(ca.cert, ca.key, "test-ca").ensure().cert.read_bytes() == first  # reused across objects
    user = Subject("system:kube-scheduler", server=False, dns_names=(), ip_addresses=())
    issued = ca.issue(tmp_path / "s.crt", tmp_path / "s.key", user)
    cert = load(issued.cert)
    cert.verify_directly_issued_by(load(ca.cert))
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "system:kube-scheduler"
    assert usage(cert) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    # reused while it says the same thing; signed again when the subject changes
    assert ca.issue(issued.cert, issued.key, user).cert.read_bytes() == issued.cert.read_bytes()
    group = Subject("system:kube-scheduler", organization="system:masters", server=False, dns_names=(), ip_addresses=())
    again = load(ca.issue(issued.cert, issued.key, group).cert)
    assert again.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:masters"


def test_a_certificate_of_another_ca_is_replaced(tmp_path: Path) -> None:
    one = Authority(tmp_path / "1.crt", tmp_path / "1.key", "one").ensure()
    two = Authority(tmp_path / "2.crt", tmp_path / "2.key", "two").ensure()
    subject = Subject("kube-apiserver", dns_names=("kubernetes",), ip_addresses=("127.0.0.1", "10.0.0.1"))
    issued = one.issue(tmp_path / "srv.crt", tmp_path / "srv.key", subject)
    two.issue(issued.cert, issued.key, subject)
    load(issued.cert).verify_directly_issued_by(load(two.cert))


def test_an_existing_rsa_ca_is_reused(tmp_path: Path) -> None:
    """A cluster CA made by an earlier version of the stack (openssl, RSA) keeps working: kubeconfigs stay valid."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "charthouse-ca")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "ca.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "ca.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    before = (tmp_path / "ca.crt").read_bytes()
    ca = Authority(tmp_path / "ca.crt", tmp_path / "ca.key", "charthouse-ca").ensure()
    assert ca.cert.read_bytes() == before
    issued = ca.issue(tmp_path / "a.crt", tmp_path / "a.key", Subject("kube-apiserver"))
    load(issued.cert).verify_directly_issued_by(cert)


def test_rsa_key_pair_is_kept(tmp_path: Path) -> None:
    private, public = tmp_path / "sa.key", tmp_path / "sa.pub"
    rsa_key_pair(private, public)
    key = serialization.load_pem_private_key(private.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and private.stat().st_mode & 0o777 == 0o600
    assert serialization.load_pem_public_key(public.read_bytes()) == key.public_key()
    before = private.read_bytes()
    rsa_key_pair(private, public)
    assert private.read_bytes() == before
