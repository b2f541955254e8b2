"""The employee's journey in Chromium, phone-sized and laptop-sized: honest invitations,
"This is my personal phone", every device (a new one, a listed one again, the limit),
unfinished enrollments, the home's next action, branding and support, the phone header."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal import demo
from portal.extensions import db
from portal.invitations import service as invitations
from portal.models import (
    AdminNotification,
    AuditEvent,
    Device,
    DeviceStatus,
    EnrollmentMethod,
    EnrollmentType,
    InvitationSender,
    Organization,
    OutboxMessage,
    User,
    utcnow,
)

pytestmark = pytest.mark.browser

IPHONE = {
    "viewport": {"width": 375, "height": 812},
    "is_mobile": True,
    "has_touch": True,
    "user_agent": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
    ),
}
LAPTOP = {"viewport": {"width": 1366, "height": 900}}


def _user(email: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == email))


def _invite(app, email: str) -> tuple[str, OutboxMessage]:
    with app.app_context():
        invitation, token = invitations.invite(
            _user(email), actor=None, sent_by=InvitationSender.SYSTEM
        )
        db.session.commit()
        message = db.session.get(OutboxMessage, invitation.outbox_message_id)
        db.session.expunge(message)
        return token, message


def _add_device(app, email: str, **values) -> int:
    with app.app_context():
        device = Device(
            user_id=_user(email).id,
            platform=values.pop("platform", "ios"),
            enrollment_method=values.pop("enrollment_method", EnrollmentMethod.PROFILE),
            created_at=utcnow(),
            **values,
        )
        db.session.add(device)
        db.session.commit()
        return device.id


def _sign_in_through(page, live_server, token: str, email: str) -> None:
    page.goto(f"{live_server}/go/{token}")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill("demo-password")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{live_server}/enroll")


def test_invitations_are_written_from_each_persons_enrollment(page_factory, live_server, seeded):
    alice_token, alice_mail = _invite(seeded, "alice@example.com")
    bob_token, bob_mail = _invite(seeded, "bob@example.com")

    # Alice gets User Enrollment: the e-mail promises what stays private.
    assert "with User Enrollment" in alice_mail.body_text
    assert "cannot see or erase anything personal" in alice_mail.body_text
    assert "erase it" not in alice_mail.body_text
    # Bob gets Device Enrollment: no promise of privacy; what the company can do, and the way out.
    assert "with Device Enrollment" in bob_mail.body_text
    assert "stays private" not in bob_mail.body_text
    assert "cannot see" not in bob_mail.body_text
    assert "and erase it" in bob_mail.body_text
    assert "This is my personal iPhone" in bob_mail.body_text
    assert "This is my personal iPhone" in bob_mail.body_html

    # Each link opens the page that says the same thing, on the phone.
    alice = page_factory(**IPHONE)
    _sign_in_through(alice, live_server, alice_token, "alice@example.com")
    expect(alice.locator("#decision-sentence")).to_contain_text("will get User Enrollment")
    expect(alice.locator("#decision-sentence")).to_contain_text("What is personal stays private")
    expect(alice.locator("#personal-device")).to_have_count(0)

    bob = page_factory(**LAPTOP)
    _sign_in_through(bob, live_server, bob_token, "bob@example.com")
    expect(bob.locator("#decision-sentence")).to_contain_text("will get Device Enrollment")
    expect(bob.locator("#decision-sentence")).to_contain_text("including erasing it")
    expect(bob.get_by_role("button", name="This is my personal iPhone")).to_be_visible()


def test_this_is_my_personal_phone_reaches_it(page_factory, live_server, seeded, sign_in):
    bob = page_factory(**IPHONE)
    sign_in(bob, "bob@example.com")
    bob.goto(live_server + "/enroll")
    bob.get_by_label("A note for IT (optional)").fill("My own iPhone, bought last year.")
    bob.get_by_role("button", name="This is my personal iPhone").click()
    expect(bob.locator("#alerts")).to_contain_text("IT has your request")
    expect(bob.locator("#alerts")).to_contain_text("bob@example.com")
    expect(bob.locator("#personal-device")).to_contain_text("You asked IT on")
    # The support contact is right there (none is set: the helpdesk).
    expect(bob.locator("#personal-device .support-contact")).to_be_visible()

    with seeded.app_context():
        notification = db.session.scalar(
            sa.select(AdminNotification).where(AdminNotification.code == "personal_device_request")
        )
        assert notification.details["note"] == "My own iPhone, bought last year."
        assert db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(
                AuditEvent.action == "enrollment.personal_device_requested"
            )
        )

    admin = page_factory(**LAPTOP)
    sign_in(admin, "adam@example.com")
    expect(admin.locator("#needs-you")).to_contain_text("Bob Durand")
    expect(admin.locator("#needs-you")).to_contain_text("says their iPhone is personal")
    admin.get_by_role("link", name=re.compile(r"^Notifications")).click()
    expect(admin.locator("[data-code=personal_device_request]")).to_contain_text(
        "bob@example.com says their iPhone is a personal device"
    )
    admin.locator("[data-code=personal_device_request]").get_by_role("link").click()
    expect(admin.get_by_role("heading", level=1)).to_contain_text("Bob Durand")
    admin.goto(live_server + "/admin/audit")
    admin.get_by_label("Action").select_option(
        label="Asked for User Enrollment of a personal device"
    )
    rows = admin.locator("#audit-rows tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link", name="Bob Durand")).to_be_visible()
    expect(admin.locator("#audit-rows")).not_to_contain_text("user #")


def test_a_second_iphone_and_a_listed_one_again_and_the_preview_shows_both(
    page_factory, live_server, seeded, sign_in
):
    # Alice's first iPhone was enrolled with Device Enrollment before her group changed.
    listed = _add_device(
        seeded,
        "alice@example.com",
        name="Old iPhone",
        enrollment_type=EnrollmentType.DEVICE,
        status=DeviceStatus.ENROLLED,
        enrolled_at=utcnow(),
    )
    alice = page_factory(**IPHONE)
    sign_in(alice, "alice@example.com")
    alice.goto(live_server + "/enroll")
    # Not "your iPhone is enrolled": a second iPhone can be enrolled.
    expect(alice.get_by_text("Not enrolled yet")).to_be_visible()
    new = alice.get_by_role("radio", name="A new iPhone, not in My devices")
    expect(new).to_be_checked()
    expect(alice.locator("#decision-sentence")).to_contain_text("will get User Enrollment")
    expect(alice.get_by_role("link", name="Start on this iPhone")).to_be_visible()

    alice.get_by_role("radio", name="Enrolling again: Old iPhone").check()
    expect(alice.locator("#decision-sentence")).to_contain_text("will get Device Enrollment")
    expect(alice.locator(".reasons")).to_contain_text("keeps the type of its first enrollment")
    expect(alice).to_have_url(re.compile(rf"reenroll={listed}"))

    helen = page_factory(**LAPTOP)
    sign_in(helen, "helen@example.com")
    with seeded.app_context():
        alice_id = _user("alice@example.com").id
    helen.goto(f"{live_server}/admin/users/{alice_id}?platform=ios&os_version=18.1&channel=web")
    expect(helen.locator("#decision-result")).to_contain_text("User Enrollment")
    again = helen.locator(f"#reenroll-decision-{listed}")
    expect(again).to_contain_text("Enrolling again: Old iPhone")
    expect(again).to_contain_text("Device Enrollment")
    # Reasons in words, never their codes.
    expect(helen.locator("#decision-preview")).not_to_contain_text("reenrollment_keeps_type")


def test_the_device_limit_says_why_and_still_lets_a_listed_device_enroll_again(
    page_factory, live_server, seeded, sign_in
):
    seeded.config["MAX_DEVICES_PER_USER"] = 1
    listed = _add_device(
        seeded,
        "alice@example.com",
        name="Alice's iPhone",
        enrollment_type=EnrollmentType.USER,
        status=DeviceStatus.ENROLLED,
        enrolled_at=utcnow(),
    )
    alice = page_factory(**LAPTOP)
    sign_in(alice, "alice@example.com")
    alice.goto(live_server + "/enroll?platform=ios&os=13")
    expect(alice.locator("#device-limit")).to_contain_text(
        "You already have 1 enrolled devices of this kind, the most your company allows"
    )
    expect(alice.locator("#steps-title")).to_have_count(0)
    # A forged download of a profile for a new device is refused with the reason.
    response = alice.request.get(live_server + "/enroll/profile?platform=ios&os=14.0")
    assert response.status == 409
    assert "the most your company allows" in response.text()

    alice.get_by_role("radio", name="Enrolling again: Alice's iPhone").check()
    expect(alice.locator("#device-limit")).to_have_count(0)
    download = alice.get_by_role("link", name="Download the enrollment profile")
    expect(download).to_have_attribute("href", re.compile(rf"reenroll={listed}"))
    response = alice.request.get(live_server + download.get_attribute("href"))
    assert response.status == 200
    assert response.headers["content-type"] == "application/x-apple-aspen-config"


def test_an_unfinished_enrollment_can_be_continued_or_cancelled(
    page_factory, live_server, seeded, sign_in
):
    pending = _add_device(
        seeded,
        "alice@example.com",
        platform="ipados",
        os_version="17.5",
        enrollment_type=EnrollmentType.USER,
        status=DeviceStatus.PROFILE_DOWNLOADED,
    )
    alice = page_factory(**IPHONE)
    sign_in(alice, "alice@example.com")
    # The home's one next action is to continue.
    expect(alice.locator("#next-action")).to_contain_text("did not finish")
    alice.goto(live_server + "/devices")
    item = alice.locator(f"#unfinished-{pending}")
    expect(item).to_contain_text("Not finished")
    expect(alice.get_by_text("Unnamed device")).to_have_count(0)
    item.get_by_role("link", name="Continue").click()
    expect(alice).to_have_url(re.compile(r"/enroll\?platform=ipados&os=15"))
    expect(alice.locator(".device-current")).to_have_text("iPad, iPadOS 15 to 17")

    alice.goto(live_server + "/devices")
    alice.locator(f"#unfinished-{pending}").get_by_role("button", name="Cancel").click()
    expect(alice.locator("#alerts")).to_contain_text("The unfinished enrollment was cancelled.")
    expect(alice.locator(f"#unfinished-{pending}")).to_have_count(0)
    with seeded.app_context():
        assert db.session.get(Device, pending) is None
    expect(alice.get_by_role("link", name="Enroll a device")).to_be_visible()


def test_the_home_shows_the_one_next_action(page_factory, live_server, seeded, sign_in):
    bob = page_factory(**IPHONE)
    sign_in(bob, "bob@example.com")
    expect(bob.get_by_role("heading", level=1)).to_have_text("Hello, Bob Durand")
    expect(bob.locator("#next-action").get_by_role("link", name="Enroll a device")).to_be_visible()
    expect(bob.get_by_text("Your role")).to_have_count(0)

    _add_device(
        seeded,
        "bob@example.com",
        name="Bob's iPhone",
        enrollment_type=EnrollmentType.DEVICE,
        status=DeviceStatus.ENROLLED,
        enrolled_at=utcnow(),
    )
    bob.reload()
    expect(bob.locator("#next-action")).to_contain_text("Nothing to do")
    expect(bob.get_by_role("link", name="Bob's iPhone")).to_be_visible()

    helen = page_factory(**LAPTOP)
    sign_in(helen, "helen@example.com")
    expect(helen.locator("#needs-you")).to_contain_text("Nobody is stuck")


def test_branding_and_support_contact_on_pages_and_e_mails(
    page_factory, live_server, seeded, sign_in
):
    admin = page_factory(**LAPTOP)
    sign_in(admin, "adam@example.com")
    admin.goto(live_server + "/admin/branding")
    expect(admin.locator("#admin-nav a[aria-current=page]")).to_have_text("Branding and support")
    admin.get_by_label("Name").fill("Acme Industries")
    admin.get_by_label("Accent colour").fill("#ffff00")
    admin.get_by_role("button", name="Save").click()
    expect(admin.locator("#branding-error")).to_contain_text("too light")
    admin.get_by_label("Accent colour").fill("#7a1f5c")
    english = admin.locator("fieldset[lang=en]")
    english.get_by_label("Welcome message").fill("Welcome to Acme's device portal.")
    english.get_by_label("Support e-mail").fill("it@acme.example")
    english.get_by_label("Support phone").fill("+33 1 23 45 67 89")
    french = admin.locator("fieldset[lang=fr]")
    french.get_by_label("Welcome message").fill("Bienvenue sur le portail d’Acme.")
    french.get_by_label("Support e-mail").fill("informatique@acme.example")
    admin.get_by_role("button", name="Save").click()
    expect(admin.locator("#alerts")).to_contain_text("Branding and support contact saved.")

    alice = page_factory(**IPHONE)
    sign_in(alice, "alice@example.com")
    expect(alice.locator(".brand-name")).to_have_text("Acme Industries")
    expect(alice.locator(".welcome-message")).to_have_text("Welcome to Acme's device portal.")
    footer = alice.locator(".site-footer")
    expect(footer.get_by_role("link", name="it@acme.example")).to_have_attribute(
        "href", "mailto:it@acme.example"
    )
    expect(footer.get_by_role("link", name="+33 1 23 45 67 89")).to_be_visible()
    colour = alice.evaluate(
        "getComputedStyle(document.querySelector('.button.primary')).backgroundColor"
    )
    assert colour == "rgb(122, 31, 92)"
    alice.goto(live_server + "/enroll")
    expect(alice.locator(".welcome-message")).to_have_text("Welcome to Acme's device portal.")
    # An error page carries the contact too.
    alice.goto(live_server + "/no-such-page")
    expect(alice.locator(".site-footer")).to_contain_text("it@acme.example")

    # In French, the French contact and welcome message.
    alice.locator(".menu-button").click()
    alice.get_by_role("button", name="Français").click()
    alice.goto(live_server + "/")
    expect(alice.locator(".welcome-message")).to_have_text("Bienvenue sur le portail d’Acme.")
    expect(alice.locator(".site-footer")).to_contain_text("informatique@acme.example")

    # E-mails: the name, the colour and the contact, in the person's language.
    _token, message = _invite(seeded, "bob@example.com")
    assert "Acme Industries" in message.subject
    assert "it@acme.example" in message.body_text
    assert "background: #7a1f5c" in message.body_html
    with seeded.app_context():
        org = db.session.scalar(sa.select(Organization))
        assert org.support_contact["fr"]["email"] == "informatique@acme.example"


def test_phone_header_is_one_row_with_a_menu_and_admin_navigation_is_grouped(
    page_factory, live_server, seeded, sign_in
):
    with seeded.app_context():
        demo.seed("testing")
    phone = page_factory(**IPHONE)
    sign_in(phone, "adam@example.com")
    header = phone.locator(".site-header")
    menu = phone.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    assert header.bounding_box()["height"] <= 64
    expect(phone.get_by_role("link", name="My devices")).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(phone.get_by_role("link", name="My devices")).to_be_visible()
    expect(phone.locator("#admin-nav")).to_be_visible()
    phone.get_by_role("link", name="My devices").click()
    expect(phone).to_have_url(f"{live_server}/devices")
    expect(phone.get_by_role("link", name="My devices")).to_be_hidden()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375

    laptop = page_factory(**LAPTOP)
    sign_in(laptop, "adam@example.com")
    expect(laptop.get_by_role("button", name="Menu")).to_be_hidden()
    laptop.goto(live_server + "/admin/users")
    nav = laptop.locator("#admin-nav")
    labels = nav.locator(".nav-group-label").all_inner_texts()
    assert [label.strip().lower() for label in labels] == [
        "people",
        "devices",
        "enrollment",
        "apple",
        "system",
    ]
    expect(nav.locator("a[aria-current=page]")).to_have_text("Users")
    laptop.get_by_role("link", name="Alice Martin").click()
    expect(nav.locator("a[aria-current=page]")).to_have_text("Users")
    nav.get_by_role("link", name="Audit log").click()
    expect(nav.locator("a[aria-current=page]")).to_have_text("Audit log")


def test_dates_are_shown_in_the_browsers_time_zone_and_remembered(
    page_factory, live_server, seeded, sign_in
):
    from datetime import UTC, datetime

    pending = _add_device(
        seeded,
        "alice@example.com",
        platform="ios",
        enrollment_type=EnrollmentType.USER,
        status=DeviceStatus.PROFILE_DOWNLOADED,
    )
    with seeded.app_context():
        device = db.session.get(Device, pending)
        device.created_at = datetime(2026, 1, 15, 8, 30, tzinfo=UTC)
        db.session.commit()
    paris = page_factory(locale="fr-FR", timezone_id="Europe/Paris", **IPHONE)
    sign_in(paris, "alice@example.com")
    paris.goto(live_server + "/devices")
    # 08:30 UTC is 09:30 in Paris in January, written the French way.
    expect(paris.locator(f"#unfinished-{pending}")).to_contain_text("15/01/2026 09:30")
    with seeded.app_context():
        assert _user("alice@example.com").time_zone == "Europe/Paris"

    new_york = page_factory(locale="en-US", timezone_id="America/New_York", **LAPTOP)
    sign_in(new_york, "alice@example.com")
    new_york.goto(live_server + "/devices")
    expect(new_york.locator(f"#unfinished-{pending}")).to_contain_text("1/15/26, 3:30")
