"""The admin applies a passcode policy from the device page, in a real browser."""

from __future__ import annotations

import plistlib

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal import demo
from portal.enrollment import pki
from portal.extensions import db, limiter
from portal.mdm import plist
from portal.models import (
    Device,
    DeviceStatus,
    EnrollmentMethod,
    EnrollmentType,
    MDMCommand,
    Platform,
    User,
)


@pytest.fixture(scope="session")
def signing_pki(tmp_path_factory) -> dict[str, str]:
    directory = tmp_path_factory.mktemp("browser-pki")
    ca = pki.load_or_create_ca(directory, "Test MDM CA")
    pki.load_or_create_signing_identity(directory, ca, "Test profile signing")
    return {
        "MDM_CA_CERT": str(directory / pki.CA_CERT_FILE),
        "MDM_CA_KEY": str(directory / pki.CA_KEY_FILE),
        "PROFILE_SIGNING_CERT": str(directory / pki.SIGNING_CERT_FILE),
        "PROFILE_SIGNING_KEY": str(directory / pki.SIGNING_KEY_FILE),
    }


@pytest.fixture
def app(app_factory, signing_pki):
    app = app_factory(**signing_pki)
    with app.app_context():
        limiter.reset()
    return app


def _alices_devices(app) -> tuple[int, int]:
    """Alice's User-Enrolled iPhone (demo) and a Mac under User Enrollment."""
    with app.app_context():
        demo.seed("testing", devices=True)
        alice = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
        iphone = db.session.scalar(sa.select(Device.id).where(Device.user_id == alice.id))
        mac = Device(
            user_id=alice.id,
            name="Alice's Mac",
            platform=Platform.MACOS,
            enrollment_type=EnrollmentType.USER,
            enrollment_method=EnrollmentMethod.ACCOUNT_DRIVEN,
            enrollment_id="MAC-UE-BROWSER",
            status=DeviceStatus.ENROLLED,
        )
        db.session.add(mac)
        db.session.commit()
        return iphone, mac.id


def test_admin_applies_a_passcode_policy_from_the_device_page(page, seeded, live_server, sign_in):
    iphone, mac = _alices_devices(seeded)
    sign_in(page, "adam@example.com")
    page.goto(f"{live_server}/admin/devices/{iphone}")
    section = page.locator("#configurations")
    expect(section).to_contain_text("Apply a passcode policy")
    expect(section.locator("#passcode-note")).to_contain_text("at least 6 characters")
    strict = section.get_by_label("Strict passcode")
    expect(strict).to_have_accessible_description(
        "As the work passcode, with at least 8 characters including letters, and the screen "
        "locking after 5 minutes without use."
    )
    strict.check()
    section.get_by_role("button", name="Apply").click()
    expect(page.locator("#alerts")).to_contain_text("Passcode policy “Strict passcode” sent")
    assert page.url.endswith(f"/admin/devices/{iphone}#configurations")
    expect(page.locator("#passcode-last")).to_contain_text("Strict passcode")
    expect(page.locator("#commands")).to_contain_text("InstallProfile")
    expect(section.get_by_label("Strict passcode")).to_be_checked()

    with seeded.app_context():
        command = db.session.scalar(sa.select(MDMCommand).where(MDMCommand.device_id == iphone))
        assert command.request_type == "InstallProfile"
        signed = plist.from_json(command.payload)["Payload"]
    # The signed DER carries the profile as is; openssl's check is in tests/devices.
    start, end = signed.index(b"<?xml"), signed.index(b"</plist>") + len(b"</plist>")
    profile = plistlib.loads(signed[start:end])
    (payload,) = profile["PayloadContent"]
    assert payload["PayloadType"] == "com.apple.mobiledevice.passwordpolicy"
    # User Enrollment: the iPhone ignores every setting (Apple's schema), so none is sent.
    assert "minLength" not in payload and "requireAlphanumeric" not in payload

    page.goto(f"{live_server}/admin/devices/{mac}")
    expect(page.locator("#passcode-unavailable")).to_contain_text(
        "Restrictions – this is not a valid request type"
    )
    expect(page.locator("#apply-passcode")).to_have_count(0)
