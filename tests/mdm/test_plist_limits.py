"""Plists that expand: shared references, cycles, deep nesting, long strings, all refused."""

from __future__ import annotations

import plistlib

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.mdm import plist_limits
from portal.models import CommandStatus, DeviceLogEntry

from . import bplist
from .support import mdm_payload, refusals, snapshot
from .test_connect import UE_ID, command_row, delivered, load, queue, ue_report

ENVELOPE = {"Status": "Acknowledged", "EnrollmentID": UE_ID}


@pytest.fixture
def ue_iphone(seeded, device_for):
    device, profile = device_for("alice@example.com", "ios", "16.4")
    topic = mdm_payload(profile)["Topic"]
    assert device.checkin(load("ios-ue-authenticate.plist", Topic=topic)).status_code == 200
    assert device.checkin(load("ios-ue-tokenupdate.plist", Topic=topic)).status_code == 200
    return device


def sent_command(app, device) -> str:
    uuid = queue(app, "alice@example.com", "ProfileList")
    assert delivered(device.connect(load("result-idle-ue-ios.plist")))["CommandUUID"] == uuid
    return uuid


def test_a_shared_reference_plist_of_depth_24_is_refused_and_fails_its_command(seeded, ue_iphone):
    """Refused at the value bound, not after expanding 2**24 values (the time it takes is
    measured by `make bench`: benchmarks/plist_bounds.py)."""
    uuid = sent_command(seeded, ue_iphone)
    body = bplist.result({**ENVELOPE, "CommandUUID": uuid}, bplist.doubling(24))
    assert len(body) < 512  # 2**24 leaves once expanded
    response = ue_iphone.connect(body)
    assert response.status_code == 413
    command = command_row(seeded, uuid)
    assert command.status is CommandStatus.ERROR
    assert command.result == {"refused": "plist_too_many_nodes"}
    with seeded.app_context():
        assert refusals()[-1]["reason"] == "plist_too_many_nodes"
        logged = db.session.scalars(sa.select(DeviceLogEntry.action)).all()
        assert "command.result_refused" in logged
    # Sent again (the device retries): refused again, nothing more stored.
    with seeded.app_context():
        before = snapshot()
    assert ue_iphone.connect(body).status_code == 413
    with seeded.app_context():
        assert snapshot() == before
    # The failed command is not offered again.
    assert ue_iphone.connect(load("result-idle-ue-ios.plist")).data == b""


def test_a_plist_that_contains_itself_is_a_4xx(seeded, ue_iphone):
    uuid = sent_command(seeded, ue_iphone)
    # Object 0 is an array holding object 0.
    body = bplist.result({**ENVELOPE, "CommandUUID": uuid}, [("array", [0])])
    response = ue_iphone.connect(body)
    assert response.status_code == 413
    assert command_row(seeded, uuid).status is CommandStatus.ERROR
    with seeded.app_context():
        assert refusals()[-1]["reason"] == "plist_too_deep"


def test_xml_nested_3000_deep_is_a_4xx(seeded, ue_iphone):
    uuid = sent_command(seeded, ue_iphone)
    nested = b"<array>" * 3000 + b"<string>x</string>" + b"</array>" * 3000
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict>'
        b"<key>Status</key><string>Acknowledged</string>"
        b"<key>EnrollmentID</key><string>" + UE_ID.encode() + b"</string>"
        b"<key>CommandUUID</key><string>" + uuid.encode() + b"</string>"
        b"<key>Payload</key>" + nested + b"</dict></plist>"
    )
    assert ue_iphone.connect(body).status_code == 413
    assert command_row(seeded, uuid).status is CommandStatus.ERROR


@pytest.mark.parametrize(
    "body",
    [
        bplist.build([("array", [0])]),  # a cycle, not even a dictionary
        bplist.build([("dict", [(1, 0)]), ("str", "Self")]),  # a dictionary holding itself
        b"<plist><array>" * 3000 + b"</array></plist>" * 3000,
    ],
    ids=["self-array", "self-dict", "xml-3000-deep"],
)
def test_self_referencing_and_deep_checkins_are_4xx(seeded, ue_iphone, body):
    with seeded.app_context():
        before = snapshot()
    response = ue_iphone.checkin(body)
    assert 400 <= response.status_code < 500
    with seeded.app_context():
        assert snapshot() == before


def test_a_long_string_in_a_checkin_is_refused(seeded, ue_iphone):
    with seeded.app_context():
        before = snapshot()
    message = load("ios-ue-tokenupdate.plist", PushMagic="x" * (70 * 1024))
    assert ue_iphone.checkin(message).status_code == 413
    with seeded.app_context():
        assert snapshot() == before


def test_the_enrollment_request_is_bounded(seeded, client):
    body = bplist.build(bplist.doubling(20) + [("dict", [(22, 0)]), ("str", "PRODUCT")], top=21)
    response = client.post("/mdm/enroll", data=body)
    assert response.status_code == 413


def test_many_shared_strings_are_bounded_by_their_expanded_size():
    # 60 KB once, referenced 200 times: 12 MB expanded from a 60 KB body.
    objects = [("array", [1] * 200), ("str", "y" * 60_000)]
    body = bplist.build(objects)
    assert len(body) < 64 * 1024
    with pytest.raises(plist_limits.BeyondBounds) as refused:
        plist_limits.check_value(plistlib.loads(body), plist_limits.CONNECT)
    assert refused.value.reason == "plist_too_large_expanded"


def test_a_binary_plist_declaring_too_many_objects_is_refused_before_parsing():
    body = bplist.build([("str", "x")])
    # The trailer claims more objects than a check-in may hold.
    forged = body[:-24] + (10**6).to_bytes(8, "big") + body[-16:]
    with pytest.raises(plist_limits.BeyondBounds) as refused:
        plist_limits.check_bytes(forged, plist_limits.CHECKIN)
    assert refused.value.reason == "plist_too_many_nodes"


def test_real_results_are_within_the_bounds(seeded, ue_iphone):
    uuid = sent_command(seeded, ue_iphone)
    report = ue_report("result-profilelist-ios-acknowledged.plist", uuid)
    assert ue_iphone.connect(report).status_code == 200
    assert command_row(seeded, uuid).status is CommandStatus.ACKNOWLEDGED
    for name in (
        "result-installedapplicationlist-ios-acknowledged.plist",
        "ios-ue-tokenupdate.plist",
        "macos-de-authenticate.plist",
        "de-machineinfo.plist",
    ):
        plist_limits.check_value(load(name), plist_limits.CHECKIN)
