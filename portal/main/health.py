"""Health for load balancers and monitoring: `ok`, `degraded` or `down`, with details.

`down` (503) only when the portal cannot serve: the database does not answer, or its schema
is not the one this code needs. `degraded` (still 200: the portal serves) when a part is
broken: the rate-limit storage does not answer, no worker has been seen for 2 minutes while
work waits, or there is no valid push certificate. Expiring certificates and tokens are
`warnings`.

Cheap by design: the migration head is read once per process, the rate-limit storage is
pinged at most every few seconds, and everything else is one SQL statement.
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..models import (
    LocationToken,
    Organization,
    OutboxMessage,
    OutboxStatus,
    PushCertificate,
    PushRequest,
    WorkerHeartbeat,
    utcnow,
)

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
WORKER_SILENCE = timedelta(minutes=2)
WARN_BEFORE = timedelta(days=30)
STORAGE_CACHE_SECONDS = 5.0
STORAGE_TIMEOUT = 0.5

OK, DEGRADED, DOWN = "ok", "degraded", "down"


@functools.cache
def _script() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


@functools.cache
def migration_head() -> str | None:
    """The newest migration this code knows (read once per process)."""
    return _script().get_current_head()


@functools.cache
def known_revisions() -> frozenset[str]:
    return frozenset(rev.revision for rev in _script().walk_revisions())


# -- rate-limit storage ----------------------------------------------------------------------

_storage_lock = threading.Lock()
_storage_cache: dict[str, tuple[float, dict]] = {}


def _ping(uri: str) -> dict:
    scheme = uri.split("://", 1)[0].lower()
    if scheme in ("memory", ""):
        return {"ok": True, "storage": "memory"}
    try:
        if scheme.startswith("redis") or scheme == "rediss":
            import redis

            client = redis.Redis.from_url(
                uri, socket_connect_timeout=STORAGE_TIMEOUT, socket_timeout=STORAGE_TIMEOUT
            )
            try:
                client.ping()
            finally:
                client.close()
        else:
            from ..extensions import limiter

            if not limiter.storage.check():
                return {"ok": False, "storage": scheme, "error": "no answer"}
    except Exception as exc:  # any failure to answer is the same fact: unreachable
        return {"ok": False, "storage": scheme, "error": type(exc).__name__}
    return {"ok": True, "storage": scheme}


def rate_limit_storage(uri: str, *, now: float | None = None) -> dict:
    """Whether the configured rate-limit storage answers (pinged at most every 5 s)."""
    now = time.monotonic() if now is None else now
    with _storage_lock:
        cached = _storage_cache.get(uri)
        if cached is not None and now - cached[0] < STORAGE_CACHE_SECONDS:
            return cached[1]
    result = _ping(uri)
    with _storage_lock:
        _storage_cache[uri] = (now, result)
    return result


# -- the database's facts --------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    revision: str | None
    worker_seen_at: datetime | None
    oldest_mail: datetime | None
    next_mail_due: datetime | None
    oldest_push: datetime | None
    push_not_after: datetime | None
    push_uploaded: bool
    token_expires_at: datetime | None
    token_organization: str | None
    abm_organization: str | None


def _first(column, *where, order=None):
    query = sa.select(column)
    for clause in where:
        query = query.where(clause)
    if order is not None:
        query = query.order_by(order)
    return query.limit(1).scalar_subquery()


def facts() -> Facts:
    """Everything /healthz reads from the database, in one statement."""
    version = sa.table("alembic_version", sa.column("version_num"))
    pending = OutboxMessage.status == OutboxStatus.PENDING
    uploaded = PushCertificate.certificate_pem.is_not(None)
    row = db.session.execute(
        sa.select(
            _first(version.c.version_num),
            sa.select(sa.func.max(WorkerHeartbeat.seen_at)).scalar_subquery(),
            sa.select(sa.func.min(OutboxMessage.created_at)).where(pending).scalar_subquery(),
            sa.select(sa.func.min(OutboxMessage.next_attempt_at)).where(pending).scalar_subquery(),
            sa.select(sa.func.min(PushRequest.queued_at)).scalar_subquery(),
            _first(PushCertificate.not_after, uploaded, order=PushCertificate.id),
            sa.select(sa.func.count())
            .select_from(PushCertificate)
            .where(uploaded)
            .scalar_subquery(),
            _first(LocationToken.expires_at, order=LocationToken.id),
            _first(LocationToken.organization_name, order=LocationToken.id),
            _first(
                Organization.abm_organization_name,
                Organization.abm_linked.is_(True),
                order=Organization.id,
            ),
        )
    ).one()
    return Facts(
        revision=row[0],
        worker_seen_at=row[1],
        oldest_mail=row[2],
        next_mail_due=row[3],
        oldest_push=row[4],
        push_not_after=row[5],
        push_uploaded=bool(row[6]),
        token_expires_at=row[7],
        token_organization=row[8],
        abm_organization=row[9],
    )


def certificate_state(f: Facts, now: datetime) -> dict:
    if not f.push_uploaded or f.push_not_after is None:
        return {"state": "missing"}
    days = (f.push_not_after - now) / timedelta(days=1)
    if days <= 0:
        return {"state": "expired", "not_after": f.push_not_after.isoformat()}
    state = "expiring" if f.push_not_after - now <= WARN_BEFORE else "ok"
    return {"state": state, "not_after": f.push_not_after.isoformat(), "days_left": int(days)}


def token_state(f: Facts, now: datetime) -> dict:
    if f.token_organization is None:
        return {"state": "missing"}
    same = (f.abm_organization or "").strip().casefold() == f.token_organization.casefold()
    if f.abm_organization and not same:
        return {"state": "other_organization", "organization": f.token_organization}
    if f.token_expires_at is None:
        return {"state": "ok"}
    if f.token_expires_at <= now:
        return {"state": "expired", "expires_at": f.token_expires_at.isoformat()}
    state = "expiring" if f.token_expires_at - now <= WARN_BEFORE else "ok"
    return {"state": state, "expires_at": f.token_expires_at.isoformat()}


def worker_state(f: Facts, now: datetime) -> dict:
    seen = f.worker_seen_at
    running = seen is not None and now - seen <= WORKER_SILENCE
    waiting = (f.next_mail_due is not None and f.next_mail_due <= now) or f.oldest_push is not None
    return {
        "ok": running or not waiting,
        "running": running,
        "last_seen_seconds": round((now - seen).total_seconds()) if seen else None,
        "work_waiting": waiting,
    }


def _seconds(since: datetime | None, now: datetime) -> int | None:
    return max(0, round((now - since).total_seconds())) if since else None


def check(config=None) -> tuple[str, dict]:
    """(status, details) — status is ok, degraded or down."""
    from flask import current_app

    config = config or current_app.config
    now = utcnow()
    head = migration_head()
    details: dict = {"migration": {"head": head}}
    try:
        f = facts()
        db.session.rollback()  # end the read transaction
    except SQLAlchemyError as exc:
        db.session.rollback()
        return DOWN, {**details, **_database_error(exc)}
    details["database"] = {"ok": True, "dialect": db.engine.dialect.name}
    current = f.revision
    up_to_date = current == head
    details["migration"].update(current=current, up_to_date=up_to_date)
    if current is None or (not up_to_date and current in known_revisions()):
        # No schema, or an older one: run `flask --app wsgi db upgrade`.
        return DOWN, details
    status = OK if up_to_date else DEGRADED  # a newer schema (a newer release is rolling out)
    storage = rate_limit_storage(str(config.get("RATELIMIT_STORAGE_URI", "memory://")))
    details["rate_limit_storage"] = storage
    details["worker"] = worker_state(f, now)
    details["outbox"] = {"oldest_waiting_seconds": _seconds(f.oldest_mail, now)}
    details["pushes"] = {"oldest_waiting_seconds": _seconds(f.oldest_push, now)}
    details["push_certificate"] = certificate_state(f, now)
    details["location_token"] = token_state(f, now)
    if (
        not storage["ok"]
        or not details["worker"]["ok"]
        or details["push_certificate"]["state"] in ("missing", "expired")
    ):
        status = DEGRADED
    details["warnings"] = setup_warnings(f, now)
    return status, details


def _database_error(exc: SQLAlchemyError) -> dict:
    """The statement failed: is the database away, or only our tables?"""
    try:
        with db.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except SQLAlchemyError as second:
        return {"database": {"ok": False, "error": type(second.orig or second).__name__}}
    return {
        "database": {"ok": True, "dialect": db.engine.dialect.name},
        "migration": {"head": migration_head(), "current": None, "up_to_date": False},
    }


def setup_warnings(f: Facts, now: datetime) -> list[str]:
    """What needs an admin soon (e.g. "The MDM push certificate expires in 12 days.")."""
    from ..apple import setup

    not_after = f.push_not_after if f.push_uploaded else None
    return [str(n.message) for n in setup.expiry_notices(not_after, f.token_expires_at, now)]
