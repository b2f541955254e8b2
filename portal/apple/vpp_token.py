"""The Apps & Books (VPP) location token: a `.vpptoken` file, base64 of JSON.

Its `orgName` must be the organization linked in Apple Business Manager (criterion 4 of the
enrollment policy). The token itself is kept encrypted and never shown again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from flask_babel import format_date
from flask_babel import gettext as _

from .. import audit
from ..extensions import db
from ..models import LocationToken, Organization, User
from . import secrets

MAX_UPLOAD = 64 * 1024
_DATE_FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z")
# Apple's tokens last a year; anything far outside is a damaged or forged file.
EXPIRY_YEARS = (2000, 2200)


class LocationTokenError(Exception):
    """The file is not a usable location token; the message says why."""


@dataclass(frozen=True)
class ParsedToken:
    organization_name: str
    expires_at: datetime
    token: str


def record() -> LocationToken | None:
    return db.session.scalar(sa.select(LocationToken).order_by(LocationToken.id).limit(1))


def _invalid() -> LocationTokenError:
    return LocationTokenError(
        _(
            "This is not an Apps and Books location token: download the .vpptoken file again "
            "from Apple Business Manager (Preferences › Payments and Billing)."
        )
    )


def _out_of_range(text: str) -> LocationTokenError:
    return LocationTokenError(
        _(
            "The expiry date in this location token (%(date)s) is not one Apple gives: "
            "download the .vpptoken file again from Apple Business Manager.",
            date=text[:40],
        )
    )


def _to_utc(parsed: datetime, text: str) -> datetime:
    """`parsed` in UTC, within the years a token can expire in."""
    try:
        moment = parsed.replace(tzinfo=parsed.tzinfo or UTC).astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00 is before year 1 in UTC
        raise _out_of_range(text) from None
    if not EXPIRY_YEARS[0] <= moment.year <= EXPIRY_YEARS[1]:
        raise _out_of_range(text)
    return moment


def _parse_date(value: object) -> datetime:
    if not isinstance(value, str):
        raise _invalid()
    text = value.strip()
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return _to_utc(parsed, text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise _invalid() from exc
    return _to_utc(parsed, text)


def parse(data: bytes) -> ParsedToken:
    """Decode a .vpptoken file.

    :raise LocationTokenError: empty, too large, not base64 JSON, or a field missing.
    """
    if not data or not data.strip():
        raise LocationTokenError(_("Choose the .vpptoken file."))
    if len(data) > MAX_UPLOAD:
        raise LocationTokenError(_("This file is too large to be a location token."))
    try:
        content = json.loads(base64.b64decode(b"".join(data.split()), validate=True))
    except (binascii.Error, ValueError) as exc:
        raise _invalid() from exc
    if not isinstance(content, dict):
        raise _invalid()
    org_name, token = content.get("orgName"), content.get("token")
    if not isinstance(org_name, str) or not org_name.strip():
        raise _invalid()
    if not isinstance(token, str) or not token.strip():
        raise _invalid()
    return ParsedToken(org_name.strip()[:200], _parse_date(content.get("expDate")), token)


def upload(
    actor: User,
    org: Organization,
    data: bytes,
    *,
    secret_key: str,
    now: datetime | None = None,
) -> LocationToken:
    """Replace the location token; the caller commits.

    :raise LocationTokenError: unreadable or expired.
    """
    now = now or datetime.now(UTC)
    parsed = parse(data)
    if parsed.expires_at <= now:
        raise LocationTokenError(
            _(
                "This location token expired on %(date)s: download a new one from Apple "
                "Business Manager.",
                date=format_date(parsed.expires_at),
            )
        )
    row = record()
    before = _summary(org)
    if row is None:
        row = LocationToken(organization_name="", token="", token_sha256="")
        db.session.add(row)
    row.organization_name = parsed.organization_name
    row.expires_at = parsed.expires_at
    row.token = secrets.encrypt(secret_key, parsed.token.encode())
    row.token_sha256 = hashlib.sha256(parsed.token.encode()).hexdigest()
    org.vpp_token_organization = parsed.organization_name
    org.vpp_token_expires_at = parsed.expires_at
    db.session.flush()
    audit.record(actor, "apple.vpp_token.uploaded", target=org, before=before, after=_summary(org))
    return row


def remove(actor: User, org: Organization) -> None:
    """Forget the location token; the caller commits."""
    before = _summary(org)
    db.session.execute(sa.delete(LocationToken))
    org.vpp_token_organization = None
    org.vpp_token_expires_at = None
    audit.record(actor, "apple.vpp_token.removed", target=org, before=before, after=None)


def _summary(org: Organization) -> dict | None:
    if not org.vpp_token_organization:
        return None
    expires = org.vpp_token_expires_at
    return {
        "organization": org.vpp_token_organization,
        "expires_at": expires.isoformat() if expires else None,
    }
