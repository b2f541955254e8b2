"""Flask extensions, created unbound and bound in `create_app`."""

import sqlite3

import sqlalchemy as sa
from flask import request
from flask_babel import Babel
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from . import (
    limits_memory,  # noqa: F401  (memory:// rate limits without timer threads)
    sqlite,  # noqa: F401  (SQLite transaction semantics for every engine)
)
from .models.base import Base


def client_address() -> str:
    """The client's address (ProxyFix has already applied trusted proxy headers)."""
    return request.remote_addr or "unknown"


db = SQLAlchemy(metadata=Base.metadata)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
htmx = HTMX()
limiter = Limiter(key_func=client_address, default_limits=[])


@sa.event.listens_for(sa.engine.Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite in WAL mode: the web app reads while the outbox worker (another process) writes.

    `synchronous=NORMAL` is WAL's usual pairing (no corruption; a power cut may undo the last
    commits). PostgreSQL, the production database, is untouched.
    """
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
