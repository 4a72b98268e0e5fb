"""Throwaway certificates for TLS tests: a CA, a server certificate for localhost/127.0.0.1 and a client one."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.harness.redis_server import TlsFiles


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(subject: str, key: ec.EllipticCurvePrivateKey, ca_name: x509.Name, ca_key: ec.EllipticCurvePrivateKey,
           *, ca: bool = False, server: bool = False, also_client: bool = False) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False), critical=True)
    elif server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        usages = [ExtendedKeyUsageOID.SERVER_AUTH] + ([ExtendedKeyUsageOID.CLIENT_AUTH] if also_client else [])
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    else:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def make_tls_files(folder: Path, ca_name: str = "clusterdoc test CA", *, server_also_client: bool = False) -> TlsFiles:
    """Write ca.pem, server.pem/server.key and client.pem/client.key into ``folder``. ``server_also_client``:
    the server certificate may act as a client too (etcd's gRPC gateway dials its own member with it)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = _key()
    ca_cert = _issue(ca_name, ca_key, _name(ca_name), ca_key, ca=True)
    files: dict[str, Path] = {}
    for role in ("server", "client"):
        key = _key()
        cert = _issue(f"clusterdoc {role}", key, ca_cert.subject, ca_key, server=role == "server",
                      also_client=server_also_client)
        files[f"{role}.pem"] = folder / f"{role}.pem"
        files[f"{role}.key"] = folder / f"{role}.key"
        files[f"{role}.pem"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(files[f"{role}.key"], key)
    (folder / "ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return TlsFiles(cert=files["server.pem"], key=files["server.key"], ca=folder / "ca.pem",
                    client_cert=files["client.pem"], client_key=files["client.key"])
