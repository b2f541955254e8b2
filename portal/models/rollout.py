"""Running a rollout: reminder schedules and the reminders sent, Slack messages waiting to go
out, bulk resends in progress, and changes that can still be undone."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin, utcnow
from .user import Group, User


class ReminderSchedule(TimestampMixin, Base):
    """When the members of a group who have not enrolled yet are reminded."""

    __tablename__ = "reminder_schedule"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_group.id", ondelete="CASCADE"), unique=True
    )
    # Days after the invitation, ascending ("3,7" → [3, 7]); at most `max_reminders` are sent.
    days: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    max_reminders: Mapped[int] = mapped_column(default=2)
    # Working hours in the person's own time zone, Monday to Friday: [start, end).
    start_hour: Mapped[int] = mapped_column(default=9)
    end_hour: Mapped[int] = mapped_column(default=17)
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    group: Mapped[Group] = relationship()


class Reminder(Base):
    """One reminder sent for one invitation; (invitation, step) is unique, so two workers
    can never both send the same one."""

    __tablename__ = "reminder"
    __table_args__ = (sa.UniqueConstraint("invitation_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    invitation_id: Mapped[int] = mapped_column(sa.ForeignKey("invitation.id", ondelete="CASCADE"))
    schedule_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("reminder_schedule.id", ondelete="SET NULL")
    )
    # 1 for the first reminder of this invitation, 2 for the second…
    step: Mapped[int]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    outbox_message_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("outbox_message.id", ondelete="SET NULL")
    )
    slack_notification_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("slack_notification.id", ondelete="SET NULL")
    )

    user: Mapped[User] = relationship()


class SlackNotification(Base):
    """A Slack message waiting to go out (a DM to a person, or the helpdesk channel).

    Written in the transaction of what caused it; `deliver_pending` posts it and marks it.
    The text is composed when it is sent, in the reader's language, from `kind` and `details`.
    """

    __tablename__ = "slack_notification"
    __table_args__ = (sa.Index("ix_slack_notification_due", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    # A person's DM (found in Slack by e-mail), or None for the helpdesk channel.
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # pending → sent | skipped (no Slack, person not found there) | failed (given up)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    claimed_until: Mapped[datetime | None]

    user: Mapped[User | None] = relationship()


class BulkJob(Base):
    """A bulk resend started from the stuck list, worked through a slice at a time."""

    __tablename__ = "bulk_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32), default="resend")
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    user_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    done: Mapped[int] = mapped_column(default=0)
    # [{"user_id", "outcome": sent|rate_limited|not_invitable|missing, "detail"}]
    results: Mapped[list[dict]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class UndoAction(Base):
    """What it takes to undo a change for a short time (an unassignment, a deleted group)."""

    __tablename__ = "undo_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    payload: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
