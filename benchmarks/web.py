"""The portal's hot paths under load, against the limits of the same stack, in one run.

Served as production serves them (gunicorn, 2 sync workers, `--preload`), driven with wrk
(2 threads, 50 connections, 10 s each; a Python generator when wrk is missing):

- the limits (`benchmarks/limits_app.py`): bare Flask hello, one indexed read, one read and
  one committed write on a 10,000-row table (Flask + SQLAlchemy ORM + SQLite in WAL mode);
- the four hot paths on SQLite (memory:// rate limits) and on PostgreSQL + Redis: discovery,
  /healthz, /enroll/status (a signed-in poll), PUT /mdm/checkin (TokenUpdate);
- at scale (`demo seed --large` on PostgreSQL): the admin users search, device-log filters,
  a user's page, the device pages (p95 < 300 ms) and discovery among 20,000 people;
- memory: each worker's RSS after 10,000 mixed requests;
- two instances behind haproxy sharing PostgreSQL and Redis, one of them stopped and started
  again mid-load: no request may fail.

PostgreSQL: `BENCH_DATABASE_URL` (default `postgresql+psycopg://postgres@127.0.0.1:5432/
portal_bench`; created if missing, its tables replaced), Redis: `BENCH_REDIS_URL` (default
`redis://127.0.0.1:6379/15`). Without them the PostgreSQL parts are reported as skipped.
"""

from __future__ import annotations

import os
import plistlib
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from . import load
from .serve import ROOT, Gunicorn, HAProxy, free_port, haproxy_path, rss_kib

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench"
REDIS_DEFAULT = "redis://127.0.0.1:6379/15"
TOPIC = "com.apple.mgmt.External.bench"
USER_AGENT = "portal-bench"
DEVICES = 100
DISCOVERING = 20
INSTANCE_CONNECTIONS = 8


@dataclass
class Goal:
    """One figure with its goal: met when `value` ≥ `goal` (or ≤ with `at_most`)."""

    name: str
    value: float | None
    goal: float
    unit: str = "×"
    at_most: bool = False
    note: str = ""

    @property
    def met(self) -> bool:
        if self.value is None:
            return False
        return self.value <= self.goal if self.at_most else self.value >= self.goal

    def line(self) -> str:
        sign = "≤" if self.at_most else "≥"
        if self.value is None:
            shown = "skipped"
        elif self.unit == "×":
            shown = f"{self.value:.2f} ×"
        elif not self.unit:
            shown = f"{self.value:,.0f}"
        else:
            shown = f"{self.value:,.1f} {self.unit}"
        goal = f"{self.goal:.2f} ×" if self.unit == "×" else f"{self.goal:,.0f} {self.unit}".strip()
        verdict = "met" if self.met else "short"
        note = f"  ({self.note})" if self.note else ""
        return f"{self.name:<58} {shown:>14}  goal {sign} {goal:<10} {verdict}{note}"


@dataclass
class Report:
    generator: str
    goals: list[Goal] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def say(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)


# -- preparing the databases ----------------------------------------------------------------


def _postgres_ready(url: str) -> bool:
    base = sa.engine.make_url(url)
    try:
        engine = sa.create_engine(
            base.set(database="postgres"),
            isolation_level="AUTOCOMMIT",
            connect_args={"connect_timeout": 3},
        )
        with engine.connect() as conn:
            exists = conn.scalar(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": base.database}
            )
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{base.database}"'))
        engine.dispose()
        return True
    except Exception as exc:  # noqa: BLE001  (reported, then skipped)
        print(f"PostgreSQL unavailable at {base.render_as_string()}: {exc}")
        return False


def _redis_ready(url: str) -> bool:
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        return True
    except Exception as exc:  # noqa: BLE001
        print(f"Redis unavailable at {url}: {exc}")
        return False


