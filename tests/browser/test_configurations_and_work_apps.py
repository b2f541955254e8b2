"""In a real browser: an admin builds a per-app VPN for "User Enrollment"; alice installs a
work app from her catalogue and watches it become installed; a required app installs itself."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal import demo
from portal.extensions import db, limiter
from portal.mdm import checkin, connect
from portal.models import (
    App,
    AppOffer,
    Device,
    DeviceStatus,
    EnrollmentMethod,
    EnrollmentType,
    Group,
    LicenceType,
    MDMCommand,
    Platform,
    User,
)
from tests.support.pki import signing_config

OUTLOOK = "com.microsoft.Office.Outlook"


@pytest.fixture(scope="session")
def signing_pki(tmp_path_factory) -> dict[str, str]:
    return signing_config(tmp_path_factory.mktemp("browser-configurations-pki"))


@pytest.fixture
def app(app_factory, signing_pki):
    app = app_factory(**signing_pki)
    with app.app_context():
        limiter.reset()
    return app


def _alice(app):
    return db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))


def _offer_outlook(app, *, required: bool) -> None:
    with app.app_context():
        outlook = App(
            adam_id="951937596",
            name="Microsoft Outlook",
            platform=Platform.IOS,
            licence_type=LicenceType.USER,
            total_licences=10,
            assigned_licences=0,
        )
        group = db.session.scalar(sa.select(Group).where(Group.name == "User Enrollment"))
        db.session.add_all([outlook, AppOffer(app=outlook, group=group, required=required)])
        db.session.commit()


def _device_says(app, device_id: int, **report) -> MDMCommand | None:
    """What alice's iPhone tells the command channel; returns the command it then gets."""
    with app.app_context():
        device = db.session.get(Device, device_id)
        report = {"EnrollmentID": device.enrollment_id, **report}
        command = connect.handle_report(device, report, datetime.now(UTC))
        result = (command.uuid, command.request_type, dict(command.payload)) if command else None
        db.session.commit()
        return result


def _install_to_the_end(app, device_id: int) -> None:
    """The device takes the InstallApplication, installs, and reports the app managed."""
    uuid, request_type, _payload = _device_says(app, device_id, Status="Idle")
    assert request_type == "InstallApplication"
    poll = _device_says(
        app, device_id, Status="Acknowledged", CommandUUID=uuid, Identifier=OUTLOOK,
        State="Installing",
    )  # fmt: skip
    assert poll[1] == "ManagedApplicationList"
    _device_says(
        app,
        device_id,
        Status="Acknowledged",
        CommandUUID=poll[0],
        ManagedApplicationList={OUTLOOK: {"Status": "Managed", "ManagementFlags": 1}},
    )


def test_an_admin_builds_a_per_app_vpn_for_user_enrollment(page, seeded, live_server, sign_in):
    with seeded.app_context():
        demo.seed("testing", devices=True)
        iphone = db.session.scalar(sa.select(Device.id).where(Device.user_id == _alice(seeded).id))
    sign_in(page, "adam@example.com")
    page.goto(f"{live_server}/admin/configurations")
    expect(page.locator("#configurations")).to_contain_text("Work passcode")
    page.get_by_role("link", name="Per-app VPN").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Per-app VPN")
    expect(page.locator("#user-enrollment-rules")).to_contain_text(
        "Restrictions – this is not a valid request type"
    )
    page.get_by_label("Name", exact=True).fill("Work VPN")
    page.get_by_label("VPN name").fill("Example VPN")
    page.get_by_label("Server").fill("vpn.example.com")
    page.get_by_label("Remote identifier").fill("vpn.example.com")
    page.get_by_label("Authentication").select_option("SharedSecret")
    page.get_by_label("Shared secret").fill("s3cret")
    page.get_by_label("Apps that use it (bundle IDs)").fill(OUTLOOK)
    page.get_by_label("Mail domains").fill("example.com")
    # Each field names the Apple key it sets; none of these is forbidden under User Enrollment.
    expect(page.locator("[data-key='IKEv2.RemoteAddress']")).to_contain_text("IKEv2.RemoteAddress")
    expect(page.locator(".ue-note")).to_have_count(0)
    page.get_by_label("User Enrollment", exact=True).check()
    page.get_by_label("Priority").fill("10")
    # Both systems: a Mac under User Enrollment would not apply it, so it is refused.
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#configuration-refused")).to_contain_text(
        "Mac, User Enrollment: Restrictions – this is not a valid request type"
    )
    expect(page.get_by_label("Name", exact=True)).to_have_value("Work VPN")
    page.get_by_label("Shared secret").fill("s3cret")  # secrets are never sent back
    page.get_by_label("Mac", exact=True).uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#alerts")).to_contain_text("“Work VPN” is saved (version 1)")
    expect(page.locator("#alerts")).to_contain_text("Commands queued for devices: 1")
    page.goto(f"{live_server}/admin/configurations")
    row = page.locator("tr[data-configuration='Work VPN']")
    expect(row).to_contain_text("User Enrollment")
    expect(row).to_contain_text("0 installed, 1 pending")
    page.goto(f"{live_server}/admin/devices/{iphone}")
    listed = page.locator(".device-configuration[data-configuration='Work VPN']")
    expect(listed).to_contain_text("Pending")
    expect(page.locator("#commands")).to_contain_text("InstallProfile")


