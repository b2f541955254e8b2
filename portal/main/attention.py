"""What needs the helpdesk or an admin, for their home page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from ..apple import notifications
from ..enrollment import journey, lifecycle
from ..extensions import db
from ..models import AdminNotification, Device, Role, User, utcnow

STUCK_AFTER = timedelta(hours=1)
MAX_LISTED = 10


@dataclass(frozen=True)
class Attention:
    notifications: int | None  # admins only
    personal_requests: list[AdminNotification]
    stuck: list[tuple[User, Device]]


def stuck_people(now=None, limit: int = MAX_LISTED) -> list[tuple[User, Device]]:
    """People whose enrollment started over an hour ago and never finished, oldest first."""
    now = now or utcnow()
    rows = db.session.execute(
        sa.select(User, Device)
        .join(Device, Device.user_id == User.id)
        .where(
            Device.status.in_(lifecycle.PENDING),
            Device.created_at <= now - STUCK_AFTER,
        )
        .order_by(Device.created_at)
        .limit(limit)
    ).all()
    return [(row[0], row[1]) for row in rows]


def for_staff(user: User) -> Attention:
    requests = list(
        db.session.scalars(
            sa.select(AdminNotification)
            .where(
                AdminNotification.code == journey.PERSONAL_DEVICE_REQUEST,
                AdminNotification.resolved_at.is_(None),
            )
            .order_by(AdminNotification.created_at.desc())
            .limit(MAX_LISTED)
        )
    )
    count = notifications.count() if user.has_role(Role.ADMIN) else None
    return Attention(count, requests, stuck_people())
