"""The invitation service: tokens, expiry, resend, revoke, limits, audit."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.invitations import service
from portal.invitations.groups import invite_group
from portal.invitations.service import InvitationSettings, LinkState
from portal.models import (
    AuditEvent,
    DeliveryStatus,
    Group,
    Invitation,
    InvitationSender,
    OutboxMessage,
    OutboxStatus,
)
from portal.outbox import service as outbox

from .conftest import user

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SETTINGS = InvitationSettings(public_base_url="https://portal.example.com")


@pytest.fixture
def ctx(seeded):
    with seeded.app_context():
        yield


def _invite(email="alice@example.com", now=NOW, settings=SETTINGS, **kwargs):
    kwargs.setdefault("actor", None)
    kwargs.setdefault("sent_by", InvitationSender.SYSTEM)
    invitation, token = service.invite(user(email), now=now, settings=settings, **kwargs)
    db.session.commit()
    return invitation, token


def _actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def test_the_token_is_256_random_bits_and_only_its_hash_is_kept(ctx):
    invitation, token = _invite()
    assert len(token) == 43  # 32 bytes, URL-safe base64
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    row = db.session.execute(sa.select(Invitation.__table__).where(Invitation.id == invitation.id))
    assert token not in repr(row.one())
    events = db.session.scalars(sa.select(AuditEvent)).all()
    assert all(token not in repr((e.before, e.after)) for e in events)
    second = _invite("bob@example.com")[1]
    assert second != token


def test_expiry_defaults_to_seven_days_and_is_configurable(ctx):
    invitation, _ = _invite()
    assert invitation.expires_at == NOW + timedelta(days=7)
    invitation, _ = _invite("bob@example.com", settings=InvitationSettings(ttl_days=2))
    assert invitation.expires_at == NOW + timedelta(days=2)


def test_settings_come_from_the_config(seeded):
    settings = InvitationSettings.from_config(
        {
            "PUBLIC_BASE_URL": "https://p.example.com/",
            "INVITATION_TTL_DAYS": 3,
            "INVITATION_RESEND_LIMIT": 2,
        }
    )
    assert settings.ttl_days == 3 and settings.resend_limit == 2
    assert settings.link("abc") == "https://p.example.com/go/abc"


def test_invite_queues_the_e_mail_in_the_same_transaction(ctx):
    invitation, token = _invite()
    message = db.session.get(OutboxMessage, invitation.outbox_message_id)
    assert message.status == OutboxStatus.PENDING
    assert message.recipient == "alice@example.com"
    assert f"https://portal.example.com/go/{token}" in message.body_text
    assert message.message_id.startswith("<invitation.") and message.message_id.endswith(">")
    assert invitation.delivery_status == DeliveryStatus.QUEUED
    assert _actions()[-1] == "invitation.sent"


def test_a_failure_while_queueing_leaves_nothing_half_written(ctx, monkeypatch):
    from portal.invitations import email

    def broken(*args, **kwargs):
        raise RuntimeError("template exploded")

    monkeypatch.setattr(email, "queue_invitation", broken)
    with pytest.raises(RuntimeError):
        service.invite(
            user("alice@example.com"), actor=None, sent_by=InvitationSender.SYSTEM, now=NOW
        )
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0


def test_resend_revokes_the_previous_link_and_cancels_its_unsent_mail(ctx):
    first, first_token = _invite()
    second, second_token = _invite(now=NOW + timedelta(minutes=1))
    assert service.lookup(first_token, NOW + timedelta(minutes=2))[0] is LinkState.REVOKED
    assert service.lookup(second_token, NOW + timedelta(minutes=2)) == (LinkState.VALID, second)
    assert db.session.get(OutboxMessage, first.outbox_message_id).status == OutboxStatus.CANCELLED
    assert _actions()[-2:] == ["invitation.sent", "invitation.resent"]


def test_resends_are_limited_per_user_with_the_time_of_the_next_one(ctx):
    for minute in range(5):
        _invite(now=NOW + timedelta(minutes=minute))
    with pytest.raises(service.ResendLimitReached) as refused:
        _invite(now=NOW + timedelta(minutes=10))
    assert refused.value.next_possible_at == NOW + timedelta(hours=1)
    assert "next one is possible" in str(refused.value)
    db.session.rollback()
    # Other people are not affected; after the hour it works again.
    _invite("bob@example.com", now=NOW + timedelta(minutes=10))
    _invite(now=NOW + timedelta(hours=1, seconds=1))


def test_the_limit_holds_across_app_instances(seeded, app_factory):
    with seeded.app_context():
        for minute in range(5):
            _invite(now=NOW + timedelta(minutes=minute))
    other = app_factory()  # a second instance sharing only the database
    with other.app_context(), pytest.raises(service.ResendLimitReached):
        _invite(now=NOW + timedelta(minutes=6))


def test_the_limit_is_configurable(ctx):
    settings = InvitationSettings(resend_limit=1)
    _invite(settings=settings)
    with pytest.raises(service.ResendLimitReached):
        _invite(now=NOW + timedelta(minutes=1), settings=settings)


def test_deactivated_accounts_cannot_be_invited_and_nothing_is_written(ctx):
    person = user("bob@example.com")
    person.active = False
    db.session.commit()
    with pytest.raises(service.UserCannotBeInvited):
        _invite("bob@example.com")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_who_sent_it_is_recorded_by_role(ctx):
    admin, helpdesk, alice = (
        user("adam@example.com"),
        user("helen@example.com"),
        user("alice@example.com"),
    )
    assert service.sender_for(admin) == InvitationSender.ADMIN
    assert service.sender_for(helpdesk) == InvitationSender.HELPDESK
    assert service.sender_for(alice) == InvitationSender.SYSTEM
    invitation, _ = _invite(actor=helpdesk, sent_by=service.sender_for(helpdesk))
    assert invitation.sent_by == InvitationSender.HELPDESK
    assert invitation.sent_by_user_id == helpdesk.id
    event = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event.actor_label == "helen@example.com" and event.after["sent_by"] == "helpdesk"


def test_revoke_all_revokes_live_links_only(ctx):
    _, token = _invite()
    alice = user("alice@example.com")
    assert service.revoke_all(alice, actor=None, channel="scim", now=NOW) == 1
    db.session.commit()
    assert service.lookup(token, NOW)[0] is LinkState.REVOKED
    assert service.revoke_all(alice, actor=None, channel="scim", now=NOW) == 0
    event = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.channel) == ("invitation.revoked", "scim")


def test_revoke_one(ctx):
    invitation, token = _invite()
    assert service.revoke(invitation, actor=user("adam@example.com"), now=NOW)
    assert not service.revoke(invitation, actor=None, now=NOW)
    assert service.lookup(token, NOW)[0] is LinkState.REVOKED


def test_link_states(ctx):
    invitation, token = _invite()
    assert service.lookup(token, NOW)[0] is LinkState.VALID
    assert service.lookup(token, NOW + timedelta(days=7))[0] is LinkState.EXPIRED
    assert service.lookup(token + "x", NOW) == (LinkState.UNKNOWN, None)
    assert service.lookup("", NOW) == (LinkState.UNKNOWN, None)
    assert service.lookup("a" * 5000, NOW) == (LinkState.UNKNOWN, None)
    service.mark_used(invitation, user=user("alice@example.com"), now=NOW)
    db.session.commit()
    assert service.lookup(token, NOW)[0] is LinkState.USED
    assert _actions()[-1] == "invitation.used"


def test_only_the_invitee_can_use_a_link(ctx):
    invitation, _ = _invite()
    with pytest.raises(service.WrongUser):
        service.mark_used(invitation, user=user("bob@example.com"), now=NOW)
    assert invitation.used_at is None
    service.mark_used(invitation, user=user("alice@example.com"), now=NOW)
    with pytest.raises(service.InvitationError):
        service.mark_used(invitation, user=user("alice@example.com"), now=NOW)


def test_next_possible_at_is_none_while_under_the_limit(ctx):
    _invite()
    assert service.next_possible_at(user("alice@example.com"), now=NOW, settings=SETTINGS) is None


def test_invite_group_skips_who_has_a_link_or_cannot_be_invited(ctx):
    group = db.session.scalar(sa.select(Group).where(Group.name == "User Enrollment"))
    bob = user("bob@example.com")
    helen = user("helen@example.com")
    helen.active = False
    group.members.extend([bob, helen])
    db.session.commit()
    _invite("bob@example.com")
    result = invite_group(
        group, actor=user("adam@example.com"), sent_by=InvitationSender.ADMIN, now=NOW
    )
    db.session.commit()
    assert [u.email for u in result.invited] == ["alice@example.com"]
    assert [u.email for u in result.already_invited] == ["bob@example.com"]
    assert [u.email for u in result.not_invitable] == ["helen@example.com"]
    assert _actions()[-2:] == ["invitation.sent", "invitation.group_invited"]


# -- the invitation e-mail in the outbox ------------------------------------------------------


def _given_up(invitation: Invitation) -> OutboxMessage:
    message = db.session.get(OutboxMessage, invitation.outbox_message_id)
    message.status = OutboxStatus.DEAD
    message.attempts = 8
    message.last_error = "SMTP error 550: mailbox unavailable"
    db.session.commit()
    return message


def _withdraw(invitation):
    service.revoke(invitation, actor=None, now=NOW + timedelta(minutes=1))


def _replace(invitation):
    _invite(now=NOW + timedelta(minutes=1))


def _use(invitation):
    service.mark_used(invitation, user=user("alice@example.com"), now=NOW + timedelta(minutes=1))


@pytest.mark.parametrize(
    ("change", "retry_at", "reason"),
    [
        (_withdraw, NOW + timedelta(hours=1), "was withdrawn"),
        (_replace, NOW + timedelta(hours=1), "A newer invitation replaced"),
        (_use, NOW + timedelta(hours=1), "was already used"),
        (None, NOW + timedelta(days=7, seconds=1), "has expired"),
    ],
)
def test_retry_now_refuses_an_e_mail_whose_link_no_longer_works(ctx, change, retry_at, reason):
    invitation, _ = _invite()
    message = _given_up(invitation)
    if change is not None:
        change(invitation)
        db.session.commit()
    with pytest.raises(outbox.NotSendable, match=reason) as refused:
        outbox.retry_now(message, actor=user("adam@example.com"), now=retry_at)
    assert refused.value.status == 409
    db.session.rollback()
    message = db.session.get(OutboxMessage, invitation.outbox_message_id)
    assert (message.status, message.attempts) == (OutboxStatus.DEAD, 8)
    assert "outbox.retried" not in _actions()


def test_retry_now_requeues_an_e_mail_whose_link_still_works(ctx):
    invitation, _ = _invite()
    message = _given_up(invitation)
    outbox.retry_now(message, actor=user("adam@example.com"), now=NOW + timedelta(hours=1))
    db.session.commit()
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 0)
    assert db.session.get(Invitation, invitation.id).delivery_status == DeliveryStatus.QUEUED
    assert _actions()[-1] == "outbox.retried"


def test_revoking_cancels_the_waiting_e_mail_and_says_why(ctx):
    invitation, _ = _invite()
    _withdraw(invitation)
    db.session.commit()
    message = db.session.get(OutboxMessage, invitation.outbox_message_id)
    assert message.status == OutboxStatus.CANCELLED
    assert message.last_error == "The invitation in this e-mail was withdrawn."


def test_revoking_after_the_e_mail_went_out_leaves_it_sent(ctx):
    invitation, _ = _invite()
    message = db.session.get(OutboxMessage, invitation.outbox_message_id)
    message.status = OutboxStatus.SENT
    db.session.commit()
    _withdraw(invitation)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(OutboxMessage, message.id).status == OutboxStatus.SENT
    assert db.session.get(Invitation, invitation.id).revoked_at is not None
