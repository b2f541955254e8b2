"""Certificates for MDM enrollment: the portal's CA, device identities and profile signing.

Everything comes in as arguments: no Flask, no global configuration.
"""

from __future__ import annotations

import datetime
import fcntl
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Part of this module's API (the CMS helpers); the reader itself lives in ber.py.
from .ber import unwrap_signed_data

__all__ = [
    "CA_CERT_FILE",
    "CA_KEY_FILE",
    "SIGNING_CERT_FILE",
    "SIGNING_KEY_FILE",
    "CertificateAuthority",
    "PKIError",
    "SigningKey",
    "create_ca",
    "create_signing_identity",
    "identity_pkcs12",
    "issue_identity",
    "load_or_create_ca",
    "load_or_create_signing_identity",
    "load_signing_identity",
    "sign_profile",
    "unwrap_signed_data",
]

CA_CERT_FILE = "ca.pem"
CA_KEY_FILE = "ca.key"
SIGNING_CERT_FILE = "signing.pem"
SIGNING_KEY_FILE = "signing.key"

_RSA_KEY_SIZE = 2048
_CA_VALIDITY = datetime.timedelta(days=3650)
# Tolerates devices whose clock is a little behind the server's.
_BACKDATE = datetime.timedelta(minutes=5)
_SIGNING_RENEW_BEFORE = datetime.timedelta(days=30)
_LOCK_FILE = ".lock"

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class PKIError(ValueError):
    """Key material on disk is missing, inconsistent or unusable."""


@dataclass(frozen=True)
class CertificateAuthority:
    """The portal's own CA: it issues device identities and the default signing certificate."""

    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=_RSA_KEY_SIZE)


def _name(common_name: str) -> x509.Name:
    if not common_name or not common_name.strip():
        raise ValueError("common_name must not be empty")
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def create_ca(common_name: str) -> CertificateAuthority:
    """Create a self-signed RSA 2048 CA valid for 10 years."""
    key = _new_rsa_key()
    name = _name(common_name)
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _CA_VALIDITY)
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertificateAuthority(certificate=cert, private_key=key)


def _issue_leaf(
    ca: CertificateAuthority,
    common_name: str,
    *,
    days: int,
    key_encipherment: bool,
    extended_key_usage: Sequence[x509.ObjectIdentifier] | None,
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    if days <= 0:
        raise ValueError("days must be positive")
    key = _new_rsa_key()
    now = _now()
    # A leaf must not outlive its CA, or chain validation fails once the CA expires.
    not_after = min(now + datetime.timedelta(days=days), ca.certificate.not_valid_after_utc)
    ca_ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=key_encipherment,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
    )
    if extended_key_usage:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage(list(extended_key_usage)), critical=False
        )
    return builder.sign(ca.private_key, hashes.SHA256()), key


