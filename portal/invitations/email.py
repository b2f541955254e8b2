"""The invitation e-mail: text and HTML parts in the invitee's language, with a QR code."""

from __future__ import annotations

import logging
import secrets
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


def queue_invitation(
    user: User, expires_at: datetime, link: str, settings: InvitationSettings, *, now: datetime
):
    """Render the invitation e-mail for `link` and add it to the outbox (caller commits)."""
    org = db.session.get(Organization, user.org_id)
    company = org.name if org is not None else current_app.config.get("ORG_NAME", "")
    locale = language_of(user)
    sender = sender_address(settings, org)
    domain = sender.rsplit("@", 1)[-1].rstrip(">") or "localhost"
    unique = f"{secrets.token_hex(12)}@{domain}"
    qr_cid = f"qr.{unique}"
    kind = invitation_kind(user)
    inline = [InlinePart(qr_cid, "image/png", qr.png(link, fast=True), "enroll-qr.png")]
    logo_cid = None
    if org is not None and org.logo:
        logo_cid = f"logo.{unique}"
        extension = "png" if org.logo_type == "image/png" else "jpg"
        inline.append(
            InlinePart(logo_cid, org.logo_type or "image/png", org.logo, f"logo.{extension}")
        )
    with force_locale(locale):
        brand = branding.for_locale(org, locale, company)
        context = {
            "company": company,
            "name": user.display_name,
            "link": link,
            "expires": expiry_text(expires_at, user.time_zone),
            "qr_cid": qr_cid,
            "logo_cid": logo_cid,
            "kind": kind,
            "accent": brand.accent or branding.DEFAULT_ACCENT,
            "welcome": brand.welcome,
            "support": brand.support,
            "slack_enabled": bool(
                current_app.config.get("SLACK_BOT_TOKEN")
                and current_app.config.get("SLACK_SIGNING_SECRET")
            ),
        }
        subject = gettext("Enroll your iPhone or iPad with %(company)s", company=company)
        text = render_template("email/invitation.txt", **context)
        html = render_template("email/invitation.html", **context)
    return outbox.enqueue(
        kind=KIND,
        sender=sender,
        recipient=user.email,
        subject=subject,
        body_text=text,
        body_html=html,
        locale=locale,
        message_id=f"<invitation.{unique}>",
        headers={"Content-Language": locale},
        inline=inline,
        now=now,
    )
