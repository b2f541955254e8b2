"""Leasing due rows to one worker, so that several workers never take the same row.

A queue table (the outbox, the push requests) has `next_attempt_at`, `claimed_until` and
`claimed_by`. A claim sets a lease on due rows: `claimed_until` (when another worker may take
them, if this one died) and `claimed_by` (a token naming this one claim). The rows are picked
with `FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite the claim is one UPDATE (SQLite runs
one writer at a time). A background job's row (portal.worker.schedule) has a lease of its
own columns; its claims are named by `claim_token` too.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa

from .extensions import db


def claim_token(worker: str) -> str:
    """A fresh name for one claim (one batch) of `worker`."""
    return f"{worker[:40]}:{secrets.token_hex(8)}"


def unleased(model, now: datetime):
    """The rows of `model` due at `now` that no worker holds."""
    return sa.and_(
        model.next_attempt_at <= now,
        sa.or_(model.claimed_until.is_(None), model.claimed_until < now),
    )


def lease_due(
    model,
    key,
    due,
    order_by: tuple,
    *,
    limit: int,
    lease: timedelta,
    now: datetime,
    token: str,
) -> None:
    """Lease to `token` up to `limit` rows of `model` matching `due`, first by `order_by`;
    `key` is the column that names a row. Does not commit: the caller reads its rows back
    by `claimed_by == token` once it has."""
    pick = sa.select(key).where(due).order_by(*order_by).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        # Rows another worker is claiming right now are skipped, not waited for.
        ids = list(db.session.scalars(pick.with_for_update(skip_locked=True)))
        target = key.in_(ids) if ids else sa.false()
    else:
        target = key.in_(pick.scalar_subquery())
    db.session.execute(
        sa.update(model)
        .where(target, due)
        .values(claimed_until=now + lease, claimed_by=token)
        .execution_options(synchronize_session=False)
    )
