"""Buttons: the helpdesk's "Resend invitation" and "Mark as handled", "Send me my enrollment
link", portal links."""

from __future__ import annotations

from slack_bolt import App

from .. import conversation
from ..blocks import HANDLED_ACTION, OPEN_PORTAL_ACTION, RESEND_ACTION, SEND_LINK_ACTION
from . import answer_safely, deliver_ephemeral, noop_ack, post_dm, who_is
from .views import publish_home


def _where(body: dict) -> tuple[str | None, bool]:
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    return channel, container.get("type") == "view"


def run_resend(body: dict, action: dict, client, respond) -> None:
    slack_user_id = body["user"]["id"]

    def make():
        req = who_is(client, slack_user_id)
        return conversation.resend_button(str(action.get("value", "")), req)

    outcome = answer_safely(make, "resend button")
    channel, _in_home = _where(body)
    deliver_ephemeral(
        outcome, client=client, slack_user_id=slack_user_id, respond=respond, channel=channel
    )


def run_handled(body: dict, action: dict, client, respond) -> None:
    slack_user_id = body["user"]["id"]
    original = (body.get("message") or {}).get("blocks") or []

    def make():
        req = who_is(client, slack_user_id)
        return conversation.handled_button(str(action.get("value", "")), req, original)

    outcome = answer_safely(make, "handled button")
    if outcome.replace is not None and getattr(respond, "response_url", None):
        respond(replace_original=True, **outcome.replace.as_kwargs())
    channel, _in_home = _where(body)
    deliver_ephemeral(
        outcome, client=client, slack_user_id=slack_user_id, respond=respond, channel=channel
    )


def run_send_link(body: dict, client, respond) -> None:
    slack_user_id = body["user"]["id"]

    def make():
        req = who_is(client, slack_user_id)
        return conversation.send_link_button(req)

    outcome = answer_safely(make, "link button")
    channel, in_home = _where(body)
    if in_home:
        # The DM is the answer (the link, or why not); the Home tab then shows the invitation.
        message = outcome.dm or outcome.reply
        if message is not None:
            post_dm(client, slack_user_id, message)
        publish_home(client, slack_user_id)
        return
    deliver_ephemeral(
        outcome, client=client, slack_user_id=slack_user_id, respond=respond, channel=channel
    )


def register(app: App) -> None:
    app.action(RESEND_ACTION)(ack=noop_ack, lazy=[run_resend])
    app.action(SEND_LINK_ACTION)(ack=noop_ack, lazy=[run_send_link])
    app.action(HANDLED_ACTION)(ack=noop_ack, lazy=[run_handled])
    # A link button opens the browser; Slack still sends the click, which needs an ack.
    app.action(OPEN_PORTAL_ACTION)(noop_ack)
