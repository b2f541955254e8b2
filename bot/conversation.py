"""From a parsed request and the person asking to what the assistant answers.

The same function serves `/enroll`, direct messages, mentions and buttons: only the way the
answer is delivered differs (`listeners._send`). Who may ask what is decided by the portal
account's role; what may be sent, how often and what is audited, by the portal's services.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from slack_sdk import WebClient

from . import blocks, idempotency, identity, services
from .blocks import Reply, text_reply
from .identity import ProfileCache, Requester
from .intents import Intent, Kind, Target
from .messages import t


@dataclass
class Outcome:
    # Shown where the request was made (ephemeral anywhere but the requester's DM).
    reply: Reply | None = None
    # Posted in the requester's direct messages with the app (their enrollment link).
    dm: Reply | None = None
    # Replaces the message whose button was clicked (a request marked handled).
    replace: Reply | None = None


def _cooldown() -> int:
    return int(current_app.config.get("SLACK_ACTION_COOLDOWN_SECONDS", 60))


def no_account(req: Requester) -> Outcome:
    if req.profile is None or not req.profile.email:
        return Outcome(text_reply(t("identity.no_email", req.lang)))
    email = blocks.escape(req.profile.email)
    return Outcome(text_reply(t("identity.no_account", req.lang, email=email)))


def account_problem(req: Requester) -> Outcome | None:
    """Why this Slack user cannot be served, or None."""
    if req.user is None:
        return no_account(req)
    if not req.user.active:
        return Outcome(text_reply(t("identity.inactive", req.lang)))
    return None


def _is_self(target: Target, req: Requester) -> bool:
    if target.slack_user_id:
        return target.slack_user_id == req.slack_user_id
    return bool(target.email) and target.email == req.user.email


def resolve(
    target: Target, req: Requester, client: WebClient, cache: ProfileCache
) -> tuple[object | None, str | None]:
    """The portal account a target names, or None and what to tell the asker."""
    lang = req.lang
    if target.name:
        return None, t("target.unresolved", lang, name=blocks.escape(target.name))
    if target.email:
        person = services.user_by_email(target.email)
        if person is None:
            return None, t("target.no_account", lang, who=blocks.escape(target.email))
        return person, None
    profile = identity.slack_profile(client, target.slack_user_id, cache)
    who = f"<@{target.slack_user_id}>"
    if profile is not None and not profile.email:
        return None, t("target.no_email", lang, who=who)
    person = identity.portal_user_for(profile)
    if person is None:
        return None, t("target.no_account", lang, who=who)
    return person, None


def help_outcome(req: Requester, intent: Intent | None = None) -> Outcome:
    preface = None
    if intent is not None and intent.unknown_word:
        preface = t("help.unknown_command", req.lang, word=blocks.escape(intent.unknown_word))
    elif intent is not None and not intent.understood:
        preface = t("help.not_understood", req.lang)
    return Outcome(
        blocks.help_reply(
            req.lang,
            company=services.company_name(req.user),
            helpdesk=services.is_helpdesk(req.user),
            preface=preface,
        )
    )


def own_status(req: Requester) -> Outcome:
    report = services.status_report(req.user, actor=req.user)
    return Outcome(
        blocks.status_reply(report, req.lang, own=True, portal_link=services.enroll_url())
    )


def status_of(person, req: Requester) -> Outcome:
    report = services.status_report(person, actor=req.user)
    link = services.admin_user_url(person.id)
    return Outcome(blocks.status_reply(report, req.lang, own=False, portal_link=link))


def _send(person, req: Requester, action: str) -> tuple[services.SentInvitation | None, Outcome]:
    """Send `person` a new invitation once, whatever the retries and double clicks."""
    lang = req.lang
    own = person.id == req.user.id
    who = t("you", lang) if own else blocks.escape(f"{person.display_name} ({person.email})")
    key = f"{action}:{req.user.id}:{person.id}"
    if not idempotency.claim(key, _cooldown()):
        return None, Outcome(text_reply(t("cooldown", lang)))
    try:
        sent = services.send_invitation(person, actor=req.user)
    except services.ResendLimitReached as exc:
        idempotency.release(key)
        time = blocks.when(exc.next_possible_at, lang, time_only=True)
        return None, Outcome(text_reply(t("error.rate_limited", lang, who=who, time=time)))
    except services.CannotInvite:
        idempotency.release(key)
        return None, Outcome(text_reply(t("error.cannot_invite", lang, who=who)))
    except Exception:
        idempotency.release(key)
        raise
    return sent, Outcome()


def own_link(req: Requester) -> Outcome:
    sent, outcome = _send(req.user, req, "link")
    if sent is None:
        return outcome
    dm = blocks.link_reply(sent, req.lang, qr_url=services.qr_url())
    return Outcome(reply=text_reply(t("link.sent_dm", req.lang)), dm=dm)


def resend_for(person, req: Requester) -> Outcome:
    sent, outcome = _send(person, req, "resend")
    if sent is None:
        return outcome
    date = blocks.when(sent.expires_at, req.lang)
    name, email = blocks.escape(sent.name), blocks.escape(sent.email)
    text = t("resend.done", req.lang, name=name, email=email, date=date)
    return Outcome(text_reply(text))


def refuse(req: Requester, intent: Intent) -> Outcome:
    """An employee asked about someone else: a polite no, and an audit event."""
    services.record_refusal(
        req.user,
        reason="not_helpdesk",
        asked=str(intent.kind),
        slack_user_id=req.slack_user_id,
        about=str(intent.target or ""),
    )
    return Outcome(text_reply(t("target.refused", req.lang)))


def answer(intent: Intent, req: Requester, client: WebClient, cache: ProfileCache) -> Outcome:
    """What to answer `req` for `intent` (the one entry point of every listener)."""
    problem = account_problem(req)
    if problem is not None:
        return problem
    if intent.kind is Kind.HELP:
        return help_outcome(req, intent)
    target = intent.target
    kind = intent.kind
    if target is not None and _is_self(target, req):
        target = None
        kind = Kind.LINK if kind is Kind.RESEND else kind
    if target is None:
        if kind is Kind.STATUS:
            return own_status(req)
        if kind is Kind.LINK:
            return own_link(req)
        return Outcome(text_reply(t("target.needed", req.lang)))
    if not services.is_helpdesk(req.user):
        return refuse(req, intent)
    person, problem_text = resolve(target, req, client, cache)
    if person is None:
        return Outcome(text_reply(problem_text or ""))
    if kind is Kind.STATUS:
        return status_of(person, req)
    return resend_for(person, req)


def resend_button(person_id: str, req: Requester) -> Outcome:
    """The helpdesk's "Resend invitation" button (the role is checked again here)."""
    problem = account_problem(req)
    if problem is not None:
        return problem
    intent = Intent(Kind.RESEND, Target(name=f"user #{person_id}"))
    if not services.is_helpdesk(req.user):
        return refuse(req, intent)
    person = services.user_by_id(person_id)
    if person is None:
        return Outcome(text_reply(t("target.no_account", req.lang, who=f"#{person_id}")))
    if person.id == req.user.id:
        return own_link(req)
    return resend_for(person, req)


