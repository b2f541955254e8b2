"""The limits the portal's paths are compared with, on the same stack and server.

`gunicorn benchmarks.limits_app:app` with `LIMITS_DATABASE_URL` (SQLite in WAL mode, or
PostgreSQL): Flask + Flask-SQLAlchemy's ORM doing only the essential work on a 10,000-row
table.

- `/hello`: a bare Flask answer (paths that need no database);
- `/read`: one indexed read (by a unique key) rendered as JSON;
- `/write`: one indexed read and one committed write (SQLite: BEGIN IMMEDIATE, so two
  workers queue instead of failing).
"""

from __future__ import annotations

import os
import random
import sqlite3
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask, jsonify
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROWS = 10_000


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "bench_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    seen_at: Mapped[datetime | None]


db = SQLAlchemy(model_class=Base)


def _sqlite(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def _begin(connection) -> None:
    immediate = connection.get_execution_options().get("immediate")
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_app(url: str | None = None) -> Flask:
    app = Flask("limits")
    app.config["SQLALCHEMY_DATABASE_URI"] = url or os.environ["LIMITS_DATABASE_URL"]
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            sa.event.listen(db.engine, "connect", _sqlite)
            sa.event.listen(db.engine, "begin", _begin)

    @app.get("/hello")
    def hello():
        return "Hello, World!"

    @app.get("/read")
    def read():
        item = db.session.scalar(sa.select(Item).where(Item.key == _key()))
        return jsonify(id=item.id, name=item.name)

    @app.get("/write")
    def write():
        if db.engine.dialect.name == "sqlite":
            db.session.connection(execution_options={"immediate": True})
        item = db.session.scalar(sa.select(Item).where(Item.key == _key()))
        item.seen_at = datetime.now(UTC).replace(tzinfo=None)
        db.session.commit()
        return jsonify(id=item.id, name=item.name)

    @app.get("/healthz")
    def healthz():
        return "ok"

    return app


def _key() -> str:
    return f"item-{random.randrange(ROWS):05d}"  # noqa: S311


def prepare(url: str) -> None:
    """(Re)create the 10,000-row table."""
    app = create_app(url)
    with app.app_context():
        Item.__table__.drop(db.engine, checkfirst=True)
        Item.__table__.create(db.engine)
        db.session.execute(
            sa.insert(Item),
            [{"key": f"item-{n:05d}", "name": f"Item {n}"} for n in range(ROWS)],
        )
        db.session.commit()
        db.engine.dispose()


app = create_app() if "LIMITS_DATABASE_URL" in os.environ else None
