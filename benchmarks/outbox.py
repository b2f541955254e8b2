"""Invitations through the outbox against the limit: a plain smtplib loop.

For N invitations (default 10,000) to a local aiosmtpd server running in its own process:
  1. queue them: `invitations.invite()` per person, one transaction each (token, e-mail in
     the person's language, QR code, outbox row);
  2. the limit: one smtplib connection sending the same N MIME messages in a loop;
  3. the outbox worker (claim, build MIME, send, mark sent — one transaction per message)
     delivering all N to the same server.
Reports times, messages per second and worker/limit (target ≥ 0.5).

SQLite (a temporary file) by default; `DATABASE_URL=postgresql+psycopg://…` to use
PostgreSQL — use a throwaway database: the run creates and then deletes its rows.
"""

from __future__ import annotations

import argparse
import os
import smtplib
import sys
import tempfile
import time
from pathlib import Path

TARGET = 0.5


def _app(database_url: str, instance: Path, smtp_url: str, batch_size: int):
    from portal import create_app

    return create_app(
        {
            "PORTAL_ENV": "testing",
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_PATH": str(instance),
            "SMTP_URL": smtp_url,
            "OUTBOX_BATCH_SIZE": batch_size,
            "INVITATION_RESEND_LIMIT": 1000,
            "SERVER_NAME": None,
        }
    )


def _people(count: int) -> list[int]:
    import sqlalchemy as sa

    from portal.extensions import db
    from portal.models import Organization, User

    org = Organization(name="Bench Corp", domains=["bench.example.com"])
    db.session.add(org)
    db.session.flush()
    rows = [
        {
            "org_id": org.id,
            "email": f"bench-{n}@bench.example.com",
            "display_name": f"Bench Person {n}",
            "locale": "fr" if n % 2 else "en",
        }
        for n in range(count)
    ]
    db.session.execute(sa.insert(User), rows)
    db.session.commit()
    return list(db.session.scalars(sa.select(User.id).where(User.org_id == org.id)))


def _cleanup() -> None:
    import sqlalchemy as sa

    from portal.extensions import db
    from portal.models import AuditEvent, Invitation, Organization, OutboxMessage, User

    org_ids = sa.select(Organization.id).where(Organization.name == "Bench Corp")
    user_ids = sa.select(User.id).where(User.org_id.in_(org_ids))
    outbox_ids = sa.select(Invitation.outbox_message_id).where(Invitation.user_id.in_(user_ids))
    db.session.execute(
        sa.delete(AuditEvent).where(
            AuditEvent.target_type == "user",
            AuditEvent.target_id.in_(
                sa.select(sa.cast(User.id, sa.String)).where(User.org_id.in_(org_ids))
            ),
        )
    )
    message_ids = list(db.session.scalars(outbox_ids))
    db.session.execute(sa.delete(Invitation).where(Invitation.user_id.in_(user_ids)))
    db.session.execute(sa.delete(OutboxMessage).where(OutboxMessage.id.in_(message_ids)))
    db.session.execute(sa.delete(User).where(User.org_id.in_(org_ids)))
    db.session.execute(sa.delete(Organization).where(Organization.id.in_(org_ids)))
    db.session.commit()


def _row(name: str, count: int, seconds: float) -> tuple[str, int, float, float]:
    return name, count, seconds, count / seconds if seconds else float("inf")


def _queue(user_ids: list[int]) -> float:
    """Invite everyone, one transaction each, as N separate requests would."""
    from portal.extensions import db
    from portal.invitations import service as invitations
    from portal.models import InvitationSender, User

    started = time.perf_counter()
    for user_id in user_ids:
        invitations.invite(
            db.session.get(User, user_id), actor=None, sent_by=InvitationSender.IMPORT
        )
        db.session.commit()
        db.session.expunge_all()
    return _elapsed(started)


def _smtplib_loop(port: int, messages: list[tuple[str, list[str], bytes]]) -> float:
    """The limit: the same composed messages, one connection, nothing else to do."""
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        for sender, recipients, raw in messages:
            smtp.sendmail(sender, recipients, raw)
    return _elapsed(started)


