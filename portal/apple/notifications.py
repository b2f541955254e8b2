"""Admin notifications: what needs an admin, each with where it is fixed.

Gathered when asked (nothing is stored): expiring or expired Apple certificates and tokens,
and outgoing e-mail that gave up (`OutboxMessage.status == "dead"`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from ..extensions import db
from ..models import OutboxMessage, OutboxStatus
from . import setup

MAX_LISTED = 50


@dataclass(frozen=True)
class Notification:
    code: str
    message: str
    endpoint: str  # where it is fixed (a url_for endpoint without arguments)
    severity: str = "warning"
    when: datetime | None = None


def dead_messages(limit: int = MAX_LISTED) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.DEAD)
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
    )


def collect(now: datetime | None = None) -> list[Notification]:
    """Every current notification, most serious first."""
    items = [Notification(n.code, n.message, n.endpoint, n.severity) for n in setup.notices(now)]
    for message in dead_messages():
        items.append(
            Notification(
                "outbox_dead",
                _(
                    "An e-mail to %(to)s was not sent: “%(subject)s”.",
                    to=message.recipient,
                    subject=message.subject,
                ),
                "outbox.index",
                "error",
                message.created_at,
            )
        )
    return sorted(items, key=lambda item: item.severity != "error")


def count(now: datetime | None = None) -> int:
    dead = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.DEAD)
    )
    return len(setup.notices(now)) + int(dead or 0)
