"""Buttons: "Resend invitation" (helpdesk), "Send me my enrollment link", "Open the portal"."""

import time

import pytest

from portal.models import InvitationSender
from tests.support.slack_api import text_of

PORTAL = "https://portal.example.com"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "Done: Bob Durand (bob@example.com) gets a new invitation"),
        ("fr", "C’est fait : Bob Durand (bob@example.com) reçoit une nouvelle invitation"),
    ],
)
def test_helpdesk_resend_button(slack, slack_api, portal, lang, expected):
    portal.set_locale("helen@example.com", lang)
    bob = portal.user("bob@example.com")
    assert slack.action("resend_invitation", str(bob.id), "U0HELEN").status_code == 200
    [call] = slack_api.wait_for("response_url")
    assert expected in text_of(call)
    assert call.params["response_type"] == "ephemeral"
    assert call.params["replace_original"] is False
    [invitation] = portal.invitations("bob@example.com")
    assert invitation.sent_by == InvitationSender.SLACK
    [event] = portal.audit("invitation.sent")
    assert event.actor_label == "helen@example.com" and event.channel == "slack"


def test_a_double_click_sends_once(slack, slack_api, portal):
    bob = portal.user("bob@example.com")
    for _ in range(3):
        slack.action("resend_invitation", str(bob.id), "U0HELEN")
    texts = [text_of(c) for c in slack_api.wait_for("response_url", 3)]
    assert sum("Done: Bob Durand" in t for t in texts) == 1
    assert sum("already sent a moment ago" in t for t in texts) == 2
    assert len(portal.invitations("bob@example.com")) == 1
    assert len(portal.audit("invitation.sent")) == 1


def test_an_employee_cannot_use_a_forged_resend_button(slack, slack_api, portal):
    bob = portal.user("bob@example.com")
    slack.action("resend_invitation", str(bob.id), "U0ALICE")
    assert "only the IT helpdesk" in text_of(slack_api.wait_for("response_url")[0])
    assert portal.invitations("bob@example.com") == []
    [event] = portal.audit("slack.refused")
    assert event.actor_label == "alice@example.com"


@pytest.mark.parametrize("value", ["999999", "not-a-number", ""])
def test_a_resend_button_for_an_unknown_account(slack, slack_api, value):
    slack.action("resend_invitation", value, "U0HELEN")
    assert "There is no portal account for" in text_of(slack_api.wait_for("response_url")[0])


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["Your enrollment link", "I've sent you a direct message"]),
        ("fr", ["Votre lien d’inscription", "Je vous ai envoyé votre lien"]),
    ],
)
def test_send_my_link_button_in_a_message(slack, slack_api, portal, lang, words):
    portal.set_locale("alice@example.com", lang)
    slack.action("send_my_link", "self", "U0ALICE")
    [dm] = slack_api.wait_for("chat.postMessage")
    assert dm.params["channel"] == "U0ALICE"
    assert words[0] in text_of(dm) and PORTAL + "/go/" in text_of(dm)
    assert words[1] in text_of(slack_api.wait_for("response_url")[0])
    assert len(portal.invitations("alice@example.com")) == 1


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["Your enrollment link", "valid until"]),
        ("fr", ["Votre lien d’inscription", "valable jusqu’au"]),
    ],
)
def test_send_my_link_button_in_the_app_home(slack, slack_api, portal, lang, words):
    portal.set_locale("alice@example.com", lang)
    slack.action("send_my_link", "self", "U0ALICE", container="view")
    [dm] = slack_api.wait_for("chat.postMessage")
    assert dm.params["channel"] == "U0ALICE" and words[0] in text_of(dm)
    # The Home tab is refreshed: it now shows the live invitation.
    [home] = slack_api.wait_for("views.publish")
    assert words[1] in text_of(home)
    assert len(slack_api.calls_to("chat.postMessage")) == 1
    assert slack_api.calls_to("response_url") == []


def test_home_link_button_clicked_twice_sends_once(slack, slack_api, portal):
    slack.action("send_my_link", "self", "U0ALICE", container="view")
    slack.action("send_my_link", "self", "U0ALICE", container="view")
    slack_api.wait_for("views.publish", 2)
    texts = [text_of(c) for c in slack_api.wait_for("chat.postMessage", 2)]
    assert sum("Your enrollment link" in t for t in texts) == 1
    assert len(portal.invitations("alice@example.com")) == 1


def test_open_the_portal_is_only_acknowledged(slack, slack_api):
    response = slack.action("open_portal", "", "U0ALICE")
    assert response.status_code == 200
    time.sleep(0.3)
    assert [c.method for c in slack_api.calls if c.method != "auth.test"] == []
