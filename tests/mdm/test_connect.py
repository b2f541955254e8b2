"""The command channel: delivery once, results recorded, NotNow retried, pushes after commit."""

from __future__ import annotations

import plistlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.mdm import commands, push
from portal.models import CommandStatus, Device, DeviceLogEntry, MDMCommand, User

from .support import load, mdm_payload, only_device, refusals, snapshot

UE_ID = "FB833D84-50C0-41DD-99DE-F748E44FFEF5"
DE_UDID = "0000000000000000000000000000000000000001"


@pytest.fixture
def ue_iphone(seeded, device_for):
    """Alice's enrolled iPhone (profile-based User Enrollment, iOS 16)."""
    device, profile = device_for("alice@example.com", "ios", "16.4")
    topic = mdm_payload(profile)["Topic"]
    assert device.checkin(load("ios-ue-authenticate.plist", Topic=topic)).status_code == 200
    assert device.checkin(load("ios-ue-tokenupdate.plist", Topic=topic)).status_code == 200
    return device


@pytest.fixture
def de_ipad(seeded, device_for):
    """Bob's enrolled iPad (Device Enrollment) from the nanomdm captures."""
    device, profile = device_for("bob@example.com", "ipados", "17.5")
    topic = mdm_payload(profile)["Topic"]
    assert device.checkin(load("ios-de-authenticate.plist", Topic=topic)).status_code == 200
    assert device.checkin(load("ios-de-tokenupdate.plist", Topic=topic)).status_code == 200
    return device


def queue(app, email: str, request_type: str, payload=None) -> str:
    with app.app_context():
        adam = db.session.scalar(sa.select(User).where(User.email == "adam@example.com"))
        command = commands.queue(
            only_device(email), request_type, payload, actor=adam, channel="web"
        )
        uuid = command.uuid
        db.session.commit()
    return uuid


def ue_report(name: str, uuid: str) -> dict:
    """A captured result as a User-Enrolled iPhone sends it (EnrollmentID, no UDID)."""
    return load(name, UDID=None, EnrollmentID=UE_ID, CommandUUID=uuid)


def delivered(response) -> dict:
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    return plistlib.loads(response.data)


def command_row(app, uuid: str) -> MDMCommand:
    with app.app_context():
        command = db.session.scalar(sa.select(MDMCommand).where(MDMCommand.uuid == uuid))
        db.session.expunge(command)
        return command


def test_idle_with_nothing_queued_is_an_empty_200(seeded, ue_iphone):
    response = ue_iphone.connect(load("result-idle-ue-ios.plist"))
    assert (response.status_code, response.data) == (200, b"")


def test_a_queued_command_is_delivered_once_and_its_result_recorded(seeded, ue_iphone):
    uuid = queue(seeded, "alice@example.com", "DeviceLock", {"Message": "Lost? Call 555 & <0>"})
    sent = delivered(ue_iphone.connect(load("result-idle-ue-ios.plist")))
    assert sent == {
        "CommandUUID": uuid,
        "Command": {"RequestType": "DeviceLock", "Message": "Lost? Call 555 & <0>"},
    }
    assert command_row(seeded, uuid).status is CommandStatus.SENT
    again = ue_iphone.connect(load("result-idle-ue-ios.plist"))
    assert (again.status_code, again.data) == (200, b"")

    result = ue_report("result-devicelock-acknowledged.plist", uuid)
    response = ue_iphone.connect(result)
    assert (response.status_code, response.data) == (200, b"")
    command = command_row(seeded, uuid)
    assert command.status is CommandStatus.ACKNOWLEDGED
    assert command.result == {"MessageResult": "NoPasscodeSet"}
    assert command.sent_at is not None and command.result_at is not None
    # The same result again (a retransmission) records nothing new.
    tables = ("mdm_command", "device_log_entry")
    with seeded.app_context():
        before = {name: rows for name, rows in snapshot().items() if name in tables}
    assert ue_iphone.connect(result).status_code == 200
    with seeded.app_context():
        assert {name: rows for name, rows in snapshot().items() if name in tables} == before
        actions = db.session.scalars(sa.select(DeviceLogEntry.action)).all()
        assert actions.count("command.queued") == 1
        assert actions.count("command.acknowledged") == 1


