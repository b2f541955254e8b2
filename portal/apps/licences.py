"""Licences: handed out first come, first served, released when no longer used.

The last free licence goes to exactly one installer: `take()` raises `App.assigned_licences`
with one conditional UPDATE (`assigned < total`). On PostgreSQL a second installer's UPDATE
waits on the row lock of the first and, once that commits, finds no free licence; SQLite
serializes writers. Nothing here commits: callers do.

A user-based licence belongs to the person for one enrollment type (Apple counts the licence
used under User Enrollment apart from the one used under Device Enrollment), so a person's
second iPhone under the same type uses the same licence. A device-based licence belongs to a
serial number, which only Device Enrollment gives: never to a User-Enrolled device.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import audit
from ..extensions import db
from ..models import (
    AdminNotification,
    App,
    Device,
    DeviceStatus,
    EnrollmentType,
    LicenceAssignment,
    LicenceType,
    Platform,
    User,
    utcnow,
)

# Stored notification codes, their text (composed when shown) and where each is fixed.
NOTICES = {
    "licence_none_left": (
        _l(
            "No licence left for %(app)s: %(user)s could not get it. Buy more licences in "
            "Apple Business Manager or free one."
        ),
        "apps.app_detail",
    ),
    "licence_org_mismatch": (
        _l(
            "The licence for %(app)s could not be assigned to %(user)s: the Managed Apple ID "
            "belongs to %(abm)s but the location token to %(token)s."
        ),
        "apple.setup_page",
    ),
    "licence_apple_refused": (
        _l("Apple refused the licence for %(app)s to %(user)s: %(error)s"),
        "apps.app_detail",
    ),
    # Stored by portal.enrollment.journey: the person says the device is personal.
    "personal_device_request": (
        _l(
            "%(user)s says their %(platform)s is a personal device and asks for User "
            "Enrollment instead of Device Enrollment. %(note)s"
        ),
        "admin.user_detail",
    ),
}


PLATFORM_NAMES = {"ios": "iPhone", "ipados": "iPad", "macos": "Mac"}


def platforms_of(app: App) -> tuple[Platform, ...]:
    """The device platforms an app runs on (one App Store app serves iPhones and iPads)."""
    if app.platform == Platform.MACOS:
        return (Platform.MACOS,)
    return (Platform.IOS, Platform.IPADOS)


def active_for_user(
    app: App, user: User, enrollment_type: EnrollmentType
) -> LicenceAssignment | None:
    return db.session.scalar(
        sa.select(LicenceAssignment).where(
            LicenceAssignment.app_id == app.id,
            LicenceAssignment.user_id == user.id,
            LicenceAssignment.enrollment_type == enrollment_type,
            LicenceAssignment.licence_type == LicenceType.USER,
            LicenceAssignment.released_at.is_(None),
        )
    )


def active_for_device(app: App, device: Device) -> LicenceAssignment | None:
    return db.session.scalar(
        sa.select(LicenceAssignment).where(
            LicenceAssignment.app_id == app.id,
            LicenceAssignment.device_id == device.id,
            LicenceAssignment.licence_type == LicenceType.DEVICE,
            LicenceAssignment.released_at.is_(None),
        )
    )


def existing(app: App, device: Device) -> LicenceAssignment | None:
    """The licence `device` would use for `app`, if one is already held."""
    if app.licence_type == LicenceType.DEVICE:
        return active_for_device(app, device)
    return active_for_user(app, device.user, EnrollmentType(device.enrollment_type))


def take(app: App, device: Device, *, now: datetime | None = None) -> LicenceAssignment | None:
    """Use one free licence of `app` for `device`, or None when none is left."""
    result = db.session.execute(
        sa.update(App)
        .where(App.id == app.id, App.assigned_licences < App.total_licences)
        .values(assigned_licences=App.assigned_licences + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(app)
        return None
    db.session.refresh(app)
    assignment = LicenceAssignment(
        app=app,
        user=device.user,
        device=device,
        licence_type=app.licence_type,
        enrollment_type=device.enrollment_type,
        assigned_at=now or utcnow(),
    )
    db.session.add(assignment)
    db.session.flush()
    return assignment


def _give_back(assignment: LicenceAssignment, reason: str, now: datetime) -> None:
    assignment.released_at = now
    assignment.release_reason = reason
    db.session.execute(
        sa.update(App)
        .where(App.id == assignment.app_id, App.assigned_licences > 0)
        .values(assigned_licences=App.assigned_licences - 1)
        .execution_options(synchronize_session=False)
    )


def release(
    assignment: LicenceAssignment, *, actor: User | None, reason: str, now: datetime | None = None
) -> None:
    """Free one licence (kept as history); audited."""
    if assignment.released_at is not None:
        return
    _give_back(assignment, reason, now or utcnow())
    audit.record(
        actor,
        "licence.released",
        target=assignment.user,
        after={"app": assignment.app.adam_id, "reason": reason, "assignment": assignment.id},
    )


def release_for_device(device: Device, *, now: datetime | None = None) -> list[LicenceAssignment]:
    """`device` left management: free its device-based licences, and its owner's user-based
    ones for this enrollment type unless another enrolled device of theirs still uses them."""
    now = now or utcnow()
    held = list(
        db.session.scalars(
            sa.select(LicenceAssignment).where(
                LicenceAssignment.released_at.is_(None),
                sa.or_(
                    sa.and_(
                        LicenceAssignment.licence_type == LicenceType.DEVICE,
                        LicenceAssignment.device_id == device.id,
                    ),
                    sa.and_(
                        LicenceAssignment.licence_type == LicenceType.USER,
                        LicenceAssignment.user_id == device.user_id,
                        LicenceAssignment.enrollment_type == device.enrollment_type,
                    ),
                ),
            )
        )
    )
    still_enrolled = set(
        db.session.scalars(
            sa.select(Device.platform).where(
                Device.user_id == device.user_id,
                Device.id != device.id,
                Device.enrollment_type == device.enrollment_type,
                Device.status == DeviceStatus.ENROLLED,
            )
        )
    )
    released = []
    for assignment in held:
        if assignment.licence_type == LicenceType.USER and still_enrolled & set(
            platforms_of(assignment.app)
        ):
            continue
        release(assignment, actor=None, reason="unenrolled", now=now)
        released.append(assignment)
    return released


def usage_of(user: User) -> list[LicenceAssignment]:
    """Every licence `user` holds or held, newest first (the licence-usage tab)."""
    return list(
        db.session.scalars(
            sa.select(LicenceAssignment)
            .where(LicenceAssignment.user_id == user.id)
            .order_by(
                LicenceAssignment.released_at.is_not(None), LicenceAssignment.assigned_at.desc()
            )
        )
    )


def held_for_device(device: Device) -> list[LicenceAssignment]:
    """The licences `device` uses now: its device-based ones, and its owner's user-based ones
    for the device's enrollment type."""
    return list(
        db.session.scalars(
            sa.select(LicenceAssignment)
            .where(
                LicenceAssignment.released_at.is_(None),
                sa.or_(
                    LicenceAssignment.device_id == device.id,
                    sa.and_(
                        LicenceAssignment.licence_type == LicenceType.USER,
                        LicenceAssignment.user_id == device.user_id,
                        LicenceAssignment.enrollment_type == device.enrollment_type,
                    ),
                ),
            )
            .order_by(LicenceAssignment.assigned_at)
        )
    )


