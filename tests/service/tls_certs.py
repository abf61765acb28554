"""Test certificates, made fresh per test session: a CA, a server certificate for 127.0.0.1
and localhost, and client certificates (one from the CA, one from a stranger CA)."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Pem:
    cert: str
    key: str


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(folder: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Pem:
    cert_path, key_path = folder / f"{stem}.crt", folder / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Pem(str(cert_path), str(key_path))


def _issue(
    subject: str, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None, *, ca: bool, usage=None, sans=()
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer or (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    return builder.sign(issuer_key, hashes.SHA256()), key


def make_certs(folder: Path) -> dict[str, Pem]:
    """ca, server, client (signed by ca) and stranger (a self-signed client certificate)."""
    ca_cert, ca_key = _issue("zkprover test CA", None, ca=True)
    issuer = (ca_cert.subject, ca_key)
    sans = (x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    server = _issue("localhost", issuer, ca=False, usage=ExtendedKeyUsageOID.SERVER_AUTH, sans=sans)
    client = _issue("client-a", issuer, ca=False, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    stranger = _issue("stranger", None, ca=False, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    return {
        "ca": _write(folder, "ca", ca_cert, ca_key),
        "server": _write(folder, "server", *server),
        "client": _write(folder, "client", *client),
        "stranger": _write(folder, "stranger", *stranger),
    }
