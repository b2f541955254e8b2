"""The APNs MDM push certificate: signing request, upload, topic and expiry.

The admin downloads a certificate signing request (the portal keeps its key, encrypted),
has Apple sign it, and uploads the certificate (PEM, or PKCS#12 with its own key). Its
topic (the subject's UID, `com.apple.mgmt.…`) then goes into every profile made afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from flask import has_app_context
from flask_babel import format_date
from flask_babel import gettext as _

from .. import audit
from ..extensions import db
from ..models import Device, DeviceStatus, PushCertificate, User
from . import secrets

TOPIC_PREFIX = "com.apple.mgmt."
WARN_BEFORE = timedelta(days=30)
MAX_UPLOAD = 64 * 1024
# X.509 allows 0001–9999 (9999-12-31 means "no expiry"); a push certificate was made by
# Apple after 2000. Its expiry is kept no later than MAX_NOT_AFTER, so that "30 days
# before" and other date sums never leave Python's range.
CERTIFICATE_YEARS = (2000, 9999)
MAX_NOT_AFTER = datetime(9000, 1, 1, tzinfo=UTC)
_KEY_BLOCK = re.compile(
    rb"-----BEGIN [A-Z ]*PRIVATE KEY-----.+?-----END [A-Z ]*PRIVATE KEY-----", re.S
)
# Devices that completed enrollment answer pushes on the topic they enrolled with.
_ENROLLED = (DeviceStatus.AUTHENTICATED, DeviceStatus.ENROLLED)


class PushCertificateError(Exception):
    """The upload cannot be used; the message says why, for the admin."""


@dataclass(frozen=True)
class ParsedCertificate:
    certificate: x509.Certificate
    chain: list[x509.Certificate]
    key: rsa.RSAPrivateKey | None
    topic: str
    not_after: datetime


def record() -> PushCertificate | None:
    return db.session.scalar(sa.select(PushCertificate).order_by(PushCertificate.id).limit(1))


def current_topic() -> str | None:
    """The uploaded certificate's topic, if there is one (None outside an app context)."""
    if not has_app_context():
        return None
    row = record()
    return row.topic if row is not None and row.certificate_pem else None


def enrolled_topics() -> set[str]:
    rows = db.session.scalars(
        sa.select(Device.topic)
        .where(Device.status.in_(_ENROLLED), Device.topic.is_not(None))
        .distinct()
    )
    return {topic for topic in rows if topic}


# --- signing request -----------------------------------------------------------------------


def signing_request(actor: User, *, organization: str, secret_key: str) -> bytes:
    """The CSR (PEM) to send to Apple; its key is made once and kept until a certificate uses it."""
    row = record()
    if row is None:
        row = PushCertificate()
        db.session.add(row)
    key = None
    if row.request_key:
        try:
            key = serialization.load_pem_private_key(
                secrets.decrypt(secret_key, row.request_key), password=None
            )
        except secrets.SecretUnreadable:
            key = None
    if not isinstance(key, rsa.RSAPrivateKey):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        row.request_key = secrets.encrypt(secret_key, _key_pem(key))
        row.request_created_at = datetime.now(UTC)
        db.session.flush()
        audit.record(actor, "apple.push_csr.created", target=row)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"{organization} MDM push"[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization[:64] or "MDM"),
        ]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


def _key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


# --- upload --------------------------------------------------------------------------------


def topic_of(cert: x509.Certificate) -> str | None:
    for attribute in cert.subject.get_attributes_for_oid(NameOID.USER_ID):
        value = str(attribute.value)
        if value.startswith(TOPIC_PREFIX):
            return value
    return None


def parse(data: bytes, password: str | None = None) -> ParsedCertificate:
    """Read a PEM/DER certificate or a PKCS#12 file; find the push certificate in it."""
    if not data:
        raise PushCertificateError(_("Choose the certificate file Apple gave you."))
    if len(data) > MAX_UPLOAD:
        raise PushCertificateError(_("This file is too large to be a push certificate."))
    key = None
    certs: list[x509.Certificate] = []
    if b"-----BEGIN" in data:
        try:
            certs = x509.load_pem_x509_certificates(data)
        except ValueError:
            certs = []
        if b"PRIVATE KEY-----" in data:
            key = _pem_key(data, password)
    else:
        try:
            certs = [x509.load_der_x509_certificate(data)]
        except ValueError:
            key, certs = _pkcs12(data, password)
    if not certs:
        raise PushCertificateError(_("No certificate was found in this file."))
    push = next((cert for cert in certs if topic_of(cert)), None)
    if push is None:
        raise PushCertificateError(
            _(
                "This is not an MDM push certificate: its subject has no "
                "“com.apple.mgmt.…” topic (UID)."
            )
        )
    if key is not None and not isinstance(key, rsa.RSAPrivateKey):
        raise PushCertificateError(_("The private key in this file is not an RSA key."))
    if key is not None and push.public_key() != key.public_key():
        raise PushCertificateError(
            _("The private key in this file does not match its certificate.")
        )
    not_before, not_after = _validity(push)
    if not_before > datetime.now(UTC) + timedelta(days=1):
        raise PushCertificateError(
            _(
                "This certificate is not valid before %(date)s: check the computer's clock "
                "where it was made, or renew it in Apple's Push Certificates Portal.",
                date=format_date(not_before),
            )
        )
    return ParsedCertificate(
        certificate=push,
        chain=[cert for cert in certs if cert is not push],
        key=key,
        topic=topic_of(push) or "",
        not_after=not_after,
    )


