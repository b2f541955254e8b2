"""Admin notifications: what needs an admin, each with where it is fixed.

Gathered when asked, so each appears while its cause lasts and clears by itself once fixed:
the push certificate missing, expiring or expired; Apple Business Manager not linked; the
location token missing, expiring, expired or of another organization; no background worker
running while e-mail or pushes wait; APNs refusing the portal's pushes; outgoing e-mail that
gave up (`OutboxMessage.status == "dead"`). Failed licence assignments are stored
(`AdminNotification`) until an admin dismisses them or a licence is assigned after all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from ..apps import licences
from ..extensions import db
from ..models import OutboxMessage, OutboxStatus, utcnow
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


def _minutes(seconds: int | None) -> int:
    return max(1, (seconds or 0) // 60)


def system_alerts(now: datetime | None = None) -> list[Notification]:
    """The Apple setup, the worker and APNs, from the same facts as /healthz."""
    from ..main import health
    from ..worker import schedule

    now = now or utcnow()
    facts = health.facts()
    items: list[Notification] = []
    push = health.certificate_state(facts, now)
    if push["state"] == "missing":
        items.append(
            Notification(
                "push_certificate_missing",
                _(
                    "No MDM push certificate is uploaded: devices cannot be told to fetch "
                    "their commands."
                ),
                "apple.setup_page",
                "error",
            )
        )
    if facts.abm_organization is None:
        items.append(
            Notification(
                "abm_not_linked",
                _("Apple Business Manager is not linked: User Enrollment is not offered."),
                "apple.setup_page",
                "error",
            )
        )
    token = health.token_state(facts, now)
    if token["state"] == "missing":
        items.append(
            Notification(
                "vpp_token_missing",
                _(
                    "No Apps and Books location token is uploaded: User Enrollment is not "
                    "offered and apps cannot be assigned."
                ),
                "apple.setup_page",
                "error",
            )
        )
    elif token["state"] == "other_organization":
        items.append(
            Notification(
                "vpp_token_other_organization",
                _(
                    "The location token belongs to %(token)s, not to %(abm)s: everyone falls "
                    "back to Device Enrollment.",
                    token=facts.token_organization,
                    abm=facts.abm_organization,
                ),
                "apple.setup_page",
                "error",
            )
        )
    # Expiring and expired certificate and token.
    not_after = facts.push_not_after if facts.push_uploaded else None
    for n in setup.expiry_notices(not_after, facts.token_expires_at, now):
        items.append(Notification(n.code, n.message, n.endpoint, n.severity))
    worker = health.worker_state(facts, now)
    if not worker["ok"]:
        seen = worker["last_seen_seconds"]
        message = (
            _(
                "No background worker has run for %(minutes)d minutes and work is waiting "
                "(e-mail, pushes): start `flask --app wsgi worker run`.",
                minutes=_minutes(seen),
            )
            if seen is not None
            else _(
                "No background worker is running and work is waiting (e-mail, pushes): "
                "start `flask --app wsgi worker run`."
            )
        )
        items.append(Notification("worker_not_running", message, "admin.jobs_page", "error"))
    pushes = schedule.rows().get("pushes")
    if pushes is not None and pushes.last_outcome == "failed":
        items.append(
            Notification(
                "apns_refused",
                _(
                    "Apple's push service refuses the portal's pushes (%(reason)s): check "
                    "the push certificate.",
                    reason=(pushes.last_detail or "").removeprefix("APNs refused pushes: "),
                ),
                "apple.setup_page",
                "error",
                pushes.last_finished_at,
            )
        )
    return items


def collect(now: datetime | None = None) -> list[Notification]:
    """Every current notification, most serious first."""
    items = system_alerts(now)
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
    return len(system_alerts(now)) + len(_retryable_dead()) + licences.open_count()
