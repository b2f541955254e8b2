"""Marking messages sent, as the worker does after each SMTP transaction.

A mark is durable before the next message goes out. On PostgreSQL the worker's own
autocommit connection makes each mark one statement: the mark, the kind's write that goes
with it (`on_sent`), and whether the next claimed message is still to be sent.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa

from ..extensions import db
from ..models import OutboxMessage, OutboxStatus, utcnow
from . import hooks

# Kind-specific write that goes with marking messages sent, as SQL so that it joins the mark's
# own statement: build(ids) → an UPDATE of the rows that belong to messages `ids` (a select).
SentWrite = Callable[[sa.Select], sa.Update]
_sent_writes: dict[str, SentWrite] = {}

_outbox = OutboxMessage.__table__
# Once a message is sent or cancelled its content is dropped: an invitation's /go/ link
# must not stay usable in the database (everywhere else only token hashes are kept).
# Recipient, subject and Message-ID remain, for the outbox page and de-duplication.
CONTENT_DROPPED = {"raw": b"", "body_text": "", "body_html": None}
# Marked sent even if cancelled meanwhile: the worker checked just before sending, so the
# cancel came after the message went out (and "sent" is the truth).
_SENT_FROM = sa.or_(
    _outbox.c.status == OutboxStatus.PENDING, _outbox.c.status == OutboxStatus.CANCELLED
)
# Built once per kind and kept: the worker runs them for every message, and building costs
# more than running.
_mark_sent_statements: dict[tuple[str, bool], tuple[sa.Executable, ...]] = {}


def _still_to_send():
    """Whether message :b_then is still waiting and held by claim :b_token (an EXISTS)."""
    return sa.exists().where(
        _outbox.c.id == sa.bindparam("b_then"),
        _outbox.c.status == OutboxStatus.PENDING,
        _outbox.c.claimed_by == sa.bindparam("b_token"),
    )


def _mark_sent_statements_for(kind: str, single: bool) -> tuple[sa.Executable, ...]:
    """Mark :b_message sent, do the kind's write, read whether :b_then is still to send.

    `single`: all in one statement (PostgreSQL); else three, for one transaction.
    """
    key = (kind, single)
    if key not in _mark_sent_statements:
        mark = (
            _outbox.update()
            .where(_outbox.c.id == sa.bindparam("b_message"), _SENT_FROM)
            .values(
                status=OutboxStatus.SENT,
                sent_at=sa.bindparam("now"),
                attempts=_outbox.c.attempts + 1,
                last_error=None,
                claimed_until=None,
                **CONTENT_DROPPED,
            )
        )
        build = _sent_writes.get(kind)
        if single:
            sent = mark.returning(_outbox.c.id).cte("sent")
            ctes = [sent]
            if build is not None:
                write = build(sa.select(sent.c.id))
                ctes.append(write.returning(sa.literal(1)).cte("sent_write"))
            statements = (sa.select(_still_to_send()).add_cte(*ctes),)
        else:
            marked = sa.select(_outbox.c.id).where(
                _outbox.c.id == sa.bindparam("b_message"),
                _outbox.c.status == OutboxStatus.SENT,
            )
            write = build(marked) if build is not None else None
            statements = (mark, write, sa.select(_still_to_send()))
        _mark_sent_statements[key] = statements
    return _mark_sent_statements[key]


def mark_sent(
    message_id: int,
    kind: str,
    *,
    now: datetime | None = None,
    then: int | None = None,
    token: str = "",
    connection: sa.Connection | None = None,
) -> bool:
    """The SMTP server accepted message `message_id`: mark it sent, durably. Commits.

    With `then` (the next message of claim `token`), also tells whether that one is still
    to be sent, read after this mark; True without `then`. `connection`: the worker's own
    (`worker_connection`); on PostgreSQL all this is then one statement.
    """
    params = {"b_message": message_id, "now": now or utcnow(), "b_then": then, "b_token": token}
    if connection is not None and connection.dialect.name == "postgresql":
        (statement,) = _mark_sent_statements_for(kind, True)
        ok = connection.execute(statement, params).scalar()
    else:
        mark, write, check = _mark_sent_statements_for(kind, False)
        with _transaction(connection) as conn:
            conn.execute(mark, params)
            if write is not None:
                conn.execute(write, params)
            ok = conn.execute(check, params).scalar() if then is not None else True
    hooks.notify(kind, message_id, OutboxStatus.SENT)
    return bool(ok) if then is not None else True


def still_to_send(message_id: int, token: str, connection: sa.Connection | None = None) -> bool:
    """Whether message `message_id` is still waiting and held by claim `token`."""
    params = {"b_then": message_id, "b_token": token}
    with _transaction(connection) as conn:
        return bool(conn.execute(sa.select(_still_to_send()), params).scalar())


@contextmanager
def _transaction(connection: sa.Connection | None):
    """One transaction on `connection` (committed), or else on the session (committed)."""
    if connection is None:
        yield db.session.connection()
        db.session.commit()
    elif connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        yield connection
    else:
        with connection.begin():
            yield connection


@contextmanager
def worker_connection():
    """A connection of its own for the worker's marks, outside the session.

    On PostgreSQL in autocommit: each mark is one statement, its own transaction, one round
    trip per message. On SQLite each mark is a short transaction of its own.
    """
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection


def _no_disk_wait(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SET synchronous_commit TO OFF")
    cursor.close()
    dbapi_connection.commit()


def use_worker_connections(engine: sa.engine.Engine) -> None:
    """The worker's own commits (claims, marks) do not wait for the disk on PostgreSQL.

    Should the database server itself crash in the next fraction of a second, a lost "sent"
    mark means that message goes out once more, with the same Message-ID: the promise a
    worker crash already gives; a lost claim or failure mark only changes when a message is
    tried. What queued a message (the web app's transaction) is committed durably, as always.
    Call it in the worker's process, before it connects.
    """
    if engine.dialect.name != "postgresql" or sa.event.contains(engine, "connect", _no_disk_wait):
        return
    sa.event.listen(engine, "connect", _no_disk_wait)
    engine.dispose()  # connections opened before use the server's default


def on_sent(kind: str, build: SentWrite) -> None:
    _sent_writes[kind] = build
    _mark_sent_statements.clear()
