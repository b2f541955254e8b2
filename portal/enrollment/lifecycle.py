"""The enrollment lifecycle of a device: guarded status moves, each one a device-log entry.

`invited → profile_downloaded → authenticated → enrolled → unenrolled`. A move the table
does not allow raises `IllegalTransition` and changes nothing. Callers commit.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..apps import licences
from ..extensions import db
from ..models import (
    Device,
    DeviceLogEntry,
    DeviceOwner,
    DeviceStatus,
    EnrollmentMethod,
    EnrollmentType,
    Platform,
    User,
    utcnow,
)

__all__ = [
    "ALLOWED",
    "EnrollmentStatus",
    "IllegalTransition",
    "LifecycleError",
    "enrollment_status",
    "expire_pending",
    "status_fingerprint",
    "hash_secret",
    "log",
    "new_secret",
    "start_enrollment",
    "transition",
]

ALLOWED: dict[DeviceStatus, frozenset[DeviceStatus]] = {
    DeviceStatus.INVITED: frozenset({DeviceStatus.PROFILE_DOWNLOADED, DeviceStatus.EXPIRED}),
    # Downloading again while nothing has checked in yet: a fresh secret, same device.
    DeviceStatus.PROFILE_DOWNLOADED: frozenset(
        {DeviceStatus.PROFILE_DOWNLOADED, DeviceStatus.AUTHENTICATED, DeviceStatus.EXPIRED}
    ),
    # A device may remove the profile between Authenticate and TokenUpdate.
    DeviceStatus.AUTHENTICATED: frozenset(
        {DeviceStatus.ENROLLED, DeviceStatus.UNENROLLED, DeviceStatus.EXPIRED}
    ),
    DeviceStatus.ENROLLED: frozenset({DeviceStatus.UNENROLLED}),
    DeviceStatus.UNENROLLED: frozenset(),
    DeviceStatus.EXPIRED: frozenset(),
}
PENDING = (DeviceStatus.INVITED, DeviceStatus.PROFILE_DOWNLOADED)
# Started, not finished: what `expire_pending` ends once it has waited too long.
UNFINISHED = (DeviceStatus.INVITED, DeviceStatus.PROFILE_DOWNLOADED, DeviceStatus.AUTHENTICATED)
# Gone from the person's own lists: left management, or never got there.
ENDED = (DeviceStatus.UNENROLLED, DeviceStatus.EXPIRED)


class LifecycleError(Exception):
    """A device cannot do what was asked in its current state."""


class IllegalTransition(LifecycleError):
    """The device's status does not allow this move."""

    def __init__(self, device: Device, target: DeviceStatus, action: str) -> None:
        self.device = device
        self.current = DeviceStatus(device.status)
        self.target = target
        self.action = action
        super().__init__(f"device {device.id}: {action} cannot move {self.current} → {target}")


def new_secret() -> str:
    """A fresh 256-bit secret, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """The stored form of a secret or token (SHA-256, hex)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _details(device: Device, details: dict | None) -> dict:
    merged = dict(details or {})
    if device.enrollment_id:
        merged.setdefault("enrollment_id", device.enrollment_id)
    return merged


def log(
    device: Device, action: str, details: dict | None = None, *, now: datetime | None = None
) -> DeviceLogEntry:
    """Add a device-log entry that does not move the status."""
    entry = DeviceLogEntry(
        device=device,
        action=action,
        status=DeviceStatus(device.status).value,
        details=_details(device, details),
        created_at=now or utcnow(),
    )
    db.session.add(entry)
    return entry


def transition(
    device: Device,
    target: DeviceStatus,
    *,
    action: str,
    details: dict | None = None,
    now: datetime | None = None,
) -> DeviceLogEntry:
    """Move `device` to `target` if the table allows it, with its device-log entry."""
    now = now or utcnow()
    if target not in ALLOWED[DeviceStatus(device.status)]:
        raise IllegalTransition(device, target, action)
    device.status = target
    if target is not DeviceStatus.PROFILE_DOWNLOADED:
        # The profile's secret is needed again only for a new download of the same profile.
        device.checkin_secret_sealed = None
        device.checkin_secret_issued_at = None
    if target is DeviceStatus.ENROLLED:
        from .. import metrics

        device.enrolled_at = now
        metrics.enrolled(
            EnrollmentType(device.enrollment_type).value,
            EnrollmentMethod(device.enrollment_method).value,
        )
    elif target is DeviceStatus.UNENROLLED:
        device.unenrolled_at = now
        licences.release_for_device(device, now=now)
    return log(device, action, details, now=now)


