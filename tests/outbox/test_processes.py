"""Real worker processes (`flask --app wsgi outbox run`): killed mid-batch, and two at once.

Each message is counted by its Message-ID as the SMTP server received it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.invitations import service as invitations
from portal.models import InvitationSender, Organization, OutboxMessage, OutboxStatus, User
from portal.outbox import service as outbox

ROOT = Path(__file__).resolve().parents[2]


class WorkerProcess:
    def __init__(self, database_url: str, smtp_url: str, tmp_path: Path, name: str, **env):
        self.log = tmp_path / f"{name}.log"
        environment = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SMTP_URL": smtp_url,
            "PORTAL_ENV": "testing",
            "SECRET_KEY": "test-secret-key",
            "INSTANCE_PATH": str(tmp_path / name),
            "OUTBOX_POLL_SECONDS": "1",
            "OUTBOX_BACKOFF_SECONDS": "0",
            "SMTP_TIMEOUT": "10",
            "PYTHONWARNINGS": "ignore",
            **{k: str(v) for k, v in env.items()},
        }
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "flask", "--app", "wsgi", "outbox", "run"],
                cwd=ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)

    def terminate(self, timeout: float = 15) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def sent(self) -> int:
        for line in self.output().splitlines():
            if line.startswith("sent "):
                return int(line.split()[1].rstrip(","))
        return -1


@pytest.fixture
def workers(database_url, smtp, tmp_path):
    started: list[WorkerProcess] = []

    def start(name: str, **env) -> WorkerProcess:
        worker = WorkerProcess(database_url, smtp.url, tmp_path, name, **env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.kill()


def _invite_people(app, count: int) -> list[str]:
    with app.app_context():
        org = db.session.scalar(sa.select(Organization))
        ids = []
        for n in range(count):
            person = User(org_id=org.id, email=f"p{n}@example.com", display_name=f"Person {n}")
            db.session.add(person)
            db.session.flush()
            invitation, _ = invitations.invite(person, actor=None, sent_by=InvitationSender.IMPORT)
            ids.append(db.session.get(OutboxMessage, invitation.outbox_message_id).message_id)
        db.session.commit()
        return ids


def _statuses(app) -> dict[str, int]:
    with app.app_context():
        db.session.remove()
        return outbox.counts()


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(mail_app, smtp, workers):
    ids = _invite_people(mail_app, 12)
    # The first message is accepted; the second is held in DATA while we kill the worker.
    smtp.hold_after = 1
    first = workers("first", OUTBOX_BATCH_SIZE=5, OUTBOX_LEASE_SECONDS=2)
    assert smtp.holding.wait(60), first.output()
    assert len(smtp.messages) == 1
    first.kill()
    # The worker died before the server accepted the held message: it is not delivered.
    smtp.refuse_held = True
    smtp.release.set()
    time.sleep(0.2)
    smtp.hold_after = None
    counts = _statuses(mail_app)
    assert counts["sent"] == 1 and counts["pending"] == 11

    second = workers("second", OUTBOX_BATCH_SIZE=5, OUTBOX_LEASE_SECONDS=2)
    assert smtp.wait_for(12, timeout=60), second.output()
    time.sleep(0.5)  # let it mark the last one
    assert second.terminate() == 0, second.output()  # SIGTERM: a clean stop
    received = smtp.message_ids()
    assert sorted(received) == sorted(ids)  # every one, none twice
    assert _statuses(mail_app)["sent"] == 12
    assert second.sent() == 11


def test_two_workers_send_each_message_once(mail_app, smtp, workers, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip(
            "FOR UPDATE SKIP LOCKED is PostgreSQL's; SQLite runs a single worker "
            "(set DATABASE_URL to a PostgreSQL database to run this)"
        )
    with mail_app.app_context():
        ids = [
            outbox.enqueue(
                recipient=f"p{n}@example.com",
                subject=f"Message {n}",
                body_text="Hello",
                sender="it@example.com",
            ).message_id
            for n in range(300)
        ]
        db.session.commit()
    smtp.delay = 0.005
    pair = [workers(name, OUTBOX_BATCH_SIZE=7) for name in ("one", "two")]
    assert smtp.wait_for(300, timeout=120), pair[0].output() + pair[1].output()
    deadline = time.monotonic() + 10
    while _statuses(mail_app)["sent"] < 300 and time.monotonic() < deadline:
        time.sleep(0.1)
    for worker in pair:
        assert worker.terminate() == 0, worker.output()
    received = smtp.message_ids()
    assert len(received) == 300 and sorted(received) == sorted(ids)
    assert pair[0].sent() + pair[1].sent() == 300
    assert pair[0].sent() > 0 and pair[1].sent() > 0  # both really worked
    with mail_app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).where(OutboxMessage.status == OutboxStatus.SENT)
            )
            == 300
        )
