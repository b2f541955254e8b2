"""`/enroll status|link|help|resend` on a live app, answers read from the Slack stand-in."""

from datetime import UTC, datetime, timedelta

import pytest

from portal.extensions import db
from portal.models import (
    Device,
    DeviceStatus,
    EnrollmentDecision,
    EnrollmentMethod,
    EnrollmentType,
    InvitationSender,
    Platform,
)
from tests.support.slack_api import buttons_of, text_of

PORTAL = "https://portal.example.com"


def reply(slack_api, count: int = 1):
    """The `count`-th answer posted to a response URL."""
    return slack_api.wait_for("response_url", count)[count - 1]


STATUS = {
    "en": [
        "Your enrollment",
        "User Enrollment, account-driven (for iOS 18)",
        "All User Enrollment requirements are met",
        "al***@appleid.example.com",
        "none sent yet",
        "No devices yet.",
        "Send me my enrollment link",
        "Open the portal",
    ],
    "fr": [
        "Votre inscription",
        "Inscription des utilisateurs, par le compte professionnel",
        "Toutes les conditions",
        "al***@appleid.example.com",
        "aucune envoyée",
        "Aucun appareil",
        "M’envoyer mon lien d’inscription",
        "Ouvrir le portail",
    ],
}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_own_status_in_the_portal_users_language(slack, slack_api, portal, lang):
    portal.set_locale("alice@example.com", lang)
    assert slack.command("status", "U0ALICE").status_code == 200
    call = reply(slack_api)
    assert call.params["response_type"] == "ephemeral"
    text = text_of(call)
    for expected in STATUS[lang]:
        assert expected in text
    assert "alice@appleid" not in text  # the Managed Apple ID is masked, even one's own
    buttons = buttons_of(call)
    assert buttons["open_portal"]["url"] == PORTAL + "/enroll"
    assert "send_my_link" in buttons and "resend_invitation" not in buttons


def test_the_status_request_is_recorded_as_asked_from_slack(slack, slack_api, portal):
    slack.command("status", "U0ALICE")
    reply(slack_api)
    with portal.app.app_context():
        decision = db.session.query(EnrollmentDecision).one()
        assert decision.asked_via == "slack" and decision.platform == "ios"


def test_language_falls_back_to_slack_then_to_the_words_used(slack, slack_api, portal):
    slack.command("statut", "U0BOB")  # no locale anywhere: the French sub-command decides
    assert "Votre inscription" in text_of(reply(slack_api, 1))
    slack_api.users["U0ALICE"]["locale"] = "fr-FR"  # Slack's locale beats the words
    slack.command("status", "U0ALICE")
    assert "Votre inscription" in text_of(reply(slack_api, 2))
    slack_api.users["U0HELEN"]["locale"] = "fr-FR"
    portal.set_locale("helen@example.com", "en")  # the portal's locale beats Slack's
    slack.command("statut", "U0HELEN")
    assert "Your enrollment" in text_of(reply(slack_api, 3))


def test_status_shows_the_newest_device_and_decides_for_it(slack, slack_api, portal):
    with portal.app.app_context():
        alice = portal.user("alice@example.com")
        now = datetime.now(UTC)
        db.session.add_all(
            [
                Device(
                    user_id=alice.id,
                    name="Old iPhone",
                    platform=Platform.IOS,
                    os_version="16.1",
                    enrollment_type=EnrollmentType.USER,
                    enrollment_method=EnrollmentMethod.ACCOUNT_DRIVEN,
                    status=DeviceStatus.UNENROLLED,
                    last_checkin_at=now - timedelta(days=90),
                ),
                Device(
                    user_id=alice.id,
                    name="Alice's MacBook",
                    platform=Platform.MACOS,
                    os_version="14.5",
                    enrollment_type=EnrollmentType.USER,
                    enrollment_method=EnrollmentMethod.ACCOUNT_DRIVEN,
                    status=DeviceStatus.ENROLLED,
                    enrolled_at=now,
                    last_checkin_at=now,
                ),
            ]
        )
        db.session.commit()
    slack.command("status", "U0ALICE")
    text = text_of(reply(slack_api))
    assert "(for macOS 14.5)" in text
    assert "Alice's MacBook — macOS 14.5 — enrolled, User Enrollment — last check-in" in text
    assert "Old iPhone — iOS 16.1 — unenrolled" in text
    assert text.index("MacBook") < text.index("Old iPhone")


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["Your enrollment link", "I've sent you a direct message"]),
        ("fr", ["Votre lien d’inscription", "Je vous ai envoyé votre lien"]),
    ],
)
def test_link_is_sent_by_dm_through_the_invitation_service(slack, slack_api, portal, lang, words):
    portal.set_locale("alice@example.com", lang)
    slack.command("link", "U0ALICE")
    assert words[1] in text_of(reply(slack_api))
    dm = slack_api.wait_for("chat.postMessage")[0]
    assert dm.params["channel"] == "U0ALICE"
    text = text_of(dm)
    assert words[0] in text
    assert PORTAL + "/go/" in text
    assert PORTAL + "/enroll/qr.png" in text
    [invitation] = portal.invitations("alice@example.com")
    assert invitation.sent_by == InvitationSender.SLACK
    assert invitation.sent_by_user_id == portal.user("alice@example.com").id
    [event] = portal.audit("invitation.sent")
    assert event.channel == "slack" and event.actor_label == "alice@example.com"
    assert [m.recipient for m in portal.outbox()] == ["alice@example.com"]


