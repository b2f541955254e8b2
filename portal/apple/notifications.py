"""Admin notifications: what needs an admin, each with where it is fixed.

Expiring or expired Apple certificates and tokens and outgoing e-mail that gave up
(`OutboxMessage.status == "dead"`) are gathered when asked; failed licence assignments are
stored (`AdminNotification`) until an admin dismisses them or a licence is assigned after all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from ..apps import licences
from ..extensions import db
from ..models import OutboxMessage, OutboxStatus
from ..outbox import service as outbox
from . import setup

MAX_LISTED = 50


@dataclass(frozen=True)
class Notification:
    code: str
    message: str
    endpoint: str  # where it is fixed (a url_for endpoint, with `args`)
    severity: str = "warning"
    when: datetime | None = None
    args: dict = field(default_factory=dict)
    stored_id: int | None = None  # an AdminNotification admins can dismiss


def _retryable_dead() -> list[int]:
    """Ids of e-mails that gave up and could still be retried, newest first (an invitation
    e-mail whose invitation was withdrawn, replaced, used or has expired needs no admin)."""
    dead = db.session.execute(
        sa.select(OutboxMessage.id, OutboxMessage.kind)
        .where(OutboxMessage.status == OutboxStatus.DEAD)
        .order_by(OutboxMessage.id.desc())
    ).all()
    refused = outbox.refusals([(row.id, row.kind) for row in dead])
    return [row.id for row in dead if row.id not in refused]


def dead_messages(limit: int = MAX_LISTED) -> list[OutboxMessage]:
    ids = _retryable_dead()[:limit]
    if not ids:
        return []
    return list(
        db.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .order_by(OutboxMessage.id.desc())
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
    for stored in licences.open_notifications():
        _text, endpoint = licences.NOTICES[stored.code]
        args = {"app_id": stored.app_id} if endpoint == "apps.app_detail" and stored.app_id else {}
        if endpoint == "apps.app_detail" and not args:
            endpoint = "apps.catalogue"
        if endpoint == "admin.user_detail":
            args = {"user_id": stored.user_id} if stored.user_id else {}
            endpoint = endpoint if args else "admin.users"
        items.append(
            Notification(
                stored.code,
                licences.describe(stored),
                endpoint,
                stored.severity,
                stored.created_at,
                args,
                stored.id,
            )
        )
    return sorted(items, key=lambda item: item.severity != "error")


def count(now: datetime | None = None) -> int:
    return len(setup.notices(now)) + len(_retryable_dead()) + licences.open_count()
