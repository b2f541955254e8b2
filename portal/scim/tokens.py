"""Bearer tokens for SCIM provisioning: 256-bit, shown once, stored as SHA-256, revocable."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa

from .. import audit
from ..extensions import db
from ..models import ScimToken, User, utcnow

PREFIX = "scim_"
# Writing last_used_at on every request would cost a write each; once a minute suffices.
_TOUCH_EVERY = timedelta(minutes=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def current(now: datetime | None = None) -> ScimToken | None:
    """The token in force (not revoked, not expired), if any."""
    now = now or utcnow()
    return db.session.scalar(
        sa.select(ScimToken)
        .where(ScimToken.revoked_at.is_(None), ScimToken.expires_at > now)
        .order_by(ScimToken.id.desc())
        .limit(1)
    )


def issue(actor: User, *, days: int, channel: str = "web") -> tuple[ScimToken, str]:
    """A new token (revoking the one in force: a rotation); returns it with the raw value.

    The raw value exists only in the return value: the caller shows it once. Caller commits.
    """
    now = utcnow()
    previous = _revoke_all(now)
    raw = PREFIX + secrets.token_urlsafe(32)
    row = ScimToken(
        token_hash=_digest(raw),
        hint=raw[-4:],
        created_by_id=actor.id,
        expires_at=now + timedelta(days=days),
        created_at=now,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        actor,
        "scim.token_rotated" if previous else "scim.token_created",
        channel=channel,
        target=row,
        before={"revoked": previous} if previous else None,
        after={"hint": row.hint, "expires_at": row.expires_at.isoformat()},
    )
    return row, raw


def _revoke_all(now: datetime) -> list[int]:
    live = db.session.scalars(sa.select(ScimToken).where(ScimToken.revoked_at.is_(None))).all()
    for row in live:
        row.revoked_at = now
    return [row.id for row in live]


def revoke(actor: User, *, channel: str = "web") -> int:
    """Revoke every token: provisioning stops until a new one is made. Caller commits."""
    revoked = _revoke_all(utcnow())
    if revoked:
        audit.record(actor, "scim.token_revoked", channel=channel, after={"revoked": revoked})
    return len(revoked)


def verify(raw: str | None, now: datetime | None = None) -> ScimToken | None:
    """The token in force whose value `raw` is, else None (commits last_used_at)."""
    if not raw or len(raw) > 200:
        return None
    now = now or utcnow()
    digest = _digest(raw)
    row = db.session.scalar(sa.select(ScimToken).where(ScimToken.token_hash == digest))
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    if row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
        row.last_used_at = now
        db.session.commit()
    return row
