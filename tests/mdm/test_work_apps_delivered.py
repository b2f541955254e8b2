"""Work apps for employees, through the protocol with the captured device messages: alice
installs an offered app from her catalogue and follows it until the device reports it
installed; a required app installs by itself on enrollment; the licence rules still hold."""

from __future__ import annotations

import plistlib

import sqlalchemy as sa

from portal.extensions import db
from portal.models import App, AppOffer, DeviceApp, Group, LicenceType, Platform
from tests.conftest import csrf_token

from .support import load, mdm_payload, only_device

ALICE = "alice@example.com"
ENROLLMENT_ID = "FB833D84-50C0-41DD-99DE-F748E44FFEF5"
OUTLOOK = "com.microsoft.Office.Outlook"


def add_app(app, *, required: bool, licence_type=LicenceType.USER, total: int = 5) -> int:
    with app.app_context():
        outlook = App(
            adam_id="951937596",
            name="Microsoft Outlook",
            platform=Platform.IOS,
            licence_type=licence_type,
            total_licences=total,
            assigned_licences=0,
        )
        group = db.session.scalar(sa.select(Group).where(Group.name == "User Enrollment"))
        db.session.add_all([outlook, AppOffer(app=outlook, group=group, required=required)])
        db.session.commit()
        return outlook.id


def enroll(device_for):
    device, profile = device_for(ALICE, "ios", "16.4")
    topic = mdm_payload(profile)["Topic"]
    assert device.checkin(load("ios-ue-authenticate.plist", Topic=topic)).status_code == 200
    assert device.checkin(load("ios-ue-tokenupdate.plist", Topic=topic)).status_code == 200
    return device


def next_command(device, report=None) -> dict | None:
    response = device.connect(report or load("result-idle-ue-ios.plist"))
    assert response.status_code == 200
    if not response.data:
        return None
    body = plistlib.loads(response.data)
    return body["Command"] | {"CommandUUID": body["CommandUUID"]}


def answer(command_uuid: str, **result) -> dict:
    """The captured acknowledgement, with the command's own result keys."""
    return load(
        "result-devicelock-acknowledged.plist",
        CommandUUID=command_uuid,
        UDID=None,
        MessageResult=None,
        EnrollmentID=ENROLLMENT_ID,
        **result,
    )


def state(app) -> str | None:
    with app.app_context():
        value = db.session.scalar(sa.select(DeviceApp.state))
        db.session.rollback()
    return str(value) if value is not None else None


def follow_to_installed(seeded, device, install: dict) -> None:
    """The device accepts, installs, then ManagedApplicationList reports it managed."""
    assert install["RequestType"] == "InstallApplication"
    assert install["iTunesStoreID"] == 951937596
    poll = next_command(
        device, answer(install["CommandUUID"], Identifier=OUTLOOK, State="Installing")
    )
    assert state(seeded) == "installing"
    assert poll["RequestType"] == "ManagedApplicationList"
    assert poll["Identifiers"] == [OUTLOOK]
    listed = {OUTLOOK: {"Status": "Managed", "ManagementFlags": 1, "HasConfiguration": False}}
    assert next_command(device, answer(poll["CommandUUID"], ManagedApplicationList=listed)) is None
    assert state(seeded) == "installed"


def test_a_required_app_installs_itself_on_enrollment(seeded, device_for):
    add_app(seeded, required=True)
    device = enroll(device_for)
    install = next_command(device)
    follow_to_installed(seeded, device, install)
    with seeded.app_context():
        row = db.session.scalar(sa.select(DeviceApp))
        assert row.origin == "required" and row.bundle_id == OUTLOOK
        db.session.rollback()


def test_alice_installs_from_her_catalogue_and_sees_it_installed(seeded, device_for, client):
    app_id = add_app(seeded, required=False)
    device = enroll(device_for)
    assert next_command(device) is None  # offered, not required: nothing by itself
    page = client.get("/apps").get_data(as_text=True)
    assert "Microsoft Outlook" in page and ">Install<" in page
    with seeded.app_context():
        phone_id = only_device(ALICE).id
        db.session.rollback()
    token = csrf_token(client, "/apps")
    response = client.post(
        f"/apps/{app_id}/install", data={"csrf_token": token, "device_id": phone_id}
    )
    assert response.status_code == 303
    page = client.get("/apps").get_data(as_text=True)
    assert "Waiting for the device" in page and 'hx-trigger="every 3s"' in page
    follow_to_installed(seeded, device, next_command(device))
    page = client.get("/apps").get_data(as_text=True)
    assert 'data-state="installed"' in page and "every 3s" not in page


def test_a_failed_install_shows_and_can_be_retried(seeded, device_for, client):
    app_id = add_app(seeded, required=False)
    device = enroll(device_for)
    with seeded.app_context():
        phone_id = only_device(ALICE).id
        db.session.rollback()
    token = csrf_token(client, "/apps")
    client.post(f"/apps/{app_id}/install", data={"csrf_token": token, "device_id": phone_id})
    install = next_command(device)
    next_command(device, answer(install["CommandUUID"], Identifier=OUTLOOK, State="UserRejected"))
    assert state(seeded) == "failed"
    page = client.get("/apps").get_data(as_text=True)
    assert "Failed" in page and "Try again" in page


def test_device_based_licences_are_refused_under_user_enrollment(seeded, device_for, client):
    app_id = add_app(seeded, required=True, licence_type=LicenceType.DEVICE)
    device = enroll(device_for)
    assert next_command(device) is None  # the required app is refused, not sent
    page = client.get("/apps").get_data(as_text=True)
    assert "Device-based licences cannot be used under User Enrollment" in page
    with seeded.app_context():
        phone_id = only_device(ALICE).id
        db.session.rollback()
    token = csrf_token(client, "/apps")
    response = client.post(
        f"/apps/{app_id}/install", data={"csrf_token": token, "device_id": phone_id}
    )
    assert response.status_code == 409
    assert state(seeded) is None


def test_an_app_not_offered_or_someone_elses_device_is_refused(seeded, device_for, client, auth):
    app_id = add_app(seeded, required=False)
    enroll(device_for)
    with seeded.app_context():
        phone_id = only_device(ALICE).id
        db.session.query(AppOffer).delete()
        db.session.commit()
    token = csrf_token(client, "/apps")
    response = client.post(
        f"/apps/{app_id}/install", data={"csrf_token": token, "device_id": phone_id}
    )
    assert response.status_code == 404
    assert "not offered to you" in response.get_data(as_text=True)
    auth.logout()
    auth.login("bob@example.com")
    token = csrf_token(client, "/apps")
    response = client.post(
        f"/apps/{app_id}/install", data={"csrf_token": token, "device_id": phone_id}
    )
    assert response.status_code == 404
    assert state(seeded) is None