def test_asking_twice_for_a_link_sends_once(slack, slack_api, portal):
    slack.command("link", "U0ALICE")
    slack.command("lien", "U0ALICE")
    texts = [text_of(c) for c in slack_api.wait_for("response_url", 2)]
    assert sum("already sent a moment ago" in t or "déjà parti" in t for t in texts) == 1
    assert len(portal.invitations("alice@example.com")) == 1
    assert len(slack_api.calls_to("chat.postMessage")) == 1


def test_the_invitation_services_limit_applies(slack, slack_api, portal):
    from portal.invitations import service as invitations

    with portal.app.app_context():
        bob = portal.user("bob@example.com")
        bob = db.session.merge(bob)
        for _ in range(5):
            invitations.invite(bob, actor=None, sent_by=InvitationSender.SYSTEM)
        db.session.commit()
    slack.command("link", "U0BOB")
    assert "Too many invitations were sent for you in the last hour" in text_of(reply(slack_api))
    assert len(portal.invitations("bob@example.com")) == 5
    assert slack_api.calls_to("chat.postMessage") == []


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("help", "en", "`/enroll status` — your enrollment status"),
        ("aide", "fr", "`/enroll status` — l’état de votre inscription"),
        ("", "en", "Ask me in a direct message"),
        ("frobnicate", "en", "I don't know the command “frobnicate”."),
    ],
)
def test_help_and_unknown_sub_commands(slack, slack_api, text, lang, expected):
    slack.command(text, "U0ALICE")
    answer = text_of(reply(slack_api))
    assert expected in answer
    assert "For the helpdesk" not in answer and "Pour le support" not in answer


def test_helpdesk_help_lists_the_helpdesk_commands(slack, slack_api):
    slack.command("help", "U0HELEN")
    assert "`/enroll resend @someone`" in text_of(reply(slack_api))


