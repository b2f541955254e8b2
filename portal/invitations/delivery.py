"""The invitation e-mail's side of the outbox: which queued e-mails carry a link that no
longer works, and the invitation's delivery status as the outbox sends or gives up.

Registered with the outbox for the invitation kind (`portal.invitations.init_app`).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from .. import audit
from ..extensions import db
from ..models import DeliveryStatus, Invitation, OutboxStatus
from .service import NOT_SENDABLE, LinkState


def for_message(message_id: int) -> Invitation | None:
    """The invitation an outbox message carries, if any."""
    return db.session.scalars(
        sa.select(Invitation).where(Invitation.outbox_message_id == message_id)
    ).first()


def unsendable(message_ids: list[int], now: datetime) -> dict[int, object]:
    """Outbox check: which of these invitation e-mails carry a link that would not work.

    Used, replaced by a newer invitation of the same person, withdrawn, expired, or gone
    (the person was deleted): {message id: reason}.
    """
    newer = aliased(Invitation)
    rows = db.session.execute(
        sa.select(
            Invitation.outbox_message_id,
            Invitation.used_at,
            Invitation.revoked_at,
            Invitation.expires_at,
            sa.exists()
            .where(newer.user_id == Invitation.user_id, newer.id > Invitation.id)
            .label("replaced"),
        ).where(Invitation.outbox_message_id.in_(message_ids))
    ).all()
    reasons: dict[int, object] = {message_id: NOT_SENDABLE["missing"] for message_id in message_ids}
    for message_id, used_at, revoked_at, expires_at, replaced in rows:
        if used_at is not None:
            reasons[message_id] = NOT_SENDABLE[LinkState.USED]
        elif replaced:
            reasons[message_id] = NOT_SENDABLE["replaced"]
        elif revoked_at is not None:
            reasons[message_id] = NOT_SENDABLE[LinkState.REVOKED]
        elif expires_at <= now:
            reasons[message_id] = NOT_SENDABLE[LinkState.EXPIRED]
        else:
            del reasons[message_id]
    return reasons


_invitation = Invitation.__table__


def delivery_sent(message_ids: sa.Select) -> sa.Update:
    """Outbox write joined to marking invitation e-mails sent (one statement per message)."""
    return (
        _invitation.update()
        .where(_invitation.c.outbox_message_id.in_(message_ids.scalar_subquery()))
        .values(delivery_status=DeliveryStatus.SENT)
    )


# Built once: "Retry now" and give-ups run it.
_SET_DELIVERY = (
    _invitation.update()
    .where(_invitation.c.outbox_message_id == sa.bindparam("b_message"))
    .values(delivery_status=sa.bindparam("delivery"))
)
# Sent: see `delivery_sent`. Cancelled: the invitation's own state (withdrawn, expired…) says
# why, its delivery status stays as it was.
_DELIVERY = {
    OutboxStatus.DEAD: DeliveryStatus.FAILED,
    OutboxStatus.PENDING: DeliveryStatus.QUEUED,
}


def delivery_changed(message_id: int, status: OutboxStatus, error: str | None = None) -> None:
    """Outbox callback: the invitation's e-mail was given up on, or queued again."""
    delivery = _DELIVERY.get(status)
    if delivery is None:
        return
    db.session.connection().execute(_SET_DELIVERY, {"b_message": message_id, "delivery": delivery})
    if status == OutboxStatus.DEAD:
        invitation = for_message(message_id)
        if invitation is not None:
            audit.record(
                None,
                "invitation.delivery_failed",
                channel="outbox",
                target_type="user",
                target_id=invitation.user_id,
                after={"invitation": invitation.id, "error": (error or "")[:200]},
            )
