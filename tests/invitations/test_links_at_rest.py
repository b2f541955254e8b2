"""Invitation links at rest: once an e-mail is sent or cancelled, no usable /go/ link is left
in the outbox (only token hashes are kept anywhere else)."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.invitations import service
from portal.models import InvitationSender, OutboxMessage, OutboxStatus

from .conftest import deliver, user


def _invite(app, email: str) -> str:
    with app.app_context():
        _invitation, token = service.invite(
            user(email), actor=None, sent_by=InvitationSender.SYSTEM
        )
        db.session.commit()
        return token


def _outbox(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return rows


def _holds(message: OutboxMessage, token: str) -> bool:
    stored = [message.body_text or "", message.body_html or "", (message.raw or b"").decode()]
    return any(token in text for text in stored)


def test_a_sent_invitation_keeps_no_link_in_the_outbox(mail_app, smtp):
    token = _invite(mail_app, "alice@example.com")
    (queued,) = _outbox(mail_app)
    assert _holds(queued, token)  # until sent, the worker needs it
    assert deliver(mail_app).sent == 1
    assert smtp.wait_for(1)
    assert token in smtp.messages[0].get_body(("plain",)).get_content()
    (sent,) = _outbox(mail_app)
    assert sent.status == OutboxStatus.SENT
    assert not _holds(sent, token)
    assert (sent.raw, sent.body_text, sent.body_html) == (b"", "", None)
    # What the outbox page shows stays.
    assert sent.recipient == "alice@example.com" and sent.subject and sent.message_id
    # The link in the person's mailbox still works.
    assert mail_app.test_client().get(f"/go/{token}").status_code in (200, 302, 303)


def test_a_cancelled_invitation_keeps_no_link_in_the_outbox(mail_app, smtp):
    first = _invite(mail_app, "alice@example.com")
    second = _invite(mail_app, "alice@example.com")  # replaces the first, still queued
    cancelled, pending = _outbox(mail_app)
    assert cancelled.status == OutboxStatus.CANCELLED
    assert not _holds(cancelled, first)
    assert _holds(pending, second)
    assert deliver(mail_app).sent == 1
    assert all(not _holds(m, first) and not _holds(m, second) for m in _outbox(mail_app))


def test_no_go_link_anywhere_in_the_outbox_table_after_sending(mail_app, smtp):
    for email in ("alice@example.com", "bob@example.com", "helen@example.com"):
        _invite(mail_app, email)
    assert deliver(mail_app).sent == 3
    with mail_app.app_context():
        for row in db.session.execute(sa.select(OutboxMessage.__table__)):
            assert "/go/" not in repr(tuple(row))
