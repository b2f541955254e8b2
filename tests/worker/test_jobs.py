"""Periodic jobs: one worker at a time runs each, outcomes are recorded for admins, and
unfinished enrollments expire."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.enrollment import lifecycle
from portal.extensions import db
from portal.models import (
    BackgroundJob,
    Device,
    DeviceLogEntry,
    DeviceOwner,
    DeviceStatus,
    EnrollmentMethod,
    EnrollmentType,
    OutboxMessage,
    OutboxStatus,
    Platform,
    User,
    UserSession,
    WorkerHeartbeat,
    utcnow,
)
from portal.outbox import service as outbox
from portal.worker import jobs, schedule
from portal.worker.runner import BackgroundWorker


@pytest.fixture
def only_job(monkeypatch):
    """Replace the registry with one test job; returns (registered job, its runs)."""
    runs: list[str] = []

    def run(config):
        runs.append(threading.current_thread().name)
        time.sleep(0.3)  # long enough for the other worker to try meanwhile
        return f"run {len(runs)}"

    job = jobs.Job("test_job", timedelta(hours=1), run, "A test job")
    monkeypatch.setattr(jobs, "JOBS", {job.name: job})
    return job, runs


def test_two_workers_never_run_the_same_job_at_once(seeded, only_job):
    _job, runs = only_job
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            with seeded.app_context():
                worker = BackgroundWorker(seeded, None, name=name)
                barrier.wait()
                worker.periodic(force=True)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{n}",), name=f"w{n}") for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(runs) == 1
    with seeded.app_context():
        row = db.session.get(BackgroundJob, "test_job")
        assert (row.last_outcome, row.last_detail, row.runs) == ("ok", "run 1", 1)
        assert row.lease_until is None
        assert row.next_run_at > utcnow() + timedelta(minutes=59)
        # Not due again: another pass runs nothing.
        assert BackgroundWorker(seeded, None, name="w3").periodic(force=True) == []


def test_a_job_still_leased_is_not_run_by_another_worker(seeded, only_job):
    job, runs = only_job
    with seeded.app_context():
        token = schedule.claim(job.name, "w1", lease=timedelta(minutes=5))
        assert token is not None
        assert schedule.claim(job.name, "w2", lease=timedelta(minutes=5)) is None
        # A lease that ran out (its worker died) is taken over.
        later = utcnow() + timedelta(minutes=6)
        assert schedule.claim(job.name, "w2", lease=timedelta(minutes=5), now=later) is not None
        # The first worker, finishing late, no longer owns the job.
        assert not schedule.finish(job.name, token, ok=True, detail="late", next_run_at=later)


def test_a_failing_job_is_recorded_and_the_worker_goes_on(seeded, monkeypatch):
    def broken(config):
        raise RuntimeError("Apple said no")

    ran = []
    monkeypatch.setattr(
        jobs,
        "JOBS",
        {
            "broken": jobs.Job("broken", timedelta(minutes=5), broken, "Broken"),
            "fine": jobs.Job("fine", timedelta(minutes=5), lambda c: ran.append(1) or "ok", "F"),
        },
    )
    with seeded.app_context():
        assert BackgroundWorker(seeded, None, name="w1").periodic(force=True) == ["broken", "fine"]
        rows = schedule.rows()
    assert ran == [1]
    assert (rows["broken"].last_outcome, rows["broken"].failures) == ("failed", 1)
    assert rows["broken"].last_detail == "RuntimeError: Apple said no"
    assert rows["fine"].last_outcome == "ok"


def test_every_built_in_job_runs_and_says_what_it_did(seeded):
    with seeded.app_context():
        worker = BackgroundWorker(seeded, None, name="w1")
        assert worker.periodic(force=True) == [job.name for job in jobs.registered()]
        rows = schedule.rows()
    details = {name: (row.last_outcome, row.last_detail) for name, row in rows.items()}
    assert details["expire_enrollments"] == (
        "ok",
        "0 unfinished enrollments expired (older than 24 h)",
    )
    assert details["end_sessions"] == ("ok", "0 expired sessions ended")
    assert details["apps_sync"] == ("ok", "skipped: no Apps and Books location token is uploaded")
    assert details["expiry_checks"] == ("ok", "nothing expires within 30 days")
    assert details["outbox_cleanup"] == (
        "ok",
        "0 sent or cancelled e-mails older than 30 days removed",
    )
    assert details["device_facts"][0] == "ok"


def test_the_device_facts_job_asks_each_enrolled_device_once_a_day(seeded):
    from portal.models import MDMCommand
    from tests.devices.conftest import add_device

    with seeded.app_context():
        iphone = add_device(
            "alice@example.com", EnrollmentType.USER, Platform.IOS, enrollment_id="E-JOB"
        )
        add_device("bob@example.com", EnrollmentType.DEVICE, Platform.IOS, status="unenrolled")
        assert jobs.refresh_device_facts(seeded.config) == "1 devices asked for their facts"
        asked = db.session.scalars(
            sa.select(MDMCommand.device_id).where(MDMCommand.request_type == "DeviceInformation")
        ).all()
        assert asked == [iphone]
        assert jobs.refresh_device_facts(seeded.config) == "0 devices asked for their facts"


def test_the_worker_loop_beats_and_forgets_its_heartbeat_when_stopped(seeded, monkeypatch):
    monkeypatch.setattr(jobs, "JOBS", {})
    with seeded.app_context():
        worker = BackgroundWorker(seeded, None, name="loop", poll_seconds=0.05)
    thread = threading.Thread(target=lambda: _run(seeded, worker))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        seen = False
        while time.monotonic() < deadline and not seen:
            with seeded.app_context():
                seen = db.session.get(WorkerHeartbeat, "loop") is not None
            time.sleep(0.05)
        assert seen
    finally:
        worker.stop()
        thread.join(10)
    with seeded.app_context():
        assert db.session.get(WorkerHeartbeat, "loop") is None


def _run(app, worker):
    with app.app_context():
        worker.run()


# -- the built-in jobs -----------------------------------------------------------------------


def _start(user: User, *, now) -> Device:
    device, _secret = lifecycle.start_enrollment(
        user,
        platform=Platform.IOS,
        os_version="17.4",
        enrollment_type=EnrollmentType.USER,
        method=EnrollmentMethod.PROFILE,
        owner=DeviceOwner.EMPLOYEE,
        topic="com.apple.mgmt.test",
        now=now,
    )
    for entry in db.session.scalars(
        sa.select(DeviceLogEntry).where(DeviceLogEntry.device_id == device.id)
    ):
        entry.created_at = now
    db.session.commit()
    return device


def test_a_pending_enrollment_older_than_the_limit_expires_and_leaves_my_devices(
    seeded, client, auth
):
    with seeded.app_context():
        alice = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
        old = _start(alice, now=utcnow() - timedelta(hours=25)).id
    auth.login("alice@example.com")
    assert "Profile downloaded" in client.get("/devices").get_data(as_text=True)
    with seeded.app_context():
        assert BackgroundWorker(seeded, None, name="w1").periodic(force=True)
        device = db.session.get(Device, old)
        assert device.status == DeviceStatus.EXPIRED
        assert device.checkin_secret_hash is None
        (entry,) = db.session.scalars(
            sa.select(DeviceLogEntry).where(
                DeviceLogEntry.device_id == old, DeviceLogEntry.action == "enrollment.expired"
            )
        )
        assert entry.details == {"after_hours": 24}
        assert schedule.rows()["expire_enrollments"].last_detail.startswith("1 unfinished")
    page = client.get("/devices").get_data(as_text=True)
    assert "Profile downloaded" not in page and f"/devices/{old}" not in page
    # The next download starts a new enrollment instead of reviving the old one.
    with seeded.app_context():
        alice = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
        fresh = _start(alice, now=utcnow())
        assert fresh.id != old and fresh.status == DeviceStatus.PROFILE_DOWNLOADED


def test_a_recent_or_finished_enrollment_does_not_expire(seeded):
    with seeded.app_context():
        alice = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
        bob = db.session.scalar(sa.select(User).where(User.email == "bob@example.com"))
        recent = _start(alice, now=utcnow() - timedelta(hours=23))
        done = _start(bob, now=utcnow() - timedelta(hours=48))
        done.status = DeviceStatus.ENROLLED
        db.session.commit()
        assert lifecycle.expire_pending(older_than=timedelta(hours=24)) == []
        # A second download restarts the clock.
        later = utcnow() + timedelta(hours=2)
        assert lifecycle.expire_pending(older_than=timedelta(hours=24), now=later) == [recent]


def test_enrollment_pending_hours_is_configurable(app_factory):
    from portal import demo

    app = app_factory(ENROLLMENT_PENDING_HOURS=2)
    with app.app_context():
        demo.seed("testing")
        alice = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
        device_id = _start(alice, now=utcnow() - timedelta(hours=3)).id
        assert jobs.expire_enrollments(app.config).startswith("1 unfinished")
        assert db.session.get(Device, device_id).status == DeviceStatus.EXPIRED


def test_expired_sessions_are_ended(seeded, client, auth):
    auth.login("alice@example.com")
    with seeded.app_context():
        (session,) = db.session.scalars(sa.select(UserSession)).all()
        session.last_seen_at = utcnow() - timedelta(hours=1)
        db.session.commit()
        assert jobs.end_sessions(seeded.config) == "1 expired sessions ended"
        assert db.session.scalars(sa.select(UserSession)).one().ended_at is not None
    assert client.get("/devices").status_code == 302  # signed out


def test_outbox_cleanup_keeps_what_waits_or_gave_up(seeded):
    with seeded.app_context():
        old = utcnow() - timedelta(days=40)
        ids = {}
        for status in (OutboxStatus.SENT, OutboxStatus.CANCELLED, OutboxStatus.PENDING, "dead"):
            message = outbox.enqueue(recipient="a@example.com", subject="s", body_text="b", now=old)
            message.status = status
            message.sent_at = old if status == OutboxStatus.SENT else None
            ids[str(status)] = message.id
        recent = outbox.enqueue(recipient="a@example.com", subject="s", body_text="b")
        recent.status, recent.sent_at = OutboxStatus.SENT, utcnow()
        db.session.commit()
        ids["recent"] = recent.id
        assert jobs.clean_outbox(seeded.config).startswith("2 sent or cancelled")
        left = set(db.session.scalars(sa.select(OutboxMessage.id)))
    assert left == {ids["pending"], ids["dead"], ids["recent"]}
