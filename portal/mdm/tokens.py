"""Access tokens of account-driven enrollment: issued at web sign-in, bound to a device.

256-bit random, stored as SHA-256 hashes, expiring and revocable; never logged.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from ..enrollment.lifecycle import hash_secret, new_secret
from ..extensions import db
from ..models import Device, EnrollmentType, MDMAccessToken, User, utcnow

# Longer than any real token; anything longer is not worth hashing.
MAX_TOKEN_LENGTH = 512


def issue(
    user: User,
    enrollment_type: EnrollmentType,
    *,
    minutes: int,
    now: datetime | None = None,
) -> tuple[str, MDMAccessToken]:
    """A new token for `user`, valid `minutes` for fetching the profile. Caller commits."""
    now = now or utcnow()
    token = new_secret()
    row = MDMAccessToken(
        token_hash=hash_secret(token),
        user=user,
        enrollment_type=enrollment_type,
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    db.session.add(row)
    db.session.flush()
    return token, row


def find(token: str | None) -> MDMAccessToken | None:
    """The stored token for `token`, live or not (None when unknown)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return db.session.scalar(
        sa.select(MDMAccessToken).where(MDMAccessToken.token_hash == hash_secret(token))
    )


def is_live(row: MDMAccessToken, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return row.revoked_at is None and row.expires_at > now


def bind(row: MDMAccessToken, device: Device, *, days: int, now: datetime | None = None) -> None:
    """Tie the token to the device that fetched its profile; it now lasts `days` of silence."""
    now = now or utcnow()
    row.device = device
    row.last_used_at = now
    row.expires_at = now + timedelta(days=days)


def touch(row: MDMAccessToken, *, days: int, now: datetime | None = None) -> None:
    """A check-in used the token: it stays valid `days` from now."""
    now = now or utcnow()
    row.last_used_at = now
    row.expires_at = max(row.expires_at, now + timedelta(days=days))


def live_for_device(device: Device, now: datetime | None = None) -> list[MDMAccessToken]:
    now = now or utcnow()
    return list(
        db.session.scalars(
            sa.select(MDMAccessToken).where(
                MDMAccessToken.device_id == device.id,
                MDMAccessToken.revoked_at.is_(None),
                MDMAccessToken.expires_at > now,
            )
        )
    )


def revoke_for_device(
    device: Device, now: datetime | None = None, *, keep: MDMAccessToken | None = None
) -> int:
    """Revoke every token bound to `device` but `keep`; returns how many there were."""
    now = now or utcnow()
    query = sa.update(MDMAccessToken).where(
        MDMAccessToken.device_id == device.id, MDMAccessToken.revoked_at.is_(None)
    )
    if keep is not None and keep.id is not None:
        query = query.where(MDMAccessToken.id != keep.id)
    result = db.session.execute(
        query.values(revoked_at=now).execution_options(synchronize_session="fetch")
    )
    return result.rowcount or 0
