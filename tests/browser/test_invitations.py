"""Invitation links, the enrollment page and the outbox page in a real browser."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal.extensions import db
from portal.invitations import service
from portal.models import Invitation, InvitationSender, OutboxMessage, User, utcnow


def _invite(app, email="alice@example.com", **changes) -> str:
    with app.app_context():
        person = db.session.scalar(sa.select(User).where(User.email == email))
        invitation, token = service.invite(person, actor=None, sent_by=InvitationSender.SYSTEM)
        for name, value in changes.items():
            setattr(invitation, name, value)
        db.session.commit()
        return token


@pytest.mark.parametrize(
    ("changes", "status", "heading"),
    [
        ({"expires_at": utcnow() - timedelta(hours=1)}, 410, "This invitation link has expired"),
        ({"revoked_at": utcnow()}, 410, "This invitation link was replaced"),
        ({"used_at": utcnow()}, 410, "This invitation link was already used"),
        (None, 404, "This invitation link is not valid"),
    ],
    ids=["expired", "revoked", "used", "unknown"],
)
def test_each_dead_link_gets_its_own_page(page, live_server, seeded, changes, status, heading):
    token = _invite(seeded, **changes) if changes is not None else "z" * 43
    response = page.goto(f"{live_server}/go/{token}")
    assert response.status == status
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.get_by_text("Ask your IT helpdesk to send you a new invitation")).to_be_visible()
    # Slack is not set up here: the page does not send people to it.
    expect(page.get_by_text("type /enroll link in Slack")).to_have_count(0)


def test_invitee_signs_in_through_the_link_and_reaches_the_enrollment_page(
    page, live_server, seeded
):
    token = _invite(seeded)
    page.goto(f"{live_server}/go/{token}")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.locator("input[name=email]").fill("alice@example.com")
    page.locator("input[name=password]").fill("demo-password")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{live_server}/enroll")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Alice Martin")
    expect(page.locator("#my-invitation")).to_contain_text("You opened your link on")
    # The link worked once.
    response = page.goto(f"{live_server}/go/{token}")
    assert response.status == 410


def test_someone_else_signed_in_is_told_and_can_sign_out(page, live_server, seeded, sign_in):
    token = _invite(seeded)
    sign_in(page, "bob@example.com")
    response = page.goto(f"{live_server}/go/{token}")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("This link belongs to someone else")
    expect(page.locator("main")).not_to_contain_text("alice")
    page.locator("main").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))


def test_send_me_my_link_updates_the_section_in_place(page, live_server, seeded, sign_in):
    sign_in(page, "alice@example.com")
    page.goto(f"{live_server}/enroll")
    expect(page.locator("#my-invitation")).to_contain_text("No link was sent to you yet.")
    qr = page.get_by_role("img", name=re.compile("QR code of the address"))
    expect(qr).to_be_visible()
    assert page.evaluate("document.querySelector('img.qr').naturalWidth") > 0
    page.get_by_role("button", name="Send me my link").click()
    expect(page.locator("#my-invitation")).to_contain_text(
        "We sent a new link to alice@example.com."
    )
    expect(page.locator("#my-invitation")).to_contain_text("E-mail queued")
    expect(page).to_have_url(f"{live_server}/enroll")


def test_enroll_page_fits_a_phone_screen(page_factory, live_server, sign_in):
    page = page_factory(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    sign_in(page, "alice@example.com")
    page.goto(f"{live_server}/enroll")
    assert page.evaluate("document.documentElement.scrollWidth > window.innerWidth") is False
    button = page.get_by_role("button", name="Send me my link").bounding_box()
    assert button["height"] >= 44


def test_admin_retries_a_dead_message_without_reload(page, live_server, seeded, sign_in):
    _invite(seeded)
    with seeded.app_context():
        message = db.session.scalar(sa.select(OutboxMessage))
        message.status = "dead"
        message.attempts = 8
        message.last_error = "SMTP error 550: mailbox unavailable"
        db.session.commit()
    sign_in(page, "adam@example.com")
    page.goto(f"{live_server}/admin/outbox")
    row = page.locator("#outbox-rows tbody tr").first
    expect(row).to_contain_text("Given up")
    expect(row).to_contain_text("mailbox unavailable")
    row.get_by_role("button", name="Retry now").click()
    expect(page.locator("#outbox-rows tbody tr").first).to_contain_text("Queued again")
    expect(page.locator("#outbox-rows tbody tr").first).to_contain_text("Waiting")
    with seeded.app_context():
        assert db.session.scalar(sa.select(Invitation.delivery_status)) == "queued"


def test_retry_of_an_invitation_withdrawn_since_the_page_loaded_is_refused_in_place(
    page, live_server, seeded, sign_in
):
    _invite(seeded)
    with seeded.app_context():
        message = db.session.scalar(sa.select(OutboxMessage))
        message.status = "dead"
        message.attempts = 8
        db.session.commit()
    sign_in(page, "adam@example.com")
    page.goto(f"{live_server}/admin/outbox")
    row = page.locator("#outbox-rows tbody tr").first
    expect(row).to_contain_text("Given up")
    with seeded.app_context():  # an admin elsewhere withdraws the link
        service.revoke(db.session.scalar(sa.select(Invitation)), actor=None)
        db.session.commit()
    row.get_by_role("button", name="Retry now").click()
    row = page.locator("#outbox-rows tbody tr").first
    expect(row.get_by_role("alert")).to_contain_text(
        "Will not be sent. The invitation in this e-mail was withdrawn."
    )
    expect(row.get_by_role("button", name="Retry now")).to_have_count(0)
    row.get_by_role("link", name="Send a new invitation instead.").click()
    expect(page).to_have_url(f"{live_server}/admin/users/{_user_id(seeded, 'alice@example.com')}")
    with seeded.app_context():
        assert db.session.scalar(sa.select(OutboxMessage.status)) == "dead"


def _user_id(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.email == email))


def test_helpdesk_sends_and_resends_from_the_user_page(page, live_server, seeded, sign_in):
    alice = _user_id(seeded, "alice@example.com")
    sign_in(page, "helen@example.com")
    page.goto(f"{live_server}/admin/users/{alice}")
    panel = page.locator("#invitation-panel")
    expect(panel).to_contain_text("No invitation sent yet.")
    panel.get_by_role("button", name="Send invitation").click()
    expect(panel).to_contain_text("Invitation sent to alice@example.com.")
    expect(panel).to_contain_text("the helpdesk (helen@example.com)")
    panel.get_by_role("button", name="Resend invitation").click()
    expect(panel.locator("tbody tr")).to_have_count(2)
    expect(panel.locator("tbody tr").nth(1)).to_contain_text("Replaced or withdrawn")
    expect(page).to_have_url(f"{live_server}/admin/users/{alice}")


def test_admin_invites_from_the_users_list(page, live_server, seeded, sign_in):
    bob = _user_id(seeded, "bob@example.com")
    sign_in(page, "adam@example.com")
    page.goto(f"{live_server}/admin/users")
    page.get_by_role("button", name="Send invitation to Bob Durand").click()
    cell = page.locator(f"#invite-row-{bob}")
    expect(cell).to_contain_text("Sent")
    expect(cell.get_by_role("button", name="Resend invitation to Bob Durand")).to_be_visible()
    with seeded.app_context():
        assert db.session.scalar(sa.select(Invitation.sent_by)) == "admin"