def _flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def portal_env(url: str, limits_storage: str, instance: Path) -> dict[str, str]:
    return {
        "PORTAL_ENV": "development",
        "SECRET_KEY": "bench-secret-key",
        "DATABASE_URL": url,
        "RATELIMIT_STORAGE_URI": limits_storage,
        "INSTANCE_PATH": str(instance),
        # The limiter still counts every device request; the budget is only out of reach.
        "MDM_RATE_LIMIT": "100000000 per minute",
        "LOGIN_ADDRESS_LIMIT": "100000 per minute",
        "LOGIN_ACCOUNT_LIMIT": "100000 per minute",
        "MDM_PUSH": "log",
        "MDM_PUSH_TOPIC": TOPIC,
        "PUBLIC_BASE_URL": "http://127.0.0.1",
    }


@dataclass
class Fixture:
    """What the load needs: enrolled devices' check-ins, signed-in cookies, ids."""

    checkins: list[load.Request]
    employee_cookie: str
    admin_cookie: str
    user_ids: list[int]
    device_ids: list[int]
    identifiers: list[str]
    queries: list[str]


def prepare_portal(url: str, instance: Path, *, large: bool, report: Report) -> Fixture:
    """Migrate, seed (and `--large`), add enrolled devices; in a fresh child process."""
    env = {**os.environ, **portal_env(url, "memory://", instance)}
    started = time.monotonic()
    script = "from benchmarks.web import _prepare_child; _prepare_child()"
    completed = subprocess.run(  # noqa: S603  (our own arguments)
        [sys.executable, "-c", script, "large" if large else "small"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"preparing {url} failed:\n{completed.stdout}\n{completed.stderr}")
    report.say(f"  prepared in {time.monotonic() - started:.0f} s")
    import json

    data = json.loads(completed.stdout.strip().splitlines()[-1])
    return Fixture(
        checkins=[
            load.Request(
                f"/mdm/checkin?e={secret}",
                "PUT",
                {"Content-Type": "application/x-apple-aspen-mdm-checkin"},
                bytes.fromhex(body),
            )
            for secret, body in data["checkins"]
        ],
        employee_cookie="",
        admin_cookie="",
        user_ids=data["user_ids"],
        device_ids=data["device_ids"],
        identifiers=data["identifiers"],
        queries=data["queries"],
    )


def _prepare_child() -> None:
    import json

    from flask_migrate import upgrade

    from portal import create_app, demo, demo_large
    from portal.enrollment.lifecycle import hash_secret
    from portal.enrollment.profile_service import MDMSettings
    from portal.extensions import db
    from portal.mdm import enroll
    from portal.models import (
        Device,
        DeviceLogEntry,
        DeviceOwner,
        DeviceStatus,
        EnrollmentMethod,
        EnrollmentType,
        Group,
        Platform,
        User,
        group_membership,
    )

    large = sys.argv[1] == "large"
    app = create_app()
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
        upgrade()
        demo.seed("development")
        if large:
            demo_large.seed_large(echo=lambda m: print(m, file=sys.stderr))
        alice = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
        now = demo_large.datetime.now(demo_large.UTC)
        checkins = []
        for n in range(DEVICES):
            secret = f"bench-secret-{n:04d}-{os.urandom(8).hex()}"
            token = os.urandom(32)
            udid = f"BENCH-{n:04d}-{os.urandom(6).hex().upper()}"
            device = Device(
                user_id=alice.id,
                name=f"Bench iPhone {n}",
                platform=Platform.IOS,
                os_version="18.1",
                model="iPhone16,1",
                enrollment_type=EnrollmentType.DEVICE,
                enrollment_method=EnrollmentMethod.PROFILE,
                device_owner=DeviceOwner.EMPLOYEE,
                status=DeviceStatus.ENROLLED,
                udid=udid,
                checkin_secret_hash=hash_secret(secret),
                topic=TOPIC,
                push_token=token.hex(),
                push_magic=f"magic-{n}",
                enrolled_at=now,
                last_checkin_at=now,
            )
            db.session.add(device)
            message = {
                "MessageType": "TokenUpdate",
                "Topic": TOPIC,
                "UDID": udid,
                "Token": token,
                "PushMagic": f"magic-{n}",
            }
            checkins.append((secret, plistlib.dumps(message).hex()))
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            # Fresh statistics, as autovacuum would have them on a database in use: right after
            # a bulk load the planner knows nothing of the rows and picks its plans blind.
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("ANALYZE"))
        # Users, devices and searches to visit: from the large set when there is one.
        users = list(db.session.scalars(sa.select(User.id).order_by(User.id.desc()).limit(200)))
        busy = list(
            db.session.scalars(
                sa.select(DeviceLogEntry.device_id)
                .group_by(DeviceLogEntry.device_id)
                .order_by(sa.func.count().desc())
                .limit(50)
            )
        )
        # People whose discovery succeeds: active members of the User Enrollment group.
        identifiers = list(
            db.session.scalars(
                sa.select(User.managed_apple_id)
                .join(group_membership, group_membership.c.user_id == User.id)
                .join(Group, Group.id == group_membership.c.group_id)
                .where(
                    Group.name == "User Enrollment",
                    User.active.is_(True),
                    User.device_role.is_(True),
                    User.managed_apple_id.is_not(None),
                )
                .order_by(User.id.desc())
                .limit(500)
            )
        )
        # Only those discovery accepts (a person whose phone is already Device-Enrolled is
        # refused: the policy keeps their enrollment type).
        settings = MDMSettings.from_config(app.config)
        accepted = []
        for identifier in identifiers:
            try:
                enroll.discover(identifier, "iPhone", settings)
                accepted.append(identifier)
            except enroll.DiscoveryRefused:
                pass
            db.session.rollback()
            if len(accepted) == 200:
                break
        identifiers = accepted
        queries = ["martin", "person.01", "dubois", "camille", "nguyen", "example", "zz-none"]
        print(
            json.dumps(
                {
                    "checkins": checkins,
                    "user_ids": users,
                    "device_ids": busy,
                    "identifiers": identifiers,
                    "queries": queries,
                }
            )
        )
        db.engine.dispose()


