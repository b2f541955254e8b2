"""The durable outbox: queue messages with what caused them, claim, mark sent or failed.

`enqueue` joins the caller's transaction (the caller commits). The worker-side functions
(`claim`, `mark_sent` from `marks`, `mark_failed`, `release`) are each one transaction of
their own and commit: a message's state must be durable before the next one is sent.

Several workers never send the same message: a claim sets a lease (`claimed_until`,
`claimed_by`; portal.leases) on due rows, picked with `FOR UPDATE SKIP LOCKED` on
PostgreSQL; on SQLite the claim is one UPDATE (SQLite runs one writer at a time). A worker
that dies leaves its lease to expire; a crash between the SMTP transaction and `mark_sent`
sends that one message once more, with the same Message-ID.

A message that must not go out any more is never sent: its kind may register a check
(`on_send_check`, e.g. "the invitation in it was withdrawn or has expired") that `claim`
applies to the batch, cancelling what it refuses, and "Retry now" refuses such a message.
Anything that cancels a queued message (`cancel`) while a worker holds it is seen by that
worker right before it sends: `mark_sent` of the previous message (or `still_to_send`) reads
it in the same statement.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime, make_msgid

import sqlalchemy as sa
from sqlalchemy.orm import defer

from .. import audit, leases
from ..domain import DomainError
from ..extensions import db
from ..leases import claim_token as claim_token
from ..models import OutboxMessage, OutboxStatus, User, utcnow
from . import hooks

# The kinds' hooks and the worker's marks live in their own modules; their public names are
# the outbox's, here.
from .hooks import on_send_check as on_send_check
from .hooks import on_status_change as on_status_change
from .hooks import refusals as refusals
from .marks import CONTENT_DROPPED
from .marks import mark_sent as mark_sent
from .marks import on_sent as on_sent
from .marks import still_to_send as still_to_send
from .marks import use_worker_connections as use_worker_connections
from .marks import worker_connection as worker_connection
from .mime import InlinePart, compose, envelope_address

ERROR_MAX = 2000


@dataclass(frozen=True)
class OutboxSettings:
    max_attempts: int = 8
    batch_size: int = 50
    lease: timedelta = timedelta(minutes=5)
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_cap: timedelta = timedelta(hours=1)

    @classmethod
    def from_config(cls, config: Mapping) -> OutboxSettings:
        return cls(
            max_attempts=max(int(config.get("OUTBOX_MAX_ATTEMPTS", cls.max_attempts)), 1),
            batch_size=max(int(config.get("OUTBOX_BATCH_SIZE", cls.batch_size)), 1),
            lease=timedelta(seconds=float(config.get("OUTBOX_LEASE_SECONDS", 300))),
            backoff_base=timedelta(seconds=float(config.get("OUTBOX_BACKOFF_SECONDS", 30))),
        )


class OutboxError(Exception):
    """A request about an outbox message that cannot be honoured."""


class NotSendable(DomainError):
    """The message must not go out any more; the message says why (from its kind's check)."""

    status = 409


def _english(reason: object) -> str:
    return NotSendable(reason).args[0][:ERROR_MAX]


def cancel(message_id: int, reason: object) -> bool:
    """Do not send message `message_id` if it is still waiting; False if it was not.

    One conditional UPDATE: a message a worker has just sent stays sent. The caller commits.
    """
    return bool(
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.CANCELLED, last_error=_english(reason), **CONTENT_DROPPED)
            .execution_options(synchronize_session="fetch")
        ).rowcount
    )


# -- queueing --------------------------------------------------------------------------------


