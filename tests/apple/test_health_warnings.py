"""/healthz lists what needs an admin soon, and stays 200."""

from __future__ import annotations

import sqlalchemy as sa

from portal.apple import push_cert
from portal.extensions import db
from portal.models import User

from . import helpers


def test_an_expiring_push_certificate_is_a_warning(seeded, client):
    with seeded.app_context():
        adam = db.session.scalar(sa.select(User).where(User.email == "adam@example.com"))
        csr = push_cert.signing_request(adam, organization="Example Corp", secret_key="k")
        push_cert.upload(adam, helpers.from_request(csr, days=13), secret_key="k")
        db.session.commit()
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["warnings"] == ["The MDM push certificate expires in 12 days."]


def test_no_warnings_when_all_is_well(seeded, client):
    assert client.get("/healthz").get_json()["warnings"] == []