def sign_in(base_url: str, email: str) -> str:
    """A signed-in session cookie (`portal_session=…`) for `email`, as a browser gets one."""
    import requests

    with requests.Session() as http:
        http.headers["User-Agent"] = USER_AGENT
        page = http.get(base_url + "/login", timeout=30)
        token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page.text)
        response = http.post(
            base_url + "/login",
            data={
                "csrf_token": token.group(1) if token else "",
                "email": email,
                "password": "demo-password",
            },
            allow_redirects=False,
            timeout=30,
        )
        if response.status_code != 302:
            raise RuntimeError(f"sign-in as {email} failed: {response.status_code}")
        return f"portal_session={http.cookies['portal_session']}"


# -- measuring ----------------------------------------------------------------------------------


LIMIT_PATHS = {"hello": "/hello", "read": "/read", "write": "/write"}
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))


def limits_server(workdir: Path) -> Gunicorn:
    """The limits app on the same gunicorn configuration, over a fresh 10,000-row table."""
    url = f"sqlite:///{workdir / 'limits.db'}"
    subprocess.run(  # noqa: S603
        [sys.executable, "-c", f"from benchmarks.limits_app import prepare; prepare({url!r})"],
        cwd=ROOT,
        check=True,
    )
    return Gunicorn(
        "benchmarks.limits_app:app",
        {"LIMITS_DATABASE_URL": url},
        workdir / "limits.log",
        health="/hello",
    ).start()


@dataclass
class Paired:
    """A path measured right after its limit, `ROUNDS` times: the ratio is the median."""

    path: load.Result
    limit: load.Result
    ratio: float
    failures: int


