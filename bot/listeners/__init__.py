"""Slack listeners: each module registers its own with `register(app)`.

Every listener acknowledges at once and does its work in a lazy listener (after the ack, in
an app context: see `bot.app`). The helpers here find the person asking and deliver an
`Outcome` the way each surface needs; a failure still gets a short apology, never silence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import current_app
from slack_sdk import WebClient

from .. import identity
from ..blocks import Reply, text_reply
from ..conversation import Outcome
from ..messages import t

log = logging.getLogger("bot")


def noop_ack(ack) -> None:
    ack()


def state():
    return current_app.extensions["slack"]


def who_is(client: WebClient, slack_user_id: str, detected: str | None = None):
    return identity.requester(client, slack_user_id, state().profiles, detected=detected)


def answer_safely(make: Callable[[], Outcome], what: str) -> Outcome:
    """Run `make`; on any error, log it and apologise (never leave the person unanswered)."""
    try:
        return make()
    except Exception:
        log.exception("Slack %s failed", what)
        return Outcome(text_reply(t("error.internal", "en")))


def post_dm(client: WebClient, slack_user_id: str, reply: Reply) -> None:
    """A message in the person's direct messages with the app (channel = their user id)."""
    client.chat_postMessage(channel=slack_user_id, **reply.as_kwargs())


def deliver_ephemeral(
    outcome: Outcome,
    *,
    client: WebClient,
    slack_user_id: str,
    respond=None,
    channel: str | None = None,
    thread_ts: str | None = None,
) -> None:
    """Slash commands, buttons and mentions: the link by DM, the answer only to the asker."""
    if outcome.dm is not None:
        post_dm(client, slack_user_id, outcome.dm)
    reply = outcome.reply
    if reply is None:
        return
    if respond is not None and getattr(respond, "response_url", None):
        respond(response_type="ephemeral", replace_original=False, **reply.as_kwargs())
    elif channel is not None:
        client.chat_postEphemeral(
            channel=channel, user=slack_user_id, thread_ts=thread_ts, **reply.as_kwargs()
        )
    else:
        post_dm(client, slack_user_id, reply)
