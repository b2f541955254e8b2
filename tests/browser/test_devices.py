"""My devices in a real browser: Apple's rules on the buttons, a wipe confirmed and answered."""

from __future__ import annotations

import plistlib

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal import demo
from portal.apple import secrets
from portal.enrollment.lifecycle import hash_secret
from portal.extensions import db
from portal.models import Device, MDMCommand, User, utcnow

SECRET = "bobs-iphone-checkin-secret"  # noqa: S105


def _seed_devices(app) -> dict[str, int]:
    with app.app_context():
        demo.seed("testing", devices=True)
        ids = {}
        for email in ("alice@example.com", "bob@example.com"):
            user = db.session.scalar(sa.select(User).where(User.email == email))
            device = db.session.scalar(sa.select(Device).where(Device.user_id == user.id))
            ids[email] = device.id
            if email == "bob@example.com":
                device.checkin_secret_hash = hash_secret(SECRET)
                # As a Device-Enrolled iPhone's TokenUpdate leaves it: Unlock can be sent.
                device.unlock_token = secrets.encrypt(app.config["SECRET_KEY"], b"keybag")
        db.session.commit()
    return ids


def test_alices_user_enrolled_iphone_shows_what_apple_forbids(page, seeded, live_server, sign_in):
    ids = _seed_devices(seeded)
    sign_in(page, "alice@example.com")
    page.get_by_role("link", name="My devices").click()
    page.get_by_role("link", name="Alice's iPhone").click()
    assert page.url.endswith(f"/devices/{ids['alice@example.com']}")
    wipe = page.locator("#action-wipe")
    expect(wipe).to_be_disabled()
    expect(wipe).to_have_accessible_description(
        "Apple does not let a company erase a device enrolled with User Enrollment: "
        "your personal data stays yours."
    )
    expect(page.locator("#action-unlock")).to_be_disabled()
    expect(page.locator("#action-unlock")).to_have_accessible_description(
        "Apple does not let a company clear the passcode of a device enrolled with User Enrollment."
    )
    expect(page.locator("#action-lock")).to_be_enabled()
    expect(page.locator("#capabilities")).to_contain_text("Cannot: See your personal apps")
    page.locator("#action-remove_work_data").click()
    expect(page.locator("#confirm-panel")).to_contain_text("Nothing personal is touched")


def test_bob_wipes_his_device_enrolled_iphone_and_sees_the_answer(
    page, seeded, live_server, sign_in
):
    ids = _seed_devices(seeded)
    bobs = ids["bob@example.com"]
    sign_in(page, "bob@example.com")
    page.goto(f"{live_server}/devices/{bobs}")
    for action in ("wipe", "unlock", "lock", "remove_work_data"):
        expect(page.locator(f"#action-{action}")).to_be_enabled()
    page.evaluate("window.portalTestMark = 'kept'")
    page.locator("#action-wipe").click()
    panel = page.locator("#confirm-panel")
    expect(panel).to_contain_text("factory settings")
    panel.get_by_role("button", name="Yes, wipe").click()
    commands = page.locator("#commands")
    # In words: never the command's Apple name, never "queued".
    expect(commands).to_contain_text("Wipe")
    expect(commands).not_to_contain_text("EraseDevice")
    expect(page.locator("main")).not_to_contain_text("queued")
    expect(commands).to_contain_text("Waiting for the device")

    with seeded.app_context():
        command = db.session.scalar(sa.select(MDMCommand).where(MDMCommand.device_id == bobs))
        uuid, udid = command.uuid, command.device.udid
        assert command.request_type == "EraseDevice"
    device = seeded.test_client()
    headers = {"Content-Type": "application/x-apple-aspen-mdm"}
    idle = device.put(
        "/mdm/connect",
        query_string={"e": SECRET},
        data=plistlib.dumps({"Status": "Idle", "UDID": udid}),
        headers=headers,
    )
    assert idle.status_code == 200, idle.get_data(as_text=True)
    sent = plistlib.loads(idle.data)
    assert sent["CommandUUID"] == uuid and sent["Command"]["RequestType"] == "EraseDevice"
    answer = {"Status": "Acknowledged", "UDID": udid, "CommandUUID": uuid}
    result = device.put(
        "/mdm/connect", query_string={"e": SECRET}, data=plistlib.dumps(answer), headers=headers
    )
    assert result.status_code == 200
    expect(commands.locator("tr.command-row").first).to_contain_text("Acknowledged", timeout=8000)
    assert page.evaluate("window.portalTestMark") == "kept"  # no reload


