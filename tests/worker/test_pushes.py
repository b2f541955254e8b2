"""Pushes leave through the worker: queued with their command, coalesced per device, each
sent once however many workers run; a bulk lock of 1,000 devices returns at once."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.mdm import commands, push
from portal.models import (
    Device,
    DeviceLogEntry,
    DeviceStatus,
    EnrollmentMethod,
    EnrollmentType,
    MDMCommand,
    Platform,
    PushRequest,
    User,
    utcnow,
)

TOPIC = "com.apple.mgmt.External.test"


def add_devices(count: int) -> list[int]:
    """`count` enrolled iPhones of alice's, each with push credentials (one statement)."""
    alice = db.session.scalar(sa.select(User).where(User.email == "alice@example.com"))
    now = utcnow()
    rows = [
        {
            "user_id": alice.id,
            "name": f"iPhone {n}",
            "platform": Platform.IOS,
            "os_version": "17.4",
            "model": "iPhone15,2",
            "enrollment_type": EnrollmentType.USER,
            "enrollment_method": EnrollmentMethod.ACCOUNT_DRIVEN,
            "status": DeviceStatus.ENROLLED,
            "enrollment_id": f"bulk-{n:05d}",
            "topic": TOPIC,
            "push_token": f"{n:064x}",
            "push_magic": f"magic-{n}",
            "enrolled_at": now,
            "created_at": now,
        }
        for n in range(count)
    ]
    db.session.execute(sa.insert(Device), rows)
    db.session.commit()
    return list(db.session.scalars(sa.select(Device.id).order_by(Device.id)))


class Recorder:
    """A notifier that remembers each push (thread-safe), optionally slowly."""

    def __init__(self, delay: float = 0.0):
        self.lock = threading.Lock()
        self.sent: list[int] = []
        self.delay = delay

    def notify(self, target: push.PushTarget) -> push.Outcome:
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.sent.append(target.device_id)
        return push.Outcome(push.SENT)


def test_a_bulk_lock_of_1000_devices_returns_at_once_and_the_worker_pushes(seeded):
    timings = []
    with seeded.app_context():
        ids = add_devices(1000)
        devices = db.session.scalars(sa.select(Device).order_by(Device.id)).all()
        # The request's own processor time, best of three (each queues 1,000 locks): on a
        # machine busy with other work the wall clock says more about the others. `make bench`
        # reports the wall-clock time.
        for _ in range(3):
            started = time.process_time()
            commands.queue_many(devices, "DeviceLock", actor=None, channel="system")
            db.session.commit()
            timings.append(time.process_time() - started)
        # Nothing was pushed by the request: one row per device waits for the worker.
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PushRequest)) == 1000
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MDMCommand)) == 3000
        logged = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(DeviceLogEntry)
            .where(DeviceLogEntry.action == "command.queued")
        )
        assert logged == 3000
    assert min(timings) < 1.0, f"queueing 1,000 locks took {min(timings):.2f} s at best"
    recorder = Recorder()
    with seeded.app_context():
        while push.deliver("w1", sender=recorder).claimed:
            pass
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PushRequest)) == 0
    assert sorted(recorder.sent) == ids


def test_a_device_with_several_commands_gets_one_push(seeded):
    with seeded.app_context():
        (device_id,) = add_devices(1)
        device = db.session.get(Device, device_id)
        for request_type in ("ProfileList", "DeviceLock", "InstalledApplicationList"):
            commands.queue(device, request_type, actor=None, channel="system")
            db.session.commit()
        recorder = Recorder()
        assert push.deliver("w1", sender=recorder).claimed == 1
        assert recorder.sent == [device_id]


def test_a_command_queued_while_the_push_goes_out_gets_another_push(seeded):
    """The worker holds the device's row; a new command arrives before it finishes."""
    with seeded.app_context():
        (device_id,) = add_devices(1)
        commands.queue(db.session.get(Device, device_id), "ProfileList", actor=None)
        db.session.commit()

    class QueueMeanwhile(Recorder):
        def notify(self, target):
            with seeded.app_context():
                commands.queue(db.session.get(Device, device_id), "DeviceLock", actor=None)
                db.session.commit()
            return super().notify(target)

    with seeded.app_context():
        first = QueueMeanwhile()
        assert push.deliver("w1", sender=first).claimed == 1
        second = Recorder()
        assert push.deliver("w1", sender=second).claimed == 1  # pushed again
        assert push.deliver("w1", sender=second).claimed == 0
    assert (first.sent, second.sent) == ([device_id], [device_id])


def test_two_workers_never_send_the_same_push(seeded):
    with seeded.app_context():
        ids = add_devices(300)
        for device in db.session.scalars(sa.select(Device)):
            push.notify_after_commit(device)
        db.session.commit()
    recorder = Recorder(delay=0.001)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            with seeded.app_context():
                barrier.wait()
                while push.deliver(name, limit=25, sender=recorder).claimed:
                    pass
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(recorder.sent) == ids  # every device once, none twice


def test_a_device_without_a_push_token_queues_nothing(seeded):
    with seeded.app_context():
        (device_id,) = add_devices(1)
        device = db.session.get(Device, device_id)
        device.push_token = None
        commands.queue(device, "ProfileList", actor=None)
        db.session.commit()
        assert push.deliver("w1", sender=Recorder()).claimed == 0


@pytest.mark.parametrize("kind", [push.UNREACHABLE, push.BUSY])
def test_a_push_that_could_not_go_out_is_tried_again_then_dropped(seeded, kind):
    with seeded.app_context():
        (device_id,) = add_devices(1)
        commands.queue(db.session.get(Device, device_id), "ProfileList", actor=None)
        db.session.commit()

        class Failing:
            calls = 0

            def notify(self, target):
                Failing.calls += 1
                return push.Outcome(kind)

        later = utcnow()
        for attempt in range(push.MAX_ATTEMPTS):
            assert push.deliver("w1", sender=Failing(), now=later).claimed == 1
            later += push.RETRY_AFTER * (attempt + 2)
        assert Failing.calls == push.MAX_ATTEMPTS
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PushRequest)) == 0
