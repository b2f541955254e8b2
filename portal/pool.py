"""PostgreSQL connections checked when they may have gone stale, not before every request.

`pool_pre_ping` sends `SELECT 1` each time a request takes a connection from the pool: one
more round trip on every request, on top of the transaction's BEGIN and ROLLBACK. Here a
connection is checked at checkout only when it sat unused in the pool for longer than
`DATABASE_PING_IDLE_SECONDS` (default 5): a database restarted or a connection dropped by
a firewall's idle timeout while the portal was quiet is still found and replaced before a
request uses it, and a busy worker's connection, used a moment ago, goes straight to work.
If that one broke meanwhile, its first query fails as a disconnect: SQLAlchemy then drops
every pooled connection and the request answers 503 (`portal.errors`); the next ones
connect afresh. 0 checks before every request, as `pool_pre_ping` does.

Views marked `@reads_only` (the status poll, every few seconds per person enrolling) run
their statements without a transaction on PostgreSQL: no BEGIN and no ROLLBACK, two round
trips fewer. Only for views whose writes, if any, are single statements (the session's
once-a-minute touch commits on its own connection anyway).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Flask, current_app, request
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

from .extensions import db

RETURNED_AT = "portal_returned_at"


def reads_only(view: Callable) -> Callable:
    """Mark `view` as reading only: on PostgreSQL its statements run in autocommit."""
    view.reads_only = True
    return view


def _autocommit_reads() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "reads_only", False):
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Check `engine`'s connections at checkout when idle longer than `idle_seconds`."""

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection, record) -> None:
        record.info[RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_connection, record, proxy) -> None:
        returned = record.info.get(RETURNED_AT)
        if returned is not None and time.monotonic() - returned <= idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and tries another (its documented recipe).
            raise exc.DisconnectionError(str(error)) from error


def init_app(app: Flask) -> None:
    """On PostgreSQL: idle connections checked, `@reads_only` views in autocommit."""
    idle = app.config.get("DATABASE_PING_IDLE_SECONDS", 0)
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        return
    # Before the access check, whose session lookup takes the request's connection.
    app.before_request(_autocommit_reads)
    if not engine.pool._pre_ping:
        ping_when_idle(engine, float(idle))
