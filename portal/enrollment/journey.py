"""The employee's journey around the guide: which device, how many, what is unfinished, what next.

- A person enrolls either a new device or one of their listed devices again; only the latter
  keeps the type of its first enrollment (`service.explain(reenrolling=...)`).
- `MAX_DEVICES_PER_USER` devices per platform (0: no limit); enrolling a listed device again
  does not take a new place.
- An enrollment whose profile was downloaded but never installed is "not finished": it can be
  continued or cancelled.
- "This is my personal phone": a person told they will get Device Enrollment asks IT to look
  at it again (an admin notification and an audit event).

Nothing here reads the request; callers pass the person and commit.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import audit
from ..domain import DomainError
from ..extensions import db
from ..models import AdminNotification, Device, DeviceStatus, Platform, User, utcnow
from ..rollout import notify
from . import lifecycle

PERSONAL_DEVICE_REQUEST = "personal_device_request"
# A device counts against the limit once it has checked in, until it is unenrolled.
ACTIVE = (DeviceStatus.AUTHENTICATED, DeviceStatus.ENROLLED)
MAX_NOTE = 500


class DeviceLimitReached(DomainError):
    """The person already has as many devices on this platform as the organization allows."""

    status = 409

    def __init__(self, limit: int, platform: str) -> None:
        self.limit = limit
        self.platform = platform
        super().__init__(
            _l(
                "You already have %(limit)s enrolled devices of this kind, the most your "
                "company allows. Remove one in My devices, or enroll one of them again.",
                limit=limit,
            )
        )


class NotYourDevice(DomainError):
    status = 404
    default_message = _l("That device is not one of yours.")


class NotUnfinished(DomainError):
    status = 409
    default_message = _l("This enrollment is already finished; remove the device instead.")


class NoteTooLong(DomainError):
    field = "note"
    default_message = _l("Keep the note under 500 characters.")


def active_count(user: User, platform: str) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Device.id)).where(
            Device.user_id == user.id,
            Device.platform == Platform(platform),
            Device.status.in_(ACTIVE),
        )
    )


def check_device_limit(
    user: User, platform: str, *, limit: int, reenrolling: Device | None = None
) -> None:
    """Raise DeviceLimitReached when a new device would go over `limit` (0: no limit)."""
    if limit <= 0 or reenrolling is not None:
        return
    if active_count(user, platform) >= limit:
        raise DeviceLimitReached(limit, str(Platform(platform)))


def limit_reached(user: User, platform: str, *, limit: int) -> bool:
    return limit > 0 and active_count(user, platform) >= limit


def listed_devices(user: User, platform: str) -> list[Device]:
    """The person's devices on `platform` that were enrolled at some point, newest first:
    the ones they may say they are enrolling again."""
    return list(
        db.session.scalars(
            sa.select(Device)
            .where(
                Device.user_id == user.id,
                Device.platform == Platform(platform),
                Device.enrolled_at.is_not(None),
            )
            .order_by(Device.enrolled_at.desc(), Device.id.desc())
        )
    )


def reenrolling_device(user: User, platform: str, raw: object) -> Device | None:
    """The listed device chosen by its id (`raw`, from a form or a link), or None for "new"."""
    try:
        device_id = int(str(raw))
    except (TypeError, ValueError):
        return None
    for device in listed_devices(user, platform):
        if device.id == device_id:
            return device
    return None


def unfinished(user: User) -> list[Device]:
    """Enrollments whose profile was downloaded and never installed, newest first."""
    return list(
        db.session.scalars(
            sa.select(Device)
            .where(Device.user_id == user.id, Device.status.in_(lifecycle.PENDING))
            .order_by(Device.id.desc())
        )
    )


def is_unfinished(device: Device) -> bool:
    return DeviceStatus(device.status) in lifecycle.PENDING


def cancel_unfinished(user: User, device_id: int, *, channel: str = "web") -> Device:
    """Cancel an enrollment that never finished: the device row goes, and with it the secret
    of the profile that was downloaded (a profile installed later is refused)."""
    device = db.session.get(Device, device_id)
    if device is None or device.user_id != user.id:
        raise NotYourDevice()
    if not is_unfinished(device):
        raise NotUnfinished()
    audit.record(
        user,
        "enrollment.cancelled",
        channel=channel,
        target=device,
        before={"platform": str(device.platform), "status": str(device.status)},
    )
    db.session.delete(device)
    db.session.flush()
    return device


def request_personal_review(
    user: User, *, platform: str, note: str = "", channel: str = "web"
) -> AdminNotification:
    """The person says the device is personal while they would get Device Enrollment.

    Admins get a notification (one open request per person and platform: asking again
    updates it) and an audit event; the helpdesk's Slack channel, when there is one, a
    message with buttons to open the person's page and to mark the request handled. The
    caller commits.
    """
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise NoteTooLong()
    platform = str(Platform(platform))
    details = {"user": user.email, "name": user.display_name, "platform": platform, "note": note}
    existing = db.session.scalar(
        sa.select(AdminNotification).where(
            AdminNotification.code == PERSONAL_DEVICE_REQUEST,
            AdminNotification.user_id == user.id,
            AdminNotification.resolved_at.is_(None),
        )
    )
    if existing is not None and (existing.details or {}).get("platform") == platform:
        existing.details = details
        existing.created_at = utcnow()
        notification = existing
    else:
        notification = AdminNotification(
            code=PERSONAL_DEVICE_REQUEST, severity="warning", details=details, user_id=user.id
        )
        db.session.add(notification)
    audit.record(
        user,
        "enrollment.personal_device_requested",
        channel=channel,
        target=user,
        after={"platform": platform, "note": note},
    )
    db.session.flush()
    notify.queue_helpdesk(
        PERSONAL_DEVICE_REQUEST,
        {"notification_id": notification.id, "platform": platform, "note": note},
        user_id=user.id,
    )
    return notification


def resolve_personal_request(
    notification_id: int, *, actor: User, channel: str = "web"
) -> AdminNotification | None:
    """Mark a "This is my personal phone" request handled; None when there is no such open
    request (already handled, or not one). The caller commits."""
    notification = db.session.get(AdminNotification, notification_id)
    if (
        notification is None
        or notification.code != PERSONAL_DEVICE_REQUEST
        or notification.resolved_at is not None
    ):
        return None
    notification.resolved_at = utcnow()
    notification.resolved_by_id = actor.id
    notification.resolution = "resolved"
    person = db.session.get(User, notification.user_id) if notification.user_id else None
    audit.record(
        actor,
        "enrollment.personal_device_handled",
        channel=channel,
        target=person,
        after={"notification_id": notification.id, **(notification.details or {})},
    )
    return notification


def open_personal_request(user: User) -> AdminNotification | None:
    return db.session.scalar(
        sa.select(AdminNotification).where(
            AdminNotification.code == PERSONAL_DEVICE_REQUEST,
            AdminNotification.user_id == user.id,
            AdminNotification.resolved_at.is_(None),
        )
    )


@dataclass(frozen=True)
class NextAction:
    """The one thing the home page asks the person to do: enroll, continue, or nothing."""

    kind: str  # "enroll" | "continue" | "none"
    device: Device | None = None


def next_action(user: User) -> NextAction:
    pending = unfinished(user)
    if pending:
        return NextAction("continue", pending[0])
    enrolled = db.session.scalar(
        sa.select(sa.func.count(Device.id)).where(
            Device.user_id == user.id, Device.status == DeviceStatus.ENROLLED
        )
    )
    return NextAction("none") if enrolled else NextAction("enroll")