def holders_of(app: App) -> list[LicenceAssignment]:
    return list(
        db.session.scalars(
            sa.select(LicenceAssignment)
            .where(LicenceAssignment.app_id == app.id, LicenceAssignment.released_at.is_(None))
            .order_by(LicenceAssignment.assigned_at)
        )
    )


# --- stored notifications ---------------------------------------------------------------


def notify(
    code: str,
    *,
    app: App,
    user: User,
    device: Device | None,
    details: dict | None = None,
    severity: str = "error",
) -> AdminNotification:
    """Record a failed assignment for admins (one open notification per code, app and user)."""
    if code not in NOTICES:
        raise ValueError(f"unknown notification code {code!r}")
    open_one = db.session.scalar(
        sa.select(AdminNotification).where(
            AdminNotification.code == code,
            AdminNotification.app_id == app.id,
            AdminNotification.user_id == user.id,
            AdminNotification.resolved_at.is_(None),
        )
    )
    merged = {"app": app.name, "adam_id": app.adam_id, "user": user.display_name, **(details or {})}
    if open_one is not None:
        open_one.details = {**merged, "repeats": int(open_one.details.get("repeats", 1)) + 1}
        open_one.device_id = device.id if device else None
        return open_one
    notification = AdminNotification(
        code=code,
        severity=severity,
        details=merged,
        app_id=app.id,
        user_id=user.id,
        device_id=device.id if device else None,
    )
    db.session.add(notification)
    db.session.flush()
    return notification


def resolve_for(app: App, user: User, *, now: datetime | None = None) -> int:
    """A licence was assigned after all: close the open failures about it."""
    result = db.session.execute(
        sa.update(AdminNotification)
        .where(
            AdminNotification.app_id == app.id,
            AdminNotification.user_id == user.id,
            AdminNotification.resolved_at.is_(None),
        )
        .values(resolved_at=now or utcnow(), resolution="resolved")
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def open_notifications(limit: int = 50) -> list[AdminNotification]:
    return list(
        db.session.scalars(
            sa.select(AdminNotification)
            .where(AdminNotification.resolved_at.is_(None))
            .order_by(AdminNotification.id.desc())
            .limit(limit)
        )
    )


def open_count() -> int:
    return int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AdminNotification)
            .where(AdminNotification.resolved_at.is_(None))
        )
        or 0
    )


def describe(notification: AdminNotification) -> str:
    text, _endpoint = NOTICES[notification.code]
    details = notification.details or {}
    return str(text) % {
        "app": details.get("app", "?"),
        "user": details.get("user", "?"),
        "abm": details.get("abm", "?"),
        "token": details.get("token", "?"),
        "error": details.get("error", "?"),
        "platform": PLATFORM_NAMES.get(details.get("platform", ""), details.get("platform", "?")),
        "note": details.get("note", ""),
    }


def dismiss(
    notification_id: int, *, actor: User, now: datetime | None = None
) -> AdminNotification | None:
    notification = db.session.get(AdminNotification, notification_id)
    if notification is None or notification.resolved_at is not None:
        return None
    notification.resolved_at = now or utcnow()
    notification.resolved_by_id = actor.id
    notification.resolution = "dismissed"
    audit.record(
        actor, "notification.dismissed", after={"code": notification.code, "id": notification.id}
    )
    return notification
