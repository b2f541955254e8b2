"""The organization's branding and support contact, as an admin sets them.

Name, logo, accent colour and a welcome message per language; a support e-mail, phone and web
address per language. Shown on every employee page, every e-mail and every error page. The
texts fall back to English, then to nothing; the name falls back to ORG_NAME.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from . import audit
from .domain import DomainError
from .extensions import db
from .models import Organization, User

ACCENT = re.compile(r"^#[0-9a-fA-F]{6}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9 ().\-]{5,30}$")
LOGO_TYPES = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
MAX_LOGO_BYTES = 200_000
MAX_WELCOME = 400
DEFAULT_ACCENT = "#0b57d0"
CONTACT_FIELDS = ("email", "phone", "url")


class BrandingError(DomainError):
    pass


class InvalidAccent(BrandingError):
    field = "accent_color"
    default_message = _l("Enter the colour as # and six hexadecimal digits, like #0b57d0.")


class AccentTooLight(BrandingError):
    field = "accent_color"
    default_message = _l(
        "This colour is too light for white text on buttons; choose a darker one "
        "(contrast of at least 4.5 to 1)."
    )


class InvalidLogo(BrandingError):
    field = "logo"
    default_message = _l("The logo must be a PNG or JPEG image of at most 200 KB.")


class InvalidContact(BrandingError):
    def __init__(self, field: str, message: object) -> None:
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class Support:
    email: str = ""
    phone: str = ""
    url: str = ""

    def __bool__(self) -> bool:
        return bool(self.email or self.phone or self.url)


@dataclass(frozen=True)
class Branding:
    name: str
    accent: str | None
    has_logo: bool
    welcome: str
    support: Support
    version: str  # changes when the logo changes (cache busting)


def _luminance(hex_colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_with_white(hex_colour: str) -> float:
    return 1.05 / (_luminance(hex_colour) + 0.05)


def organization_or_none() -> Organization | None:
    return db.session.scalar(sa.select(Organization).order_by(Organization.id).limit(1))


def _pick(texts: dict | None, locale: str) -> object:
    texts = texts or {}
    return texts.get(locale) or texts.get("en") or ""


def for_locale(org: Organization | None, locale: str, default_name: str = "") -> Branding:
    """What pages and e-mails show in `locale`."""
    if org is None:
        return Branding(default_name, None, False, "", Support(), "0")
    contact = _pick(org.support_contact, locale) or {}
    support = Support(*(str(contact.get(key) or "") for key in CONTACT_FIELDS))
    version = format(zlib.crc32(org.logo), "x") if org.logo else "0"
    return Branding(
        name=org.name or default_name,
        accent=org.accent_color or None,
        has_logo=bool(org.logo),
        welcome=str(_pick(org.welcome_message, locale)),
        support=support,
        version=version,
    )


def _clean_contact(locale: str, values: dict) -> dict:
    email = (values.get("email") or "").strip()
    phone = (values.get("phone") or "").strip()
    url = (values.get("url") or "").strip()
    if email and (len(email) > 200 or not EMAIL.match(email)):
        raise InvalidContact(f"support_email_{locale}", _l("Enter an e-mail address."))
    if phone and not PHONE.match(phone):
        raise InvalidContact(
            f"support_phone_{locale}", _l("Enter a phone number: digits, spaces and +.")
        )
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.netloc or len(url) > 500:
            raise InvalidContact(
                f"support_url_{locale}", _l("Enter a web address starting with https://.")
            )
    return {"email": email, "phone": phone, "url": url}


def update(
    actor: User,
    org: Organization,
    *,
    name: str,
    accent_color: str,
    welcome: dict[str, str],
    support: dict[str, dict],
    logo: tuple[bytes, str] | None = None,
    remove_logo: bool = False,
    channel: str = "web",
) -> None:
    """Save the branding and support contact (validated first; nothing is half-saved).

    :param welcome: {"en": text, "fr": text}.
    :param support: {"en": {"email", "phone", "url"}, "fr": {...}}.
    :param logo: (bytes, content type) of a new logo, or None to keep the current one.
    The caller commits.
    """
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise BrandingError(_l("Enter the organization's name (at most 200 characters)."))
    accent = (accent_color or "").strip().lower() or None
    if accent is not None:
        if not ACCENT.match(accent):
            raise InvalidAccent()
        if contrast_with_white(accent) < 4.5:
            raise AccentTooLight()
    welcome_clean = {}
    for locale, text in (welcome or {}).items():
        text = (text or "").strip()
        if len(text) > MAX_WELCOME:
            raise BrandingError(_l("Keep the welcome message under 400 characters."))
        if text:
            welcome_clean[locale] = text
    contacts = {}
    for locale, values in (support or {}).items():
        cleaned = _clean_contact(locale, values or {})
        if any(cleaned.values()):
            contacts[locale] = cleaned
    if logo is not None:
        body, content_type = logo
        magic = LOGO_TYPES.get(content_type)
        if not body or len(body) > MAX_LOGO_BYTES or magic is None or not body.startswith(magic):
            raise InvalidLogo()
    before = {
        "name": org.name,
        "accent_color": org.accent_color,
        "welcome_message": org.welcome_message,
        "support_contact": org.support_contact,
        "logo": bool(org.logo),
    }
    org.name = name
    org.accent_color = accent
    org.welcome_message = welcome_clean
    org.support_contact = contacts
    if remove_logo:
        org.logo, org.logo_type = None, None
    elif logo is not None:
        org.logo, org.logo_type = logo
    after = {
        "name": org.name,
        "accent_color": org.accent_color,
        "welcome_message": org.welcome_message,
        "support_contact": org.support_contact,
        "logo": bool(org.logo),
    }
    if before != after:
        audit.record(
            actor, "org.branding_changed", channel=channel, target=org, before=before, after=after
        )
    db.session.flush()