def _validity(cert: x509.Certificate) -> tuple[datetime, datetime]:
    """(not before, not after), refused when unreadable or not dates a certificate can hold.

    cryptography reads the dates only when asked, and refuses malformed ones then; every
    date of the certificate is read here, once.
    """
    try:
        not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    except ValueError as exc:
        raise PushCertificateError(
            _("The validity dates of this certificate cannot be read.")
        ) from exc
    if not_after <= not_before or not_before.year < CERTIFICATE_YEARS[0]:
        raise PushCertificateError(
            _(
                "The validity dates of this certificate (%(start)s to %(end)s) are not "
                "possible: renew it in Apple's Push Certificates Portal.",
                start=not_before.date().isoformat(),
                end=not_after.date().isoformat(),
            )
        )
    return not_before, min(not_after, MAX_NOT_AFTER)


def _pem_key(data: bytes, password: str | None):
    try:
        return serialization.load_pem_private_key(
            _key_block(data),
            password=password.encode() if password else None,
        )
    except (ValueError, TypeError) as exc:
        raise PushCertificateError(
            _("The private key in this file cannot be read (wrong password?).")
        ) from exc


def _key_block(data: bytes) -> bytes:
    """The PEM private key block of a file that also holds certificates."""
    match = _KEY_BLOCK.search(data)
    if match is None:
        raise ValueError("no private key block")
    return match.group(0)


def _pkcs12(data: bytes, password: str | None):
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(
            data, password.encode() if password else None
        )
    except ValueError as exc:
        raise PushCertificateError(
            _(
                "This file cannot be read: upload a PEM certificate, or a PKCS#12 (.p12) "
                "file with its password (check the password)."
            )
        ) from exc
    certs = ([cert] if cert is not None else []) + list(extra)
    return key, certs


def upload(
    actor: User,
    data: bytes,
    password: str | None = None,
    *,
    secret_key: str,
    now: datetime | None = None,
) -> PushCertificate:
    """Check and store the certificate; the caller commits.

    :raise PushCertificateError: unreadable, not a push certificate, expired, key not the
        signing request's, or a topic other than the one enrolled devices use.
    """
    now = now or datetime.now(UTC)
    parsed = parse(data, password)
    if parsed.not_after <= now:
        raise PushCertificateError(
            _(
                "This certificate expired on %(date)s. Renew it in Apple's Push Certificates "
                "Portal and upload the new one.",
                date=format_date(parsed.not_after),
            )
        )
    row = record()
    key = parsed.key or _matching_key(row, parsed.certificate, secret_key)
    if key is None:
        raise PushCertificateError(
            _(
                "This certificate does not match the portal's signing request: its key is "
                "unknown to the portal. Upload the certificate Apple made from the request "
                "downloaded here, or a PKCS#12 file that carries its own key."
            )
        )
    topics = enrolled_topics()
    if topics and parsed.topic not in topics:
        raise PushCertificateError(
            _(
                "This certificate's topic is %(new)s, but enrolled devices use %(old)s: they "
                "would stop answering. Renew the existing certificate (same Apple ID in "
                "Apple's Push Certificates Portal) instead of creating a new one.",
                new=parsed.topic,
                old=", ".join(sorted(topics)),
            )
        )
    if row is None:
        row = PushCertificate()
        db.session.add(row)
    before = _summary(row)
    used_request = (
        parsed.key is None
        and row.request_key
        and _request_key_matches(row, parsed.certificate, secret_key)
    )
    chain = [parsed.certificate, *parsed.chain]
    row.certificate_pem = b"".join(
        cert.public_bytes(serialization.Encoding.PEM) for cert in chain
    ).decode("ascii")
    row.private_key = secrets.encrypt(secret_key, _key_pem(key))
    row.topic = parsed.topic
    row.subject = parsed.certificate.subject.rfc4514_string()[:500]
    row.not_after = parsed.not_after
    row.uploaded_at = now
    if used_request:
        row.request_key = None
        row.request_created_at = None
    db.session.flush()
    audit.record(
        actor, "apple.push_certificate.uploaded", target=row, before=before, after=_summary(row)
    )
    return row


def _summary(row: PushCertificate) -> dict | None:
    if not row.certificate_pem:
        return None
    return {"topic": row.topic, "not_after": row.not_after.isoformat() if row.not_after else None}


def _load_key(secret_key: str, stored: str | None):
    if not stored:
        return None
    try:
        return serialization.load_pem_private_key(secrets.decrypt(secret_key, stored), None)
    except secrets.SecretUnreadable:
        return None


def _request_key_matches(row: PushCertificate, cert: x509.Certificate, secret_key: str) -> bool:
    key = _load_key(secret_key, row.request_key)
    return key is not None and key.public_key() == cert.public_key()


def _matching_key(row: PushCertificate | None, cert: x509.Certificate, secret_key: str):
    """The request's key, or the current certificate's (a re-upload), if it matches."""
    if row is None:
        return None
    for stored in (row.request_key, row.private_key):
        key = _load_key(secret_key, stored)
        if key is not None and key.public_key() == cert.public_key():
            return key
    return None
