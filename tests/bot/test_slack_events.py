"""Direct messages, mentions and the App Home, in English and French; retries; rate limits."""

import time

import pytest

from portal.models import InvitationSender
from tests.support.slack_api import BOT_USER_ID, buttons_of, text_of

PORTAL = "https://portal.example.com"

DM_CASES = [
    # user, text, words in the reply (posted in the DM itself)
    ("U0ALICE", "what's my enrollment status?", ["Your enrollment", "User Enrollment"]),
    ("U0ALICE", "statut de mon inscription", ["Votre inscription", "Inscription des utilisateurs"]),
    ("U0ALICE", "send me my link", ["Your enrollment link", PORTAL + "/go/"]),
    ("U0ALICE", "renvoie mon invitation", ["Votre lien d’inscription", PORTAL + "/go/"]),
    ("U0HELEN", "renvoie l'invitation de <@U0BOB>", ["C’est fait : Bob Durand"]),
    ("U0HELEN", "resend bob@example.com", ["Done: Bob Durand (bob@example.com)"]),
    ("U0HELEN", "what's the status of <@U0BOB>?", ["Enrollment of Bob Durand"]),
    ("U0HELEN", "statut de bob@example.com", ["Inscription de Bob Durand"]),
    ("U0ALICE", "the weather is nice", ["Sorry, I didn't understand that.", "/enroll status"]),
    ("U0ALICE", "quelle heure est-il ?", ["Désolé, je n’ai pas compris.", "/enroll status"]),
    ("U0ALICE", "bonjour", ["Je vous aide à inscrire"]),
]


@pytest.mark.parametrize(("user", "text", "words"), DM_CASES)
def test_direct_messages_in_english_and_french(slack, slack_api, user, text, words):
    assert slack.direct_message(text, user).status_code == 200
    [call] = slack_api.wait_for("chat.postMessage")
    assert call.params["channel"] == "D" + user[1:]  # answered in the DM
    answer = text_of(call)
    for expected in words:
        assert expected in answer
    assert slack_api.calls_to("response_url") == []


def test_a_dm_resend_goes_through_the_invitation_service(slack, slack_api, portal):
    slack.direct_message("resend bob@example.com", "U0HELEN")
    slack_api.wait_for("chat.postMessage")
    [invitation] = portal.invitations("bob@example.com")
    assert invitation.sent_by == InvitationSender.SLACK
    [event] = portal.audit("invitation.sent")
    assert event.channel == "slack" and event.actor_label == "helen@example.com"


def test_an_employee_asking_about_someone_in_a_dm_is_refused(slack, slack_api, portal):
    slack.direct_message("renvoie l'invitation de <@U0BOB>", "U0ALICE")
    [call] = slack_api.wait_for("chat.postMessage")
    assert "seul le support informatique" in text_of(call)
    assert len(portal.audit("slack.refused")) == 1
    assert portal.invitations("bob@example.com") == []


def test_messages_that_are_not_a_person_writing_are_ignored(slack, slack_api):
    slack.event(
        {
            "subtype": "message_changed",
            "user": "U0ALICE",
            "text": "status",
            "channel": "D0ALICE",
            "channel_type": "im",
        },
        template="event_message_im_bolt.json",
    )
    slack.event(
        {
            "bot_id": "B0OTHER",
            "user": "U0ALICE",
            "text": "status",
            "channel": "D0ALICE",
            "channel_type": "im",
        },
        template="event_message_im_bolt.json",
    )
    slack.event(
        {"user": "U0ALICE", "text": "status", "channel": "C0GENERAL", "channel_type": "channel"},
        template="event_message_im_bolt.json",
    )
    slack.event(
        {
            "user": BOT_USER_ID,
            "text": "Your enrollment",
            "channel": "D0ALICE",
            "channel_type": "im",
        },
        template="event_message_im_bolt.json",
    )
    time.sleep(0.5)
    assert slack_api.calls_to("chat.postMessage") == []


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("what's my status?", ["Your enrollment"]),
        ("statut de mon inscription", ["Votre inscription"]),
    ],
)
def test_mentions_are_answered_only_to_the_asker(slack, slack_api, text, words):
    slack.mention(text, "U0ALICE")
    [call] = slack_api.wait_for("chat.postEphemeral")
    assert call.params["channel"] == "C0GENERAL" and call.params["user"] == "U0ALICE"
    for expected in words:
        assert expected in text_of(call)
    assert slack_api.calls_to("chat.postMessage") == []


