"""A User-Enrolled iPhone enrolls through the real check-in messages, gets an app with a
user-based licence, then removes its profile (CheckOut): the licence is free again."""

from __future__ import annotations

import sqlalchemy as sa

from portal.apps import service
from portal.extensions import db
from portal.models import App, LicenceAssignment, MDMCommand
from tests.apps.conftest import admin, new_app, org

from .support import load, mdm_payload, only_device
from .test_checkin import UE_ID, ue_messages


def test_checkout_frees_the_licence(seeded, device_for):
    device, profile = device_for("alice@example.com", "ios", "16.4")
    topic = mdm_payload(profile)["Topic"]
    for message in ue_messages(topic, OSVersion="16.4", BuildVersion="20E247"):
        assert device.checkin(message).status_code == 200
    with seeded.app_context():
        app = new_app(total=1)
        outcome = service.install(admin(), only_device("alice@example.com"), app, org=org())
        db.session.commit()
        assert outcome.ok
        app_id = app.id
    # The device fetches the command, then leaves.
    idle = load("result-idle-ue-ios.plist", EnrollmentID=UE_ID)
    answer = device.connect(idle)
    assert answer.status_code == 200 and b"InstallApplication" in answer.data
    checkout = load("ios-de-checkout.plist", Topic=topic, UDID=None, EnrollmentID=UE_ID)
    assert device.checkin(checkout).status_code == 200
    with seeded.app_context():
        assert db.session.get(App, app_id).assigned_licences == 0
        held = db.session.scalar(sa.select(LicenceAssignment))
        assert held.release_reason == "unenrolled"
        assert db.session.scalar(sa.select(MDMCommand.request_type)) == "InstallApplication"
