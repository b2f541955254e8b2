"""Device logs (filters, paging, details), the admin's device list, configurations refused."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.devices import configurations, logs
from portal.devices.capabilities import MACOS_USER_ENROLLMENT_UNSUPPORTED
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Device,
    DeviceLogEntry,
    EnrollmentMethod,
    EnrollmentType,
    Platform,
    User,
)

from .conftest import HX, device_id

ACTIONS = ["checkin.authenticate", "command.queued", "command.acknowledged", "configuration"]
STATUSES = ["enrolled", "error", "authenticated"]
START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def big_log(with_devices):
    """3,000 entries over 100 days on alice's iPhone; returns (device id, entries)."""
    rng = random.Random(7)
    with with_devices.app_context():
        ident = device_id("alice@example.com")
        rows = []
        for n in range(3000):
            rows.append(
                {
                    "device_id": ident,
                    "action": rng.choice(ACTIONS),
                    "status": rng.choice(STATUSES),
                    "created_at": START + timedelta(minutes=48 * n),
                    "details": {"n": n},
                }
            )
        db.session.execute(sa.insert(DeviceLogEntry), rows)
        db.session.commit()
    return ident, rows


def expected(rows, action="", status="", start=None, end=None) -> list[int]:
    keep = [
        r["details"]["n"]
        for r in rows
        if (not action or r["action"] == action)
        and (not status or r["status"] == status)
        and (start is None or r["created_at"].date() >= start)
        and (end is None or r["created_at"].date() <= end)
    ]
    return sorted(keep, reverse=True)


FILTERS = [
    {},
    {"action": "command.queued"},
    {"status": "error"},
    {"action": "configuration", "status": "error"},
    {"start": date(2026, 2, 1)},
    {"end": date(2026, 1, 10)},
    {"start": date(2026, 1, 15), "end": date(2026, 1, 15)},
    {
        "action": "command.acknowledged",
        "status": "enrolled",
        "start": date(2026, 2, 3),
        "end": date(2026, 3, 4),
    },
    {"action": "no.such.action"},
]


@pytest.mark.parametrize("wanted", FILTERS)
def test_filters_return_exactly_the_matching_entries(big_log, with_devices, wanted):
    ident, rows = big_log
    with with_devices.app_context():
        device = db.session.get(Device, ident)
        log_filter = logs.LogFilter(**wanted)
        found, number = [], 1
        while True:
            page = logs.page(device, log_filter, number)
            assert len(page.items) <= logs.PAGE_SIZE
            found += [e.details["n"] for e in page.items if "n" in e.details]
            if not page.has_next:
                break
            number += 1
        assert found == expected(rows, **wanted)


def test_the_logs_tab_filters_and_pages_over_http(big_log, with_devices, client, auth):
    ident, rows = big_log
    auth.login("helen@example.com")
    args = {
        "action": "command.queued",
        "status": "error",
        "start": "2026-01-05",
        "end": "2026-02-20",
    }
    want = expected(rows, "command.queued", "error", date(2026, 1, 5), date(2026, 2, 20))
    first = client.get(f"/admin/devices/{ident}/logs", query_string=args, headers=HX)
    text = first.get_data(as_text=True)
    assert first.status_code == 200 and text.startswith('<div id="device-logs">')
    assert f"{len(want)} entries" in text
    assert text.count('class="log-row"') == min(50, len(want))
    second = client.get(
        f"/admin/devices/{ident}/logs", query_string={**args, "page": 2}, headers=HX
    ).get_data(as_text=True)
    assert "Page 2 of" in second
    assert "action=command.queued" in second  # the pager keeps the filter
    bad = client.get(f"/admin/devices/{ident}/logs", query_string={"start": "yesterday"})
    assert bad.status_code == 422 and "Enter dates as YYYY-MM-DD." in bad.get_data(as_text=True)
    upside = client.get(
        f"/admin/devices/{ident}/logs", query_string={"start": "2026-03-01", "end": "2026-01-01"}
    )
    assert upside.status_code == 422


