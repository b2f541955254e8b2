"""PostgreSQL connections: checked at checkout only after sitting idle (portal.pool)."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from portal.extensions import db


def _backend_pid() -> int:
    pid = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
    db.session.remove()
    return pid


def _terminate(url, pid: int) -> None:
    other = sa.create_engine(url)
    with other.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    other.dispose()


def _pings(engine) -> list[int]:
    """Counts the pings (the dialect's ping goes straight to the driver)."""
    seen = []
    real = engine.dialect.do_ping

    def counted(dbapi_connection):
        seen.append(1)
        return real(dbapi_connection)

    engine.dialect.do_ping = counted
    return seen


@pytest.fixture
def pg_app(app_factory, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (DATABASE_URL)")
    return app_factory(DATABASE_PING_IDLE_SECONDS=0.5)


def test_a_busy_connection_is_not_pinged_before_each_use(pg_app):
    with pg_app.app_context():
        assert pg_app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is False
        pings = _pings(db.engine)
        first = _backend_pid()
        pings.clear()
        for _ in range(5):
            assert _backend_pid() == first
        assert pings == []


def test_an_idle_connection_found_dead_is_replaced_before_use(pg_app, database_url):
    with pg_app.app_context():
        pings = _pings(db.engine)
        dead = _backend_pid()
        _terminate(database_url, dead)
        time.sleep(0.7)
        pings.clear()
        # No error: the check finds the connection closed and the pool opens a new one.
        assert _backend_pid() != dead
        assert len(pings) >= 1


def test_zero_idle_seconds_keeps_checking_every_checkout(app_factory, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (DATABASE_URL)")
    app = app_factory(DATABASE_PING_IDLE_SECONDS=0)
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True


def _autocommit_of_statements(app) -> list[bool]:
    """Whether each statement ran outside a transaction (the driver's autocommit)."""
    seen = []
    with app.app_context():
        engine = db.engine

    def note(conn, *_args) -> None:
        seen.append(conn.connection.dbapi_connection.autocommit)

    sa.event.listen(engine, "before_cursor_execute", note)
    return seen


def test_the_status_poll_reads_without_a_transaction(seeded, client, auth, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (DATABASE_URL)")
    assert auth.login("alice@example.com").status_code == 302
    path = "/enroll/status?platform=ios&os=18"
    first = client.get(path, headers={"HX-Request": "true"})
    seen = _autocommit_of_statements(seeded)
    again = client.get(path, headers={"HX-Request": "true", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert seen == [True]  # one statement: the session, its user and the fingerprint
    # Other pages keep their transaction.
    seen.clear()
    assert client.get("/enroll?platform=ios&os=18").status_code == 200
    assert seen and not any(seen)
