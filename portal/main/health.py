"""Health facts for load balancers and monitoring."""

from __future__ import annotations

import functools
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@functools.cache  # the migrations a process runs with never change under it
def migration_head() -> str | None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def check() -> tuple[bool, dict]:
    """(healthy, details): the database answers and its schema revision."""
    head = migration_head()
    details: dict = {"migration": {"head": head}}
    try:
        with db.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            current = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError as exc:
        details["database"] = {"ok": False, "error": type(exc.orig or exc).__name__}
        return False, details
    details["database"] = {"ok": True, "dialect": db.engine.dialect.name}
    details["migration"].update(current=current, up_to_date=current == head)
    details["warnings"] = setup_warnings()
    return True, details


def setup_warnings() -> list[str]:
    """What needs an admin soon (e.g. "The MDM push certificate expires in 12 days.")."""
    from ..apple import setup

    try:
        return [notice.message for notice in setup.notices()]
    except SQLAlchemyError:
        db.session.rollback()
        return []
