"""Fixtures shared by the whole suite.

The database is the one users would have: SQLite by default, PostgreSQL when
`DATABASE_URL` points at one (`make test-postgres`, CI). The schema is built once per run by
the Alembic migrations, never by `create_all`, so migration drift fails the suite; every
test then starts from empty tables.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from portal import create_app
from portal.extensions import db, limiter
from portal.models import Base

CSRF_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def _worker_database(url: str, worker: str) -> str:
    """Under pytest-xdist each worker gets its own PostgreSQL database, `<name>_<worker>`,
    created on the same server when missing."""
    base = sa.engine.make_url(url)
    own = base.set(database=f"{base.database}_{worker}")
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own.database}
        ).scalar()
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{own.database}"'))
    engine.dispose()
    return own.render_as_string(hide_password=False)


def test_database_url(tmp_path_factory) -> str:
    url = os.environ.get("DATABASE_URL")
    if url and not url.startswith("sqlite"):
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        return _worker_database(url, worker) if worker else url
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "portal-test.db")


def _reset_schema(url: str) -> None:
    engine = sa.create_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def make_app(url: str, instance: Path, **overrides):
    config = {
        "PORTAL_ENV": "testing",
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": url,
        "INSTANCE_PATH": str(instance),
        # Cheap hashes: tests hash many passwords; production keeps the defaults.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
        "RATELIMIT_STORAGE_URI": "memory://",
        # Said every time: the limiter is one object, and an app that turned it off (the fuzz
        # suite) would otherwise leave it off for the apps of later tests.
        "RATELIMIT_ENABLED": True,
        "SERVER_NAME": None,
        # Off unless a test is about it: it adds a command to every User Enrollment.
        "MDM_DECLARATIVE_STATUS": False,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = test_database_url(tmp_path_factory)
    _reset_schema(url)
    app = make_app(url, tmp_path_factory.mktemp("instance"))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


@pytest.fixture
def app_factory(database_url, tmp_path):
    """Build an app on the test database with extra configuration."""
    apps = []

    def factory(**overrides):
        app = make_app(database_url, tmp_path / "instance", **overrides)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        if app.config["SQLALCHEMY_DATABASE_URI"] != database_url:
            continue
        with app.app_context():
            db.session.remove()
            with db.engine.begin() as conn:
                for table in reversed(Base.metadata.sorted_tables):
                    conn.execute(table.delete())
            db.engine.dispose()


@pytest.fixture
def app(app_factory):
    app = app_factory()
    with app.app_context():
        limiter.reset()
    return app


@pytest.fixture
def ctx(app):
    """An application context for calling services directly."""
    with app.app_context():
        yield


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def seeded(app):
    from portal import demo

    with app.app_context():
        demo.seed("testing")
    return app


def csrf_token(client, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, email: str, password: str = "demo-password", **headers):
        token = csrf_token(self.client)
        return self.client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": token},
            headers=headers,
        )

    def logout(self):
        token = csrf_token(self.client, "/")
        return self.client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def away_from_a_minute_boundary():
    """Start well inside a clock minute: the device budget's windows are aligned to the
    clock, and a test counting "N per minute" in real time must not straddle two."""
    import time

    second = time.time() % 60
    if second > 55:
        time.sleep(60.5 - second)