def test_a_link_asked_by_mention_goes_by_dm(slack, slack_api):
    slack.mention("envoie-moi mon lien", "U0ALICE")
    [dm] = slack_api.wait_for("chat.postMessage")
    assert dm.params["channel"] == "U0ALICE" and PORTAL + "/go/" in text_of(dm)
    [note] = slack_api.wait_for("chat.postEphemeral")
    assert "Je vous ai envoyé votre lien" in text_of(note)


def test_helpdesk_status_by_mention_is_ephemeral_with_the_resend_button(slack, slack_api):
    slack.mention("status of <@U0BOB>", "U0HELEN")
    [call] = slack_api.wait_for("chat.postEphemeral")
    assert call.params["user"] == "U0HELEN"
    assert "resend_invitation" in buttons_of(call)


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        (
            "en",
            [
                "Hello Alice Martin!",
                "Here is where your enrollment with Example Corp stands",
                "User Enrollment",
                "al***@appleid.example.com",
                "Send me my enrollment link",
            ],
        ),
        (
            "fr",
            [
                "Bonjour Alice Martin !",
                "Voici où en est votre inscription auprès de Example Corp",
                "Inscription des utilisateurs",
                "M’envoyer mon lien d’inscription",
            ],
        ),
    ],
)
def test_app_home_shows_own_status_and_the_link_button(slack, slack_api, portal, lang, words):
    portal.set_locale("alice@example.com", lang)
    slack.home_opened("U0ALICE")
    [call] = slack_api.wait_for("views.publish")
    assert call.params["user_id"] == "U0ALICE"
    view = call.params["view"]
    assert view["type"] == "home"
    text = text_of(call)
    for expected in words:
        assert expected in text
    assert buttons_of(call)["send_my_link"]["value"] == "self"


def test_app_home_for_helpdesk_mentions_the_helpdesk_commands(slack, slack_api):
    slack.home_opened("U0HELEN")
    [call] = slack_api.wait_for("views.publish")
    assert "/enroll resend @someone" in text_of(call)


def test_app_home_for_someone_without_an_account(slack, slack_api):
    slack.home_opened("U0NOBODY")
    [call] = slack_api.wait_for("views.publish")
    text = text_of(call)
    assert "There is no portal account for nobody@example.com" in text
    assert buttons_of(call) == {}


def test_app_home_messages_tab_publishes_nothing(slack, slack_api):
    slack.event(
        {"user": "U0ALICE", "tab": "messages", "channel": "D0ALICE"},
        template="event_app_home_opened_bolt.json",
    )
    time.sleep(0.5)
    assert slack_api.calls_to("views.publish") == []


def test_users_info_is_cached(slack, slack_api):
    # One message at a time: concurrent first look-ups may each miss the empty cache.
    for count, text in enumerate(("status", "help", "link"), start=1):
        slack.direct_message(text, "U0ALICE")
        slack_api.wait_for("chat.postMessage", count)
    assert len(slack_api.calls_to("users.info")) == 1


def test_a_retried_event_is_acknowledged_without_acting_twice(slack, slack_api, portal):
    body = slack.event_body(
        {
            "user": "U0HELEN",
            "text": "resend bob@example.com",
            "channel": "D0HELEN",
            "channel_type": "im",
        },
        template="event_message_im_bolt.json",
        event_id="Ev0RETRY1",
    )
    assert slack.post(body, "application/json").status_code == 200
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    response = slack.post(body, "application/json", headers=retry)
    assert response.status_code == 200
    slack_api.wait_for("chat.postMessage")
    time.sleep(0.5)
    assert len(slack_api.calls_to("chat.postMessage")) == 1
    assert len(portal.invitations("bob@example.com")) == 1


def test_a_rate_limited_web_api_call_is_retried_after_retry_after(slack, slack_api):
    slack_api.rate_limit_once("chat.postMessage")
    slack.direct_message("what's my status?", "U0ALICE")
    first, second = slack_api.wait_for("chat.postMessage", 2, timeout=15)
    assert second.at - first.at >= 0.9  # Retry-After: 1
    assert text_of(first) == text_of(second)
    assert "Your enrollment" in text_of(second)
