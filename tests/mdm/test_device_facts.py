"""Device facts: asked at enrollment and daily, only what Apple allows for the enrollment
type; answers kept and shown on the device pages; forbidden identifiers refused."""

from __future__ import annotations

import plistlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.devices.model_names import display_name, marketing_name
from portal.extensions import db, limiter
from portal.mdm import facts
from portal.mdm.apple_schema import iter_findings_text, validate_command
from portal.models import CommandStatus, Device, MDMCommand, utcnow

from .support import BASE, load, mdm_payload, only_device, refusals

DE_UDID = load("ios-de-authenticate.plist")["UDID"]


@pytest.fixture
def app(app_factory, mdm_pki):
    app = app_factory(PUBLIC_BASE_URL=BASE, MDM_DEVICE_FACTS=True, **mdm_pki)
    with app.app_context():
        limiter.reset()
    return app


def enroll(device_for, email: str, platform: str, os: str, user_enrollment: bool):
    client, profile = device_for(email, platform, os)
    topic = mdm_payload(profile)["Topic"]
    kind = "ue" if user_enrollment else "de"
    assert client.checkin(load(f"ios-{kind}-authenticate.plist", Topic=topic)).status_code == 200
    assert client.checkin(load(f"ios-{kind}-tokenupdate.plist", Topic=topic)).status_code == 200
    return client


def idle(client, user_enrollment: bool) -> dict | None:
    """The device connects: the command it gets, or None."""
    report = load("result-idle-ue-ios.plist") if user_enrollment else {"Status": "Idle"}
    if not user_enrollment:
        report["UDID"] = DE_UDID
    response = client.connect(report)
    assert response.status_code == 200
    return plistlib.loads(response.data) if response.data else None


def answer(client, name: str, command_uuid: str, **envelope):
    result = load(name)
    result.pop("UDID", None)
    result.update(CommandUUID=command_uuid, **envelope)
    return client.connect(result)


def device_information_answer(**changes) -> dict:
    responses = load("result-deviceinformation-ios-acknowledged.plist")["QueryResponses"]
    responses.update(changes)
    return responses


def pending(email: str) -> list[str]:
    device = only_device(email)
    rows = db.session.scalars(
        sa.select(MDMCommand.request_type)
        .where(MDMCommand.device_id == device.id, MDMCommand.status == CommandStatus.QUEUED)
        .order_by(MDMCommand.id)
    ).all()
    db.session.rollback()
    return list(rows)


def test_device_enrollment_facts_are_asked_kept_and_shown(seeded, device_for, auth, client):
    ipad = enroll(device_for, "bob@example.com", "ipados", "17.5", user_enrollment=False)
    with seeded.app_context():
        assert pending("bob@example.com") == list(facts.FACT_COMMANDS)

    command = idle(ipad, user_enrollment=False)
    assert command["Command"]["RequestType"] == "DeviceInformation"
    findings = validate_command(command, "iPadOS", "device")
    assert findings == [], "\n".join(iter_findings_text(findings))
    assert "SerialNumber" in command["Command"]["Queries"]  # Device Enrollment may ask it
    result = load("result-deviceinformation-ios-acknowledged.plist")
    result.update(CommandUUID=command["CommandUUID"], UDID=DE_UDID)
    profiles_command = plistlib.loads(ipad.connect(result).data)
    assert profiles_command["Command"] == {"RequestType": "ProfileList", "ManagedOnly": True}

    profiles = load("result-profilelist-ios-acknowledged.plist")
    profiles["ProfileList"][0]["IsManaged"] = True  # as the portal's own profiles are
    profiles.update(CommandUUID=profiles_command["CommandUUID"], UDID=DE_UDID)
    apps_command = plistlib.loads(ipad.connect(profiles).data)
    assert apps_command["Command"] == {
        "RequestType": "InstalledApplicationList",
        "ManagedAppsOnly": True,
    }
    apps = load("result-installedapplicationlist-ios-acknowledged.plist")
    apps.update(CommandUUID=apps_command["CommandUUID"], UDID=DE_UDID)
    assert ipad.connect(apps).data == b""

    with seeded.app_context():
        device = only_device("bob@example.com")
        assert device.os_version == "11.3.1"
        assert device.model == "iPad4,1"
        assert device.serial_number == "C00000000004"
        kept = device.facts
        assert kept["device_information"]["BuildVersion"] == "15E302"
        assert "UDID" not in kept["device_information"]  # never asked, not kept
        (profile,) = kept["profiles"]
        assert profile["identifier"] == profiles["ProfileList"][0]["PayloadIdentifier"]
        assert len(kept["apps"]) == len(apps["InstalledApplicationList"])
        ident = device.id

    page = client.get(f"/devices/{ident}").get_data(as_text=True)  # bob, still signed in
    assert "iPad Air" in page and "iPad4,1" in page
    reported = page.split('id="device-reported"')[1].split("</section>")[0]
    assert "11.3.1" in reported and "15E302" in reported
    assert profile["name"] in reported
    auth.logout()
    auth.login("adam@example.com")
    admin_page = client.get(f"/admin/devices/{ident}").get_data(as_text=True)
    assert "iPad Air" in admin_page and "11.3.1" in admin_page


