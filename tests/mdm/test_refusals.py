"""Every bad check-in gets its 4xx, changes nothing, and leaves an audited reason."""

from __future__ import annotations

import pytest

from .support import DeviceClient, load, mdm_payload, only_device, refusals, snapshot

GARBAGE = [
    b"not a plist",
    b"<?xml version='1.0'?><plist version='1.0'><dict><key>A</key>",  # truncated
    b"bplist00\xd1\x01\x02",  # truncated binary plist
    b'<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY x "boom">]>'
    b'<plist version="1.0"><dict><key>MessageType</key><string>&x;</string></dict></plist>',
    b'<?xml version="1.0"?><plist version="1.0"><array><string>x</string></array></plist>',
    b"",
]


@pytest.fixture
def alice_device(seeded, device_for):
    """Alice's iOS 16 profile-based UE device, authenticated (not yet enrolled)."""
    device, profile = device_for("alice@example.com", "ios", "16.4")
    topic = mdm_payload(profile)["Topic"]
    assert device.checkin(load("ios-ue-authenticate.plist", Topic=topic)).status_code == 200
    return device, topic


def refused(app, call, status: int, reason: str | None = None):
    """Run `call`, check its status, that nothing changed and that it was audited."""
    with app.app_context():
        before, count = snapshot(), len(refusals())
    response = call()
    assert response.status_code == status, response.data
    with app.app_context():
        assert snapshot() == before
        after = refusals()
        if reason is not None:
            assert len(after) == count + 1
            assert after[-1]["reason"] == reason
            assert after[-1]["status"] == status
    return response


@pytest.mark.parametrize("body", GARBAGE)
def test_malformed_plists_are_refused(seeded, alice_device, body):
    device, _topic = alice_device
    refused(seeded, lambda: device.checkin(body), 400)


@pytest.mark.parametrize(
    "content_type", [None, "application/xml", "text/plain", "application/x-apple-aspen-mdm"]
)
def test_wrong_content_types_are_refused(seeded, alice_device, content_type):
    device, topic = alice_device
    message = load("ios-ue-tokenupdate.plist", Topic=topic)
    refused(
        seeded,
        lambda: device.checkin(message, content_type=content_type),
        415,
        "wrong_content_type",
    )


def test_a_body_over_64_kib_is_refused(seeded, alice_device):
    device, topic = alice_device
    message = load("ios-ue-tokenupdate.plist", Topic=topic, Padding="x" * 70_000)
    refused(seeded, lambda: device.checkin(message), 413, "body_too_large")


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"MessageType": None}, "MessageType_missing"),
        ({"MessageType": "Reboot"}, "MessageType_unknown"),
        ({"MessageType": 7}, "MessageType_missing"),
        ({"Topic": "com.apple.mgmt.External.someone-else"}, "topic_mismatch"),
        ({"Topic": None}, "topic_mismatch"),
        ({"EnrollmentID": None}, "EnrollmentID_missing"),
        ({"EnrollmentID": ["list"]}, "EnrollmentID_invalid"),
        ({"Token": "not data"}, "Token_invalid"),
        ({"PushMagic": None}, "PushMagic_missing"),
        ({"UnlockToken": b"\x00" * 8}, "unlock_token_under_user_enrollment"),
    ],
)
def test_bad_token_updates_are_refused(seeded, alice_device, changes, reason):
    device, topic = alice_device
    message = load("ios-ue-tokenupdate.plist", **{"Topic": topic, **changes})
    refused(seeded, lambda: device.checkin(message), 400, reason)


def test_another_enrollment_id_is_forbidden(seeded, alice_device):
    device, topic = alice_device
    message = load("ios-ue-tokenupdate.plist", Topic=topic, EnrollmentID="OTHER")
    refused(seeded, lambda: device.checkin(message), 403, "enrollment_id_mismatch")


