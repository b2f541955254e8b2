"""Waking devices up: pushes queued with the command, sent by the background worker.

`notify_after_commit(device)` remembers the device in the database session; when that
transaction commits, one `PushRequest` row per device is written in it (a device with
several commands waiting, or pushed twice before the worker came by, gets one push). The
worker (`deliver`) leases a batch of rows, sends the pushes and deletes the rows: a request
that queues commands for a thousand devices returns at once, and several workers never push
the same device for the same request. Nothing is queued when the transaction rolls back.

The notifier is chosen by MDM_PUSH: `apns` sends real pushes (portal/mdm/apns.py), `log`
only logs them (development and tests).
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .. import leases
from ..extensions import db
from ..models import Device, PushRequest, utcnow

log = logging.getLogger(__name__)
EXTENSION = "mdm_notifier"
_PENDING = "mdm_push_pending"

# What a push came to. `sent` and `logged` are done; `unreachable` and `busy` are tried
# again later; `refused` means APNs will not take pushes from us (certificate, topic): an
# admin must look; `token_dead` clears the device's token; `no_certificate` logs it.
SENT, LOGGED, TOKEN_DEAD, UNREACHABLE, BUSY, REFUSED, NO_CERTIFICATE, NO_TOKEN = (
    "sent",
    "logged",
    "token_dead",
    "unreachable",
    "busy",
    "refused",
    "no_certificate",
    "no_token",
)
RETRY = frozenset({UNREACHABLE, BUSY})
MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(seconds=30)
# Pushes handed to the notifier at a time (it may send them concurrently); the lease is
# checked between chunks.
CHUNK = 10


@dataclass(frozen=True)
class PushTarget:
    """What a push needs, copied from the device."""

    device_id: int
    topic: str | None
    push_token: str | None
    push_magic: str | None


@dataclass(frozen=True)
class Outcome:
    """A push's result: one of the constants above, and APNs' answer when it refused."""

    kind: str
    status: int | None = None
    reason: str | None = None


class Notifier(Protocol):
    def notify(self, device: PushTarget) -> Outcome:
        """Ask the device to connect to the portal (an APNs MDM push)."""


class LogNotifier:
    """Development notifier: logs the push instead of sending it."""

    def __init__(self) -> None:
        self.sent: deque[PushTarget] = deque(maxlen=1000)  # the latest, for tests and shells

    def notify(self, device: PushTarget) -> Outcome:
        self.sent.append(device)
        log.info(
            "MDM push not sent (development): device %s, topic %s", device.device_id, device.topic
        )
        return Outcome(LOGGED)


def notifier(app: Flask | None = None) -> Notifier:
    app = app or current_app
    return app.extensions[EXTENSION]


def notify_after_commit(device: Device) -> None:
    """Push to `device` once the current transaction commits (nothing if it rolls back)."""
    if not device.push_token:
        return
    db.session().info.setdefault(_PENDING, set()).add(device.id)


def _insert(dialect: str):
    if dialect == "postgresql":
        return postgresql.insert(PushRequest)
    if dialect == "sqlite":
        return sqlite.insert(PushRequest)
    raise NotImplementedError(f"push queue on {dialect}")


def _before_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    now = utcnow()
    insert = _insert(session.get_bind().dialect.name)
    # A device already waiting: the row is kept and marked as queued again (a worker holding
    # it pushes once more after its own push, so the new command is never missed).
    statement = insert.on_conflict_do_update(
        index_elements=[PushRequest.device_id],
        set_={
            "queued_at": insert.excluded.queued_at,
            "next_attempt_at": insert.excluded.next_attempt_at,
            "attempts": 0,
        },
    )
    rows = [
        {"device_id": device_id, "queued_at": now, "next_attempt_at": now, "attempts": 0}
        for device_id in sorted(pending)
    ]
    session.execute(statement, rows)


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


# -- the worker's side -----------------------------------------------------------------------


@dataclass
class PushBatch:
    claimed: int = 0
    outcomes: Counter = field(default_factory=Counter)
    refusal: Outcome | None = None  # APNs refused for a reason no device can fix

    @property
    def sent(self) -> int:
        return self.outcomes[SENT] + self.outcomes[LOGGED]


def waiting() -> int:
    """How many devices wait for a push."""
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(PushRequest)) or 0)


def claim(worker: str, *, limit: int, lease: timedelta, now: datetime | None = None):
    """Lease up to `limit` due push requests; returns (token, rows). Commits."""
    now = now or utcnow()
    token = leases.claim_token(worker)
    leases.lease_due(
        PushRequest,
        PushRequest.device_id,
        leases.unleased(PushRequest, now),
        (PushRequest.queued_at, PushRequest.device_id),
        limit=limit,
        lease=lease,
        now=now,
        token=token,
    )
    db.session.commit()
    rows = db.session.execute(
        sa.select(
            PushRequest.device_id,
            PushRequest.queued_at,
            PushRequest.attempts,
            Device.topic,
            Device.push_token,
            Device.push_magic,
        )
        .join(Device, Device.id == PushRequest.device_id)
        .where(PushRequest.claimed_by == token)
        .order_by(PushRequest.queued_at, PushRequest.device_id)
    ).all()
    db.session.rollback()  # end the read transaction
    return token, rows


def deliver(
    worker: str,
    *,
    limit: int = 500,
    lease: timedelta = timedelta(minutes=5),
    send_time: float = 60.0,
    sender: Notifier | None = None,
    now: datetime | None = None,
) -> PushBatch:
    """Send one batch of queued pushes. Each device is pushed once per lease.

    A push that could not reach APNs (or found it busy) is tried again after RETRY_AFTER,
    at most MAX_ATTEMPTS times (the device also connects on its own). No chunk of pushes is
    started unless it can finish within the lease (`send_time`: the longest a chunk may
    take); the rest of the batch is given back.
    """
    from .. import metrics

    now = now or utcnow()
    sender = sender or notifier()
    batch = PushBatch()
    token, rows = claim(worker, limit=limit, lease=lease, now=now)
    batch.claimed = len(rows)
    if not rows:
        return batch
    deadline = time.monotonic() + lease.total_seconds() - min(send_time, lease.total_seconds() / 2)
    done: list[dict] = []
    retry: list[dict] = []
    given_back: list[int] = []
    many = getattr(sender, "notify_many", None)
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        if time.monotonic() >= deadline:
            given_back.extend(row.device_id for row in chunk)
            continue
        targets = [PushTarget(r.device_id, r.topic, r.push_token, r.push_magic) for r in chunk]
        try:
            if many is not None:
                outcomes = many(targets)
            else:
                outcomes = [_one(sender, target) for target in targets]
        except Exception:  # a push is a nudge: one failure never stops the worker
            log.exception("MDM pushes to %d devices failed", len(targets))
            db.session.rollback()
            outcomes = [Outcome(UNREACHABLE)] * len(targets)
        for row, outcome in zip(chunk, outcomes, strict=True):
            outcome = outcome or Outcome(SENT)
            batch.outcomes[outcome.kind] += 1
            metrics.push_sent(outcome.kind)
            if outcome.kind == REFUSED:
                batch.refusal = outcome
            key = {"d": row.device_id, "q": row.queued_at, "t": token}
            if outcome.kind in RETRY and row.attempts + 1 < MAX_ATTEMPTS:
                retry.append({**key, "n": now + RETRY_AFTER * (row.attempts + 1)})
            else:
                done.append(key)
    _finish(token, done, retry, given_back)
    return batch


def _one(sender: Notifier, target: PushTarget) -> Outcome:
    if not target.push_token or not target.push_magic:
        return Outcome(NO_TOKEN)
    try:
        return sender.notify(target)
    except Exception:  # one device's failure never stops the others
        log.exception("MDM push to device %s failed", target.device_id)
        db.session.rollback()
        return Outcome(UNREACHABLE)


def _finish(token: str, done: list[dict], retry: list[dict], given_back: list[int]) -> None:
    """Delete what was pushed (unless queued again meanwhile), schedule retries, release the
    rest. One transaction; plain table statements, run once per row (executemany)."""
    table = PushRequest.__table__
    held = sa.and_(
        table.c.device_id == sa.bindparam("d"),
        table.c.claimed_by == sa.bindparam("t"),
        table.c.queued_at == sa.bindparam("q"),
    )
    if done:
        db.session.execute(sa.delete(table).where(held), done)
    if retry:
        db.session.execute(
            sa.update(table)
            .where(held)
            .values(
                attempts=table.c.attempts + 1,
                next_attempt_at=sa.bindparam("n"),
                claimed_until=None,
            ),
            retry,
        )
    # Queued again while we pushed, or not attempted: due again at once.
    db.session.execute(
        sa.update(table)
        .where(table.c.claimed_by == token, table.c.claimed_until.is_not(None))
        .values(claimed_until=None)
    )
    db.session.commit()


def make_notifier(config) -> Notifier:
    if config["MDM_PUSH"] == "apns":
        from .apns import from_config  # imports this module

        return from_config(config)
    return LogNotifier()


def init_app(app: Flask) -> None:
    app.extensions.setdefault(EXTENSION, make_notifier(app.config))
    if not event.contains(Session, "before_commit", _before_commit):
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_rollback", _after_rollback)