def send_link_button(req: Requester) -> Outcome:
    return account_problem(req) or own_link(req)


def handled_button(notification_id: str, req: Requester, original: list[dict]) -> Outcome:
    """The helpdesk's "Mark as handled" on a personal-device request (role checked here);
    the channel's message then says who handled it, without its buttons."""
    problem = account_problem(req)
    if problem is not None:
        return problem
    if not services.is_helpdesk(req.user):
        services.record_refusal(
            req.user,
            reason="not_helpdesk",
            asked="mark_handled",
            slack_user_id=req.slack_user_id,
            about=f"notification #{notification_id}"[:200],
        )
        return Outcome(text_reply(t("handled.refused", req.lang)))
    person = services.mark_handled(notification_id, actor=req.user)
    if person is None:
        return Outcome(text_reply(t("handled.gone", req.lang)))
    who = blocks.escape(f"{person.display_name or person.email} ({person.email})")
    by = blocks.escape(req.user.display_name or req.user.email)
    kept = [block for block in original if block.get("type") != "actions"]
    # The channel's message stays in the channel's language (English, as it was posted).
    handled = blocks.context(t("helpdesk.handled_by", "en", name=by))
    replace = Reply(t("helpdesk.handled_by", "en", name=by), [*kept, handled])
    return Outcome(text_reply(t("handled.done", req.lang, who=who)), replace=replace)
