"""Make SQLite transactions behave like PostgreSQL's.

pysqlite opens a transaction only before the first write and never for SAVEPOINT, so a
`begin_nested()` that comes first becomes the whole transaction and its release commits.
SQLAlchemy's documented recipe: let SQLAlchemy emit BEGIN itself.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "connect")
def _connect(dbapi_connection, connection_record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None


@event.listens_for(Engine, "begin")
def _begin(connection):
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN")
