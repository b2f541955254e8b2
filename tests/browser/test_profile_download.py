"""The enrollment profile and the device's web sign-in, in a real browser."""

from __future__ import annotations

import plistlib
import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from portal.enrollment.pki import unwrap_signed_data

pytestmark = pytest.mark.browser

CALLBACK = "apple-remotemanagement-user-login://authentication-results"
IPHONE = {
    "viewport": {"width": 375, "height": 740},
    "user_agent": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_2_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.2 Mobile/15E148 Safari/604.1"
    ),
}


def _no_horizontal_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width


def test_alice_downloads_her_ios_16_profile(page, live_server, sign_in, tmp_path):
    sign_in(page, "alice@example.com")
    with page.expect_download() as info:
        try:
            page.goto(live_server + "/enroll/profile?platform=ios&os=16.4")
        except PlaywrightError:
            pass  # navigating to a download aborts the navigation
    download = info.value
    assert download.suggested_filename == "Example-Corp-enrollment.mobileconfig"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    profile = plistlib.loads(unwrap_signed_data(path.read_bytes()))
    mdm = next(p for p in profile["PayloadContent"] if p["PayloadType"] == "com.apple.mdm")
    assert mdm["ManagedAppleID"] == "alice@appleid.example.com"
    assert "AccessRights" not in mdm


def test_ios_18_shows_where_to_sign_in_instead(page_factory, live_server, sign_in):
    page = page_factory(**IPHONE)
    sign_in(page, "alice@example.com")
    page.goto(live_server + "/enroll/profile?platform=ios&os=18.2")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in from Settings instead")
    expect(page.get_by_text("Open Settings › General › VPN & Device Management.")).to_be_visible()
    expect(page.get_by_text("Tap “Sign in to work or school account”.")).to_be_visible()
    _no_horizontal_scroll(page)


def test_the_devices_web_sign_in_ends_with_the_token(page_factory, live_server):
    page = page_factory(**IPHONE)
    redirects = []
    page.on("response", lambda r: redirects.append(r) if r.status == 308 else None)
    page.goto(live_server + "/mdm/enroll/auth?user-identifier=alice@appleid.example.com")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    _no_horizontal_scroll(page)
    page.locator("input[name=email]").fill("alice@example.com")
    page.locator("input[name=password]").fill("demo-password")
    # Chromium has no handler for the device's callback scheme: the request is aborted there,
    # where the iPhone's web authentication session takes the token.
    with page.expect_event("requestfailed", lambda r: r.url.startswith(CALLBACK)) as failed:
        page.locator("main form button[type=submit]").click()
    (redirect,) = redirects
    assert "/mdm/enroll/auth?user-identifier=" in redirect.url
    location = redirect.headers["location"]
    assert location == failed.value.url
    assert location.startswith(CALLBACK + "?access-token=")
    assert len(location) > len(CALLBACK) + 50


def test_signed_in_as_someone_else_offers_to_sign_out(page_factory, live_server, sign_in):
    page = page_factory(**IPHONE)
    sign_in(page, "bob@example.com")
    page.goto(live_server + "/mdm/enroll/auth?user-identifier=alice@appleid.example.com")
    expect(page.get_by_role("heading", level=1)).to_have_text("Another account is signed in")
    expect(page.get_by_text("alice@appleid.example.com", exact=False)).to_be_visible()
    _no_horizontal_scroll(page)
    page.locator("#wrong-account").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))


def test_an_account_without_user_enrollment_is_told_why(page_factory, live_server, sign_in):
    page = page_factory(**IPHONE)
    sign_in(page, "bob@example.com")
    page.goto(live_server + "/mdm/enroll/auth")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "This account cannot enroll a personal device"
    )
    expect(page.get_by_text("not User Enrollment", exact=False)).to_be_visible()
    _no_horizontal_scroll(page)
