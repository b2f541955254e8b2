"""The Apple setup page: who sees what, and clear errors on bad uploads."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from cryptography import x509

from portal.extensions import db
from portal.models import LocationToken, Organization, PushCertificate
from tests.conftest import csrf_token

from . import helpers


@pytest.fixture
def admin(seeded, client, auth):
    auth.login("adam@example.com")
    return client


def _post(client, path, data=None, **files):
    form = {"csrf_token": csrf_token(client, "/admin/apple"), **(data or {})}
    for name, (content, filename) in files.items():
        form[name] = (io.BytesIO(content), filename)
    return client.post(path, data=form, content_type="multipart/form-data")


def test_helpdesk_reads_without_forms(seeded, client, auth):
    auth.login("helen@example.com")
    page = client.get("/admin/apple").get_data(as_text=True)
    assert "Apple Business Manager" in page and "MDM push certificate" in page
    assert "/admin/apple/push" not in page
    token = csrf_token(client, "/admin/apple")
    response = client.post("/admin/apple/abm/unlink", data={"csrf_token": token})
    assert response.status_code == 403


def test_employees_cannot_see_it(seeded, client, auth):
    auth.login("alice@example.com")
    assert client.get("/admin/apple").status_code == 403


def test_a_bad_token_file_is_a_clear_400_and_changes_nothing(seeded, admin):
    response = _post(admin, "/admin/apple/vpp-token", token_file=(b"garbage!", "x.vpptoken"))
    assert response.status_code == 400
    assert "not an Apps and Books location token" in response.get_data(as_text=True)
    with seeded.app_context():
        assert db.session.scalar(sa.select(LocationToken)) is None
        org = db.session.scalar(sa.select(Organization))
        assert org.vpp_token_organization == "Example Corp"


def test_a_missing_file_is_a_clear_400(seeded, admin):
    response = _post(admin, "/admin/apple/push")
    assert response.status_code == 400
    assert "Choose the certificate file" in response.get_data(as_text=True)


def test_the_mismatch_shows_on_the_page(seeded, admin):
    response = _post(
        admin, "/admin/apple/vpp-token", token_file=(helpers.vpptoken("Other Corp"), "t.vpptoken")
    )
    assert response.status_code == 303
    page = admin.get("/admin/apple").get_data(as_text=True)
    assert "User Enrollment is not offered" in page
    assert "This token belongs to “Other Corp”" in page


def test_blank_abm_fields_are_refused(seeded, admin):
    response = _post(admin, "/admin/apple/abm", {"name": "", "organization_id": ""})
    assert response.status_code == 400
    assert "Give the organization ID." in response.get_data(as_text=True)


def test_an_expired_certificate_upload_is_refused_on_the_page(seeded, admin):
    csr = _post(admin, "/admin/apple/push/request")
    assert csr.headers["Content-Disposition"].startswith("attachment")
    assert x509.load_pem_x509_csr(csr.data)
    old = helpers.NOW - helpers.datetime.timedelta(days=400)
    cert = helpers.from_request(csr.data, not_before=old, days=365)
    response = _post(admin, "/admin/apple/push", certificate_file=(cert, "push.pem"))
    assert response.status_code == 400
    assert "This certificate expired on" in response.get_data(as_text=True)
    with seeded.app_context():
        assert db.session.scalar(sa.select(PushCertificate)).certificate_pem is None


def test_a_wrong_pkcs12_password_is_refused(seeded, admin):
    data = helpers.pkcs12_file(password=b"right")
    response = _post(
        admin, "/admin/apple/push", {"password": "wrong"}, certificate_file=(data, "push.p12")
    )
    assert response.status_code == 400
    assert "check the password" in response.get_data(as_text=True)
