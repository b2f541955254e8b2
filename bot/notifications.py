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
from portal.extensions import db
from portal.models import Organization, SlackNotification, User, utcnow

from .blocks import RESEND_ACTION, Reply, _plain, context, escape, header, portal_button, section
from .identity import NOT_FOUND_ERRORS
from .messages import lang_of

log = logging.getLogger("bot")

MAX_ATTEMPTS = 5
LEASE = timedelta(minutes=2)
BACKOFF = timedelta(minutes=1)

PLATFORM_NAMES = {"ios": "iPhone", "ipados": "iPad", "macos": "Mac"}

TEXTS: dict[str, tuple[str, str]] = {
    "enrolled.title": ("Your {device} is enrolled", "Votre {device} est inscrit"),
    "enrolled.intro": (
        "Your {device} is now enrolled with {company}. Here is what your company can and "
        "cannot see and do on it:",
        "Votre {device} est maintenant inscrit auprès de {company}. Voici ce que votre "
        "entreprise peut et ne peut pas voir ni faire dessus :",
    ),
    "enrolled.can": ("*Your company can:*", "*Votre entreprise peut :*"),
    "enrolled.cannot": ("*Your company cannot:*", "*Votre entreprise ne peut pas :*"),
    "admin.lock": (
        "Your IT team locked your {device}. Unlock it with your passcode.",
        "Votre équipe informatique a verrouillé votre {device}. Déverrouillez-le avec votre code.",
    ),
    "admin.remove_work_data": (
        "Your IT team removed the work apps and data from your {device}. Your personal data "
        "was not touched.",
        "Votre équipe informatique a retiré les apps et données professionnelles de votre "
        "{device}. Vos données personnelles n'ont pas été touchées.",
    ),
    "admin.wipe": (
        "Your IT team erased your {device}.",
        "Votre équipe informatique a effacé votre {device}.",
    ),
    "admin.question": (
        "Questions? Ask your IT helpdesk.",
        "Des questions ? Adressez-vous à votre support informatique.",
    ),
    "reminder.text": (
        "Reminder: your device is not enrolled with {company} yet. Open your enrollment page "
        "on the iPhone, iPad or Mac you want to use for work: {link}",
        "Rappel : votre appareil n'est pas encore inscrit auprès de {company}. Ouvrez votre "
        "page d'inscription sur l'iPhone, l'iPad ou le Mac que vous voulez utiliser pour le "
        "travail : {link}",
    ),
    "button.enroll": ("Open my enrollment page", "Ouvrir ma page d'inscription"),
    "helpdesk.enrollment_refused": (
        ":warning: An enrollment was refused for {who}: {reason}",
        ":warning: Une inscription a été refusée pour {who} : {reason}",
    ),
    "helpdesk.licence_failed": (
        ":warning: An app licence could not be assigned to {who}: {reason}",
        ":warning: Une licence d'app n'a pas pu être attribuée à {who} : {reason}",
    ),
    "helpdesk.admin_notification": (
        ":warning: Something needs a person ({reason}) for {who}",
        ":warning: Une intervention est nécessaire ({reason}) pour {who}",
    ),
    "helpdesk.someone": ("an unknown person", "une personne inconnue"),
    "helpdesk.open": ("Open in the portal", "Ouvrir dans le portail"),
    "helpdesk.resend": ("Resend invitation", "Renvoyer l'invitation"),
}


def text(key: str, lang: str, **values) -> str:
    english, french = TEXTS[key]
    return (french if lang == "fr" else english).format(**values)


def _company(user: User | None) -> str:
    org = db.session.get(Organization, user.org_id) if user is not None else None
    return org.name if org is not None else current_app.config.get("ORG_NAME", "")


def _portal(path: str) -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


def _device_word(details: dict, lang: str) -> str:
    return PLATFORM_NAMES.get(details.get("platform", ""), "appareil" if lang == "fr" else "device")


# -- composing -------------------------------------------------------------------------------


def enrolled_reply(user: User, details: dict, lang: str) -> Reply:
    device = _device_word(details, lang)
    with force_locale(lang):
        rows = capabilities.capabilities(
            details.get("enrollment_type", "user"), details["platform"]
        )
        can = [str(c.text) for c in rows if c.can]
        cannot = [str(c.text) for c in rows if not c.can]
    intro = text("enrolled.intro", lang, device=device, company=escape(_company(user)))
    blocks = [
        header(text("enrolled.title", lang, device=device)),
        section(intro),
        section(text("enrolled.can", lang) + "\n" + "\n".join(f"• {c}" for c in can)),
        section(text("enrolled.cannot", lang) + "\n" + "\n".join(f"• {c}" for c in cannot)),
        {"type": "actions", "elements": [portal_button(lang, _portal("/devices"))]},
    ]
    return Reply(text("enrolled.title", lang, device=device) + ". " + intro, blocks)


def admin_action_reply(user: User, details: dict, lang: str) -> Reply:
    device = _device_word(details, lang)
    message = text("admin." + details.get("action", "lock"), lang, device=device)
    blocks = [
        section(message),
        context(text("admin.question", lang)),
        {"type": "actions", "elements": [portal_button(lang, _portal("/devices"))]},
    ]
    return Reply(message, blocks)


def reminder_reply(user: User, details: dict, lang: str) -> Reply:
    link = details.get("link") or _portal("/enroll")
    message = text("reminder.text", lang, company=escape(_company(user)), link=link)
    button = {
        "type": "button",
        "action_id": "open_portal",
        "text": _plain(text("button.enroll", lang), 75),
        "url": link,
        "style": "primary",
    }
    return Reply(message, [section(message), {"type": "actions", "elements": [button]}])


def helpdesk_reply(row: SlackNotification, lang: str = "en") -> Reply:
    details = row.details or {}
    user = db.session.get(User, details["user_id"]) if details.get("user_id") else None
    who = (
        f"{escape(user.display_name or user.email)} ({escape(user.email)})"
        if user is not None
        else text("helpdesk.someone", lang)
    )
    reason = escape(str(details.get("reason") or details.get("code") or ""))
    message = text("helpdesk." + row.kind, lang, who=who, reason=reason)
    buttons = []
    if user is not None:
        buttons.append(
            {
                "type": "button",
                "action_id": "open_portal",
                "text": _plain(text("helpdesk.open", lang), 75),
                "url": _portal(f"/admin/users/{user.id}"),
            }
        )
        buttons.append(
            {
                "type": "button",
                "action_id": RESEND_ACTION,
                "text": _plain(text("helpdesk.resend", lang), 75),
                "value": str(user.id),
            }
        )
    blocks = [section(message)]
    if details.get("detail"):
        blocks.append(context(escape(str(details["detail"]))))
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
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
