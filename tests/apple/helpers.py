"""A test "Apple": a CA that signs push certificates with a `com.apple.mgmt…` UID."""

from __future__ import annotations

import base64
import datetime
import functools
import json
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

NOW = datetime.datetime.now(datetime.UTC)
_CA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_CA_NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Apple Push CA")])


@functools.cache
def ca_certificate() -> x509.Certificate:
    """The CA's own certificate, for a stand-in APNs that checks client certificates."""
    return (
        x509.CertificateBuilder()
        .subject_name(_CA_NAME)
        .issuer_name(_CA_NAME)
        .public_key(_CA_KEY.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=2))
        .not_valid_after(NOW + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(_CA_KEY, hashes.SHA256())
    )


def new_topic() -> str:
    return f"com.apple.mgmt.External.{uuid.uuid4()}"


def push_certificate(
    public_key,
    topic: str | None = None,
    *,
    days: int = 365,
    not_before: datetime.datetime | None = None,
) -> x509.Certificate:
    """A certificate for `public_key` as Apple's Push Certificates Portal would make it."""
    topic = topic or new_topic()
    start = not_before or NOW - datetime.timedelta(days=1)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.USER_ID, topic),
            x509.NameAttribute(NameOID.COMMON_NAME, f"APSP:{uuid.uuid4()}"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(_CA_NAME)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=days))
        .sign(_CA_KEY, hashes.SHA256())
    )


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def from_request(csr_pem: bytes, topic: str | None = None, **kwargs) -> bytes:
    """Sign the portal's CSR: the PEM certificate the admin uploads."""
    csr = x509.load_pem_x509_csr(csr_pem)
    return pem(push_certificate(csr.public_key(), topic, **kwargs))


def pkcs12_file(topic: str | None = None, password: bytes = b"secret", **kwargs) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = push_certificate(key.public_key(), topic, **kwargs)
    encryption = serialization.BestAvailableEncryption(password)
    return pkcs12.serialize_key_and_certificates(b"push", key, cert, None, encryption)


def vpptoken(org_name: str, *, days: int = 365, token: str = "s3cr3t-token") -> bytes:
    expires = (NOW + datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S%z")
    content = {"token": token, "expDate": expires, "orgName": org_name}
    return base64.b64encode(json.dumps(content).encode())