def paired(
    generator: load.LoadGenerator,
    limits: Gunicorn,
    limit: str,
    server: Gunicorn,
    requests: list[load.Request],
    report: Report,
    label: str,
) -> Paired:
    ratios, failures, results = [], 0, []
    for _ in range(ROUNDS):
        base = generator.run(limits.url, [load.Request(LIMIT_PATHS[limit])])
        result = generator.run(server.url, requests)
        ratios.append(result.rps / base.rps if base.rps else 0.0)
        failures += result.failures + base.failures
        results.append((result, base))
        report.say(
            f"  {label:<34} {result.summary()}\n"
            f"  {'  limit ' + limit:<34} {base.summary()}  → {ratios[-1]:.2f} ×"
        )
    result, base = results[-1]
    return Paired(result, base, statistics.median(ratios), failures)


STATUS_PATH = "/enroll/status?platform=ios&os=18"


def _status_request(cookie: str, etag: str | None = None) -> load.Request:
    """A poll as the browser sends it: after the first, with the ETag it was given."""
    headers = {"Cookie": cookie, "HX-Request": "true", "User-Agent": USER_AGENT}
    if etag:
        headers["If-None-Match"] = etag
    return load.Request(STATUS_PATH, headers=headers)


def status_etag(base_url: str, cookie: str) -> str:
    import requests

    response = requests.get(
        base_url + STATUS_PATH,
        headers={"Cookie": cookie, "HX-Request": "true", "User-Agent": USER_AGENT},
        timeout=30,
    )
    response.raise_for_status()
    return response.headers.get("ETag", "")


def _discovery_requests(identifiers: list[str]) -> list[load.Request]:
    return [
        load.Request(
            f"/.well-known/com.apple.remotemanagement?user-identifier={i}&model-family=iPhone"
        )
        for i in identifiers
    ]


def hot_paths(
    generator: load.LoadGenerator,
    limits: Gunicorn,
    server: Gunicorn,
    fixture: Fixture,
    cookie: str,
    report: Report,
    label: str,
) -> dict[str, Paired]:
    etag = status_etag(server.url, cookie)
    paths = {
        # Twenty people starting an account-driven enrollment at once; each device asks
        # again as it goes (answers are kept DISCOVERY_CACHE_SECONDS).
        "discovery": ("hello", _discovery_requests(fixture.identifiers[:DISCOVERING])),
        "healthz": ("hello", [load.Request("/healthz")]),
        "status": ("read", [_status_request(cookie, etag)]),
        "checkin": ("write", fixture.checkins),
    }
    results = {}
    for name, (limit, requests) in paths.items():
        results[name] = paired(
            generator, limits, limit, server, requests, report, f"{label} {name}"
        )
    full = generator.run(server.url, [_status_request(cookie)])
    report.say(f"  {label + ' status, full fragment':<34} {full.summary()}  (for reference)")
    return results


def scale_pages(
    generator: load.LoadGenerator, server: Gunicorn, fixture: Fixture, cookie: str, report: Report
) -> dict[str, load.Result]:
    headers = {"Cookie": cookie, "User-Agent": USER_AGENT}
    devices = fixture.device_ids[:20]
    pages = {
        "admin users search": [
            load.Request(f"/admin/users?q={q}", headers=headers) for q in fixture.queries
        ]
        + [load.Request("/admin/users?page=40", headers=headers)],
        "device-log filters": [
            load.Request(f"/admin/devices/{d}/logs?{q}", headers=headers)
            for d in devices
            for q in (
                "action=command.acknowledged",
                "status=enrolled&page=3",
                "action=configuration",
            )
        ],
        "a user's page": [
            load.Request(f"/admin/users/{u}", headers=headers) for u in fixture.user_ids[:50]
        ],
        "device pages": [load.Request(f"/admin/devices/{d}", headers=headers) for d in devices]
        + [load.Request("/admin/devices?status=enrolled&platform=ios", headers=headers)],
    }
    results = {}
    for name, requests in pages.items():
        # Admins and helpdesk people, two at once (one per worker): latency, not queueing.
        result = generator.run(server.url, requests, connections=2)
        results[name] = result
        report.say(f"  scale {name:<30} {result.summary()}")
    return results