def test_user_enrollment_asks_no_identifier_and_refuses_answers_with_one(
    seeded, device_for, client
):
    phone = enroll(device_for, "alice@example.com", "ios", "17.5", user_enrollment=True)
    command = idle(phone, user_enrollment=True)
    queries = command["Command"]["Queries"]
    assert "SerialNumber" not in queries and "OSVersion" in queries
    findings = validate_command(command, "iOS", "user")
    assert findings == [], "\n".join(iter_findings_text(findings))

    # A device answering with identifiers User Enrollment must not have: refused whole.
    enrollment_id = load("ios-ue-authenticate.plist")["EnrollmentID"]
    envelope = {"EnrollmentID": enrollment_id, "Status": "Acknowledged"}
    refused = phone.connect(
        {"CommandUUID": command["CommandUUID"], "QueryResponses": device_information_answer()}
        | envelope
    )
    assert refused.status_code == 400
    with seeded.app_context():
        refusal = refusals()[-1]
        assert refusal["reason"] == "hardware_identifier_under_user_enrollment"
        assert "SerialNumber" in refusal["detail"] and "UDID" in refusal["detail"]
        device = only_device("alice@example.com")
        assert device.facts is None and device.serial_number is None

    clean = {
        key: value
        for key, value in device_information_answer(
            ProductName="iPhone16,1", OSVersion="18.2.1", BuildVersion="22C161"
        ).items()
        if key in queries
    }
    accepted = phone.connect(
        {"CommandUUID": command["CommandUUID"], "QueryResponses": clean} | envelope
    )
    assert accepted.status_code == 200
    with seeded.app_context():
        device = only_device("alice@example.com")
        assert (device.model, device.os_version) == ("iPhone16,1", "18.2.1")
        assert device.serial_number is None
        ident = device.id
    page = client.get(f"/devices/{ident}").get_data(as_text=True)  # alice, still signed in
    reported = page.split('id="device-reported"')[1].split("</section>")[0]
    assert "iPhone 15 Pro" in reported and "18.2.1" in reported
    assert "no serial number" in reported


def test_a_mac_under_user_enrollment_is_not_asked_for_its_apps(seeded, ctx):
    from portal.models import EnrollmentType, Platform
    from tests.devices.conftest import add_device

    mac = db.session.get(
        Device,
        add_device("alice@example.com", EnrollmentType.USER, Platform.MACOS, enrollment_id="E-MAC"),
    )
    asked = dict(facts.fact_commands(mac))
    # Apple's schema forbids InstalledApplicationList on a Mac under User Enrollment.
    assert set(asked) == {"DeviceInformation", "ProfileList"}
    assert "SerialNumber" not in asked["DeviceInformation"]["Queries"]
    for request_type, keys in asked.items():
        assert validate_command({"RequestType": request_type, **keys}, "macOS", "user") == []


def test_the_daily_refresh_asks_each_device_once_a_day(seeded, device_for):
    ipad = enroll(device_for, "bob@example.com", "ipados", "17.5", user_enrollment=False)
    with seeded.app_context():
        now = utcnow()
        # Still waiting for the answers of the enrollment's questions: not asked again.
        assert facts.queue_device_facts(now + timedelta(days=2)) == 0
    command = idle(ipad, user_enrollment=False)
    while command is not None:  # each answer brings the next command
        report = {"CommandUUID": command["CommandUUID"], "UDID": DE_UDID, "Status": "Acknowledged"}
        response = ipad.connect(report)
        assert response.status_code == 200
        command = plistlib.loads(response.data) if response.data else None
    with seeded.app_context():
        assert facts.queue_device_facts(now + timedelta(hours=1)) == 0
        assert facts.queue_device_facts(now + timedelta(hours=25)) == 1
        db.session.commit()
        assert pending("bob@example.com") == list(facts.FACT_COMMANDS)
    runner = seeded.test_cli_runner()
    result = runner.invoke(args=["mdm", "refresh-facts"])
    assert result.exit_code == 0 and "Asked 0 device(s)" in result.output


@pytest.mark.parametrize(
    ("identifier", "name"),
    [
        ("iPhone16,1", "iPhone 15 Pro"),
        ("iPhone17,3", "iPhone 16"),
        ("iPhone12,8", "iPhone SE (2nd generation)"),
        ("iPad16,5", "iPad Pro 13-inch (M4)"),
        ("iPad13,18", "iPad (10th generation)"),
        ("Mac14,2", "MacBook Air (M2, 2022)"),
        ("MacBookPro18,3", "MacBook Pro (14-inch, 2021)"),
        ("Mac16,10", "Mac mini (2024)"),
    ],
)
def test_marketing_names(identifier, name):
    assert marketing_name(identifier) == name == display_name(identifier)


def test_an_unknown_model_is_shown_as_reported():
    assert marketing_name("iPhone99,9") is None
    assert display_name("iPhone99,9") == "iPhone99,9"
    assert display_name(None) == ""
