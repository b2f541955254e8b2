"""Slack at the moments that matter: the employee's DM when a device finishes enrolling and
when an admin's action reaches it; the helpdesk channel for failures that need a person,
with buttons that work. Slack's Web API is the local stand-in."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal import audit
from portal.enrollment import lifecycle
from portal.extensions import db
from portal.models import (
    AdminNotification,
    CommandStatus,
    Device,
    DeviceStatus,
    MDMCommand,
    SlackNotification,
    User,
    utcnow,
)
from tests.support.slack_api import buttons_of, text_of

HELPDESK = "C0HELPDESK"


@pytest.fixture
def slack_config(slack_config):
    return {**slack_config, "SLACK_HELPDESK_CHANNEL": HELPDESK}


def _person(email):
    return db.session.scalar(sa.select(User).where(User.email == email))


def _pending_device(user, platform="ios", kind="user", status=DeviceStatus.AUTHENTICATED):
    device = Device(
        user_id=user.id,
        platform=platform,
        enrollment_type=kind,
        enrollment_method="account_driven",
        status=status,
        enrollment_id=f"E-{user.id}-{platform}",
    )
    db.session.add(device)
    db.session.commit()
    return device


def _deliver(app):
    from bot.notifications import deliver_pending

    with app.app_context():
        return deliver_pending()


def test_the_employee_hears_when_their_device_is_enrolled(bot_app, slack_api):
    with bot_app.app_context():
        alice = _person("alice@example.com")
        alice.locale = "en"
        device = _pending_device(alice)
        lifecycle.transition(device, DeviceStatus.ENROLLED, action="checkin.token_update")
        db.session.commit()
        assert db.session.scalar(sa.select(SlackNotification.kind)) == "device_enrolled"
    result = _deliver(bot_app)
    assert result.sent == 1
    [call] = slack_api.calls_to("chat.postMessage")
    assert call.params["channel"] == "U0ALICE"
    text = text_of(call)
    assert "Your iPhone is enrolled" in text
    assert "Your company cannot:" in text and "See your personal apps" in text
    assert "Install and set up work apps and accounts" in text
    # Delivered once: a second run posts nothing.
    assert _deliver(bot_app).sent == 0
    assert len(slack_api.calls_to("chat.postMessage")) == 1


def test_the_enrolled_message_speaks_the_persons_language(bot_app, slack_api):
    with bot_app.app_context():
        alice = _person("alice@example.com")
        alice.locale = "fr"
        device = _pending_device(alice, platform="macos")
        lifecycle.transition(device, DeviceStatus.ENROLLED, action="checkin.token_update")
        db.session.commit()
    _deliver(bot_app)
    [call] = slack_api.calls_to("chat.postMessage")
    assert "Votre Mac est inscrit" in text_of(call)


def test_an_admin_action_that_reaches_the_device_is_told_to_its_owner(bot_app, slack_api):
    with bot_app.app_context():
        alice, adam = _person("alice@example.com"), _person("adam@example.com")
        device = _pending_device(alice, status=DeviceStatus.ENROLLED)
        lock = MDMCommand(
            device_id=device.id, uuid="0" * 36, request_type="DeviceLock", queued_by_id=adam.id
        )
        own = MDMCommand(
            device_id=device.id, uuid="1" * 36, request_type="DeviceLock", queued_by_id=alice.id
        )
        db.session.add_all([lock, own])
        db.session.commit()
        lock.status = CommandStatus.ACKNOWLEDGED
        own.status = CommandStatus.ACKNOWLEDGED
        db.session.commit()
        kinds = db.session.scalars(sa.select(SlackNotification.kind)).all()
        assert kinds == ["admin_action"]  # the person's own lock is no news to them
    _deliver(bot_app)
    [call] = slack_api.calls_to("chat.postMessage")
    assert call.params["channel"] == "U0ALICE"
    assert "Your IT team locked your iPhone" in text_of(call)


def test_a_licence_failure_reaches_the_helpdesk_channel_with_buttons(bot_app, slack_api):
    with bot_app.app_context():
        bob = _person("bob@example.com")
        db.session.add(
            AdminNotification(
                code="licence.organization_mismatch",
                details={"app": "Work Mail"},
                user_id=bob.id,
            )
        )
        db.session.commit()
        bob_id = bob.id
    _deliver(bot_app)
    [call] = slack_api.calls_to("chat.postMessage")
    assert call.params["channel"] == HELPDESK
    assert "could not be assigned to Bob" in text_of(call)
    buttons = buttons_of(call)
    assert buttons["open_portal"]["url"] == f"https://portal.example.com/admin/users/{bob_id}"
    assert buttons["resend_invitation"]["value"] == str(bob_id)


def test_a_refused_enrollment_reaches_the_helpdesk_channel(bot_app, slack_api):
    with bot_app.app_context():
        bob = _person("bob@example.com")
        audit.record(
            None,
            "mdm.refused",
            channel="mdm",
            target_type="user",
            target_id=bob.id,
            after={"reason": "not_user_enrollment", "status": 403},
        )
        # A forged or malformed request about nobody is not the helpdesk's business.
        audit.record(None, "mdm.refused", channel="mdm", after={"reason": "malformed"})
        db.session.commit()
    _deliver(bot_app)
    [call] = slack_api.calls_to("chat.postMessage")
    assert call.params["channel"] == HELPDESK
    assert "enrollment was refused for Bob" in text_of(call)
    assert "not_user_enrollment" in text_of(call)


def test_the_channels_resend_button_works_for_the_helpdesk(bot_app, slack, slack_api, portal):
    with bot_app.app_context():
        bob = _person("bob@example.com")
        db.session.add(AdminNotification(code="licence.failed", details={}, user_id=bob.id))
        db.session.commit()
    _deliver(bot_app)
    [message] = slack_api.calls_to("chat.postMessage")
    button = buttons_of(message)["resend_invitation"]
    assert slack.action(button["action_id"], button["value"], "U0HELEN").status_code == 200
    [reply] = slack_api.wait_for("response_url")
    assert "Bob Durand (bob@example.com) gets a new invitation" in text_of(reply)


def test_slack_failures_are_retried_later(bot_app, slack_api):
    from bot import notifications

    with bot_app.app_context():
        alice = _person("alice@example.com")
        device = _pending_device(alice)
        lifecycle.transition(device, DeviceStatus.ENROLLED, action="checkin.token_update")
        db.session.commit()
    # Slack answers 429 more often than the client retries: the message waits for later.
    slack_api.rate_limit_once("users.lookupByEmail", times=10)
    assert _deliver(bot_app).retrying == 1
    now = utcnow()
    with bot_app.app_context():
        for attempt in range(notifications.MAX_ATTEMPTS):
            notifications.deliver_pending(now=now + timedelta(hours=attempt + 1))
        row = db.session.scalar(sa.select(SlackNotification))
        assert row.status == "sent" and row.attempts > 1


def test_nothing_is_queued_without_slack(seeded):
    with seeded.app_context():
        alice = _person("alice@example.com")
        device = _pending_device(alice)
        lifecycle.transition(device, DeviceStatus.ENROLLED, action="checkin.token_update")
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(SlackNotification.id))) == 0