def _deliver(app) -> tuple[int, float]:
    """The outbox worker, batch after batch until nothing is due."""
    from portal.outbox.cli import make_worker

    worker = make_worker(app.config)
    sent = 0
    started = time.perf_counter()
    try:
        while True:
            result = worker.run_once()
            sent += result.sent
            if result.claimed == 0:
                break
    finally:
        worker.transport.close()
    return sent, _elapsed(started)


def run(count: int, batch_size: int, database_url: str | None) -> int:
    return measure(count, batch_size, database_url)[0]


def measure(count: int, batch_size: int, database_url: str | None) -> tuple[int, float]:
    """(exit status, worker / limit ratio; 0 when messages went missing or twice)."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from portal.extensions import db
    from portal.models import OutboxMessage, OutboxStatus
    from portal.outbox.mime import envelope_address

    from .smtp_sink import SinkProcess

    sink = SinkProcess()
    sink.start()
    workdir = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    url = database_url or f"sqlite:///{workdir / 'bench.db'}"
    app = _app(url, workdir / "instance", f"smtp://127.0.0.1:{sink.port}", batch_size)
    try:
        with app.app_context():
            upgrade()
            _cleanup()  # after an interrupted run
            queued = _queue(_people(count))
            messages = [
                (envelope_address(m.sender), [m.recipient], m.raw)
                for m in db.session.scalars(sa.select(OutboxMessage))
            ]
            db.session.rollback()
            # The limit is measured before and after the worker (machines drift).
            limits = [_smtplib_loop(sink.port, messages)]
            assert len(sink.wait_for(count, timeout=180)) == count, "smtplib: messages missing"
            sink.reset()
            sent, delivery = _deliver(app)
            received = sink.wait_for(count, timeout=180)
            sink.reset()
            limits.append(_smtplib_loop(sink.port, messages))
            done = db.session.scalar(
                sa.select(sa.func.count()).where(OutboxMessage.status == OutboxStatus.SENT)
            )
            _cleanup()
    finally:
        sink.stop()

    limit = sum(limits) / len(limits)
    rows = [
        _row("queue (invite + e-mail + QR, 1 tx each)", count, queued),
        _row("smtplib loop, one connection (the limit)", count, limit),
        _row(f"outbox worker (batches of {batch_size})", sent, delivery),
    ]
    ratio = rows[2][3] / rows[1][3]
    duplicates = len(received) - len(set(received))
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"\nOutbox benchmark: {count:,} invitations, {backend}, local aiosmtpd (own process)\n")
    print(f"{'phase':<44} {'messages':>9} {'seconds':>9} {'msg/s':>9}")
    print("-" * 74)
    for name, n, seconds, rate in rows:
        print(f"{name:<44} {n:>9,} {seconds:>9.2f} {rate:>9.0f}")
    print("-" * 74)
    print(f"{'worker / limit':<44} {'':>9} {'':>9} {ratio:>9.2f}")
    print(f"(the limit: mean of {limits[0]:.2f} s before and {limits[1]:.2f} s after the worker)")
    verdict = "OK" if ratio >= TARGET else "BELOW TARGET"
    print(f"target ≥ {TARGET}: {verdict}")
    print(
        f"checks: {len(set(received)):,} distinct Message-IDs received, {duplicates} duplicates, "
        f"{done:,} marked sent"
    )
    ok = len(set(received)) == count and duplicates == 0 and done == count
    return (0 if ok and ratio >= TARGET else 1), (ratio if ok else 0.0)


def _elapsed(started: float) -> float:
    return time.perf_counter() - started


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--count", type=int, default=10_000, help="invitations (default 10000)")
    parser.add_argument("--batch-size", type=int, default=100, help="worker claim size")
    args = parser.parse_args(argv)
    database_url = os.environ.get("DATABASE_URL")
    if database_url and database_url.startswith("sqlite"):
        database_url = None
    return run(args.count, args.batch_size, database_url)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
