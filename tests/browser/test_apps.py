"""The app catalogue, installing an app with its licence, the licence-usage tab and a
licence failure in the notifications, in a real browser."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal.apple import notifications
from portal.extensions import db
from portal.models import AdminNotification
from tests.apps.conftest import enrolled

pytestmark = pytest.mark.browser


@pytest.fixture
def alices_phone(seeded):
    with seeded.app_context():
        device = enrolled("alice@example.com")
        return device.id, device.user_id


def test_an_admin_adds_an_app_installs_it_and_sees_the_licence(
    alices_phone, page, live_server, sign_in
):
    device_id, alice_id = alices_phone
    sign_in(page, "adam@example.com")
    page.goto(live_server + "/admin/apps")
    expect(page.get_by_text("No apps yet.")).to_be_visible()
    page.get_by_label("Apple ID of the app").fill(
        "https://apps.apple.com/app/microsoft-outlook/id951937596"
    )
    page.get_by_label("Name").fill("Microsoft Outlook")
    page.get_by_label("Licence type").select_option("user")
    page.get_by_label("Licences bought").fill("1")
    page.get_by_role("button", name="Add the app").click()
    expect(page.get_by_text("Microsoft Outlook is in the catalogue.")).to_be_visible()
    expect(page.locator("#app-counts")).to_contain_text("0 of 1 in use")

    page.goto(f"{live_server}/admin/devices/{device_id}")
    page.get_by_label("Install an app").select_option(
        label="Microsoft Outlook — User-based (Managed Apple ID), 1 free"
    )
    page.get_by_role("button", name="Install", exact=True).click()
    expect(
        page.get_by_text("Microsoft Outlook is being installed, with a user-based licence.")
    ).to_be_visible()
    expect(page.locator("#device-licences")).to_contain_text("Microsoft Outlook")

    page.goto(f"{live_server}/admin/users/{alice_id}")
    row = page.locator("#licence-usage tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator(".licence-enrollment")).to_have_text("User Enrollment")

    page.goto(live_server + "/admin/apps")
    expect(page.locator('tr[data-adam-id="951937596"]')).to_contain_text("None left")


def test_no_licence_left_reaches_the_bell_and_is_dismissed(
    alices_phone, page, live_server, sign_in, seeded
):
    device_id, _alice = alices_phone
    with seeded.app_context():
        before = notifications.count()  # the Apple setup's own alerts
    sign_in(page, "adam@example.com")
    page.goto(live_server + "/admin/apps")
    page.get_by_label("Apple ID of the app").fill("1113153706")
    page.get_by_label("Name").fill("Microsoft Teams")
    page.get_by_label("Licences bought").fill("0")
    page.get_by_role("button", name="Add the app").click()
    page.goto(f"{live_server}/admin/devices/{device_id}")
    page.get_by_role("button", name="Install", exact=True).click()
    expect(page.get_by_text("No licence left for Microsoft Teams")).to_be_visible()
    expect(page.locator("#notification-bell .badge")).to_have_text(str(before + 1))
    page.locator("#notification-bell").click()
    item = page.locator('[data-code="licence_none_left"]')
    expect(item).to_contain_text("Alice Martin")
    item.get_by_role("button", name="Dismiss").click()
    expect(page.get_by_text("The notification is dismissed.")).to_be_visible()
    expect(page.locator('[data-code="licence_none_left"]')).to_have_count(0)
    with seeded.app_context():
        stored = db.session.scalar(sa.select(AdminNotification))
        assert (stored.resolution, stored.resolved_by.email) == ("dismissed", "adam@example.com")