def pending_device(user: User, platform: Platform, method: EnrollmentMethod) -> Device | None:
    """The user's newest device for `platform` and `method` that has not checked in yet."""
    return db.session.scalar(
        sa.select(Device)
        .where(
            Device.user_id == user.id,
            Device.platform == platform,
            Device.enrollment_method == method,
            Device.status.in_(PENDING),
        )
        .order_by(Device.id.desc())
        .limit(1)
    )


def start_enrollment(
    user: User,
    *,
    platform: Platform,
    os_version: str,
    enrollment_type: EnrollmentType,
    method: EnrollmentMethod,
    owner: DeviceOwner,
    topic: str,
    device: Device | None = None,
    details: dict | None = None,
    now: datetime | None = None,
) -> tuple[Device, str]:
    """The device row an enrollment profile is made for, with a fresh check-in secret.

    Reuses `device` (or the user's pending device for this platform and method) as long
    as nothing has checked in yet, else creates one. Returns the device and the secret;
    only the secret's hash is kept, so an earlier profile's secret stops working.
    """
    now = now or utcnow()
    platform = Platform(platform)
    device = device or pending_device(user, platform, EnrollmentMethod(method))
    if device is None:
        device = Device(
            user=user,
            platform=platform,
            enrollment_type=enrollment_type,
            enrollment_method=method,
            status=DeviceStatus.INVITED,
            created_at=now,
        )
        db.session.add(device)
    elif device.status not in PENDING:
        raise IllegalTransition(device, DeviceStatus.PROFILE_DOWNLOADED, "profile.downloaded")
    secret = new_secret()
    device.platform = platform
    device.enrollment_type = enrollment_type
    device.enrollment_method = method
    device.device_owner = DeviceOwner.EMPLOYEE if enrollment_type == EnrollmentType.USER else owner
    device.os_version = os_version[:32]
    device.topic = topic
    device.checkin_secret_hash = hash_secret(secret)
    db.session.flush()
    info = {
        "platform": platform.value,
        "os_version": device.os_version,
        "enrollment_type": EnrollmentType(enrollment_type).value,
        "method": EnrollmentMethod(method).value,
        **(details or {}),
    }
    transition(device, DeviceStatus.PROFILE_DOWNLOADED, action="profile.downloaded", details=info)
    db.session.flush()
    return device, secret


_STEPS = {
    None: 0,
    DeviceStatus.INVITED: 0,
    DeviceStatus.PROFILE_DOWNLOADED: 1,
    DeviceStatus.AUTHENTICATED: 2,
    DeviceStatus.ENROLLED: 3,
    DeviceStatus.UNENROLLED: 0,
    DeviceStatus.EXPIRED: 0,
}


@dataclass(frozen=True)
class EnrollmentStatus:
    """Where a person's latest enrollment stands, for a page that polls it."""

    status: DeviceStatus | None
    device_id: int | None = None
    platform: Platform | None = None
    enrollment_type: EnrollmentType | None = None
    method: EnrollmentMethod | None = None
    enrolled_at: datetime | None = None
    last_checkin_at: datetime | None = None
    changed_at: datetime | None = None

    @property
    def step(self) -> int:
        """0 nothing yet (or unenrolled), 1 profile downloaded, 2 authenticated, 3 enrolled."""
        return _STEPS[self.status]

    @property
    def is_enrolled(self) -> bool:
        return self.status is DeviceStatus.ENROLLED