def test_not_now_requeues_for_the_next_idle(seeded, de_ipad):
    first = queue(seeded, "bob@example.com", "ProfileList")
    second = queue(seeded, "bob@example.com", "InstalledApplicationList")
    idle = {"Status": "Idle", "UDID": DE_UDID}
    assert delivered(de_ipad.connect(idle))["CommandUUID"] == first
    # NotNow: the next command comes, not the same one again.
    not_now = load("result-notnow.plist", UDID=DE_UDID, CommandUUID=first)
    assert delivered(de_ipad.connect(not_now))["CommandUUID"] == second
    assert command_row(seeded, first).status is CommandStatus.NOT_NOW
    apps = load(
        "result-installedapplicationlist-ios-acknowledged.plist", UDID=DE_UDID, CommandUUID=second
    )
    assert de_ipad.connect(apps).data == b""
    stored = command_row(seeded, second).result
    assert stored["InstalledApplicationList"] == apps["InstalledApplicationList"]
    # The device comes back later: the postponed command is offered again.
    assert delivered(de_ipad.connect(idle))["CommandUUID"] == first
    profiles = load("result-profilelist-ios-acknowledged.plist", UDID=DE_UDID, CommandUUID=first)
    assert de_ipad.connect(profiles).data == b""
    command = command_row(seeded, first)
    assert command.status is CommandStatus.ACKNOWLEDGED
    assert command.result["ProfileList"] == profiles["ProfileList"]


@pytest.mark.parametrize(
    "sample, status",
    [
        ("result-error-removeprofile-ios.plist", CommandStatus.ERROR),
        ("result-commandformaterror-ios.plist", CommandStatus.FORMAT_ERROR),
    ],
)
def test_errors_are_recorded_with_their_chain(seeded, de_ipad, sample, status):
    uuid = queue(seeded, "bob@example.com", "RemoveProfile", {"Identifier": "com.example.x"})
    de_ipad.connect({"Status": "Idle", "UDID": DE_UDID})
    report = load(sample, UDID=DE_UDID, CommandUUID=uuid)
    assert de_ipad.connect(report).status_code == 200
    command = command_row(seeded, uuid)
    assert command.status is status
    assert command.result == {k: v for k, v in report.items() if k in ("ErrorChain",)}


def test_command_payload_data_reaches_the_device_as_data(seeded, ue_iphone):
    payload = {"Payload": b"<?xml signed profile bytes \x00\xff>"}
    uuid = queue(seeded, "alice@example.com", "InstallProfile", payload)
    sent = delivered(ue_iphone.connect(load("result-idle-ue-ios.plist")))
    assert sent["CommandUUID"] == uuid
    assert sent["Command"]["Payload"] == payload["Payload"]


def test_connect_accepts_no_content_type_and_refuses_others(seeded, ue_iphone):
    idle = load("result-idle-ue-ios.plist")
    assert ue_iphone.connect(idle, content_type=None).status_code == 200
    with seeded.app_context():
        before = snapshot()
    assert ue_iphone.connect(idle, content_type="text/plain").status_code == 415
    with seeded.app_context():
        assert snapshot() == before


