"""Declarative Device Management's status channel for User-Enrolled devices: turned on at
enrollment, declarations checked against Apple's declarative schema, and the device's status
reports keep its OS version (and passcode compliance, managed apps) current."""

from __future__ import annotations

import base64
import json
import plistlib

import pytest
import sqlalchemy as sa

from portal.extensions import db, limiter
from portal.mdm import apple_schema
from portal.models import DeclarativeStatus, Device, MDMCommand

from .support import BASE, load, mdm_payload, only_device

ALICE = "alice@example.com"
ENROLLMENT_ID = "FB833D84-50C0-41DD-99DE-F748E44FFEF5"


@pytest.fixture
def app(app_factory, mdm_pki):
    app = app_factory(
        PUBLIC_BASE_URL=BASE, MDM_DECLARATIVE_STATUS=True, MDM_DEVICE_FACTS=False, **mdm_pki
    )
    with app.app_context():
        limiter.reset()
    return app


def enroll(device_for, platform="ios", os="16.4", authenticate_version="18.2.1"):
    device, profile = device_for(ALICE, platform, os)
    topic = mdm_payload(profile)["Topic"]
    authenticate = load("ios-ue-authenticate.plist", Topic=topic, OSVersion=authenticate_version)
    assert device.checkin(authenticate).status_code == 200
    assert device.checkin(load("ios-ue-tokenupdate.plist", Topic=topic)).status_code == 200
    return device


def ddm(device, endpoint: str, data: dict | None = None):
    """A DeclarativeManagement check-in as the captured device sends its check-ins."""
    message = {
        "MessageType": "DeclarativeManagement",
        "Endpoint": endpoint,
        "EnrollmentID": ENROLLMENT_ID,
    }
    if data is not None:
        message["Data"] = json.dumps(data).encode()
    assert apple_schema.validate_checkin(message, "iOS", "user", "18.2.1") == []
    return device.checkin(message)


def test_the_status_channel_updates_the_os_version(seeded, device_for, client):
    device = enroll(device_for)
    # Enrollment queued the DeclarativeManagement command; the device gets it at Idle.
    response = device.connect(load("result-idle-ue-ios.plist"))
    command = plistlib.loads(response.data)["Command"]
    assert command["RequestType"] == "DeclarativeManagement"
    assert apple_schema.validate_command(command, "iOS", "user", "18.2.1") == []

    tokens = ddm(device, "tokens")
    assert tokens.status_code == 200 and tokens.mimetype == "application/json"
    token = tokens.get_json()["SyncTokens"]["DeclarationsToken"]

    items = ddm(device, "declaration-items").get_json()
    assert items["DeclarationsToken"] == token
    (activation,) = items["Declarations"]["Activations"]
    (configuration,) = items["Declarations"]["Configurations"]

    declared = {}
    for kind, entry in (("activation", activation), ("configuration", configuration)):
        answer = ddm(device, f"declaration/{kind}/{entry['Identifier']}")
        assert answer.status_code == 200
        declared[kind] = answer.get_json()
        assert declared[kind]["ServerToken"] == entry["ServerToken"]
        found = apple_schema.validate_declaration(declared[kind], "iOS", "user", "18.2.1")
        assert found == [], list(apple_schema.iter_findings_text(found))
    subscriptions = declared["configuration"]
    assert subscriptions["Type"] == "com.apple.configuration.management.status-subscriptions"
    assert apple_schema.validate_status_subscriptions(subscriptions, "iOS", "user", "18.2.1") == []
    assert [i["Name"] for i in subscriptions["Payload"]["StatusItems"]] == [
        "device.operating-system.version",
        "device.operating-system.build-version",
        "passcode.is-compliant",
        "passcode.is-present",
        "app.managed.list",
    ]
    assert declared["activation"]["Payload"]["StandardConfigurations"] == [
        subscriptions["Identifier"]
    ]

    report = {
        "StatusItems": {
            "device": {"operating-system": {"version": "18.3", "build-version": "22D63"}},
            "passcode": {"is-compliant": True, "is-present": True},
            "app": {"managed": {"list": []}},
        },
        "Errors": [],
        "FullReport": True,
    }
    response = ddm(device, "status", report)
    assert response.status_code == 200 and response.data == b""
    with seeded.app_context():
        phone = only_device(ALICE)
        phone_id = phone.id
        status = db.session.get(DeclarativeStatus, phone.id)
        assert phone.os_version == "18.3"
        assert status.build_version == "22D63"
        assert status.passcode_compliant is True and status.passcode_present is True
        db.session.rollback()
    page = client.get(f"/devices/{phone_id}").get_data(as_text=True)  # alice's own page
    assert 'id="declarative-status"' in page and "18.3 (22D63)" in page and "Compliant" in page


def test_a_mac_before_13_and_a_device_enrollment_get_no_ddm(seeded, device_for):
    enroll(device_for, "macos", "12.7", authenticate_version="12.7")
    with seeded.app_context():
        assert db.session.scalar(sa.select(sa.func.count(MDMCommand.id))) == 0
        db.session.rollback()


def test_status_items_follow_the_os_version(seeded, device_for):
    """app.managed.list came in iOS 17.2 and passcode items in 16: an iPhone on 16.4 gets
    only what it can report."""
    device = enroll(device_for, authenticate_version="16.4")
    device.connect(load("result-idle-ue-ios.plist"))
    items = ddm(device, "declaration-items").get_json()
    (configuration,) = items["Declarations"]["Configurations"]
    declared = ddm(device, f"declaration/configuration/{configuration['Identifier']}").get_json()
    assert [i["Name"] for i in declared["Payload"]["StatusItems"]] == [
        "device.operating-system.version",
        "device.operating-system.build-version",
        "passcode.is-compliant",
        "passcode.is-present",
    ]


@pytest.mark.parametrize(
    ("endpoint", "data"),
    [
        ("declaration/configuration/unknown", None),
        ("status", None),
        ("nonsense", None),
    ],
)
def test_bad_ddm_requests_are_refused_and_change_nothing(seeded, device_for, endpoint, data):
    device = enroll(device_for)
    response = ddm(device, endpoint, data)
    assert 400 <= response.status_code < 500
    with seeded.app_context():
        assert only_device(ALICE).os_version == "18.2.1"
        db.session.rollback()


def test_a_status_report_that_is_not_json_is_refused(seeded, device_for):
    device = enroll(device_for)
    message = {
        "MessageType": "DeclarativeManagement",
        "Endpoint": "status",
        "EnrollmentID": ENROLLMENT_ID,
        "Data": base64.b64encode(b"not json"),
    }
    assert device.checkin(message).status_code == 400
    with seeded.app_context():
        assert db.session.scalar(sa.select(Device.os_version)) == "18.2.1"
        db.session.rollback()