def enrollment_status(
    user: User, *, platform: str | None = None, after_id: int | None = None
) -> EnrollmentStatus:
    """The state of the user's most recent enrollment still in progress or active.

    Falls back to the most recent unenrolled device; `status` is None when the user has
    no device at all. `platform` narrows it to ios, ipados or macos. `after_id` follows one
    new enrollment: only devices created after that id, or still in progress, count (a page
    enrolling a second device is not "enrolled" because of the first).
    """
    query = sa.select(Device).where(Device.user_id == user.id)
    if platform:
        query = query.where(Device.platform == Platform(platform))
    if after_id is not None:
        query = query.where(
            sa.or_(Device.id > after_id, Device.status.in_((*PENDING, DeviceStatus.AUTHENTICATED)))
        )
    active = query.where(Device.status.not_in(ENDED))
    device = db.session.scalar(active.order_by(Device.id.desc()).limit(1))
    if device is None:
        device = db.session.scalar(query.order_by(Device.id.desc()).limit(1))
    if device is None:
        return EnrollmentStatus(status=None)
    changed_at = db.session.scalar(
        sa.select(sa.func.max(DeviceLogEntry.created_at)).where(
            DeviceLogEntry.device_id == device.id
        )
    )
    return EnrollmentStatus(
        status=DeviceStatus(device.status),
        device_id=device.id,
        platform=Platform(device.platform),
        enrollment_type=EnrollmentType(device.enrollment_type),
        method=EnrollmentMethod(device.enrollment_method),
        enrolled_at=device.enrolled_at,
        last_checkin_at=device.last_checkin_at,
        changed_at=changed_at,
    )


def expire_pending(*, older_than: timedelta, now: datetime | None = None) -> list[Device]:
    """End enrollments started and never finished: no step for `older_than` (profile
    downloaded, no check-in). Each moves to `expired` with a device-log entry and its check-in
    secret forgotten (a late check-in is refused). The caller commits."""
    now = now or utcnow()
    cutoff = now - older_than
    recent_step = (
        sa.select(DeviceLogEntry.id)
        .where(DeviceLogEntry.device_id == Device.id, DeviceLogEntry.created_at >= cutoff)
        .exists()
    )
    stale = list(
        db.session.scalars(
            sa.select(Device).where(
                Device.status.in_(UNFINISHED),
                Device.created_at < cutoff,
                sa.or_(Device.last_checkin_at.is_(None), Device.last_checkin_at < cutoff),
                ~recent_step,
            )
        )
    )
    hours = round(older_than / timedelta(hours=1))
    for device in stale:
        transition(
            device,
            DeviceStatus.EXPIRED,
            action="enrollment.expired",
            details={"after_hours": hours},
            now=now,
        )
        device.checkin_secret_hash = None
    return stale


def fingerprint_of(owner, *, by_platform: bool) -> sa.ColumnElement[str]:
    """The status fingerprint of `owner`'s newest enrollment as one SQL text value.

    `owner` is a user id: a bound parameter, or `User.id` to ask it within a query that
    already reads the user (the status poll asks it with the session, in one statement).
    With `by_platform`, only devices of the `platform` parameter count. The device is the
    one `enrollment_status` shows: the newest not unenrolled, else the newest; "none" when
    there is none.
    """
    parts = [
        Device.id,
        Device.status,
        Device.platform,
        Device.enrollment_type,
        Device.enrollment_method,
        Device.enrolled_at,
    ]
    dash, bar = sa.literal_column("'-'"), sa.literal_column("'|'")
    values = [sa.func.coalesce(sa.cast(part, sa.String), dash) for part in parts]
    text = values[0]
    for value in values[1:]:
        text = text + bar + value
    newest = sa.select(text).where(Device.user_id == owner)
    if by_platform:
        newest = newest.where(Device.platform == sa.bindparam("platform"))
    newest = newest.order_by(Device.status == DeviceStatus.UNENROLLED, Device.id.desc()).limit(1)
    return sa.func.coalesce(newest.scalar_subquery(), sa.literal_column("'none'"))


# Built once: the status poll runs this every few seconds for everyone enrolling.
_FINGERPRINT = {
    by_platform: sa.select(fingerprint_of(sa.bindparam("user_id"), by_platform=by_platform))
    for by_platform in (True, False)
}


def fingerprint_params(platform: str | None) -> dict[str, str]:
    return {"platform": Platform(platform).value} if platform else {}


def status_fingerprint(user: User, *, platform: str | None = None) -> str:
    """Changes whenever `enrollment_status` would show something else; one indexed query."""
    params = {"user_id": user.id, **fingerprint_params(platform)}
    return db.session.scalar(_FINGERPRINT[bool(platform)], params)
