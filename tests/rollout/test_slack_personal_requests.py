""" "This is my personal phone" reaches the helpdesk's Slack channel with buttons to act: open
the person's page, mark the request handled (the helpdesk only). Slack's Web API is the
local stand-in."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.enrollment import journey
from portal.extensions import db
from portal.models import AdminNotification, SlackNotification, User
from tests.support.slack_api import blocks_of, buttons_of, text_of

HELPDESK = "C0HELPDESK"


@pytest.fixture
def slack_config(slack_config):
    return {**slack_config, "SLACK_HELPDESK_CHANNEL": HELPDESK}


def _ask(app, email="bob@example.com", note="It is my own phone, I paid for it."):
    with app.app_context():
        bob = db.session.scalar(sa.select(User).where(User.email == email))
        request = journey.request_personal_review(bob, platform="ios", note=note)
        db.session.commit()
        return bob.id, request.id


def _posted(app, slack_api):
    from bot.notifications import deliver_pending

    with app.app_context():
        deliver_pending()
    [message] = slack_api.calls_to("chat.postMessage")
    return message


def _open(app, request_id):
    with app.app_context():
        return db.session.get(AdminNotification, request_id).resolved_at is None


def test_a_personal_phone_request_reaches_the_helpdesk_channel_with_its_buttons(bot_app, slack_api):
    bob_id, request_id = _ask(bot_app)
    with bot_app.app_context():
        # One message, with the request's own buttons: not also the generic one.
        kinds = db.session.scalars(sa.select(SlackNotification.kind)).all()
        assert kinds == ["personal_device_request"]
    message = _posted(bot_app, slack_api)
    assert message.params["channel"] == HELPDESK
    text = text_of(message)
    assert "Bob Durand (bob@example.com) says their iPhone is a personal device" in text
    assert "“It is my own phone, I paid for it.”" in text
    buttons = buttons_of(message)
    assert buttons["open_portal"]["url"] == f"https://portal.example.com/admin/users/{bob_id}"
    assert buttons["mark_handled"]["value"] == str(request_id)


def test_the_helpdesk_marks_the_request_handled_from_the_channel(bot_app, slack, slack_api, portal):
    _bob_id, request_id = _ask(bot_app)
    message = _posted(bot_app, slack_api)
    original = {"type": "message", "text": message.params["text"], "blocks": blocks_of(message)}
    button = buttons_of(message)["mark_handled"]
    response = slack.action(button["action_id"], button["value"], "U0HELEN", message=original)
    assert response.status_code == 200
    replaced, answer = slack_api.wait_for("response_url", count=2)
    # The channel's message says who handled it and loses its buttons.
    assert replaced.params["replace_original"] is True
    assert "Bob Durand (bob@example.com) says their iPhone" in text_of(replaced)
    assert "Handled by Helen Petit." in text_of(replaced)
    assert buttons_of(replaced) == {}
    assert answer.params["response_type"] == "ephemeral"
    assert "the request of Bob Durand (bob@example.com) is marked as handled" in text_of(answer)
    assert not _open(bot_app, request_id)
    [event] = portal.audit("enrollment.personal_device_handled")
    assert event.channel == "slack"
    assert event.actor_id == portal.user("helen@example.com").id

    # A second click (another helpdesk member at the same time) changes nothing.
    slack_api.clear()
    slack.action(button["action_id"], button["value"], "U0ADAM", message=original)
    [again] = slack_api.wait_for("response_url")
    assert "already handled" in text_of(again)
    assert len(portal.audit("enrollment.personal_device_handled")) == 1


def test_an_employee_cannot_mark_a_request_handled(bot_app, slack, slack_api, portal):
    _bob_id, request_id = _ask(bot_app)
    slack.action("mark_handled", str(request_id), "U0ALICE")
    [answer] = slack_api.wait_for("response_url")
    assert "only the IT helpdesk can mark a request as handled" in text_of(answer)
    assert answer.params["replace_original"] is False
    assert _open(bot_app, request_id)
    [refusal] = portal.audit("slack.refused")
    assert refusal.after["asked"] == "mark_handled"


@pytest.mark.parametrize("value", ["not-a-number", "999999", ""])
def test_a_handled_button_for_no_open_request(bot_app, slack, slack_api, value):
    slack.action("mark_handled", value, "U0HELEN")
    [answer] = slack_api.wait_for("response_url")
    assert "already handled, or no longer exists" in text_of(answer)


def test_a_handled_button_on_another_kind_of_notification_does_nothing(bot_app, slack, slack_api):
    with bot_app.app_context():
        other = AdminNotification(code="licence.failed", details={})
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    slack.action("mark_handled", str(other_id), "U0HELEN")
    [answer] = slack_api.wait_for("response_url")
    assert "already handled, or no longer exists" in text_of(answer)
    assert _open(bot_app, other_id)


def test_the_request_in_french_follows_the_glossary(bot_app):
    from bot.notifications import helpdesk_reply

    _ask(bot_app)
    with bot_app.app_context():
        row = db.session.scalar(sa.select(SlackNotification))
        reply = helpdesk_reply(row, "fr")
    assert "demande l’Inscription des utilisateurs au lieu de l’Inscription de l’appareil" in (
        reply.text
    )
