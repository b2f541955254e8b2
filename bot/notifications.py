"""Posting the portal's queued Slack messages (`portal.rollout.notify`): DMs to employees
and the helpdesk channel's alerts with buttons to act.

`deliver_pending` claims each waiting row with one conditional UPDATE (so two workers never
post the same one), finds the person in Slack by e-mail (`users.lookupByEmail`), posts, and
marks the row sent, skipped (no Slack account with that e-mail) or, after a few failed
attempts, failed. Texts are composed here, in the reader's language.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from portal.devices import capabilities
from portal.enrollment.guide import DEVICE_NAMES
from portal.enrollment.journey import PERSONAL_DEVICE_REQUEST
from portal.extensions import db
from portal.models import SlackNotification, User, utcnow

from . import services
from .blocks import (
    Reply,
    actions,
    context,
    escape,
    handled_button,
    header,
    link_button,
    portal_button,
    resend_button,
    section,
)
from .identity import NOT_FOUND_ERRORS
from .messages import lang_of, t

log = logging.getLogger("bot")

MAX_ATTEMPTS = 5
LEASE = timedelta(minutes=2)
BACKOFF = timedelta(minutes=1)


def _device_word(details: dict, lang: str) -> str:
    return DEVICE_NAMES.get(details.get("platform", "")) or t("device.generic", lang)


# -- composing -------------------------------------------------------------------------------


def enrolled_reply(user: User, details: dict, lang: str) -> Reply:
    device = _device_word(details, lang)
    with force_locale(lang):
        rows = capabilities.capabilities(
            details.get("enrollment_type", "user"), details["platform"]
        )
        can = [str(c.text) for c in rows if c.can]
        cannot = [str(c.text) for c in rows if not c.can]
    intro = t("enrolled.intro", lang, device=device, company=escape(services.company_name(user)))
    blocks = [
        header(t("enrolled.title", lang, device=device)),
        section(intro),
        section(t("enrolled.can", lang) + "\n" + "\n".join(f"• {c}" for c in can)),
        section(t("enrolled.cannot", lang) + "\n" + "\n".join(f"• {c}" for c in cannot)),
        actions(portal_button(lang, services.portal_url("/devices"))),
    ]
    return Reply(t("enrolled.title", lang, device=device) + ". " + intro, blocks)


def admin_action_reply(user: User, details: dict, lang: str) -> Reply:
    device = _device_word(details, lang)
    message = t("admin." + details.get("action", "lock"), lang, device=device)
    blocks = [
        section(message),
        context(t("admin.question", lang)),
        actions(portal_button(lang, services.portal_url("/devices"))),
    ]
    return Reply(message, blocks)


def reminder_reply(user: User, details: dict, lang: str) -> Reply:
    link = details.get("link") or services.portal_url("/enroll")
    message = t("reminder.text", lang, company=escape(services.company_name(user)), link=link)
    button = link_button(t("button.enroll", lang), link, style="primary")
    return Reply(message, [section(message), actions(button)])


def helpdesk_reply(row: SlackNotification, lang: str = "en") -> Reply:
    details = row.details or {}
    user = db.session.get(User, details["user_id"]) if details.get("user_id") else None
    name = (user.display_name or user.email) if user is not None else ""
    who = f"{escape(name)} ({escape(user.email)})" if user is not None else ""
    reason = escape(str(details.get("reason") or details.get("code") or ""))
    message = t(
        "helpdesk." + row.kind,
        lang,
        who=who or t("helpdesk.someone", lang),
        reason=reason,
        device=_device_word(details, lang),
    )
    blocks = [section(message)]
    if details.get("detail"):
        blocks.append(context(escape(str(details["detail"]))))
    if details.get("note"):
        blocks.append(context(t("helpdesk.note", lang, note=escape(str(details["note"])))))
    if user is not None:
        open_page = link_button(t("helpdesk.open", lang), services.admin_user_url(user.id))
        if row.kind == PERSONAL_DEVICE_REQUEST:
            act = handled_button(details["notification_id"], lang)
        else:
            act = resend_button(user.id, name, lang, style=None)
        blocks.append(actions(open_page, act))
    return Reply(message, blocks)


COMPOSERS = {
    "device_enrolled": enrolled_reply,
    "admin_action": admin_action_reply,
    "reminder": reminder_reply,
}


# -- delivering ------------------------------------------------------------------------------


@dataclass
class DeliveryResult:
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    retrying: int = 0


def _claim(row_id: int, now: datetime) -> bool:
    claimed = db.session.execute(
        sa.update(SlackNotification)
        .where(
            SlackNotification.id == row_id,
            SlackNotification.status == "pending",
            sa.or_(
                SlackNotification.claimed_until.is_(None), SlackNotification.claimed_until <= now
            ),
        )
        .values(claimed_until=now + LEASE, attempts=SlackNotification.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return bool(claimed)


def _finish(row_id: int, status: str, *, error: str | None = None, now: datetime) -> None:
    db.session.execute(
        sa.update(SlackNotification)
        .where(SlackNotification.id == row_id)
        .values(
            status=status,
            last_error=error[:500] if error else None,
            sent_at=now if status == "sent" else None,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _retry_later(row: SlackNotification, error: str, now: datetime) -> str:
    if row.attempts >= MAX_ATTEMPTS:
        _finish(row.id, "failed", error=error, now=now)
        return "failed"
    db.session.execute(
        sa.update(SlackNotification)
        .where(SlackNotification.id == row.id)
        .values(claimed_until=now + BACKOFF * row.attempts, last_error=error[:500])
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return "retrying"


def _post(client: WebClient, row: SlackNotification) -> str:
    """Post one row; returns the status to record (sent or skipped)."""
    if row.user_id is None:
        channel = (current_app.config.get("SLACK_HELPDESK_CHANNEL") or "").strip()
        if not channel:
            return "skipped"
        client.chat_postMessage(channel=channel, **helpdesk_reply(row).as_kwargs())
        return "sent"
    user = db.session.get(User, row.user_id)
    if user is None or not user.active or not user.email:
        return "skipped"
    try:
        found = client.users_lookupByEmail(email=user.email)
    except SlackApiError as exc:
        if exc.response.get("error") in NOT_FOUND_ERRORS:
            return "skipped"
        raise
    slack_user = (found.get("user") or {}).get("id")
    if not slack_user:
        return "skipped"
    lang = lang_of(user.locale) or lang_of((found.get("user") or {}).get("locale")) or "en"
    reply = COMPOSERS[row.kind](user, row.details or {}, lang)
    client.chat_postMessage(channel=slack_user, **reply.as_kwargs())
    return "sent"


def deliver_pending(
    client: WebClient | None = None, *, now: datetime | None = None, limit: int = 200
) -> DeliveryResult:
    """Post the waiting Slack messages (oldest first); each is claimed, posted, marked."""
    from .app import make_client

    client = client or make_client(current_app.config)
    now = now or utcnow()
    result = DeliveryResult()
    ids = list(
        db.session.scalars(
            sa.select(SlackNotification.id)
            .where(
                SlackNotification.status == "pending",
                sa.or_(
                    SlackNotification.claimed_until.is_(None),
                    SlackNotification.claimed_until <= now,
                ),
            )
            .order_by(SlackNotification.id)
            .limit(limit)
        )
    )
    db.session.rollback()
    for row_id in ids:
        if not _claim(row_id, now):
            continue
        row = db.session.get(SlackNotification, row_id)
        try:
            status = _post(client, row)
        except Exception as exc:  # Slack down, bad token…: retried later, then given up
            log.warning("Slack notification %s not sent: %s", row_id, exc)
            outcome = _retry_later(row, str(exc), now)
            setattr(result, outcome, getattr(result, outcome) + 1)
            continue
        _finish(row_id, status, now=now)
        setattr(result, status, getattr(result, status) + 1)
    return result
