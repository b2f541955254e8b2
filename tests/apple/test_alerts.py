"""Each admin alert appears while its cause lasts, with a "Fix it" link, and clears by itself."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import current_app

from portal.apple import notifications, push_cert, setup, vpp_token
from portal.directory.service import organization
from portal.extensions import db
from portal.mdm import push
from portal.models import Device, DeviceStatus, EnrollmentMethod, EnrollmentType, User, utcnow
from portal.outbox import service as outbox
from portal.worker import schedule
from portal.worker.runner import BackgroundWorker

from . import helpers


def adam() -> User:
    return db.session.scalar(sa.select(User).where(User.email == "adam@example.com"))


def codes() -> set[str]:
    return {item.code for item in notifications.collect()}


def upload_certificate(app, days: int = 365) -> None:
    csr = push_cert.signing_request(adam(), organization="Example Corp", secret_key="k")
    push_cert.upload(adam(), helpers.from_request(csr, days=days), secret_key="k")
    db.session.commit()


def upload_token(org_name: str = "Example Corp", days: int = 365) -> None:
    data = helpers.vpptoken(org_name, days=days)
    vpp_token.upload(adam(), organization(), data, secret_key=current_app.config["SECRET_KEY"])
    db.session.commit()


@pytest.fixture
def ctx(seeded):
    with seeded.app_context():
        yield seeded


def test_the_push_certificate_missing_then_expiring(ctx):
    assert "push_certificate_missing" in codes()
    upload_certificate(ctx, days=12)
    assert "push_certificate_missing" not in codes()
    assert "push_certificate_expiring" in codes()
    upload_certificate(ctx)
    assert not {"push_certificate_missing", "push_certificate_expiring"} & codes()


def test_apple_business_manager_not_linked(ctx):
    assert "abm_not_linked" not in codes()
    setup.unlink_abm(adam(), organization())
    db.session.commit()
    assert "abm_not_linked" in codes()
    setup.link_abm(adam(), organization(), name="Example Corp", organization_id="ABM-1")
    db.session.commit()
    assert "abm_not_linked" not in codes()


def test_the_location_token_missing_of_another_organization_expiring(ctx):
    assert "vpp_token_missing" in codes()  # the tests' demo data has no token file
    upload_token("Other Corp")
    found = {item.code: item for item in notifications.collect()}
    assert "vpp_token_missing" not in found
    assert "Other Corp" in str(found["vpp_token_other_organization"].message)
    assert found["vpp_token_other_organization"].endpoint == "apple.setup_page"
    upload_token(days=10)
    assert "vpp_token_other_organization" not in codes()
    assert "vpp_token_expiring" in codes()
    upload_token()
    assert not {c for c in codes() if c.startswith("vpp_token")}


def test_the_checklist_and_the_apps_page_agree_on_the_token(ctx):
    from portal.apps import service

    checklist = setup.checklist(organization())
    assert (checklist.token_done, service.apple_client(ctx.config)) == (False, None)
    upload_token()
    checklist = setup.checklist(organization())
    assert checklist.token_done and service.apple_client(ctx.config) is not None


def test_no_worker_while_mail_waits(ctx):
    assert "worker_not_running" not in codes()  # nothing waits
    outbox.enqueue(recipient="bob@example.com", subject="Link", body_text="…")
    db.session.commit()
    (item,) = [i for i in notifications.collect() if i.code == "worker_not_running"]
    assert item.endpoint == "admin.jobs_page" and item.severity == "error"
    schedule.beat("w1", started_at=utcnow(), now=utcnow() - timedelta(minutes=5))
    (item,) = [i for i in notifications.collect() if i.code == "worker_not_running"]
    assert "5 minutes" in str(item.message)
    schedule.beat("w1", started_at=utcnow())
    assert "worker_not_running" not in codes()


class Answering:
    def __init__(self, outcome):
        self.outcome = outcome

    def notify(self, target):
        return self.outcome


def test_apns_refusing_pushes(ctx):
    alice = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
    device = Device(
        user=alice,
        platform="ios",
        enrollment_type=EnrollmentType.USER,
        enrollment_method=EnrollmentMethod.ACCOUNT_DRIVEN,
        status=DeviceStatus.ENROLLED,
        push_token="ab" * 32,
        push_magic="magic",
        topic="com.apple.mgmt.test",
    )
    db.session.add(device)
    db.session.commit()
    worker = BackgroundWorker(ctx, None, name="w1")

    def push_once(outcome) -> None:
        push.notify_after_commit(db.session.get(Device, device.id))
        db.session.commit()
        ctx.extensions[push.EXTENSION] = Answering(outcome)
        worker.pushes()

    push_once(push.Outcome(push.REFUSED, 403, "BadCertificateEnvironment"))
    (item,) = [i for i in notifications.collect() if i.code == "apns_refused"]
    assert "403 BadCertificateEnvironment" in str(item.message)
    assert item.endpoint == "apple.setup_page"
    push_once(push.Outcome(push.SENT, 200))
    assert "apns_refused" not in codes()


def test_the_bell_counts_what_the_page_lists(ctx):
    assert notifications.count() == len(notifications.collect()) >= 2
