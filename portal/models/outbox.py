"""Durable outbox: messages are written with what caused them and sent later."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, TimestampMixin, enum_column, utcnow
from .enums import OutboxStatus


class OutboxMessage(TimestampMixin, Base):
    __tablename__ = "outbox_message"
    __table_args__ = (sa.Index("ix_outbox_message_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32), default="email")
    # Stable across retries so the receiving side can de-duplicate.
    message_id: Mapped[str] = mapped_column(sa.String(200), unique=True)
    sender: Mapped[str | None] = mapped_column(sa.String(320))
    recipient: Mapped[str] = mapped_column(sa.String(320))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text)
    # The whole message as composed when queued (RFC 5322, CRLF): every attempt sends
    # the very same bytes, Message-ID and Date included. The bodies above are for display.
    raw: Mapped[bytes] = mapped_column(sa.LargeBinary)
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    status: Mapped[OutboxStatus] = enum_column(OutboxStatus, default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[datetime | None]
    # A worker's lease on the row: others skip it until `claimed_until` has passed.
    claimed_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