@pytest.mark.parametrize(
    "report, status, reason",
    [
        ({"Status": "Idle", "EnrollmentID": UE_ID, "UDID": DE_UDID}, 400, None),
        ({"Status": "Idle", "EnrollmentID": "someone else"}, 403, "enrollment_id_mismatch"),
        ({"Status": "Sleeping", "EnrollmentID": UE_ID}, 400, "Status_invalid"),
        ({"EnrollmentID": UE_ID}, 400, "Status_invalid"),
        ({"Status": "Acknowledged", "EnrollmentID": UE_ID}, 400, "CommandUUID_missing"),
        (
            {"Status": "Acknowledged", "EnrollmentID": UE_ID, "CommandUUID": "nope"},
            400,
            "unknown_command",
        ),
    ],
)
def test_bad_reports_change_nothing(seeded, ue_iphone, report, status, reason):
    queue(seeded, "alice@example.com", "ProfileList")
    with seeded.app_context():
        before = snapshot()
    assert ue_iphone.connect(report).status_code == status
    with seeded.app_context():
        assert snapshot() == before
        if reason:
            assert refusals()[-1]["reason"] == reason


def test_a_result_for_a_command_never_sent_is_a_conflict(seeded, ue_iphone):
    uuid = queue(seeded, "alice@example.com", "ProfileList")
    report = ue_report("result-profilelist-ios-acknowledged.plist", uuid)
    with seeded.app_context():
        before = snapshot()
    assert ue_iphone.connect(report).status_code == 409
    with seeded.app_context():
        assert snapshot() == before
        assert refusals()[-1]["reason"] == "command_not_awaiting_result"


def test_the_push_is_queued_on_commit_and_not_on_rollback(seeded, ue_iphone):
    sent = push.notifier(seeded).sent
    with seeded.app_context():
        device = only_device("alice@example.com")
        commands.queue(device, "ProfileList", actor=None, channel="system")
        db.session.rollback()
        assert push.deliver("test").claimed == 0
        device = only_device("alice@example.com")
        commands.queue(device, "ProfileList", actor=None, channel="system")
        db.session.commit()
        assert list(sent) == []  # the worker pushes, not the request
        assert push.deliver("test").claimed == 1
        assert [t.device_id for t in sent] == [device.id]
        assert sent[0].topic.startswith("com.apple.mgmt.")


def test_queue_refuses_what_cannot_be_sent(seeded, ue_iphone, device_for):
    device_for("bob@example.com", "ios", "17.5")  # downloaded, not enrolled
    with seeded.app_context():
        alice = only_device("alice@example.com")
        bob = only_device("bob@example.com")
        bad = [
            (bob, "DeviceLock", None),
            (alice, "device lock", None),
            (alice, "", None),
            (alice, "DeviceLock", {"RequestType": "EraseDevice"}),
            (alice, "DeviceLock", {"Message": object()}),
        ]
        for device, request_type, payload in bad:
            with pytest.raises(commands.CommandError):
                commands.queue(device, request_type, payload, actor=None)
        assert db.session.scalars(sa.select(MDMCommand)).all() == []


def test_queue_audits_who_asked(seeded, ue_iphone):
    uuid = queue(seeded, "alice@example.com", "DeviceLock")
    with seeded.app_context():
        from portal.models import AuditEvent

        event = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "mdm.command.queued")
        ).one()
        assert event.actor_label == "adam@example.com"
        assert event.after == {"command_uuid": uuid, "request_type": "DeviceLock"}
        device = db.session.get(Device, int(event.target_id))
        assert device.user.email == "alice@example.com"


# --- commands sent and never answered --------------------------------------------------


def age(app, uuid: str, minutes: int = 6) -> None:
    """Move the command's last delivery `minutes` into the past."""
    with app.app_context():
        command = db.session.scalar(sa.select(MDMCommand).where(MDMCommand.uuid == uuid))
        command.sent_at -= timedelta(minutes=minutes)
        db.session.commit()


def command_log(app, uuid: str) -> list[tuple[str, dict]]:
    with app.app_context():
        entries = db.session.scalars(sa.select(DeviceLogEntry).order_by(DeviceLogEntry.id))
        return [
            (e.action, {k: v for k, v in e.details.items() if k in ("attempt", "attempts")})
            for e in entries
            if (e.details or {}).get("command_uuid") == uuid
        ]


