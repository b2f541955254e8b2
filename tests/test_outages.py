"""A bad day: the rate limiter's Redis or the database goes away, and comes back.

Each test takes away only what it started itself: a Redis server of its own, a PostgreSQL
database of its own (renamed while its connections are cut), or a SQLite file of its own
(moved away) — never the shared servers.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from portal import demo
from portal.extensions import db, limiter
from portal.main import health
from portal.models import User
from portal.ratelimit import OncePerMinute
from portal.scim import tokens as scim_tokens
from tests.conftest import Auth, make_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Redis -------------------------------------------------------------------------------


@pytest.fixture
def redis_down(app_factory, seeded):
    """The seeded app with its rate limits in a Redis nobody listens for."""
    app = app_factory(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0")
    return app


def test_sign_in_works_with_redis_unreachable(redis_down, caplog):
    client = redis_down.test_client()
    auth = Auth(client)
    with caplog.at_level(logging.WARNING):
        response = auth.login("alice@example.com")
        assert response.status_code == 302
        assert client.get("/").status_code == 200
        # Failed attempts are still limited, per process.
        auth.logout()
        statuses = [auth.login("bob@example.com", "wrong").status_code for _ in range(7)]
    assert statuses[:5] == [401] * 5
    assert statuses[-1] == 429
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    # One fact, logged once (and at most once a minute), not once per request.
    assert len(warnings) <= 2, [r.getMessage() for r in warnings]


def test_go_links_and_discovery_work_with_redis_unreachable(redis_down):
    client = redis_down.test_client()
    assert client.get("/go/" + "x" * 43).status_code in (404, 410)
    discovery = client.get(
        "/.well-known/com.apple.remotemanagement",
        query_string={"user-identifier": "nobody@example.com", "model-family": "iPhone"},
    )
    assert discovery.status_code == 403 and discovery.is_json


def test_healthz_reports_the_rate_limit_storage_degraded(redis_down):
    response = redis_down.test_client().get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["rate_limit_storage"]["ok"] is False


def test_healthz_reports_the_memory_storage_ok(client):
    body = client.get("/healthz").get_json()
    assert body["status"] != "down"
    assert body["rate_limit_storage"]["ok"] is True


def test_warnings_pass_once_a_minute():
    gate = OncePerMinute(seconds=60)

    def record(msg, level=logging.WARNING):
        return logging.LogRecord("x", level, __file__, 1, msg, None, None)

    assert gate.filter(record("storage down"))
    assert not gate.filter(record("storage down"))
    assert gate.filter(record("another fact"))
    assert gate.filter(record("storage down", logging.INFO))


@pytest.fixture
def own_redis(tmp_path):
    """A Redis server of this test's own, on a free port; stopped by the test or at the end."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    command = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp_path),
    ]

    class Server:
        url = f"redis://127.0.0.1:{port}/0"
        process: subprocess.Popen | None = None

        def start(self):
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    return
                except OSError:
                    time.sleep(0.05)
            raise RuntimeError("redis-server did not start")

        def stop(self):
            if self.process is not None:
                self.process.terminate()
                self.process.wait(timeout=10)
                self.process = None

    server = Server()
    server.start()
    yield server
    server.stop()


def test_rate_limits_go_back_to_redis_when_it_returns(app_factory, seeded, own_redis):
    app = app_factory(RATELIMIT_STORAGE_URI=own_redis.url)
    client = app.test_client()
    auth = Auth(client)
    assert auth.login("alice@example.com").status_code == 302
    own_redis.stop()
    assert client.get("/").status_code == 200
    assert client.get("/go/" + "y" * 43).status_code in (404, 410)
    with app.app_context():
        app.extensions.pop("portal_ratelimit", None)
    health._storage_cache.clear()
    assert client.get("/healthz").get_json()["rate_limit_storage"]["ok"] is False
    own_redis.start()
    with app.app_context():
        app.extensions.pop("portal_ratelimit", None)
        assert limiter.storage.check()
    health._storage_cache.clear()  # the health page pings the storage at most every 5 s
    assert client.get("/healthz").get_json()["rate_limit_storage"]["ok"] is True
    assert client.get("/").status_code == 200


# --- the database --------------------------------------------------------------------------


class SqliteOutage:
    """A SQLite file in a folder of its own; the folder is moved away and back."""

    def __init__(self, tmp_path: Path) -> None:
        self.folder = tmp_path / "db"
        self.folder.mkdir()
        self.away = tmp_path / "db-away"
        self.url = f"sqlite:///{self.folder / 'portal.db'}"

    def take_away(self, app) -> None:
        self.folder.rename(self.away)
        with app.app_context():
            db.engine.dispose()  # open SQLite handles would keep the moved file

    def bring_back(self, app) -> None:
        self.away.rename(self.folder)

    def drop(self) -> None:
        pass


