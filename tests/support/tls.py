"""Throwaway certificate authorities and server certificates for TLS test servers."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# EC keys: generating RSA ones would cost the test session noticeably more.
CURVE = ec.SECP256R1()


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _validity(builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return builder.not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(
        now + dt.timedelta(days=2)
    )


@dataclass(frozen=True)
class Authority:
    """A CA: its key, its certificate, and the PEM file of the certificate."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    cert_file: Path

    @classmethod
    def create(cls, directory: Path, common_name: str) -> Authority:
        key = ec.generate_private_key(CURVE)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(_name(common_name))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        )
        certificate = _validity(builder).sign(key, hashes.SHA256())
        directory.mkdir(parents=True, exist_ok=True)
        cert_file = directory / f"{common_name.lower().replace(' ', '-')}.pem"
        cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return cls(key, certificate, cert_file)

    def issue_server(
        self, directory: Path, hosts: tuple[str, ...] = ("localhost", "127.0.0.1")
    ) -> tuple[Path, Path]:
        """A server certificate for `hosts` (DNS names or IP addresses): (cert file, key file)."""
        key = ec.generate_private_key(CURVE)
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(hosts[0]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
        )
        certificate = _validity(builder).sign(self.key, hashes.SHA256())
        directory.mkdir(parents=True, exist_ok=True)
        cert_file, key_file = directory / "server.pem", directory / "server.key"
        cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_file.chmod(0o600)
        return cert_file, key_file