def test_admin_reads_logs_and_filters_them(page, seeded, live_server, sign_in):
    ids = _seed_devices(seeded)
    sign_in(page, "adam@example.com")
    page.get_by_role("link", name="Devices", exact=True).click()
    # Wait for the page to load: a change made before htmx has started would go unheard.
    page.wait_for_url(live_server + "/admin/devices")
    page.get_by_label("Enrollment type").select_option("user")
    rows = page.locator("#device-rows")
    expect(rows).not_to_contain_text("Bob's iPhone")
    rows.get_by_role("link", name="Alice's iPhone").click()
    expect(page.locator("#admin-device-facts")).to_contain_text("al***@appleid.example.com")
    assert page.url.endswith(f"/admin/devices/{ids['alice@example.com']}")
    # Log actions in words; the filter keeps the code.
    page.get_by_label("Action", exact=True).select_option(label="Device signed in (Authenticate)")
    page.locator("#device-logs").get_by_role("button", name="Filter").click()
    expect(page.locator("#device-logs")).to_contain_text("1 entry")
    page.locator("#device-logs tr.log-row").get_by_role("link").click()
    expect(page.locator("#log-entry")).to_contain_text("DEMO-UE-")


def test_the_device_page_fits_a_phone(page_factory, seeded, live_server, sign_in):
    ids = _seed_devices(seeded)
    phone = page_factory(viewport={"width": 375, "height": 812})
    sign_in(phone, "alice@example.com")
    phone.goto(f"{live_server}/devices/{ids['alice@example.com']}")
    expect(phone.locator("#capabilities")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    box = phone.locator("#action-lock").bounding_box()
    assert box["height"] >= 44


def _report(app, device_id: int) -> None:
    """What a User-Enrolled iPhone answered to the facts commands."""
    with app.app_context():
        device = db.session.get(Device, device_id)
        device.model, device.os_version = "iPhone16,1", "18.2.1"
        device.facts = {
            "device_information": {
                "OSVersion": "18.2.1",
                "BuildVersion": "22C161",
                "ProductName": "iPhone16,1",
                "DeviceCapacity": 128.0,
                "AvailableDeviceCapacity": 41.6,
                "BatteryLevel": 0.82,
            },
            "profiles": [
                {"identifier": "com.example.enrollment", "name": "Example Corp – work data",
                 "organization": "Example Corp"},
                {"identifier": "com.example.passcode", "name": "Example Corp – passcode policy",
                 "organization": "Example Corp"},
            ],
            "apps": [{"name": "Microsoft Outlook", "identifier": "com.microsoft.Office.Outlook",
                      "version": "4.2450.0"}],
        }  # fmt: skip
        device.facts_updated_at = utcnow()
        db.session.commit()


@pytest.mark.parametrize(
    ("locale", "width", "title", "storage"),
    [
        ("en-US", 1280, "What the device reports", "42 GB free of 128 GB"),
        ("fr-FR", 375, "Ce que l’appareil indique", "42 Go libres sur 128 Go"),
    ],
)
def test_the_device_page_shows_what_the_device_reports(
    page_factory, seeded, live_server, sign_in, tmp_path, locale, width, title, storage
):
    ids = _seed_devices(seeded)
    _report(seeded, ids["alice@example.com"])
    page = page_factory(locale=locale, viewport={"width": width, "height": 900})
    sign_in(page, "alice@example.com")
    page.goto(f"{live_server}/devices/{ids['alice@example.com']}")
    card = page.locator("#device-reported")
    expect(card.get_by_role("heading", level=2)).to_have_text(title)
    expect(page.locator("#reported-model")).to_have_text("iPhone 15 Pro (iPhone16,1)")
    expect(page.locator("#reported-os")).to_contain_text("18.2.1")
    expect(card).to_contain_text(storage)
    expect(page.locator("#reported-profiles li")).to_have_count(2)
    expect(page.locator("#reported-apps")).to_contain_text("Microsoft Outlook")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    card.screenshot(path=str(tmp_path / f"reported-{locale}-{width}.png"))
