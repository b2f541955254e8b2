"""Which enrollment a device request belongs to: its bearer token or its URL secret.

Account-driven devices carry `Authorization: Bearer <token>` (macOS only on the user
channel); every profile's URLs carry the per-enrollment secret (`?e=`). A request that
matches neither is refused, and so is one whose credentials disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..enrollment.lifecycle import hash_secret
from ..extensions import db
from ..models import Device, DeviceStatus, EnrollmentMethod, MDMAccessToken, utcnow
from . import tokens
from .errors import Forbidden, Unauthenticated

# How often a device's last check-in (and its token's last use) is written.
SEEN_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Binding:
    device: Device
    token: MDMAccessToken | None = None


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    value = value.strip()
    return value or None


# Built once: every check-in of a profile-enrolled device runs it.
_DEVICE_BY_SECRET = sa.select(Device).where(Device.checkin_secret_hash == sa.bindparam("hash"))


def device_for_secret(secret: str | None) -> Device | None:
    if not secret or len(secret) > tokens.MAX_TOKEN_LENGTH:
        return None
    return db.session.scalar(_DEVICE_BY_SECRET, {"hash": hash_secret(secret)})


def bind(*, bearer: str | None, secret: str | None, now: datetime | None = None) -> Binding:
    """The device these credentials bind to, or Unauthenticated / Forbidden."""
    now = now or utcnow()
    by_secret = device_for_secret(secret)
    if secret and by_secret is None:
        raise Unauthenticated("unknown_secret")
    token = None
    if bearer:
        token = tokens.find(bearer)
        if token is None:
            raise Unauthenticated("unknown_token", device=by_secret)
        if token.revoked_at is not None:
            raise Forbidden("revoked_token", device=token.device or by_secret)
        if not tokens.is_live(token, now):
            raise Forbidden("expired_token", device=token.device or by_secret)
        if token.device is None:
            raise Unauthenticated("token_without_enrollment", device=by_secret)
        if by_secret is not None and by_secret.id != token.device_id:
            raise Forbidden("token_and_secret_disagree", device=by_secret)
        device = token.device
    elif by_secret is not None:
        device = by_secret
    else:
        raise Unauthenticated("no_credentials")
    if device.status == DeviceStatus.UNENROLLED:
        raise Forbidden("device_unenrolled", device=device)
    if device.status == DeviceStatus.EXPIRED:
        raise Forbidden("enrollment_expired", device=device)
    if device.enrollment_method == EnrollmentMethod.ACCOUNT_DRIVEN and token is None:
        # The sign-in that created this enrollment was revoked: the secret alone is not enough.
        if not tokens.live_for_device(device, now):
            raise Forbidden("no_live_token", device=device)
    return Binding(device=device, token=token)


def accepted(binding: Binding, *, token_days: int, now: datetime | None = None) -> None:
    """Note a request the portal accepted: the device was seen, its token stays alive.

    Written at most once per `SEEN_EVERY`: a device that checks in again and again with
    nothing new costs no write (last check-in times are shown to the minute).
    """
    now = now or utcnow()
    device = binding.device
    if device.last_checkin_at is None or now - device.last_checkin_at >= SEEN_EVERY:
        device.last_checkin_at = now
    token = binding.token
    if token is not None and (token.last_used_at is None or now - token.last_used_at >= SEEN_EVERY):
        tokens.touch(token, days=token_days, now=now)