def mixed_requests(fixture: Fixture, employee: str, admin: str) -> list[load.Request]:
    headers = {"Cookie": admin, "User-Agent": USER_AGENT}
    return (
        [_status_request(employee)] * 20
        + fixture.checkins[:40]
        + _discovery_requests(fixture.identifiers[:20])
        + [load.Request("/healthz")] * 10
        + [load.Request("/enroll", headers={"Cookie": employee, "User-Agent": USER_AGENT})] * 4
        + [load.Request("/devices", headers={"Cookie": employee, "User-Agent": USER_AGENT})] * 4
        + [load.Request(f"/admin/users/{u}", headers=headers) for u in fixture.user_ids[:4]]
        + [load.Request(f"/admin/devices/{d}", headers=headers) for d in fixture.device_ids[:4]]
        + [load.Request("/admin/users?q=martin", headers=headers)] * 2
        + [load.Request("/login")] * 4
    )


def memory(
    generator: load.LoadGenerator, server: Gunicorn, fixture, employee, admin, report
) -> float:
    result = generator.run(
        server.url,
        mixed_requests(fixture, employee, admin),
        total=10_000,
        duration=600,
        connections=20,
    )
    sizes = [rss_kib(pid) / 1024 for pid in server.worker_pids()]
    report.say(
        f"  memory after {result.requests:,} mixed requests ({result.failures} failed): "
        + ", ".join(f"{s:.0f} MB" for s in sizes)
        + " per worker"
    )
    return max(sizes) if sizes else float("nan")


def two_instances(
    generator: load.LoadGenerator,
    env: dict[str, str],
    workdir: Path,
    fixture: Fixture,
    employee: str,
    admin: str,
    report: Report,
) -> tuple[float, float, int, int]:
    """(one instance req/s, two instances req/s, requests, failures while one restarts)."""
    requests = mixed_requests(fixture, employee, admin)
    # Fewer connections than the other figures: the mixed load includes whole pages, and on
    # a busy 2-core machine 50 queued connections wait longer than the client's timeout.
    connections = INSTANCE_CONNECTIONS
    ports = [free_port(), free_port()]
    first = Gunicorn("wsgi:app", env, workdir / "instance-a.log", port=ports[0]).start()
    second = None
    try:
        # Both through the same proxy: the figure compares one instance with two, not a
        # direct connection with one through haproxy.
        with HAProxy(ports[:1], workdir) as proxy:
            time.sleep(1.5)  # the backend seen healthy
            one = generator.run(proxy.url, requests, connections=connections)
        report.say(f"  one instance behind haproxy           {one.summary()}")
        second = Gunicorn("wsgi:app", env, workdir / "instance-b.log", port=ports[1]).start()
        with HAProxy(ports, workdir) as proxy:
            time.sleep(1.5)  # both backends seen healthy
            two = generator.run(proxy.url, requests, connections=connections)
            report.say(f"  two instances behind haproxy          {two.summary()}")

            def restart() -> None:
                time.sleep(3)
                second.stop()
                time.sleep(3)
                second.start()

            bouncer = threading.Thread(target=restart)
            bouncer.start()
            during = generator.run(proxy.url, requests, duration=15, connections=connections)
            bouncer.join()
            report.say(f"  two, one stopped and started mid-load {during.summary()}")
    finally:
        first.stop()
        if second is not None:
            second.stop()
    return one.rps, two.rps, during.requests, during.failures


# -- the whole run --------------------------------------------------------------------------------


def run() -> tuple[Report, int]:
    generator = load.find()
    report = Report(generator=generator.name)
    report.say(
        f"\nHot paths under load: gunicorn (2 sync workers, --preload), load generator: "
        f"{generator.name}, {load.THREADS} threads, {load.CONNECTIONS} connections, "
        f"{load.DURATION} s per figure; each path right after its limit, {ROUNDS} rounds, "
        "median ratio"
    )
    workdir = Path(tempfile.mkdtemp(prefix="portal-web-bench-"))
    limits = limits_server(workdir)
    try:
        return _run(generator, limits, workdir, report)
    finally:
        limits.stop()


