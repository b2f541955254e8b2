"""/healthz: ok, degraded (still 200) or down (503), and why."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.apple import push_cert
from portal.extensions import db
from portal.main import health
from portal.main.health import migration_head
from portal.models import User, utcnow
from portal.outbox import service as outbox
from portal.worker import schedule
from tests.apple import helpers


def upload_push_certificate(app) -> None:
    with app.app_context():
        adam = db.session.scalar(sa.select(User).where(User.email == "adam@example.com"))
        data = helpers.pkcs12_file(helpers.new_topic(), b"pw")
        push_cert.upload(adam, data, "pw", secret_key=app.config["SECRET_KEY"])
        db.session.commit()


@pytest.fixture
def ready(seeded):
    """The demo data with a push certificate: nothing is wrong."""
    upload_push_certificate(seeded)
    return seeded


def healthz(app):
    response = app.test_client().get("/healthz")
    return response.status_code, response.get_json()


def queue_mail(app, *, minutes_ago: int = 0) -> None:
    with app.app_context():
        outbox.enqueue(
            recipient="alice@example.com",
            subject="Your link",
            body_text="…",
            now=utcnow() - timedelta(minutes=minutes_ago),
        )
        db.session.commit()


def test_all_well_is_ok_with_every_detail(ready):
    status, body = healthz(ready)
    assert status == 200
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["migration"]["current"] == body["migration"]["head"] == migration_head()
    assert body["rate_limit_storage"] == {"ok": True, "storage": "memory"}
    assert body["worker"] == {
        "ok": True,
        "running": False,
        "last_seen_seconds": None,
        "work_waiting": False,
    }
    assert body["outbox"] == {"oldest_waiting_seconds": None}
    assert body["push_certificate"]["state"] == "ok"
    assert body["location_token"]["state"] == "missing"  # the tests' demo has no token file
    assert body["warnings"] == []


def test_no_push_certificate_is_degraded_not_down(seeded):
    status, body = healthz(seeded)
    assert status == 200
    assert body["status"] == "degraded"
    assert body["push_certificate"] == {"state": "missing"}


def test_a_stopped_worker_with_mail_waiting_is_degraded(ready):
    queue_mail(ready, minutes_ago=5)
    status, body = healthz(ready)
    assert (status, body["status"]) == (200, "degraded")
    assert body["worker"]["ok"] is False and body["worker"]["work_waiting"] is True
    assert 299 <= body["outbox"]["oldest_waiting_seconds"] <= 310
    # A worker seen 3 minutes ago is as good as stopped.
    with ready.app_context():
        schedule.beat("w1", started_at=utcnow(), now=utcnow() - timedelta(minutes=3))
    status, body = healthz(ready)
    assert body["status"] == "degraded"
    assert 170 < body["worker"]["last_seen_seconds"] < 200
    # A live heartbeat: ok again, though the mail still waits (the worker is on it).
    with ready.app_context():
        schedule.beat("w1", started_at=utcnow())
    status, body = healthz(ready)
    assert body["status"] == "ok"
    assert body["worker"]["running"] is True


def test_no_worker_and_nothing_waiting_is_ok(ready):
    status, body = healthz(ready)
    assert body["status"] == "ok" and body["worker"]["running"] is False


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_rate_limit_storage_away_is_degraded(app_factory):
    app = app_factory(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{_closed_port()}/0")
    upload_push_certificate_seeded(app)
    status, body = healthz(app)
    assert (status, body["status"]) == (200, "degraded")
    assert body["rate_limit_storage"]["ok"] is False
    assert body["rate_limit_storage"]["storage"] == "redis"


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_a_reachable_redis_is_ok(app_factory):
    app = app_factory(RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/14")
    upload_push_certificate_seeded(app)
    status, body = healthz(app)
    assert body["rate_limit_storage"] == {"ok": True, "storage": "redis"}
    assert body["status"] == "ok"


def upload_push_certificate_seeded(app) -> None:
    from portal import demo

    with app.app_context():
        demo.seed("testing")
    upload_push_certificate(app)


def test_the_storage_ping_is_cached_for_a_few_seconds(monkeypatch):
    calls = []
    monkeypatch.setattr(health, "_ping", lambda uri: calls.append(uri) or {"ok": True})
    uri = "redis://cache-test.invalid:1/0"
    health.rate_limit_storage(uri, now=1000.0)
    health.rate_limit_storage(uri, now=1003.0)
    assert len(calls) == 1
    health.rate_limit_storage(uri, now=1006.0)
    assert len(calls) == 2


def test_healthz_answers_503_when_the_database_is_down(app_factory):
    # Nothing listens on port 9: the connection is refused at once.
    app = app_factory(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:9/none")
    status, body = healthz(app)
    assert status == 503
    assert body["status"] == "down"
    assert body["database"]["ok"] is False


def test_a_database_without_the_schema_is_down(app_factory, tmp_path):
    app = app_factory(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'empty.db'}")
    status, body = healthz(app)
    assert status == 503
    assert body["status"] == "down"
    assert body["database"]["ok"] is True
    assert body["migration"]["current"] is None


def test_an_older_schema_is_down(ready):
    with ready.app_context():
        db.session.execute(sa.text("UPDATE alembic_version SET version_num = '0008'"))
        db.session.commit()
    try:
        status, body = healthz(ready)
        assert (status, body["status"]) == (503, "down")
        assert body["migration"] == {
            "head": migration_head(),
            "current": "0008",
            "up_to_date": False,
        }
    finally:
        with ready.app_context():
            db.session.execute(
                sa.text("UPDATE alembic_version SET version_num = :v"), {"v": migration_head()}
            )
            db.session.commit()


def test_the_migration_head_is_read_once_per_process(ready, monkeypatch):
    migration_head()  # cached by now
    monkeypatch.setattr(health, "_script", lambda: pytest.fail("read the scripts again"))
    assert healthz(ready)[0] == 200
