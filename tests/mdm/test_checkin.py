"""Profile-based enrollment end to end: download, then the device's check-in messages."""

from __future__ import annotations

import plistlib

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import DeviceLogEntry, DeviceStatus, EnrollmentMethod, EnrollmentType

from .support import HARDWARE_KEYS, load, mdm_payload, only_device

UE_ID = "FB833D84-50C0-41DD-99DE-F748E44FFEF5"  # the EnrollmentID of the Fleet capture


def log_actions(device) -> list[tuple[str, str]]:
    rows = db.session.scalars(
        sa.select(DeviceLogEntry)
        .where(DeviceLogEntry.device_id == device.id)
        .order_by(DeviceLogEntry.id)
    )
    return [(row.action, row.status) for row in rows]


def ue_messages(topic: str, **changes):
    """The real iOS 18.2.1 UE Authenticate and TokenUpdate, with our topic."""
    authenticate = load("ios-ue-authenticate.plist", Topic=topic, **changes)
    token_update = load("ios-ue-tokenupdate.plist", Topic=topic)
    return authenticate, token_update


def test_profile_based_user_enrollment_on_ios_16(seeded, device_for):
    device, profile = device_for("alice@example.com", "ios", "16.4")
    payload = mdm_payload(profile)
    assert payload["ManagedAppleID"] == "alice@appleid.example.com"
    assert "AccessRights" not in payload
    authenticate, token_update = ue_messages(
        payload["Topic"], OSVersion="16.4", BuildVersion="20E247"
    )

    assert device.checkin(authenticate).status_code == 200
    with seeded.app_context():
        row = only_device("alice@example.com")
        assert row.status is DeviceStatus.AUTHENTICATED
        assert row.enrollment_id == UE_ID
    assert device.checkin(token_update).status_code == 200

    with seeded.app_context():
        row = only_device("alice@example.com")
        assert row.status is DeviceStatus.ENROLLED
        assert row.enrollment_type is EnrollmentType.USER
        assert row.enrollment_method is EnrollmentMethod.PROFILE
        assert (row.os_version, row.model) == ("16.4", "iPhone12,1")
        assert row.push_token == bytes([3] * 32).hex()
        assert row.push_magic == "00000000-0000-0000-0000-00000000AA03"
        assert row.enrolled_at is not None
        assert row.udid is None and row.serial_number is None
        assert log_actions(row) == [
            ("profile.downloaded", "profile_downloaded"),
            ("checkin.authenticate", "authenticated"),
            ("checkin.token_update", "enrolled"),
        ]
        entry = db.session.scalars(
            sa.select(DeviceLogEntry).where(DeviceLogEntry.action == "checkin.token_update")
        ).one()
        assert entry.details["enrollment_id"] == UE_ID


def test_profile_based_user_enrollment_on_macos_13(seeded, device_for):
    # No real macOS UE capture exists: the iOS capture with macOS values.
    device, profile = device_for("alice@example.com", "macos", "13.6")
    topic = mdm_payload(profile)["Topic"]
    authenticate, token_update = ue_messages(
        topic, OSVersion="13.6", BuildVersion="22G120", ProductName="MacBookAir10,1"
    )
    assert device.checkin(authenticate).status_code == 200
    assert device.checkin(token_update).status_code == 200
    user_channel = dict(token_update, EnrollmentUserID="5F2A3C1D-0000-4000-8000-00000000BEEF")
    user_channel["Token"] = bytes([9] * 32)
    assert device.checkin(user_channel).status_code == 200
    assert device.checkin(user_channel).status_code == 200

    with seeded.app_context():
        row = only_device("alice@example.com")
        assert row.status is DeviceStatus.ENROLLED
        assert row.platform == "macos" and row.model == "MacBookAir10,1"
        assert row.enrollment_user_id == "5F2A3C1D-0000-4000-8000-00000000BEEF"
        # The user channel's push token is not the device's.
        assert row.push_token == bytes([3] * 32).hex()
        assert [a for a, _ in log_actions(row)].count("user_channel.enrolled") == 1


def test_device_enrollment_for_an_ineligible_user_stores_hardware_ids(seeded, device_for):
    device, profile = device_for("bob@example.com", "ios", "17.5")
    payload = mdm_payload(profile)
    assert payload["AccessRights"] == 8191
    assert "ManagedAppleID" not in payload and "EnrollmentMode" not in payload
    topic = payload["Topic"]

    response = device.checkin(load("ios-de-authenticate-cellular.plist", Topic=topic))
    assert response.status_code == 200
    # Under Device Enrollment the UDID is required, and must be the enrolled one.
    without_udid = load("ios-de-tokenupdate.plist", Topic=topic, UDID=None)
    assert device.checkin(without_udid).status_code == 400
    assert device.checkin(load("ios-de-tokenupdate.plist", Topic=topic)).status_code == 403
    udid = load("ios-de-authenticate-cellular.plist")["UDID"]
    token_update = load("ios-de-tokenupdate.plist", Topic=topic, UDID=udid)
    assert device.checkin(token_update).status_code == 200

    with seeded.app_context():
        row = only_device("bob@example.com")
        captured = load("ios-de-authenticate-cellular.plist")
        assert row.status is DeviceStatus.ENROLLED
        assert row.enrollment_type is EnrollmentType.DEVICE
        assert row.udid == captured["UDID"]
        assert row.serial_number == captured["SerialNumber"]
        assert (row.model, row.os_version) == ("iPhone7,2", "11.3.1")
        assert row.enrollment_id is None
        entry = db.session.scalars(
            sa.select(DeviceLogEntry).where(DeviceLogEntry.action == "checkin.authenticate")
        ).one()
        assert entry.details["imei"] == captured["IMEI"]
        assert entry.details["udid"] == captured["UDID"]


