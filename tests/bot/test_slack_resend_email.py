"""A helpdesk resend from Slack, end to end: one e-mail through a real SMTP server, one audit
event, whatever Slack's retries and double clicks."""

import time

from tests.support.slack_api import text_of


def test_helpdesk_resend_sends_exactly_one_email(mail_slack, slack_api, mail_portal, smtp):
    body = mail_slack.event_body(
        {
            "user": "U0HELEN",
            "text": "resend bob@example.com",
            "channel": "D0HELEN",
            "channel_type": "im",
        },
        template="event_message_im_bolt.json",
        event_id="Ev0RESEND",
    )
    assert mail_slack.post(body, "application/json").status_code == 200
    # Slack thought the first delivery was lost and sends it again.
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert mail_slack.post(body, "application/json", headers=retry).status_code == 200
    [answer] = slack_api.wait_for("chat.postMessage")
    assert "Done: Bob Durand (bob@example.com)" in text_of(answer)

    # Then the "Resend invitation" button, double-clicked.
    bob = mail_portal.user("bob@example.com")
    for _ in range(2):
        assert mail_slack.action("resend_invitation", str(bob.id), "U0HELEN").status_code == 200
    clicks = [text_of(c) for c in slack_api.wait_for("response_url", 2)]
    assert all("already sent a moment ago" in t for t in clicks)

    result = mail_portal.deliver()
    assert result.sent == 1
    assert smtp.wait_for(1)
    time.sleep(0.3)
    [message] = smtp.messages
    assert message["To"] == "bob@example.com"
    assert "https://portal.example.com/go/" in message.get_body(("plain",)).get_content()
    assert mail_portal.deliver().sent == 0

    [invitation] = mail_portal.invitations("bob@example.com")
    assert invitation.sent_by == "slack"
    [event] = mail_portal.audit("invitation.sent")
    assert event.actor_label == "helen@example.com" and event.channel == "slack"
    assert len(slack_api.calls_to("chat.postMessage")) == 1