def enqueue(
    *,
    recipient: str,
    subject: str,
    body_text: str,
    body_html: str | None = None,
    sender: str = "no-reply@localhost",
    kind: str = "email",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
    inline: list[InlinePart] | tuple = (),
    locale: str | None = None,
    now: datetime | None = None,
) -> OutboxMessage:
    """Compose a message and add it to the outbox in the current transaction.

    The caller commits. The message is composed here, once: every attempt sends the same
    bytes (Message-ID and Date included), so a receiver can de-duplicate a repeat.
    """
    now = now or utcnow()
    domain = envelope_address(sender).rsplit("@", 1)[-1] or "localhost"
    message_id = message_id or make_msgid(domain=domain)
    raw = compose(
        sender=sender,
        recipient=recipient,
        subject=subject,
        message_id=message_id,
        date=format_datetime(now),
        body_text=body_text,
        body_html=body_html,
        inline=inline,
        headers=headers,
    )
    message = OutboxMessage(
        kind=kind,
        message_id=message_id,
        sender=sender,
        recipient=recipient,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        raw=raw,
        locale=locale,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    db.session.add(message)
    db.session.flush()
    return message


# -- the worker's side -----------------------------------------------------------------------


def _due(now: datetime):
    return sa.and_(
        OutboxMessage.status == OutboxStatus.PENDING, leases.unleased(OutboxMessage, now)
    )


def claim(
    worker: str,
    *,
    limit: int,
    lease: timedelta,
    now: datetime | None = None,
    token: str | None = None,
) -> list[OutboxMessage]:
    """Lease up to `limit` due messages to `worker`; returns them, oldest first. Commits."""
    now = now or utcnow()
    token = token or claim_token(worker)
    leases.lease_due(
        OutboxMessage,
        OutboxMessage.id,
        _due(now),
        (OutboxMessage.next_attempt_at, OutboxMessage.id),
        limit=limit,
        lease=lease,
        now=now,
        token=token,
    )
    if hooks.any_send_checks():
        claimed = db.session.execute(
            sa.select(OutboxMessage.id, OutboxMessage.kind).where(
                OutboxMessage.claimed_by == token, OutboxMessage.status == OutboxStatus.PENDING
            )
        ).all()
        kinds = dict(claimed)
        for message_id, reason in refusals(claimed, now).items():
            error = _english(reason)
            db.session.execute(
                sa.update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(
                    status=OutboxStatus.CANCELLED,
                    last_error=error,
                    claimed_until=None,
                    **CONTENT_DROPPED,
                )
                .execution_options(synchronize_session=False)
            )
            hooks.notify(kinds[message_id], message_id, OutboxStatus.CANCELLED, error)
    db.session.commit()
    return list(
        db.session.scalars(
            sa.select(OutboxMessage)
            # The bodies are for display: `raw` is what goes out.
            .options(defer(OutboxMessage.body_text), defer(OutboxMessage.body_html))
            .where(OutboxMessage.claimed_by == token, OutboxMessage.status == OutboxStatus.PENDING)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        )
    )


def backoff(attempts: int, settings: OutboxSettings) -> timedelta:
    """Exponential, capped, with jitter: between half and all of base·2^(attempts-1)."""
    base = settings.backoff_base.total_seconds()
    delay = min(base * 2 ** max(attempts - 1, 0), settings.backoff_cap.total_seconds())
    return timedelta(seconds=delay / 2 + random.uniform(0, delay / 2))  # noqa: S311


def mark_failed(
    message_id: int,
    error: str,
    *,
    settings: OutboxSettings,
    permanent: bool = False,
    now: datetime | None = None,
) -> OutboxStatus:
    """An attempt failed: retry later, or give up (`dead`). Commits; returns the new status."""
    now = now or utcnow()
    message = db.session.get(OutboxMessage, message_id, populate_existing=True)
    if message is None or message.status != OutboxStatus.PENDING:
        db.session.commit()
        return message.status if message is not None else OutboxStatus.CANCELLED
    message.attempts = (message.attempts or 0) + 1
    message.last_error = error[:ERROR_MAX]
    message.claimed_until = None
    if permanent or message.attempts >= settings.max_attempts:
        message.status = OutboxStatus.DEAD
        hooks.notify(message.kind, message.id, OutboxStatus.DEAD, message.last_error)
    else:
        message.next_attempt_at = now + backoff(message.attempts, settings)
    db.session.commit()
    return message.status


def release(message_ids: list[int], token: str | None = None) -> None:
    """Give back leases on messages not attempted (a worker stopping). Commits.

    With `token`, only rows still held by that claim: another worker may have claimed them
    since, once the lease ran out.
    """
    if message_ids:
        held = OutboxMessage.claimed_by == token if token else sa.true()
        db.session.execute(
            sa.update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(message_ids),
                OutboxMessage.status == OutboxStatus.PENDING,
                held,
            )
            .values(claimed_until=None)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()


def purge(*, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete messages sent or cancelled more than `older_than` ago (waiting and given-up
    ones stay for admins). The caller commits."""
    now = now or utcnow()
    cutoff = now - older_than
    done = sa.or_(
        sa.and_(OutboxMessage.status == OutboxStatus.SENT, OutboxMessage.sent_at < cutoff),
        sa.and_(OutboxMessage.status == OutboxStatus.CANCELLED, OutboxMessage.created_at < cutoff),
    )
    from ..models import Invitation

    gone = sa.select(OutboxMessage.id).where(done).scalar_subquery()
    # SQLite does not enforce the foreign key's ON DELETE SET NULL: say it here.
    db.session.execute(
        sa.update(Invitation)
        .where(Invitation.outbox_message_id.in_(gone))
        .values(outbox_message_id=None)
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(
        sa.delete(OutboxMessage).where(done).execution_options(synchronize_session=False)
    ).rowcount


# -- admin -----------------------------------------------------------------------------------


def problems(limit: int = 200) -> list[OutboxMessage]:
    """Messages waiting, retrying or given up on, most urgent first (for the admin page)."""
    return list(
        db.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.DEAD]))
            .order_by(
                (OutboxMessage.status == OutboxStatus.DEAD).desc(),
                OutboxMessage.attempts.desc(),
                OutboxMessage.next_attempt_at,
                OutboxMessage.id,
            )
            .limit(limit)
        )
    )


def counts() -> dict[str, int]:
    rows = db.session.execute(
        sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)
    )
    result = {str(status): 0 for status in OutboxStatus}
    for status, count in rows:
        result[str(status)] = count
    return result


def retry_now(
    message: OutboxMessage, *, actor: User | None, channel: str = "web", now=None
) -> None:
    """Make a pending or dead message due now (a dead one gets a fresh set of attempts).

    A message its kind says must not go out any more (an invitation withdrawn, replaced or
    expired since) is refused with `NotSendable`, whose message says why. A message a worker
    is sending right now keeps that worker's lease. The caller commits.
    """
    now = now or utcnow()
    if message.status not in (OutboxStatus.PENDING, OutboxStatus.DEAD):
        raise OutboxError(f"this message is {message.status}, not waiting to be sent")
    reason = refusals([(message.id, message.kind)], now).get(message.id)
    if reason is not None:
        raise NotSendable(reason)
    before = {"status": str(message.status), "attempts": message.attempts}
    if message.status == OutboxStatus.DEAD:
        message.attempts = 0
    message.status = OutboxStatus.PENDING
    message.next_attempt_at = now
    if message.claimed_until is not None and message.claimed_until <= now:
        message.claimed_until = None
    hooks.notify(message.kind, message.id, OutboxStatus.PENDING)
    audit.record(
        actor,
        "outbox.retried",
        channel=channel,
        target=message,
        before=before,
        after={"status": "pending", "recipient": message.recipient},
    )
