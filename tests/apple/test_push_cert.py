"""The MDM push certificate: request, upload checks, and its topic in new profiles."""

from __future__ import annotations

import plistlib
import stat

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import current_app

from portal.apple import push_cert
from portal.enrollment.pki import unwrap_signed_data
from portal.enrollment.profile_service import MDMSettings, push_topic
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Device,
    DeviceStatus,
    EnrollmentMethod,
    EnrollmentType,
    PushCertificate,
    User,
)

from . import helpers

SECRET = "test-secret-key"


@pytest.fixture
def adam(seeded):
    with seeded.app_context():
        yield db.session.scalar(sa.select(User).where(User.email == "adam@example.com"))


def _request(adam) -> bytes:
    return push_cert.signing_request(adam, organization="Example Corp", secret_key=SECRET)


def _upload(adam, data: bytes, password: str | None = None):
    return push_cert.upload(adam, data, password, secret_key=SECRET)


def test_the_request_key_is_kept_encrypted_and_reused(adam):
    first = x509.load_pem_x509_csr(_request(adam))
    second = x509.load_pem_x509_csr(_request(adam))
    assert first.public_key() == second.public_key()
    assert first.is_signature_valid
    row = db.session.scalar(sa.select(PushCertificate))
    assert "PRIVATE KEY" not in row.request_key
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert actions.count("apple.push_csr.created") == 1


def test_a_certificate_from_the_request_gives_its_topic_to_new_profiles(seeded, client, auth):
    topic = helpers.new_topic()
    with seeded.app_context():
        adam = db.session.scalar(sa.select(User).where(User.email == "adam@example.com"))
        row = _upload(adam, helpers.from_request(_request(adam), topic))
        db.session.commit()
        assert (row.topic, row.request_key) == (topic, None)
        assert row.not_after > helpers.NOW
        assert push_topic(MDMSettings.from_config(seeded.config)) == topic
        audit = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "apple.push_certificate.uploaded")
        )
        assert audit.after["topic"] == topic
    auth.login("alice@example.com")
    response = client.get("/enroll/profile?platform=ios&os=16.4")
    assert response.status_code == 200
    profile = plistlib.loads(unwrap_signed_data(response.data))
    mdm = next(p for p in profile["PayloadContent"] if p["PayloadType"] == "com.apple.mdm")
    assert mdm["Topic"] == topic


def test_a_pkcs12_with_its_own_key_and_password(adam):
    topic = helpers.new_topic()
    row = _upload(adam, helpers.pkcs12_file(topic, b"pw"), "pw")
    assert row.topic == topic


@pytest.mark.parametrize(
    ("data", "password", "message"),
    [
        (b"", None, "Choose the certificate file"),
        (b"not a certificate", None, "cannot be read"),
        (None, "wrong", "check the password"),
    ],
)
def test_unreadable_files_are_refused_clearly(adam, data, password, message):
    data = helpers.pkcs12_file(password=b"right") if data is None else data
    with pytest.raises(push_cert.PushCertificateError, match=message):
        _upload(adam, data, password)


def test_an_expired_certificate_is_refused(adam):
    old = helpers.NOW - helpers.datetime.timedelta(days=400)
    data = helpers.from_request(_request(adam), not_before=old, days=365)
    with pytest.raises(push_cert.PushCertificateError, match="expired on"):
        _upload(adam, data)
    assert db.session.scalar(sa.select(PushCertificate)).certificate_pem is None


def test_a_certificate_for_another_key_is_refused(adam):
    _request(adam)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    data = helpers.pem(helpers.push_certificate(other.public_key()))
    with pytest.raises(push_cert.PushCertificateError, match="does not match"):
        _upload(adam, data)


def test_a_certificate_without_a_push_topic_is_refused(adam):
    csr = x509.load_pem_x509_csr(_request(adam))
    cert = helpers.push_certificate(csr.public_key())
    plain = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(cert.issuer)
        .public_key(csr.public_key())
        .serial_number(1)
        .not_valid_before(cert.not_valid_before_utc)
        .not_valid_after(cert.not_valid_after_utc)
        .sign(
            rsa.generate_private_key(public_exponent=65537, key_size=2048), helpers.hashes.SHA256()
        )
    )
    with pytest.raises(push_cert.PushCertificateError, match="not an MDM push certificate"):
        _upload(adam, helpers.pem(plain))


def test_renewal_must_keep_the_topic_devices_enrolled_with(adam):
    first = helpers.new_topic()
    _upload(adam, helpers.from_request(_request(adam), first))
    alice = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
    topic = push_topic(MDMSettings.from_config(current_app.config))
    db.session.add(
        Device(
            user=alice,
            platform="ios",
            enrollment_type=EnrollmentType.USER,
            enrollment_method=EnrollmentMethod.PROFILE,
            status=DeviceStatus.ENROLLED,
            topic=topic,
        )
    )
    db.session.flush()
    with pytest.raises(push_cert.PushCertificateError, match="enrolled devices use"):
        _upload(adam, helpers.from_request(_request(adam), helpers.new_topic()))
    renewed = _upload(adam, helpers.from_request(_request(adam), first, days=700))
    assert renewed.topic == first


def test_no_uploaded_certificate_keeps_the_development_topic(adam):
    settings = MDMSettings.from_config(current_app.config)
    topic = push_topic(settings)
    assert topic.startswith("com.apple.mgmt.External.")
    mode = (settings.instance_path / "mdm_push_topic").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