class PostgresOutage:
    """A PostgreSQL database of its own: its connections cut, renamed away and back."""

    def __init__(self, url: str) -> None:
        base = sa.engine.make_url(url)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.name = f"{base.database}_{worker}_outage"
        self.url = base.set(database=self.name).render_as_string(hide_password=False)
        self.server = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        self._run(f'DROP DATABASE IF EXISTS "{self.name}_away"')
        self._run(f'DROP DATABASE IF EXISTS "{self.name}"')
        self._run(f'CREATE DATABASE "{self.name}"')

    def _run(self, statement: str, **params) -> None:
        with self.server.connect() as conn:
            conn.execute(sa.text(statement), params)

    def _cut(self, name: str) -> None:
        self._run(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name",
            name=name,
        )

    def take_away(self, app) -> None:
        self._cut(self.name)
        self._run(f'ALTER DATABASE "{self.name}" RENAME TO "{self.name}_away"')

    def bring_back(self, app) -> None:
        self._run(f'ALTER DATABASE "{self.name}_away" RENAME TO "{self.name}"')

    def drop(self) -> None:
        self._cut(self.name)
        self._run(f'DROP DATABASE IF EXISTS "{self.name}"')
        self.server.dispose()


@pytest.fixture
def outage(tmp_path):
    url = os.environ.get("DATABASE_URL", "")
    own = PostgresOutage(url) if url.startswith("postgresql") else SqliteOutage(tmp_path)
    yield own
    own.drop()


@pytest.fixture
def outage_app(outage, tmp_path):
    app = make_app(outage.url, tmp_path / "instance", DATABASE_RETRY_AFTER=17)
    with app.app_context():
        upgrade()
        demo.seed("testing")
        adam = db.session.scalar(sa.select(User).filter_by(email="adam@example.com"))
        _row, raw = scim_tokens.issue(adam, days=30)
        db.session.commit()
    app.scim_token = raw
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_database_down_is_a_503_in_each_routes_form_and_recovers(outage, outage_app):
    app = outage_app
    employee = app.test_client()
    assert Auth(employee).login("alice@example.com").status_code == 302
    admin = app.test_client()
    assert Auth(admin).login("adam@example.com").status_code == 302
    anonymous = app.test_client()
    assert employee.get("/devices").status_code == 200

    outage.take_away(app)

    page = employee.get("/devices")
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "17"
    assert page.mimetype == "text/html"
    assert "briefly unavailable" in page.get_data(as_text=True)

    fragment = admin.get("/admin/users?q=a", headers={"HX-Request": "true"})
    assert fragment.status_code == 503
    assert fragment.headers["Retry-After"] == "17"
    assert fragment.headers["HX-Retarget"] == "#alerts"
    assert "<html" not in fragment.get_data(as_text=True)

    discovery = anonymous.get(
        "/.well-known/com.apple.remotemanagement",
        query_string={"user-identifier": "alice@example.com", "model-family": "iPhone"},
    )
    assert discovery.status_code == 503 and discovery.headers["Retry-After"] == "17"
    assert discovery.get_json()["status"] == 503

    scim = anonymous.get("/scim/v2/Users", headers={"Authorization": f"Bearer {app.scim_token}"})
    assert scim.status_code == 503 and scim.headers["Retry-After"] == "17"
    assert scim.get_json()["status"] == "503"
    assert scim.get_json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]

    device = anonymous.put(
        "/mdm/checkin?e=" + "z" * 43,
        data=b"<plist><dict/></plist>",
        content_type="application/x-apple-aspen-mdm-checkin",
    )
    assert (device.status_code, device.data) == (503, b"")
    assert device.headers["Retry-After"] == "17"

    health = anonymous.get("/healthz")
    assert health.status_code == 503

    outage.bring_back(app)

    # Nothing to restart: the next requests find the database again.
    assert employee.get("/devices").status_code == 200
    assert admin.get("/admin/users?q=a", headers={"HX-Request": "true"}).status_code == 200
    assert anonymous.get("/healthz").status_code == 200


def test_sign_in_while_the_database_is_down_is_a_503_page(outage, outage_app):
    client = outage_app.test_client()
    from tests.conftest import csrf_token

    token = csrf_token(client)
    outage.take_away(outage_app)
    response = client.post(
        "/login",
        data={"email": "alice@example.com", "password": "demo-password", "csrf_token": token},
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "17"
    outage.bring_back(outage_app)
    response = client.post(
        "/login",
        data={"email": "alice@example.com", "password": "demo-password", "csrf_token": token},
    )
    assert response.status_code == 302
