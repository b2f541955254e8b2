"""The employee's devices pages: list, details, capabilities; the demo devices."""

from __future__ import annotations

import sqlalchemy as sa

from portal import demo
from portal.extensions import db
from portal.models import Device

from .conftest import device_id


def test_my_devices_lists_only_mine(with_devices, client, auth):
    auth.login("alice@example.com")
    page = client.get("/devices").get_data(as_text=True)
    assert "Alice&#39;s iPhone" in page and "Bob&#39;s iPhone" not in page
    assert 'href="/devices"' in page  # the nav link


def test_user_enrolled_iphone_page(with_devices, client, auth):
    with with_devices.app_context():
        ident = device_id("alice@example.com")
    auth.login("alice@example.com")
    page = client.get(f"/devices/{ident}").get_data(as_text=True)
    for text in (
        "User Enrollment",
        "account-driven",
        "Enrolled",
        "al***@appleid.example.com",
        "What your company can and cannot see and do on this device",
        "Cannot: See your personal apps",
        "Cannot: See hardware identifiers such as the serial number, UDID or IMEI",
        "Cannot: Erase the whole device",
        "Can: Lock the device",
        "separate, separately encrypted volume",
    ):
        assert text in page, text
    assert 'id="action-wipe" disabled aria-describedby="reason-' in page
    assert 'id="action-lock"' in page and "alice@appleid.example.com" not in page


def test_device_enrolled_iphone_page(with_devices, client, auth):
    with with_devices.app_context():
        ident = device_id("bob@example.com")
    auth.login("bob@example.com")
    page = client.get(f"/devices/{ident}").get_data(as_text=True)
    assert "Can: See your personal apps" in page
    actions = page.split('id="device-actions"')[1].split("</ul>")[0]
    # The demo iPhone never sent an unlock token: Unlock is inactive, and says why.
    assert actions.count("disabled") == 1
    assert "has not given the portal its unlock token" in actions


def test_demo_devices_are_idempotent(with_devices, ctx):
    count = db.session.scalar(sa.select(sa.func.count(Device.id)))
    assert count == 2
    assert demo.seed("testing", devices=True) == []
    assert db.session.scalar(sa.select(sa.func.count(Device.id))) == 2
    alice, bob = (
        db.session.get(Device, device_id(e)) for e in ("alice@example.com", "bob@example.com")
    )
    alice, bob = db.session.merge(alice), db.session.merge(bob)
    assert alice.enrollment_id and alice.udid is None and alice.serial_number is None
    assert bob.udid and bob.serial_number and bob.enrollment_id is None