def _run(generator, limits: Gunicorn, workdir: Path, report: Report) -> tuple[Report, int]:
    report.say("\nSQLite (memory:// rate limits); limits: Flask + SQLAlchemy ORM + SQLite WAL:")
    sqlite_url = f"sqlite:///{workdir / 'portal.db'}"
    sqlite_fixture = prepare_portal(sqlite_url, workdir / "instance", large=False, report=report)
    env = portal_env(sqlite_url, "memory://", workdir / "instance")
    with Gunicorn("wsgi:app", env, workdir / "portal-sqlite.log") as server:
        employee = sign_in(server.url, "alice@example.com")
        sqlite_paths = hot_paths(
            generator, limits, server, sqlite_fixture, employee, report, "sqlite"
        )

    pg_url = os.environ.get("BENCH_DATABASE_URL", PG_DEFAULT)
    redis_url = os.environ.get("BENCH_REDIS_URL", REDIS_DEFAULT)
    pg_paths = scale = None
    rss = None
    instances = None
    if _postgres_ready(pg_url) and _redis_ready(redis_url):
        _flush_redis(redis_url)
        report.say("\nPostgreSQL + Redis, at scale (demo seed --large):")
        pg_fixture = prepare_portal(pg_url, workdir / "instance-pg", large=True, report=report)
        env = portal_env(pg_url, redis_url, workdir / "instance-pg")
        with Gunicorn("wsgi:app", env, workdir / "portal-pg.log") as server:
            employee = sign_in(server.url, "alice@example.com")
            admin = sign_in(server.url, "adam@example.com")
            pg_paths = hot_paths(
                generator, limits, server, pg_fixture, employee, report, "postgres"
            )
            scale = scale_pages(generator, server, pg_fixture, admin, report)
            rss = memory(generator, server, pg_fixture, employee, admin, report)
        if haproxy_path():
            report.say("\nSeveral instances (PostgreSQL + Redis, haproxy):")
            instances = two_instances(generator, env, workdir, pg_fixture, employee, admin, report)
        else:
            report.say("\nSeveral instances: skipped (haproxy not installed)")

    goals = report.goals
    bases = {
        "discovery": "hello",
        "healthz": "hello",
        "status": "one read",
        "checkin": "read + write",
    }
    wanted = {"discovery": 0.5, "healthz": 0.8, "status": 0.5, "checkin": 1.0}
    titles = {
        "discovery": "discovery",
        "healthz": "/healthz",
        "status": "/enroll/status poll",
        "checkin": "check-in TokenUpdate",
    }
    for label, paths in (("SQLite", sqlite_paths), ("PostgreSQL + Redis", pg_paths)):
        for name, goal in wanted.items():
            figure = paths[name] if paths else None
            goals.append(
                Goal(
                    f"{titles[name]} / {bases[name]}, {label}",
                    figure.ratio if figure else None,
                    goal,
                    note=f"{figure.path.rps:.0f} req/s" if figure else "",
                )
            )
        failures = sum(p.failures for p in paths.values()) if paths else None
        goals.append(Goal(f"failed requests under load, {label}", failures, 0, "", at_most=True))
    if scale:
        for name, result in scale.items():
            goals.append(Goal(f"p95 {name}, 20,000 people", result.p95_ms, 300, "ms", at_most=True))
    if pg_paths:
        goals.append(
            Goal(
                "discovery / hello among 20,000 people (PostgreSQL)",
                pg_paths["discovery"].ratio,
                0.5,
            )
        )
    if rss is not None:
        goals.append(
            Goal("RSS per worker after 10,000 mixed requests", rss, 150, "MB", at_most=True)
        )
    if instances:
        one, two, total, failed = instances
        goals.append(
            Goal(
                "two instances / one (2 cores: not slower)",
                two / one if one else None,
                0.9,
                note=f"{one:.0f} vs {two:.0f} req/s",
            )
        )
        goals.append(
            Goal(
                "failed requests, one instance restarted mid-load",
                failed,
                0,
                "",
                at_most=True,
                note=f"of {total:,}",
            )
        )
    return report, 0 if all(g.met for g in goals) else 1