def test_an_unanswered_command_is_sent_again_with_the_same_uuid(seeded, ue_iphone):
    uuid = queue(seeded, "alice@example.com", "DeviceLock", {"Message": "Call IT"})
    idle = load("result-idle-ue-ios.plist")
    first = delivered(ue_iphone.connect(idle))
    # Within the grace period the device is not asked again.
    assert ue_iphone.connect(idle).data == b""
    age(seeded, uuid, minutes=4)
    assert ue_iphone.connect(idle).data == b""
    age(seeded, uuid, minutes=2)
    sent_before = command_row(seeded, uuid).sent_at
    assert delivered(ue_iphone.connect(idle)) == first
    command = command_row(seeded, uuid)
    assert command.status is CommandStatus.SENT and command.sent_at > sent_before
    assert command_log(seeded, uuid)[-1] == ("command.resent", {"attempt": 2})
    # A result for another command is no Idle (the device is busy): nothing is resent.
    other = queue(seeded, "alice@example.com", "ProfileList")
    assert delivered(ue_iphone.connect(idle))["CommandUUID"] == other
    age(seeded, uuid)
    profiles = ue_report("result-profilelist-ios-acknowledged.plist", other)
    assert ue_iphone.connect(profiles).data == b""
    # The answer to the resent command is recorded once.
    result = ue_report("result-devicelock-acknowledged.plist", uuid)
    assert ue_iphone.connect(result).data == b""
    assert ue_iphone.connect(result).data == b""
    assert command_row(seeded, uuid).status is CommandStatus.ACKNOWLEDGED
    assert [action for action, _ in command_log(seeded, uuid)] == [
        "command.queued",
        "command.resent",
        "command.acknowledged",
    ]


def test_a_command_never_answered_times_out_after_three_deliveries(seeded, ue_iphone, client):
    uuid = queue(seeded, "alice@example.com", "ProfileList")
    idle = load("result-idle-ue-ios.plist")
    for _ in range(3):
        assert delivered(ue_iphone.connect(idle))["CommandUUID"] == uuid
        age(seeded, uuid)
    assert ue_iphone.connect(idle).data == b""
    command = command_row(seeded, uuid)
    assert command.status is CommandStatus.TIMED_OUT and command.result_at is not None
    assert command_log(seeded, uuid) == [
        ("command.queued", {}),
        ("command.resent", {"attempt": 2}),
        ("command.resent", {"attempt": 3}),
        ("command.timed_out", {"attempts": 3}),
    ]
    assert ue_iphone.connect(idle).data == b""
    with seeded.app_context():
        device_id = only_device("alice@example.com").id
    page = client.get(f"/devices/{device_id}/commands").get_data(as_text=True)
    assert "No answer from the device" in page
    # The device carried it out after all: its late answer is kept.
    report = ue_report("result-profilelist-ios-acknowledged.plist", uuid)
    assert ue_iphone.connect(report).status_code == 200
    assert command_row(seeded, uuid).status is CommandStatus.ACKNOWLEDGED


def test_grace_period_and_attempts_come_from_the_configuration(seeded, ue_iphone):
    seeded.config.update(MDM_COMMAND_RESEND_SECONDS=0, MDM_COMMAND_MAX_ATTEMPTS=2)
    uuid = queue(seeded, "alice@example.com", "ProfileList")
    queued_next = queue(seeded, "alice@example.com", "InstalledApplicationList")
    idle = load("result-idle-ue-ios.plist")
    assert delivered(ue_iphone.connect(idle))["CommandUUID"] == uuid
    assert delivered(ue_iphone.connect(idle))["CommandUUID"] == uuid
    # Timed out at the next Idle, which gets the next command instead.
    assert delivered(ue_iphone.connect(idle))["CommandUUID"] == queued_next
    assert command_row(seeded, uuid).status is CommandStatus.TIMED_OUT