def test_a_log_entry_shows_the_enrollment_id(with_devices, client, auth):
    with with_devices.app_context():
        ident = device_id("alice@example.com")
        device = db.session.get(Device, ident)
        entry_id = db.session.scalar(
            sa.select(DeviceLogEntry.id).where(DeviceLogEntry.device_id == ident)
        )
        enrollment_id = device.enrollment_id
        other = device_id("bob@example.com")
    auth.login("helen@example.com")
    response = client.get(f"/admin/devices/{ident}/logs/{entry_id}", headers=HX)
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "Enrollment ID" in text and enrollment_id in text
    assert client.get(f"/admin/devices/{other}/logs/{entry_id}").status_code == 404


def test_admin_device_detail_and_list(with_devices, client, auth):
    with with_devices.app_context():
        ident = device_id("alice@example.com")
    auth.login("helen@example.com")
    page = client.get(f"/admin/devices/{ident}").get_data(as_text=True)
    for text in ("User Enrollment", "Registered", "Enrolled", "al***@appleid.example.com"):
        assert text in page
    assert "alice@appleid.example.com" not in page
    rows = client.get("/admin/devices", query_string={"kind": "user"}, headers=HX)
    text = rows.get_data(as_text=True)
    assert text.startswith('<div id="device-rows">')
    assert "Alice&#39;s iPhone" in text and "Bob&#39;s iPhone" not in text
    text = client.get("/admin/devices", query_string={"q": "bob"}).get_data(as_text=True)
    assert "Bob&#39;s iPhone" in text and "Alice&#39;s iPhone" not in text
    text = client.get(
        "/admin/devices", query_string={"platform": "macos", "status": "nonsense"}
    ).get_data(as_text=True)
    assert "0 devices" in text


def _mac(kind: EnrollmentType) -> Device:
    alice = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
    device = Device(
        user_id=alice.id,
        platform=Platform.MACOS,
        enrollment_type=kind,
        enrollment_method=EnrollmentMethod.PROFILE,
        enrollment_id="MAC-UE-1" if kind == EnrollmentType.USER else None,
    )
    db.session.add(device)
    db.session.flush()
    return device


@pytest.mark.parametrize("payload_type", sorted(MACOS_USER_ENROLLMENT_UNSUPPORTED))
def test_macos_user_enrollment_refuses_unsupported_configurations(seeded, ctx, payload_type):
    adam = db.session.scalar(sa.select(User).where(User.email == "adam@example.com"))
    mac = _mac(EnrollmentType.USER)
    with pytest.raises(configurations.UnsupportedConfiguration):
        configurations.send_configuration(mac, payload_type, actor=adam)
    db.session.commit()
    (entry,) = db.session.scalars(
        sa.select(DeviceLogEntry).where(DeviceLogEntry.device_id == mac.id)
    ).all()
    assert entry.status == "error"
    assert entry.details["message"] == "Restrictions – this is not a valid request type"
    assert entry.details["payload_type"] == payload_type
    assert db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "device.configuration.refused")
    )


def test_the_same_configurations_go_to_other_devices(seeded, ctx):
    device_mac = _mac(EnrollmentType.DEVICE)
    sent = configurations.send_configuration(device_mac, "filevault", actor=None)
    assert sent.entry.status != "error" and sent.entry.details["message"] == "accepted"
    ue_mac = _mac(EnrollmentType.USER)
    sent = configurations.send_configuration(ue_mac, "managed_open_in", actor=None)
    assert sent.entry.details["message"] == "accepted"


def test_the_refusal_shows_in_the_admins_log(seeded, client, auth):
    with seeded.app_context():
        mac = _mac(EnrollmentType.USER)
        with pytest.raises(configurations.UnsupportedConfiguration):
            configurations.send_configuration(mac, "filevault", actor=None)
        db.session.commit()
        ident = mac.id
    auth.login("adam@example.com")
    text = client.get(f"/admin/devices/{ident}").get_data(as_text=True)
    assert "filevault: Restrictions – this is not a valid request type" in text
