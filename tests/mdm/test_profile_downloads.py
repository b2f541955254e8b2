"""Downloading the enrollment profile again: the same secret while it is pending, a limit
per person."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from portal import demo
from portal.extensions import db
from portal.models import Device, DeviceLogEntry, DeviceStatus
from tests.conftest import Auth

from .support import BASE, DeviceClient, load, mdm_payload, only_device, secret_of


def test_a_second_download_keeps_the_first_profile_working(seeded, download, device_for):
    _response, first = download("alice@example.com", "ios", "16.4")
    _response, second = download("alice@example.com", "ios", "16.4")
    assert secret_of(first) == secret_of(second)
    with seeded.app_context():
        device = only_device("alice@example.com")
        assert device.status is DeviceStatus.PROFILE_DOWNLOADED
        # Sealed, not in clear.
        assert device.checkin_secret_sealed and secret_of(first) not in device.checkin_secret_sealed
        actions = db.session.scalars(sa.select(DeviceLogEntry.action)).all()
        assert actions.count("profile.downloaded") == 1
    # The device installs the first one: it checks in.
    device = DeviceClient(seeded.test_client(), secret=secret_of(first))
    topic = mdm_payload(first)["Topic"]
    assert device.checkin(load("ios-ue-authenticate.plist", Topic=topic)).status_code == 200
    with seeded.app_context():
        # Checked in: the sealed secret is not kept any longer.
        device_row = only_device("alice@example.com")
        assert device_row.checkin_secret_sealed is None
        assert device_row.checkin_secret_issued_at is None


def test_after_the_reuse_window_a_download_makes_a_new_secret(seeded, download):
    _response, first = download("alice@example.com", "ios", "16.4")
    with seeded.app_context():
        device = only_device("alice@example.com")
        device.checkin_secret_issued_at -= timedelta(hours=25)
        db.session.commit()
    _response, second = download("alice@example.com", "ios", "16.4")
    assert secret_of(first) != secret_of(second)


def test_another_platform_gets_its_own_device_and_secret(seeded, download):
    _response, phone = download("alice@example.com", "ios", "16.4")
    _response, mac = download("alice@example.com", "macos", "14.5")
    assert secret_of(phone) != secret_of(mac)
    with seeded.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Device)) == 2


def test_downloads_are_limited_per_person(app_factory, mdm_pki):
    app = app_factory(PUBLIC_BASE_URL=BASE, PROFILE_DOWNLOAD_LIMIT="3 per hour", **mdm_pki)
    with app.app_context():
        demo.seed("testing")
    client = app.test_client()
    Auth(client).login("alice@example.com")
    query = {"platform": "ios", "os": "16.4"}
    statuses = [client.get("/enroll/profile", query_string=query).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    page = client.get("/enroll/profile", query_string=query)
    assert page.status_code == 429 and "Too many attempts" in page.get_data(as_text=True)
    # Another person has their own budget.
    other = app.test_client()
    Auth(other).login("bob@example.com")
    assert other.get("/enroll/profile", query_string=query).status_code == 200
