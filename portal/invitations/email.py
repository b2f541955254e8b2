"""E-mails to one person (the invitation, the rollout's reminders): text and HTML parts in
their language, from the organization; the invitation with its QR code."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.utils import parseaddr
from zoneinfo import ZoneInfo

from babel import dates
from flask import current_app, render_template
from flask_babel import force_locale, get_locale, gettext

from .. import branding
from ..enrollment import qr
from ..extensions import db
from ..i18n import valid_time_zone
from ..models import Organization, User
from ..outbox import service as outbox
from ..outbox.mime import InlinePart
from .service import InvitationSettings

KIND = "invitation"
log = logging.getLogger(__name__)


def language_of(user: User) -> str:
    languages = current_app.config.get("LANGUAGES", ("en",))
    return user.locale if user.locale in languages else "en"


def sender_address(settings: InvitationSettings, org: Organization | None) -> str:
    """`MAIL_FROM` if set, else no-reply@ the organization's first domain, named after it."""
    name = org.name if org is not None else ""
    if settings.mail_from:
        display, addr = parseaddr(settings.mail_from)
        return str(Address(display or name, addr_spec=addr))
    domain = (org.domains or ["localhost"])[0] if org is not None else "localhost"
    return str(Address(name, "no-reply", domain))


def expiry_text(when: datetime, zone: str | None = None) -> str:
    """ "December 3, 2026 11:12 AM UTC" in the current locale, in the person's time zone
    (the one their browser last told; UTC until then)."""
    name = valid_time_zone(zone) or "UTC"
    tz = ZoneInfo(name)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    local = when.astimezone(tz)
    locale = str(get_locale() or "en")
    date_part = dates.format_date(local, "long", locale=locale)
    time_part = dates.format_time(local, "short", tzinfo=tz, locale=locale)
    if name == "UTC":
        return f"{date_part} {time_part} UTC"
    return f"{date_part} {time_part} ({dates.get_timezone_location(tz, locale=locale)})"


def invitation_kind(user: User) -> str:
    """The enrollment the person gets today on a recent iPhone: "user", "device" or "mam".

    The e-mail is written from it: User Enrollment promises what stays private; Device
    Enrollment says plainly what the company will be able to do, and how to say the phone is
    personal.
    """
    from ..enrollment import service as enrollment

    try:
        return str(enrollment.explain(user, platform="ios", os_version="18.0").type)
    except Exception:  # an e-mail is still sent; it then makes no promise either way
        log.exception("could not decide the enrollment for an invitation e-mail")
        return "unknown"


def slack_enabled() -> bool:
    """Whether an e-mail may point people at the Slack assistant."""
    config = current_app.config
    return bool(config.get("SLACK_BOT_TOKEN") and config.get("SLACK_SIGNING_SECRET"))


@dataclass(frozen=True)
class Envelope:
    """Who an e-mail to one person is from, in which language, and its unique part
    (`token@domain`, for the Message-ID and the content ids of inline images)."""

    user: User
    org: Organization | None
    company: str
    locale: str
    sender: str
    unique: str

    def in_language(self):
        """Texts made inside are in the person's language (`with envelope.in_language():`)."""
        return force_locale(self.locale)

    def queue(
        self,
        *,
        kind: str,
        template: str,
        subject: str,
        context: dict,
        now: datetime,
        inline: list[InlinePart] | tuple = (),
    ):
        """Render `email/<template>.txt` and `.html` in the person's language, with the
        company and the person's name, and add the message to the outbox (caller commits)."""
        context = {"company": self.company, "name": self.user.display_name, **context}
        with self.in_language():
            text = render_template(f"email/{template}.txt", **context)
            html = render_template(f"email/{template}.html", **context)
        return outbox.enqueue(
            kind=kind,
            sender=self.sender,
            recipient=self.user.email,
            subject=subject,
            body_text=text,
            body_html=html,
            locale=self.locale,
            message_id=f"<{kind}.{self.unique}>",
            headers={"Content-Language": self.locale},
            inline=inline,
            now=now,
        )


def envelope(user: User, settings: InvitationSettings) -> Envelope:
    org = db.session.get(Organization, user.org_id)
    company = org.name if org is not None else current_app.config.get("ORG_NAME", "")
    sender = sender_address(settings, org)
    domain = sender.rsplit("@", 1)[-1].rstrip(">") or "localhost"
    return Envelope(
        user=user,
        org=org,
        company=company,
        locale=language_of(user),
        sender=sender,
        unique=f"{secrets.token_hex(12)}@{domain}",
    )


def queue_invitation(
    user: User, expires_at: datetime, link: str, settings: InvitationSettings, *, now: datetime
):
    """Render the invitation e-mail for `link` and add it to the outbox (caller commits)."""
    mail = envelope(user, settings)
    org, locale = mail.org, mail.locale
    qr_cid = f"qr.{mail.unique}"
    kind = invitation_kind(user)
    inline = [InlinePart(qr_cid, "image/png", qr.png(link, fast=True), "enroll-qr.png")]
    logo_cid = None
    if org is not None and org.logo:
        logo_cid = f"logo.{mail.unique}"
        extension = "png" if org.logo_type == "image/png" else "jpg"
        inline.append(
            InlinePart(logo_cid, org.logo_type or "image/png", org.logo, f"logo.{extension}")
        )
    with mail.in_language():
        brand = branding.for_locale(org, locale, mail.company)
        context = {
            "link": link,
            "expires": expiry_text(expires_at, user.time_zone),
            "qr_cid": qr_cid,
            "logo_cid": logo_cid,
            "kind": kind,
            "accent": brand.accent or branding.DEFAULT_ACCENT,
            "welcome": brand.welcome,
            "support": brand.support,
            "slack_enabled": slack_enabled(),
        }
        subject = gettext("Enroll your iPhone or iPad with %(company)s", company=mail.company)
    return mail.queue(
        kind=KIND, template="invitation", subject=subject, context=context, inline=inline, now=now
    )
