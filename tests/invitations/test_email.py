"""The invitation e-mail as a real SMTP server receives it, in English and in French."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime

import sqlalchemy as sa
from flask_babel import force_locale, gettext

from portal.enrollment import qr
from portal.extensions import db
from portal.invitations import service
from portal.invitations.email import expiry_text
from portal.models import DeliveryStatus, Invitation, InvitationSender, OutboxMessage

from .conftest import deliver, user


def _invite(app, email: str, locale: str | None = None) -> tuple[int, str]:
    with app.app_context():
        person = user(email)
        person.locale = locale
        invitation, token = service.invite(person, actor=None, sent_by=InvitationSender.SYSTEM)
        db.session.commit()
        return invitation.id, token


def _parts(message):
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text, html


def test_english_invitation_arrives_with_both_parts_the_link_and_the_qr_code(mail_app, smtp):
    invitation_id, token = _invite(mail_app, "alice@example.com")
    result = deliver(mail_app)
    assert result.sent == 1
    assert smtp.wait_for(1)
    message = smtp.messages[0]
    with mail_app.app_context(), force_locale("en"):
        invitation = db.session.get(Invitation, invitation_id)
        stored = db.session.get(OutboxMessage, invitation.outbox_message_id)
        assert invitation.delivery_status == DeliveryStatus.SENT
        expires = expiry_text(invitation.expires_at)
        link = mail_app.config["PUBLIC_BASE_URL"] + "/go/" + token

    assert message["From"] == "Example Corp <no-reply@example.com>"
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "Enroll your iPhone or iPad with Example Corp"
    assert message["Message-ID"] == stored.message_id
    assert parsedate_to_datetime(message["Date"]).tzinfo is not None
    assert message["Content-Language"] == "en"
    assert smtp.envelopes[0] == ("no-reply@example.com", ["alice@example.com"])

    text, html = _parts(message)
    assert text.startswith("Hello Alice Martin,")
    assert "Example Corp invites you to enroll" in text
    assert link in text and f'href="{link}"' in html
    assert f"expires on {expires}" in text and expires in html
    # Slack is not set up here, so the e-mail does not send people to it.
    assert "Slack" not in text and "Slack" not in html
    assert "Ask your IT helpdesk for a new link." in text
    assert re.search(r"expires on \w+ \d+, \d{4}", text)  # "March 9, 2026 …"

    # The QR code is a related inline part the HTML refers to by its Content-ID.
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1
    cid = images[0]["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html
    assert images[0].get_content() == qr.png(link, fast=True)
    assert message.get_content_type() == "multipart/alternative"


def test_french_invitation_uses_the_french_catalogue_and_dates(mail_app, smtp):
    invitation_id, token = _invite(mail_app, "bob@example.com", locale="fr")
    deliver(mail_app)
    assert smtp.wait_for(1)
    message = smtp.messages[0]
    with mail_app.test_request_context(), force_locale("fr"):
        invitation = db.session.get(Invitation, invitation_id)
        subject = gettext("Enroll your iPhone or iPad with %(company)s", company="Example Corp")
        hello = gettext("Hello %(name)s,", name="Bob Durand")
        expires = expiry_text(invitation.expires_at)
    assert subject == "Inscrivez votre iPhone ou iPad auprès de Example Corp"
    assert hello == "Bonjour Bob Durand,"
    assert message["Content-Language"] == "fr"
    assert message["Subject"] == subject
    text, html = _parts(message)
    assert text.startswith(hello)
    assert "Ce lien est personnel" in text and "Ce lien est personnel" in html
    assert 'lang="fr"' in html
    # Dates are formatted by CLDR (no catalogue needed): French month names.
    assert expires in text
    assert re.search(
        r"\d{1,2} (janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|"
        r"novembre|décembre) \d{4}",
        expires,
    )
    assert f"/go/{token}" in text


def test_an_unknown_locale_falls_back_to_english(mail_app, smtp):
    _invite(mail_app, "alice@example.com", locale="de")
    deliver(mail_app)
    assert smtp.wait_for(1)
    assert smtp.messages[0]["Content-Language"] == "en"


def test_mail_from_can_be_configured(app_factory, smtp):
    from portal import demo

    app = app_factory(SMTP_URL=smtp.url, MAIL_FROM="IT Team <it@example.com>")
    with app.app_context():
        demo.seed("testing")
    _invite(app, "alice@example.com")
    deliver(app)
    assert smtp.wait_for(1)
    assert smtp.messages[0]["From"] == "IT Team <it@example.com>"


def test_a_retry_sends_the_very_same_bytes(mail_app, smtp):
    """Composed once when queued: Message-ID, Date and parts are identical on every attempt."""
    _invite(mail_app, "alice@example.com")
    smtp.refuse_with = "451 4.3.0 try again"
    assert deliver(mail_app).retrying == 1
    with mail_app.app_context():
        queued = db.session.scalar(sa.select(OutboxMessage)).raw
    smtp.refuse_with = None
    assert deliver(mail_app).sent == 1
    assert smtp.wait_for(1)
    assert smtp.raw[0].rstrip(b"\r\n") == queued.rstrip(b"\r\n")
    with mail_app.app_context():
        assert db.session.scalar(sa.select(OutboxMessage)).attempts == 2
