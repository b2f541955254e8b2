"""The portal under gunicorn, as production runs it: concurrent writers on SQLite, server
errors in the log, and two instances behind haproxy with one of them restarted mid-load.

Each test starts its own servers on free ports and stops them; load is bounded in count
and time.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from flask_migrate import upgrade

from benchmarks.serve import Gunicorn, HAProxy, haproxy_path
from portal import demo
from portal.extensions import db
from portal.models import OutboxMessage

from .support import CHECKIN, TOPIC, enrolled_device

APP = "tests.support.served_app:app"


def _env(url: str, instance: Path, pki: dict[str, str], **extra) -> dict[str, str]:
    return {
        "PORTAL_ENV": "development",
        "SECRET_KEY": "server-test-secret",
        "DATABASE_URL": url,
        "INSTANCE_PATH": str(instance),
        "MDM_PUSH": "log",
        "MDM_PUSH_TOPIC": TOPIC,
        "MDM_RATE_LIMIT": "1000000 per minute",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
        "SMTP_URL": "",
        **pki,
        **extra,
    }


def _prepare(app, count: int):
    with app.app_context():
        upgrade()
        demo.seed("testing")
        devices = [enrolled_device("bob@example.com", n) for n in range(count)]
        db.session.remove()
        db.engine.dispose()
    return devices


def test_concurrent_check_ins_on_sqlite_all_succeed(app_factory, tmp_path, speed_pki):
    """Two workers, eight clients, every TokenUpdate a new token (a write): no 500 from
    `database is locked`, every change recorded."""
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    app = app_factory(SQLALCHEMY_DATABASE_URI=url)
    devices = _prepare(app, 8)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    per_client = 25

    def client(device):
        with requests.Session() as http:
            for _ in range(per_client):
                response = http.put(
                    server.url + device.checkin_path,
                    data=device.token_update(os.urandom(32)),
                    headers={"Content-Type": CHECKIN},
                    timeout=60,
                )
                with lock:
                    statuses[response.status_code] += 1

    log = tmp_path / "gunicorn.log"
    with Gunicorn(APP, _env(url, tmp_path / "instance", speed_pki), log) as server:
        threads = [threading.Thread(target=client, args=(d,)) for d in devices]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert statuses == Counter({200: len(devices) * per_client}), (statuses, log.read_text())
    with app.app_context():
        updates = db.session.scalar(
            sa.text("SELECT count(*) FROM device_log_entry WHERE action = 'push_token.updated'")
        )
    assert updates == len(devices) * per_client


def test_a_server_error_reaches_the_log_with_its_traceback(app_factory, tmp_path, speed_pki):
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    _prepare(app_factory(SQLALCHEMY_DATABASE_URI=url), 0)
    log = tmp_path / "gunicorn.log"
    with Gunicorn(APP, _env(url, tmp_path / "instance", speed_pki), log) as server:
        response = requests.get(server.url + "/test-only/fail", timeout=30)
        assert response.status_code == 500
        assert "deliberate failure" not in response.text  # never shown to the person
        deadline = time.monotonic() + 10
        while "deliberate failure" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    text = log.read_text()
    assert "unhandled error on GET /test-only/fail" in text
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: deliberate failure for the log test" in text


def _redis_url() -> str | None:
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.ping()
        client.flushdb()
        return url
    except Exception:
        return None


def _sign_in(http: requests.Session, base: str, email: str, password: str = "demo-password"):
    page = http.get(base + "/login", timeout=30)
    token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page.text)
    return http.post(
        base + "/login",
        data={"csrf_token": token.group(1), "email": email, "password": password},
        allow_redirects=False,
        timeout=30,
    )


def test_two_instances_share_sessions_limits_and_outbox_through_a_restart(
    app_factory, database_url, tmp_path, speed_pki
):
    if not database_url.startswith("postgresql"):
        pytest.skip("several instances share PostgreSQL (run with DATABASE_URL=postgresql…)")
    redis_url = _redis_url()
    if redis_url is None:
        pytest.skip("several instances share Redis: none at TEST_REDIS_URL")
    if haproxy_path() is None:
        pytest.skip("haproxy is not installed")
    app = app_factory()
    devices = _prepare(app, 4)
    env = _env(
        database_url,
        tmp_path / "instance",
        speed_pki,
        RATELIMIT_STORAGE_URI=redis_url,
        LOGIN_ACCOUNT_LIMIT="3 per minute",
        INVITATION_RESEND_LIMIT="1000",
    )
    first = Gunicorn(APP, env, tmp_path / "a.log").start()
    second = Gunicorn(APP, env, tmp_path / "b.log").start()
    outcomes: Counter[str] = Counter()
    links_sent = [0]
    lock = threading.Lock()
    stop = threading.Event()

    def note(kind: str, response: requests.Response | None) -> None:
        ok = response is not None and response.status_code < (300 if kind == "page" else 400)
        with lock:
            outcomes[kind if ok else f"{kind} FAILED {getattr(response, 'status_code', '-')}"] += 1
            if ok and kind == "link":
                links_sent[0] += 1

    def employee(email: str) -> None:
        with requests.Session() as http:
            signed_in = _sign_in(http, proxy.url, email)
            note("sign-in", signed_in if signed_in.status_code == 302 else None)
            while not stop.is_set():
                for path in ("/enroll/status?platform=ios&os=18", "/devices"):
                    try:
                        response = http.get(proxy.url + path, allow_redirects=False, timeout=30)
                    except requests.RequestException:
                        response = None
                    # A redirect to /login would mean the session was not known there.
                    note("page", response)
                try:
                    page = http.get(proxy.url + "/enroll", timeout=30)
                    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
                    response = http.post(
                        proxy.url + "/enroll/link",
                        data={"csrf_token": token.group(1)},
                        headers={"HX-Request": "true"},
                        timeout=30,
                    )
                except (requests.RequestException, AttributeError):
                    response = None
                note("link", response)

    def device(enrolled) -> None:
        with requests.Session() as http:
            while not stop.is_set():
                try:
                    response = http.put(
                        proxy.url + enrolled.checkin_path,
                        data=enrolled.token_update(),
                        headers={"Content-Type": CHECKIN},
                        timeout=30,
                    )
                except requests.RequestException as exc:
                    response = None
                    note(f"check-in {type(exc).__name__}", None)
                    continue
                note("check-in", response)

    try:
        with HAProxy([first.port, second.port], tmp_path) as proxy:
            time.sleep(1.5)  # both instances seen healthy
            workers = [
                threading.Thread(target=employee, args=(e,))
                for e in ("alice@example.com", "bob@example.com")
            ] + [threading.Thread(target=device, args=(d,)) for d in devices[:2]]
            for w in workers:
                w.start()
            time.sleep(3)
            second.stop()  # SIGTERM: finishes what it was doing, takes nothing new
            time.sleep(3)
            second.start()
            time.sleep(3)
            stop.set()
            for w in workers:
                w.join(timeout=60)
            # Failed sign-ins are counted in Redis, whichever instance answers.
            with requests.Session() as http:
                codes = [
                    _sign_in(http, proxy.url, "helen@example.com", "wrong").status_code
                    for _ in range(4)
                ]
    finally:
        first.stop()
        second.stop()

    failed = {k: v for k, v in outcomes.items() if "FAILED" in k}
    assert not failed, (failed, outcomes)
    assert outcomes["sign-in"] == 2 and outcomes["page"] > 0 and outcomes["check-in"] > 0
    assert codes == [401, 401, 401, 429]
    # Every link asked for was queued once in the shared outbox, none lost, none twice.
    with app.app_context():
        queued = db.session.scalar(sa.select(sa.func.count(OutboxMessage.id)))
        distinct = db.session.scalar(
            sa.select(sa.func.count(sa.distinct(OutboxMessage.message_id)))
        )
    assert queued == distinct == links_sent[0] > 0
