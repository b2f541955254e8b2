"""Make SQLite transactions behave like PostgreSQL's, and never fail on a busy database.

pysqlite opens a transaction only before the first write and never for SAVEPOINT, so a
`begin_nested()` that comes first becomes the whole transaction and its release commits.
SQLAlchemy's documented recipe: let SQLAlchemy emit BEGIN itself.

SQLite allows one writer at a time. A transaction that began deferred (`BEGIN`), read, and
then writes fails at once with `database is locked` when another process committed in
between: the busy timeout does not apply to that upgrade. So a transaction that is going
to write begins with `BEGIN IMMEDIATE` and waits its turn (up to the busy timeout) instead:
every transaction of a request that may write (POST, PUT, PATCH, DELETE), and any code run
inside `writing()` (background work such as the Slack bot's listeners). Reads (GET) keep
deferred transactions and run side by side; a GET that must write (the session touch) ends
its read transaction first and writes in a fresh one, which waits too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

# How long a write waits for the other writers before giving up (milliseconds).
BUSY_TIMEOUT_MS = 30_000
WRITING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_writing: ContextVar[bool] = ContextVar("sqlite_writing", default=False)


@contextmanager
def writing() -> Iterator[None]:
    """Transactions begun inside take SQLite's write lock at BEGIN (no-op elsewhere)."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


def _immediate() -> bool:
    if _writing.get():
        return True
    return has_request_context() and request.method in WRITING_METHODS


@event.listens_for(Engine, "connect")
def _connect(dbapi_connection, connection_record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
        dbapi_connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


@event.listens_for(Engine, "begin")
def _begin(connection):
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _immediate() else "BEGIN")