def test_macos_device_enrollment_with_the_captured_messages(seeded, device_for):
    device, profile = device_for("bob@example.com", "macos", "14.5")
    topic = mdm_payload(profile)["Topic"]
    assert device.checkin(load("macos-de-authenticate.plist", Topic=topic)).status_code == 200
    assert device.checkin(load("macos-de-tokenupdate.plist", Topic=topic)).status_code == 200
    udid = load("macos-de-authenticate.plist")["UDID"]
    user_channel = load("macos-de-user-tokenupdate-10.12.2.plist", Topic=topic, UDID=udid)
    assert device.checkin(user_channel).status_code == 200
    checkout = load("macos-de-checkout.plist", Topic=topic, UDID=udid)
    assert device.checkin(checkout).status_code == 200

    with seeded.app_context():
        row = only_device("bob@example.com")
        assert row.status is DeviceStatus.UNENROLLED
        assert row.udid == udid and row.serial_number == "SERIAL000002"
        assert row.unenrolled_at is not None and row.push_token is None
        assert [a for a, _ in log_actions(row)] == [
            "profile.downloaded",
            "checkin.authenticate",
            "checkin.token_update",
            "checkin.check_out",
        ]


def test_token_update_twice_is_idempotent(seeded, device_for):
    device, profile = device_for("alice@example.com", "ios", "16.4")
    authenticate, token_update = ue_messages(mdm_payload(profile)["Topic"])
    device.checkin(authenticate)
    assert device.checkin(token_update).status_code == 200
    with seeded.app_context():
        before = log_actions(only_device("alice@example.com"))
    assert device.checkin(token_update).status_code == 200
    assert device.checkin(authenticate).status_code == 409  # enrolled: not again
    with seeded.app_context():
        assert log_actions(only_device("alice@example.com")) == before
    changed = dict(token_update, Token=bytes([4] * 32))
    assert device.checkin(changed).status_code == 200
    with seeded.app_context():
        row = only_device("alice@example.com")
        assert row.push_token == bytes([4] * 32).hex()
        assert log_actions(row)[-1] == ("push_token.updated", "enrolled")


def test_authenticate_twice_before_token_update_is_idempotent(seeded, device_for):
    device, profile = device_for("alice@example.com", "ios", "16.4")
    authenticate, _ = ue_messages(mdm_payload(profile)["Topic"])
    assert device.checkin(authenticate).status_code == 200
    assert device.checkin(authenticate).status_code == 200
    with seeded.app_context():
        assert len(log_actions(only_device("alice@example.com"))) == 2


def test_token_update_before_authenticate_is_a_conflict(seeded, device_for):
    device, profile = device_for("alice@example.com", "ios", "16.4")
    _, token_update = ue_messages(mdm_payload(profile)["Topic"])
    assert device.checkin(token_update).status_code == 409
    with seeded.app_context():
        assert only_device("alice@example.com").status is DeviceStatus.PROFILE_DOWNLOADED


def test_user_authenticate_is_declined_with_410(seeded, device_for):
    device, profile = device_for("alice@example.com", "macos", "13.6")
    message = {
        "MessageType": "UserAuthenticate",
        "Topic": mdm_payload(profile)["Topic"],
        "EnrollmentID": UE_ID,
        "EnrollmentUserID": "A",
    }
    assert device.checkin(message).status_code == 410


@pytest.mark.parametrize("key", HARDWARE_KEYS)
def test_user_enrollment_refuses_every_hardware_identifier(seeded, device_for, key):
    from .support import refusals, snapshot

    device, profile = device_for("alice@example.com", "ios", "16.4")
    authenticate, _ = ue_messages(mdm_payload(profile)["Topic"])
    with seeded.app_context():
        before = snapshot()
    response = device.checkin(
        dict(authenticate, **{key: "0000000000000000000000000000000000000001"})
    )
    assert response.status_code == 400
    with seeded.app_context():
        assert snapshot() == before
        row = only_device("alice@example.com")
        assert row.udid is None and row.serial_number is None
        (refusal,) = refusals()
        assert refusal["reason"] == "hardware_identifier_under_user_enrollment"
        assert refusal["target_id"] == str(row.id)


def test_binary_plists_are_accepted(seeded, device_for):
    device, profile = device_for("alice@example.com", "ios", "16.4")
    authenticate, _ = ue_messages(mdm_payload(profile)["Topic"])
    body = plistlib.dumps(authenticate, fmt=plistlib.FMT_BINARY)
    assert device.checkin(body).status_code == 200
