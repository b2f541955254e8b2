"""Dates at the edge of the calendar in uploaded files: a 400 with the reason, never a 500."""

from __future__ import annotations

import base64
import datetime
import json

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from portal.extensions import db
from portal.models import LocationToken, PushCertificate

from . import helpers
from .test_setup_pages import _post, admin  # noqa: F401  (the signed-in admin fixture)


def token_with(exp_date: str) -> bytes:
    content = {"token": "s3cr3t", "expDate": exp_date, "orgName": "Example Corp"}
    return base64.b64encode(json.dumps(content).encode())


@pytest.mark.parametrize(
    "exp_date",
    [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+0000",
        "9999-12-31T23:59:59+0000",
        "1900-01-01T00:00:00Z",
    ],
)
def test_a_location_token_with_an_extreme_expiry_is_a_400_with_the_reason(
    seeded,
    admin,  # noqa: F811
    exp_date,
):
    response = _post(
        admin, "/admin/apple/vpp-token", token_file=(token_with(exp_date), "t.vpptoken")
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "is not one Apple gives" in page
    assert exp_date[:10] in page
    with seeded.app_context():
        assert db.session.scalar(sa.select(LocationToken)) is None


def _with_dates(cert: x509.Certificate, before: bytes, after: bytes) -> bytes:
    """`cert` as PEM with its validity dates rewritten (its signature no longer matters)."""
    der = cert.public_bytes(serialization.Encoding.DER)
    start = cert.not_valid_before_utc.strftime("%Y%m%d%H%M%SZ").encode()
    end = cert.not_valid_after_utc.strftime("%Y%m%d%H%M%SZ").encode()
    assert der.count(start) == 1 and der.count(end) == 1
    der = der.replace(start, before).replace(end, after)
    body = base64.encodebytes(der).decode()
    return f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n".encode()


@pytest.fixture
def generalized_cert(admin):  # noqa: F811
    """A push certificate for the portal's request, its dates in GeneralizedTime (≥ 2050)."""
    csr = x509.load_pem_x509_csr(_post(admin, "/admin/apple/push/request").data)
    start = datetime.datetime(2050, 1, 1, tzinfo=datetime.UTC)
    return helpers.push_certificate(csr.public_key(), not_before=start, days=365)


@pytest.mark.parametrize(
    "before, after, reason",
    [
        (b"00010101000000Z", b"99991231235959Z", "are not possible"),
        (b"20500101000000Z", b"00010101000000Z", "are not possible"),
        (b"20500101000000Z", b"20510101000000Z", "is not valid before"),
        (b"2050010100000XZ", b"20510101000000Z", "No certificate was found"),
    ],
)
def test_every_certificate_date_is_checked(
    seeded,
    admin,  # noqa: F811
    generalized_cert,
    before,
    after,
    reason,
):
    pem = _with_dates(generalized_cert, before, after)
    response = _post(admin, "/admin/apple/push", certificate_file=(pem, "push.pem"))
    assert response.status_code == 400
    assert reason in response.get_data(as_text=True)
    with seeded.app_context():
        assert db.session.scalar(sa.select(PushCertificate)).certificate_pem is None


def test_a_certificate_without_expiry_is_kept_with_a_bounded_date(
    seeded,
    admin,  # noqa: F811
):
    csr = x509.load_pem_x509_csr(_post(admin, "/admin/apple/push/request").data)
    cert = helpers.push_certificate(csr.public_key(), days=365)
    never = datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.UTC)
    rebuilt = (
        x509.CertificateBuilder()
        .subject_name(cert.subject)
        .issuer_name(cert.issuer)
        .public_key(csr.public_key())
        .serial_number(cert.serial_number)
        .not_valid_before(cert.not_valid_before_utc)
        .not_valid_after(never)
        .sign(helpers._CA_KEY, hashes.SHA256())
    )
    response = _post(admin, "/admin/apple/push", certificate_file=(helpers.pem(rebuilt), "p.pem"))
    assert response.status_code == 303
    assert admin.get("/admin/apple").status_code == 200
    with seeded.app_context():
        stored = db.session.scalar(sa.select(PushCertificate))
        assert stored.not_after.year == 9000
