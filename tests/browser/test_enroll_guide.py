"""The enrollment guide: device choice, decision, steps and the live status, in Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import csrf_token
from tests.mdm.support import DeviceClient, load, mdm_payload, profile_of, secret_of

pytestmark = pytest.mark.browser

IPHONE_16 = {
    "viewport": {"width": 375, "height": 740},
    "is_mobile": True,
    "has_touch": True,
    "user_agent": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_7 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1"
    ),
}


def test_iphone_is_preselected_from_the_browser(page_factory, live_server, sign_in):
    page = page_factory(**IPHONE_16)
    sign_in(page, "alice@example.com")
    page.goto(live_server + "/enroll")
    # Recognised: a compact "iPhone, iOS 15 to 17 · change", one primary button, no QR code.
    expect(page.locator(".device-current")).to_have_text("iPhone, iOS 15 to 17")
    expect(page.get_by_role("radio", name="iPhone")).to_be_hidden()
    expect(page.locator(".button.primary")).to_have_count(2)  # and "Send me my link", below
    expect(page.get_by_role("link", name="Start on this iPhone")).to_be_visible()
    expect(page.locator("#qr-card")).to_have_count(0)
    expect(page.locator("#decision-title")).to_have_text("User Enrollment, account-driven")
    expect(page.get_by_text("Open Settings › General › VPN & Device Management.")).to_be_visible()
    # What the company can see comes before step 1.
    can = page.locator("#can-cannot").bounding_box()["y"]
    assert can < page.locator("#steps-title").bounding_box()["y"]
    expect(page.locator("#can-cannot")).to_contain_text("Cannot: See your personal apps")
    page.locator(".device-summary summary").click()
    expect(page.get_by_role("radio", name="iPhone")).to_be_checked()
    expect(page.get_by_label("System version")).to_have_value("15")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_on_the_iphone_the_current_step_is_not_to_open_the_link_in_safari(
    page_factory, live_server, sign_in
):
    page = page_factory(**IPHONE_16)
    sign_in(page, "bob@example.com")
    page.goto(live_server + "/enroll")
    # Bob is reading this in Safari on the iPhone: that step is done, the next one is current.
    expect(page.locator("li.step").first).to_have_class(re.compile("step-done"))
    current = page.locator("li[aria-current=step]")
    expect(current).to_contain_text("Download the enrollment profile and allow it.")
    expect(page.get_by_role("link", name="Download the profile")).to_be_visible()


def test_choosing_another_device_swaps_the_guide(page, live_server, sign_in):
    sign_in(page, "bob@example.com")
    page.goto(live_server + "/enroll")
    page.get_by_role("radio", name="Mac").check()
    page.get_by_label("System version").select_option("10.15")
    expect(page.locator("#decision-title")).to_have_text("Device Enrollment, profile-based")
    expect(page.locator(".reasons")).to_contain_text("not User Enrollment")
    expect(page.get_by_role("link", name="Download the enrollment profile")).to_be_visible()
    expect(page).to_have_url(re.compile(r"platform=macos"))


def test_live_status_moves_forward_as_the_device_checks_in(page, live_server, sign_in, seeded):
    sign_in(page, "alice@example.com")
    page.goto(live_server + "/enroll?platform=ipados&os=13")
    expect(page.locator("#decision-title")).to_have_text("User Enrollment, profile-based")
    current = page.locator("li[aria-current=step]")
    expect(current).to_contain_text("Open the link from your invitation e-mail in Safari")
    expect(page.get_by_text("Not enrolled yet")).to_be_visible()

    # The iPad downloads the profile (its own browser session), then checks in.
    ipad = seeded.test_client()
    token = csrf_token(ipad)
    ipad.post(
        "/login",
        data={"email": "alice@example.com", "password": "demo-password", "csrf_token": token},
    )
    response = ipad.get("/enroll/profile", query_string={"platform": "ipados", "os": "14.0"})
    assert response.status_code == 200
    profile = profile_of(response)
    expect(current).to_contain_text("Profile Downloaded")
    expect(page.get_by_text("In progress")).to_be_visible()

    device = DeviceClient(seeded.test_client(), secret=secret_of(profile))
    topic = mdm_payload(profile)["Topic"]
    assert device.checkin(load("ios-ue-authenticate.plist", Topic=topic)).status_code == 200
    assert device.checkin(load("ios-ue-tokenupdate.plist", Topic=topic)).status_code == 200
    expect(page.get_by_text("Your iPad is enrolled.")).to_be_visible()
    expect(page.locator("li.step-done")).to_have_count(page.locator("li.step").count())
    # Enrolled: the status stops polling.
    expect(page.locator("#enroll-status")).not_to_have_attribute("hx-trigger", "every 3s")


def test_account_driven_iphone_on_ios_18_turns_the_page_enrolled(
    page, live_server, sign_in, seeded
):
    import plistlib
    from urllib.parse import parse_qs, urlsplit

    sign_in(page, "alice@example.com")
    page.goto(live_server + "/enroll?platform=ios&os=18")
    expect(page.locator("#decision-title")).to_have_text("User Enrollment, account-driven")
    expect(page.get_by_text("Not enrolled yet")).to_be_visible()

    iphone = seeded.test_client()
    found = iphone.get(
        "/.well-known/com.apple.remotemanagement",
        query_string={"user-identifier": "alice@example.com", "model-family": "iPhone"},
    )
    assert found.get_json()["Servers"][0]["Version"] == "mdm-byod"
    info = plistlib.dumps({"PRODUCT": "iPhone17,1", "VERSION": "22B83", "OS_VERSION": "18.1"})
    challenge = iphone.post("/mdm/enroll", data=info, content_type="application/xml")
    assert challenge.status_code == 401
    assert challenge.headers["WWW-Authenticate"].startswith('Bearer method="apple-as-web"')

    # The device's web view signs in through the portal's sign-in page.
    agent = {"User-Agent": IPHONE_16["user_agent"].replace("16_7", "18_1")}
    auth_url = "/mdm/enroll/auth?user-identifier=alice@example.com"
    login = iphone.get(auth_url, headers=agent).headers["Location"]
    next_value = parse_qs(urlsplit(login).query)["next"][0]
    back = iphone.post(
        "/login",
        data={
            "email": "alice@example.com",
            "password": "demo-password",
            "next": next_value,
            "csrf_token": csrf_token(iphone, login),
        },
    ).headers["Location"]
    done = iphone.get(back, headers=agent)
    assert done.status_code == 308
    token = done.headers["Location"].split("access-token=", 1)[1]

    response = iphone.post(
        "/mdm/enroll",
        data=info,
        content_type="application/xml",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    topic = mdm_payload(profile_of(response))["Topic"]
    expect(page.get_by_text("In progress")).to_be_visible()

    device = DeviceClient(seeded.test_client(), bearer=token)
    assert device.checkin(load("ios-ue-authenticate.plist", Topic=topic)).status_code == 200
    assert device.checkin(load("ios-ue-tokenupdate.plist", Topic=topic)).status_code == 200
    expect(page.get_by_text("Your iPhone is enrolled.")).to_be_visible()


def test_live_status_polls_slowly_while_the_tab_is_hidden(page, live_server, sign_in):
    sign_in(page, "alice@example.com")
    polls = []
    page.on("request", lambda r: polls.append(r.url) if "/enroll/status" in r.url else None)
    page.goto(live_server + "/enroll?platform=ios&os=18")
    status = page.locator("#enroll-status")
    expect(status).to_have_attribute("hx-trigger", "every 3s, poll-now")
    page.wait_for_timeout(3500)
    assert polls, "the status was not polled while the tab was visible"

    # The tab goes to the background: one poll every 30 s.
    page.evaluate(
        "Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    expect(status).to_have_attribute("hx-trigger", "every 30s")
    page.wait_for_timeout(500)
    before = len(polls)
    page.wait_for_timeout(4000)
    assert len(polls) == before, "polled every few seconds while hidden"

    # Back in view: a poll at once, then the usual pace.
    page.evaluate(
        "Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    expect(status).to_have_attribute("hx-trigger", "every 3s, poll-now")
    page.wait_for_timeout(1500)
    assert len(polls) > before
