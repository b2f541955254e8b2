"""Writing audit events. Callers commit; the event joins their transaction."""

from __future__ import annotations

from .extensions import db
from .models import AuditEvent, User
from .privacy import mask_record


def actor_label(actor: User | None) -> str:
    return actor.email if actor is not None else "system"


def record(
    actor: User | None,
    action: str,
    *,
    channel: str = "web",
    target: object | None = None,
    target_type: str | None = None,
    target_id: object | None = None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    """Add an audit event to the current session (Managed Apple IDs masked)."""
    if target is not None:
        target_type = target_type or type(target).__tablename__
        target_id = target_id if target_id is not None else target.id
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor_label=actor_label(actor),
        channel=channel,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        before=mask_record(before),
        after=mask_record(after),
    )
    db.session.add(event)
    return event
