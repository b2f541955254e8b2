"""The invitation e-mail: text and HTML parts in the invitee's language, with a QR code."""

from __future__ import annotations

import secrets
from datetime import datetime
from email.headerregistry import Address
from email.utils import parseaddr

from flask import current_app, render_template
from flask_babel import force_locale, format_date, format_time, gettext

from ..enrollment import qr
from ..extensions import db
from ..models import Organization, User
from ..outbox import service as outbox
from ..outbox.mime import InlinePart
from .service import InvitationSettings

KIND = "invitation"


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


def expiry_text(when: datetime) -> str:
    """ "December 3, 2026 11:12 AM UTC" in the current locale (times are shown in UTC)."""
    return f"{format_date(when, 'long')} {format_time(when, 'short')} UTC"


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
    with force_locale(locale):
        context = {
            "company": company,
            "name": user.display_name,
            "link": link,
            "expires": expiry_text(expires_at),
            "qr_cid": qr_cid,
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
        inline=[InlinePart(qr_cid, "image/png", qr.png(link, fast=True), "enroll-qr.png")],
        now=now,
    )