def test_alice_installs_a_work_app_and_sees_it_installed(page, seeded, live_server, sign_in):
    with seeded.app_context():
        demo.seed("testing", devices=True)
        iphone = db.session.scalar(sa.select(Device.id).where(Device.user_id == _alice(seeded).id))
    _offer_outlook(seeded, required=False)
    sign_in(page, "alice@example.com")
    page.get_by_role("link", name="Work apps for your devices").click()
    app_row = page.locator(".work-app[data-app='Microsoft Outlook']")
    expect(app_row).to_contain_text("Alice's iPhone")
    app_row.get_by_role("button", name="Install Microsoft Outlook on Alice's iPhone").click()
    expect(page.locator("#work-apps")).to_contain_text(
        "Microsoft Outlook is being installed on Alice's iPhone."
    )
    expect(app_row.locator(".install-state")).to_have_text("Waiting for the device")
    _install_to_the_end(seeded, iphone)
    # The page follows by itself (htmx polling) until the device reports it installed.
    expect(app_row.locator(".install-state")).to_have_text("Installed", timeout=15_000)
    expect(app_row.get_by_role("button")).to_have_count(0)


def test_a_required_app_installs_itself(page, seeded, live_server, sign_in):
    _offer_outlook(seeded, required=True)
    with seeded.app_context():
        alice = _alice(seeded)
        phone = Device(
            user_id=alice.id,
            name="Alice's iPhone",
            platform=Platform.IOS,
            os_version="18.1",
            enrollment_type=EnrollmentType.USER,
            enrollment_method=EnrollmentMethod.ACCOUNT_DRIVEN,
            enrollment_id="UE-BROWSER-REQUIRED",
            status=DeviceStatus.AUTHENTICATED,
            topic="com.apple.mgmt.External.browser",
        )
        db.session.add(phone)
        db.session.commit()
        # Its first TokenUpdate completes the enrollment.
        checkin.token_update(
            phone,
            {
                "MessageType": "TokenUpdate",
                "Topic": phone.topic,
                "EnrollmentID": phone.enrollment_id,
                "Token": b"\x01" * 32,
                "PushMagic": "00000000-0000-0000-0000-00000000AA03",
            },
            datetime.now(UTC),
            secret_key="test-secret-key",
            ask_facts=False,
        )
        db.session.commit()
        phone_id = phone.id
    sign_in(page, "alice@example.com")
    page.goto(f"{live_server}/apps")
    app_row = page.locator(".work-app[data-app='Microsoft Outlook']")
    expect(app_row).to_contain_text("Required")
    # Nobody pressed Install: enrollment asked for it.
    expect(app_row.locator(".install-state")).to_have_text("Waiting for the device")
    expect(app_row.get_by_role("button")).to_have_count(0)
    _install_to_the_end(seeded, phone_id)
    expect(app_row.locator(".install-state")).to_have_text("Installed", timeout=15_000)


def test_the_wifi_form_says_what_user_enrollment_forbids(page, seeded, live_server, sign_in):
    sign_in(page, "adam@example.com")
    page.goto(f"{live_server}/admin/configurations/new/wifi")
    proxy = page.get_by_label("Proxy", exact=True)
    expect(proxy).to_have_accessible_description("User Enrollment forbids this on iPhone and iPad")
    page.get_by_label("Name", exact=True).fill("Office Wi-Fi")
    page.get_by_label("Network name (SSID)").fill("Example Corp")
    page.get_by_label("Password").fill("correct horse")
    proxy.select_option("Manual")
    page.get_by_label("Proxy server").fill("proxy.example.com")
    page.get_by_label("User Enrollment", exact=True).check()
    page.get_by_role("button", name="Save").click()
    refused = page.locator("#configuration-refused")
    expect(refused).to_contain_text("iPhone and iPad, User Enrollment")
    expect(refused).to_contain_text("ProxyType")
    proxy.select_option("None")
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#alerts")).to_contain_text("“Office Wi-Fi” is saved (version 1)")
