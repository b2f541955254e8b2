"""What the background worker shares through the database: pushes to send, periodic jobs
with their leases and last outcome, and each worker's heartbeat."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class PushRequest(Base):
    """A device to wake with an MDM push: one row per device, however many commands wait.

    Written in the transaction that queued the command; a worker leases it
    (`claimed_until`, `claimed_by`), sends the push and deletes it, unless `queued_at` moved
    meanwhile (another command arrived), in which case the device is pushed again.
    """

    __tablename__ = "push_request"

    device_id: Mapped[int] = mapped_column(
        sa.ForeignKey("device.id", ondelete="CASCADE"), primary_key=True
    )
    queued_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))


class BackgroundJob(Base):
    """One kind of background work (a periodic job, or the push and e-mail queues), with
    the lease that lets one worker at a time run it and what its last run did."""

    __tablename__ = "background_job"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    next_run_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    leased_by: Mapped[str | None] = mapped_column(sa.String(64))
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    # "ok" or "failed"; `last_detail` says what it did, or why it failed.
    last_outcome: Mapped[str | None] = mapped_column(sa.String(16))
    last_detail: Mapped[str | None] = mapped_column(sa.Text)
    runs: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)


class WorkerHeartbeat(Base):
    """A running worker process, seen at `seen_at` (written every few seconds)."""

    __tablename__ = "worker_heartbeat"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
