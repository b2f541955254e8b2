"""Make SQLite transactions behave like PostgreSQL's.

pysqlite opens a transaction only before the first write and never for SAVEPOINT, so a
`begin_nested()` that comes first becomes the whole transaction and its release commits.
SQLAlchemy's documented recipe: let SQLAlchemy emit BEGIN itself.

A request that may write (POST, PUT, PATCH, DELETE) begins with `BEGIN IMMEDIATE`: in WAL
mode a transaction that read first cannot write once another process (the background
worker) has committed meanwhile ("database is locked" at once, whatever the timeout);
taking the write lock first makes such a request wait its turn instead.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "connect")
def _connect(dbapi_connection, connection_record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None


def _writes() -> bool:
    from flask import has_request_context, request

    return has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")


@event.listens_for(Engine, "begin")
def _begin(connection):
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _writes() else "BEGIN")
