"""`/enroll status|link|help`, and for the helpdesk `status|resend <@user|email>`."""

from __future__ import annotations

from slack_bolt import App

from .. import conversation, intents
from . import answer_safely, deliver_ephemeral, noop_ack, state, who_is

COMMAND = "/enroll"


def run_enroll(command: dict, client, respond) -> None:
    """After the ack: parse, find who asks, answer by ephemeral reply (and DM for links)."""
    slack_user_id = command.get("user_id", "")

    def make():
        intent = intents.parse_command(command.get("text") or "")
        req = who_is(client, slack_user_id, intent.language)
        return conversation.answer(intent, req, client, state().profiles)

    outcome = answer_safely(make, "command")
    deliver_ephemeral(outcome, client=client, slack_user_id=slack_user_id, respond=respond)


def register(app: App) -> None:
    app.command(COMMAND)(ack=noop_ack, lazy=[run_enroll])