def test_unbound_and_unknown_check_ins_are_refused(seeded, client, alice_device):
    _device, topic = alice_device
    message = load("ios-ue-tokenupdate.plist", Topic=topic)
    refused(seeded, lambda: DeviceClient(client).checkin(message), 401, "no_credentials")
    unknown = DeviceClient(client, secret="x" * 43)
    refused(seeded, lambda: unknown.checkin(message), 401, "unknown_secret")
    bearer = DeviceClient(client, bearer="00000000-0000-0000-0000-00000000cccc")
    refused(seeded, lambda: bearer.checkin(message), 401, "unknown_token")


def test_replays_after_check_out_are_refused(seeded, alice_device):
    device, topic = alice_device
    token_update = load("ios-ue-tokenupdate.plist", Topic=topic)
    assert device.checkin(token_update).status_code == 200
    # No iOS UE CheckOut was ever published: the DE capture, as a UE device sends it.
    checkout = load(
        "ios-de-checkout.plist", Topic=topic, UDID=None, EnrollmentID=token_update["EnrollmentID"]
    )
    assert device.checkin(checkout).status_code == 200
    with seeded.app_context():
        assert only_device("alice@example.com").status == "unenrolled"
    refused(seeded, lambda: device.checkin(checkout), 403, "device_unenrolled")
    # The same refusal again within the minute is logged, not audited again.
    for message in (token_update, load("ios-ue-authenticate.plist", Topic=topic)):
        refused(seeded, lambda m=message: device.checkin(m), 403)
    refused(seeded, lambda: device.connect(load("result-idle-ue-ios.plist")), 403)
    with seeded.app_context():
        assert [(r["reason"], r["endpoint"]) for r in refusals()] == [
            ("device_unenrolled", "mdm.checkin_message"),
            ("device_unenrolled", "mdm.connect_report"),
        ]


def test_check_out_before_authenticate_is_a_conflict(seeded, device_for):
    device, profile = device_for("alice@example.com", "ios", "16.4")
    topic = mdm_payload(profile)["Topic"]
    checkout = load("ios-de-checkout.plist", Topic=topic, UDID=None, EnrollmentID="A")
    refused(
        seeded,
        lambda: device.checkin(checkout),
        409,
        "illegal_transition:profile_downloaded->unenrolled",
    )


def test_device_enrollment_udid_of_someone_elses_device_is_a_conflict(seeded, device_for):
    bob, profile = device_for("bob@example.com", "ios", "17.5")
    authenticate = load("ios-de-authenticate.plist", Topic=mdm_payload(profile)["Topic"])
    assert bob.checkin(authenticate).status_code == 200
    # Helen (Device Enrollment too) presents the UDID Bob's enrollment holds.
    helen, _profile = device_for("helen@example.com", "ios", "17.5")
    refused(seeded, lambda: helen.checkin(authenticate), 409, "udid_enrolled_for_another_user")


def test_reenrolling_the_same_device_moves_its_udid(seeded, device_for):
    first, profile = device_for("bob@example.com", "ios", "17.5")
    topic = mdm_payload(profile)["Topic"]
    assert first.checkin(load("ios-de-authenticate.plist", Topic=topic)).status_code == 200
    assert first.checkin(load("ios-de-tokenupdate.plist", Topic=topic)).status_code == 200
    # The profile was removed without a CheckOut reaching the portal; a new one installed.
    second, _profile = device_for("bob@example.com", "ios", "17.5")
    assert second.checkin(load("ios-de-authenticate.plist", Topic=topic)).status_code == 200
    with seeded.app_context():
        from .support import devices_of

        old, new = sorted(devices_of("bob@example.com"), key=lambda d: d.id)
        assert (old.status, old.udid) == ("unenrolled", None)
        assert (new.status, new.udid) == ("authenticated", "0" * 39 + "1")
    refused(seeded, lambda: first.checkin(load("ios-de-tokenupdate.plist", Topic=topic)), 403)