def issue_identity(
    ca: CertificateAuthority, common_name: str, *, days: int = 365
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """Issue a device identity (RSA 2048, clientAuth) signed by the CA."""
    return _issue_leaf(
        ca,
        common_name,
        days=days,
        key_encipherment=True,
        extended_key_usage=[ExtendedKeyUsageOID.CLIENT_AUTH],
    )


def create_signing_identity(
    ca: CertificateAuthority, common_name: str, *, days: int = 825
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """Issue a profile-signing certificate (digitalSignature, no EKU) signed by the CA."""
    return _issue_leaf(ca, common_name, days=days, key_encipherment=False, extended_key_usage=None)


def identity_pkcs12(
    cert: x509.Certificate,
    key: rsa.RSAPrivateKey,
    ca_cert: x509.Certificate,
    password: bytes,
    friendly_name: bytes,
) -> bytes:
    """Bundle a device identity and its CA as a password-protected PKCS#12."""
    if not password:
        raise ValueError("a PKCS#12 for a device needs a non-empty password")
    # Older iOS/macOS releases only import PKCS#12 files encrypted with
    # PBE-SHA1-3DES and a SHA-1 MAC; the PBES2/AES that BestAvailableEncryption
    # picks makes them report a wrong password. The file only travels inside the
    # enrollment profile, served over TLS to the signed-in user.
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(50000)
        .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        .hmac_hash(hashes.SHA1())  # noqa: S303 - required by older Apple devices, see above
        .build(password)
    )
    return pkcs12.serialize_key_and_certificates(
        name=friendly_name, key=key, cert=cert, cas=[ca_cert], encryption_algorithm=encryption
    )


# --- files -----------------------------------------------------------------


@contextmanager
def _locked_directory(directory: Path) -> Iterator[None]:
    """Create `directory` (0700) if needed and hold an exclusive lock on it."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Several workers may start at once on a fresh install: without the lock each
    # would create its own CA and all but the last would hand out orphaned identities.
    with open(directory / _LOCK_FILE, "a+b") as lock:
        os.chmod(lock.fileno(), 0o600)
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write `data` to `path` via a temporary file in the same directory and os.replace."""
    # mkstemp creates the file 0600, so a key is never readable by others, even briefly.
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # makes the rename itself survive a crash
    finally:
        os.close(dir_fd)


def _key_pem(key: SigningKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _store_pair(
    directory: Path, cert_file: str, key_file: str, cert: x509.Certificate, key: SigningKey
) -> None:
    # Key first: the certificate file is what marks the pair as complete.
    _write_atomic(directory / key_file, _key_pem(key), 0o600)
    _write_atomic(directory / cert_file, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _public_keys_match(cert: x509.Certificate, key: SigningKey) -> bool:
    return cert.public_key() == key.public_key()


def _load_rsa_pair(cert_path: Path, key_path: Path) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise PKIError(f"cannot load {cert_path.name}/{key_path.name}: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise PKIError(f"{key_path} does not hold an RSA private key")
    if not _public_keys_match(cert, key):
        raise PKIError(f"{key_path} does not match the certificate in {cert_path}")
    return cert, key


def _pair_state(directory: Path, cert_file: str, key_file: str) -> bool:
    """Return True if the pair exists, False if it must be created; raise if it is broken."""
    cert_exists = (directory / cert_file).exists()
    key_exists = (directory / key_file).exists()
    if cert_exists and not key_exists:
        # Regenerating would silently orphan everything issued under the old certificate.
        raise PKIError(f"{directory / cert_file} exists but {directory / key_file} is missing")
    # A key without its certificate is an interrupted creation: nothing used it yet.
    return cert_exists


def load_or_create_ca(directory: Path, common_name: str) -> CertificateAuthority:
    """Load the CA from `directory` (ca.pem, ca.key), creating and storing it if absent."""
    directory = Path(directory)
    with _locked_directory(directory):
        if _pair_state(directory, CA_CERT_FILE, CA_KEY_FILE):
            cert, key = _load_rsa_pair(directory / CA_CERT_FILE, directory / CA_KEY_FILE)
            return CertificateAuthority(certificate=cert, private_key=key)
        ca = create_ca(common_name)
        _store_pair(directory, CA_CERT_FILE, CA_KEY_FILE, ca.certificate, ca.private_key)
        return ca


def load_or_create_signing_identity(
    directory: Path, ca: CertificateAuthority, common_name: str
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """Load signing.pem/signing.key from `directory`, issuing them from `ca` when needed.

    A new pair replaces the stored one when it is absent, expires within 30 days
    or was not issued by `ca`.
    """
    directory = Path(directory)
    with _locked_directory(directory):
        if _pair_state(directory, SIGNING_CERT_FILE, SIGNING_KEY_FILE):
            cert, key = _load_rsa_pair(directory / SIGNING_CERT_FILE, directory / SIGNING_KEY_FILE)
            # Renewed ahead of expiry, and when the CA changed, so new profiles never
            # show as unverified; the certificate is not pinned anywhere.
            if _issued_by(cert, ca) and cert.not_valid_after_utc - _now() > _SIGNING_RENEW_BEFORE:
                return cert, key
        cert, key = create_signing_identity(ca, common_name)
        _store_pair(directory, SIGNING_CERT_FILE, SIGNING_KEY_FILE, cert, key)
        return cert, key


def _issued_by(cert: x509.Certificate, ca: CertificateAuthority) -> bool:
    try:
        cert.verify_directly_issued_by(ca.certificate)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def load_signing_identity(
    cert_pem_path: Path, key_pem_path: Path
) -> tuple[x509.Certificate, SigningKey, list[x509.Certificate]]:
    """Load a configured signing certificate, its key and chain from PEM files.

    The certificate file holds the leaf first, then any intermediates; the key
    file may be the same file. The key must be unencrypted RSA or EC.
    """
    try:
        certs = x509.load_pem_x509_certificates(Path(cert_pem_path).read_bytes())
        key = serialization.load_pem_private_key(Path(key_pem_path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise PKIError(f"cannot load the signing certificate or key: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise PKIError(f"{key_pem_path}: only RSA and EC keys can sign profiles")
    leaf, chain = certs[0], certs[1:]
    if not _public_keys_match(leaf, key):
        raise PKIError(
            f"{key_pem_path} does not match the first certificate in {cert_pem_path}"
            " (the leaf must come first)"
        )
    return leaf, key, chain


# --- CMS -------------------------------------------------------------------


def sign_profile(
    content: bytes, cert: x509.Certificate, key: SigningKey, chain: Sequence[x509.Certificate]
) -> bytes:
    """Sign `content` as DER CMS SignedData (SHA-256, content attached, chain included)."""
    builder = pkcs7.PKCS7SignatureBuilder().set_data(content).add_signer(cert, key, hashes.SHA256())
    for extra in chain:
        builder = builder.add_certificate(extra)
    # Binary: a profile is bytes, not MIME text; no CRLF translation may touch it.
    return builder.sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