@pytest.mark.parametrize("asked", ["status <@U0BOB|bob>", "resend bob@example.com"])
def test_an_employee_asking_about_someone_else_is_refused_and_audited(
    slack, slack_api, portal, asked
):
    slack.command(asked, "U0ALICE")
    assert "only the IT helpdesk can look up or resend" in text_of(reply(slack_api))
    [event] = portal.audit("slack.refused")
    assert event.actor_label == "alice@example.com" and event.channel == "slack"
    assert event.after["reason"] == "not_helpdesk"
    # Nothing about Bob was looked up or sent.
    assert [c.params.get("user") for c in slack_api.calls_to("users.info")] == ["U0ALICE"]
    assert portal.invitations("bob@example.com") == []


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        (
            "en",
            [
                "Enrollment of Bob Durand",
                "Device Enrollment",
                "Your account is set up for",
                "bo***@appleid.example.com",
                "Resend invitation",
                "Resend the invitation?",
            ],
        ),
        (
            "fr",
            [
                "Inscription de Bob Durand",
                "Inscription de l’appareil",
                "Votre compte est prévu pour",
                "bo***@appleid.example.com",
                "Renvoyer l’invitation",
                "Renvoyer l’invitation ?",
            ],
        ),
    ],
)
def test_helpdesk_sees_someones_status_with_a_resend_button(slack, slack_api, portal, lang, words):
    portal.set_locale("helen@example.com", lang)
    slack.command("status <@U0BOB|bob>", "U0HELEN")
    call = reply(slack_api)
    assert call.params["response_type"] == "ephemeral"
    text = text_of(call)
    for expected in words:
        assert expected in text
    buttons = buttons_of(call)
    bob = portal.user("bob@example.com")
    resend = buttons["resend_invitation"]
    assert resend["value"] == str(bob.id)
    assert set(resend["confirm"]) == {"title", "text", "confirm", "deny"}
    assert buttons["open_portal"]["url"] == f"{PORTAL}/admin/users/{bob.id}"


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        ("status bob@example.com", "Enrollment of Bob Durand"),
        ("status nobody@example.com", "There is no portal account for nobody@example.com."),
        ("status <@U0NOBODY|nobody>", "There is no portal account for <@U0NOBODY>."),
        ("status <@U0UNKNOWN>", "There is no portal account for <@U0UNKNOWN>."),
        ("status <@U0NOMAIL|guest>", "<@U0NOMAIL> has no e-mail address on their Slack profile"),
        ("status @bob", "I couldn't tell who “@bob” is."),
        ("resend", "I've sent you a direct message"),
        ("status <@U0HELEN>", "Your enrollment"),
    ],
)
def test_helpdesk_targets(slack, slack_api, asked, expected):
    slack.command(asked, "U0HELEN")
    assert expected in text_of(reply(slack_api))


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("U0NOBODY", "There is no portal account for nobody@example.com."),
        ("U0NOMAIL", "I can't see an e-mail address on your Slack profile"),
        ("U0STRANGER", "I can't see an e-mail address on your Slack profile"),
    ],
)
def test_slack_users_without_a_portal_account_are_told_so(slack, slack_api, user, expected):
    slack.command("status", user)
    assert expected in text_of(reply(slack_api))


def test_a_deactivated_account_is_told_so(slack, slack_api, portal):
    import sqlalchemy as sa

    from portal.models import User

    with portal.app.app_context():
        db.session.execute(
            sa.update(User).where(User.email == "bob@example.com").values(active=False)
        )
        db.session.commit()
    slack.command("link", "U0BOB")
    assert "Your portal account is deactivated" in text_of(reply(slack_api))
    assert portal.invitations("bob@example.com") == []


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("resend <@U0BOB|bob>", "Done: Bob Durand (bob@example.com) gets a new invitation"),
        ("renvoyer <@U0BOB|bob>", "C’est fait : Bob Durand (bob@example.com) reçoit une"),
    ],
)
def test_helpdesk_resend_by_command(slack, slack_api, portal, command, expected):
    slack.command(command, "U0HELEN")
    text = text_of(reply(slack_api))
    assert expected in text
    [invitation] = portal.invitations("bob@example.com")
    assert invitation.sent_by == InvitationSender.SLACK
    assert invitation.sent_by_user_id == portal.user("helen@example.com").id
    [event] = portal.audit("invitation.sent")
    assert event.actor_label == "helen@example.com" and event.channel == "slack"
    assert slack_api.calls_to("chat.postMessage") == []  # nothing posted about Bob publicly


def test_a_failure_after_the_ack_still_gets_an_answer(slack, slack_api, monkeypatch):
    from bot import services

    def broken(*_args, **_kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(services, "status_report", broken)
    slack.command("status", "U0ALICE")
    assert "something went wrong on our side" in text_of(reply(slack_api))


def test_names_from_the_directory_cannot_inject_slack_markup(slack, slack_api, portal):
    import sqlalchemy as sa

    from portal.models import User

    with portal.app.app_context():
        db.session.execute(
            sa.update(User)
            .where(User.email == "bob@example.com")
            .values(display_name="<!here> Bob")
        )
        db.session.commit()
    slack.command("resend bob@example.com", "U0HELEN")
    call = reply(slack_api)
    sections = [b["text"]["text"] for b in call.params["blocks"] if b["type"] == "section"]
    assert any("&lt;!here&gt; Bob" in s for s in sections)
    assert not any("<!here>" in s for s in sections)
