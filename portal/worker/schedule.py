"""Leases on background jobs, their last outcome, and the workers' heartbeats.

A periodic job runs on one worker at a time: `claim` takes the job's row when it is due and
no live lease holds it (one conditional UPDATE: of two workers asking at once, one gets it).
`finish` records the outcome and the next run, only while the lease is still ours. Each is
one transaction of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError

from .. import leases
from ..extensions import db
from ..models import BackgroundJob, WorkerHeartbeat, utcnow

DETAIL_MAX = 2000


def _ensure(name: str, now: datetime) -> None:
    """The job's row exists; ends the transaction (a write that follows starts its own, so
    SQLite never has to upgrade a read lock while another worker writes)."""
    if db.session.get(BackgroundJob, name) is None:
        try:
            db.session.add(BackgroundJob(name=name, next_run_at=now, runs=0, failures=0))
            db.session.commit()
        except (IntegrityError, OperationalError):
            db.session.rollback()  # another worker added it first (or is adding it)
    else:
        db.session.rollback()


def claim(name: str, worker: str, *, lease: timedelta, now: datetime | None = None) -> str | None:
    """Lease job `name` if it is due and free; returns the lease token, or None. Commits."""
    now = now or utcnow()
    _ensure(name, now)
    token = leases.claim_token(worker)
    taken = db.session.execute(
        sa.update(BackgroundJob)
        .where(
            BackgroundJob.name == name,
            sa.or_(BackgroundJob.next_run_at.is_(None), BackgroundJob.next_run_at <= now),
            sa.or_(BackgroundJob.lease_until.is_(None), BackgroundJob.lease_until < now),
        )
        .values(lease_until=now + lease, leased_by=token, last_started_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return token if taken else None


def finish(
    name: str,
    token: str,
    *,
    ok: bool,
    detail: str,
    next_run_at: datetime,
    now: datetime | None = None,
) -> bool:
    """Record the outcome of a leased run and when it runs next. Commits; False if the lease
    was lost meanwhile (another worker took over after it ran out)."""
    now = now or utcnow()
    values = {
        "lease_until": None,
        "leased_by": None,
        "last_finished_at": now,
        "last_outcome": "ok" if ok else "failed",
        "last_detail": detail[:DETAIL_MAX],
        "next_run_at": next_run_at,
        "runs": BackgroundJob.runs + 1,
    }
    if not ok:
        values["failures"] = BackgroundJob.failures + 1
    done = db.session.execute(
        sa.update(BackgroundJob)
        .where(BackgroundJob.name == name, BackgroundJob.leased_by == token)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return bool(done)


def record(name: str, *, ok: bool, detail: str, now: datetime | None = None) -> None:
    """Note the outcome of work that needs no lease (a push batch, an e-mail batch). Commits."""
    now = now or utcnow()
    _ensure(name, now)
    values = {
        "last_started_at": now,
        "last_finished_at": now,
        "last_outcome": "ok" if ok else "failed",
        "last_detail": detail[:DETAIL_MAX],
        "runs": BackgroundJob.runs + 1,
    }
    if not ok:
        values["failures"] = BackgroundJob.failures + 1
    db.session.execute(
        sa.update(BackgroundJob)
        .where(BackgroundJob.name == name)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def run_soon(name: str, now: datetime | None = None) -> None:
    """Make job `name` due now (an admin's "Run now"); the caller commits."""
    now = now or utcnow()
    _ensure(name, now)
    db.session.execute(
        sa.update(BackgroundJob)
        .where(BackgroundJob.name == name)
        .values(next_run_at=now)
        .execution_options(synchronize_session=False)
    )


def rows() -> dict[str, BackgroundJob]:
    return {job.name: job for job in db.session.scalars(sa.select(BackgroundJob))}


# -- heartbeats ------------------------------------------------------------------------------


def beat(worker: str, *, started_at: datetime, now: datetime | None = None) -> None:
    """The worker is alive. Commits."""
    now = now or utcnow()
    updated = db.session.execute(
        sa.update(WorkerHeartbeat)
        .where(WorkerHeartbeat.name == worker[:64])
        .values(seen_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not updated:
        db.session.add(WorkerHeartbeat(name=worker[:64], started_at=started_at, seen_at=now))
    db.session.commit()


def gone(worker: str) -> None:
    """A worker stopping cleanly forgets its heartbeat. Commits."""
    db.session.execute(sa.delete(WorkerHeartbeat).where(WorkerHeartbeat.name == worker[:64]))
    db.session.commit()


def forget_stale(older_than: timedelta, now: datetime | None = None) -> int:
    """Drop heartbeats of workers not seen for `older_than` (killed, machine gone)."""
    now = now or utcnow()
    removed = db.session.execute(
        sa.delete(WorkerHeartbeat).where(WorkerHeartbeat.seen_at < now - older_than)
    ).rowcount
    return removed


@dataclass(frozen=True)
class WorkerSeen:
    name: str
    started_at: datetime
    seen_at: datetime


def workers() -> list[WorkerSeen]:
    return [
        WorkerSeen(row.name, row.started_at, row.seen_at)
        for row in db.session.scalars(
            sa.select(WorkerHeartbeat).order_by(WorkerHeartbeat.seen_at.desc())
        )
    ]
