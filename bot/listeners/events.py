"""Direct messages to the app and mentions of it, in English or French."""

from __future__ import annotations

from slack_bolt import App

from .. import conversation, intents
from . import answer_safely, deliver_ephemeral, noop_ack, state, who_is

# Message subtypes that are not a person writing to the bot (edits, joins, bots …).
IGNORED = "subtype", "bot_id", "app_id"


def _understand(event: dict, client, context) -> conversation.Outcome:
    slack_user_id = event.get("user", "")

    def make():
        intent = intents.parse_message(event.get("text") or "", bot_user_id=context.bot_user_id)
        req = who_is(client, slack_user_id, intent.language)
        return conversation.answer(intent, req, client, state().profiles)

    return answer_safely(make, "message")


def run_direct_message(event: dict, client, context) -> None:
    """In the DM itself: the answer, or the link (no "I sent you a DM" there)."""
    if event.get("channel_type") != "im" or any(event.get(k) for k in IGNORED):
        return
    if not event.get("user"):
        return
    outcome = _understand(event, client, context)
    reply = outcome.dm or outcome.reply
    if reply is not None:
        client.chat_postMessage(
            channel=event["channel"], thread_ts=event.get("thread_ts"), **reply.as_kwargs()
        )


def run_mention(event: dict, client, context) -> None:
    """In a channel: answers only the person who asked (ephemeral); links go by DM."""
    if not event.get("user") or event.get("bot_id"):
        return
    outcome = _understand(event, client, context)
    deliver_ephemeral(
        outcome,
        client=client,
        slack_user_id=event["user"],
        channel=event.get("channel"),
        thread_ts=event.get("thread_ts"),
    )


def register(app: App) -> None:
    app.event("app_mention")(ack=noop_ack, lazy=[run_mention])
    app.event("message")(ack=noop_ack, lazy=[run_direct_message])
