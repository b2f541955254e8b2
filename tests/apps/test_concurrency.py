"""The last free licence, wanted by two installs at the same moment (PostgreSQL).

Each install runs in its own thread, application context, session and connection, as two
web requests would. The first holds its transaction open after taking the licence; the
second's UPDATE then waits on the row lock and, once the first commits, finds none left.
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from portal.apps import service
from portal.directory import service as directory
from portal.extensions import db
from portal.models import AdminNotification, App, Device, LicenceAssignment, Role, UserSource

from .conftest import admin, enrolled, new_app, org


@pytest.fixture
def race(seeded):
    with seeded.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row locks: PostgreSQL only (SQLite serializes writers)")
        app = new_app(total=1)
        devices = [enrolled("alice@example.com").id, enrolled("bob@example.com").id]
        app_id = app.id
    return seeded, app_id, devices


def _install(flask_app, app_id, device_id, results, *, before_commit=None, after_start=None):
    with flask_app.app_context():
        try:
            if after_start:
                after_start.wait(10)
            outcome = service.install(
                admin(), db.session.get(Device, device_id), db.session.get(App, app_id), org=org()
            )
            if before_commit:
                before_commit()
            db.session.commit()
            results[device_id] = outcome.failure.code if outcome.failure else "installed"
        except Exception as exc:  # noqa: BLE001 - reported by the test
            results[device_id] = repr(exc)
        finally:
            db.session.remove()


def test_the_second_install_waits_and_gets_the_no_licence_notification(race):
    flask_app, app_id, (first, second) = race
    results: dict = {}
    took = threading.Event()
    second_waiting = threading.Event()

    def hold():
        took.set()
        second_waiting.wait(0.5)  # let the second reach the row lock

    a = threading.Thread(
        target=_install, args=(flask_app, app_id, first, results), kwargs={"before_commit": hold}
    )
    b = threading.Thread(
        target=_install, args=(flask_app, app_id, second, results), kwargs={"after_start": took}
    )
    a.start()
    b.start()
    a.join(30)
    b.join(30)
    assert results == {first: "installed", second: "licence_none_left"}
    with flask_app.app_context():
        assert db.session.get(App, app_id).assigned_licences == 1
        holders = db.session.scalars(sa.select(LicenceAssignment.device_id)).all()
        assert holders == [first]
        notice = db.session.scalar(sa.select(AdminNotification))
        assert notice.code == "licence_none_left" and notice.device_id == second


def test_many_simultaneous_installs_hand_out_exactly_the_licences_there_are(race):
    flask_app, app_id, _devices = race
    with flask_app.app_context():
        db.session.get(App, app_id).total_licences = 3
        db.session.commit()
        people = []
        for n in range(8):
            user = directory.create_user(
                admin(),
                org=org(),
                email=f"person{n}@example.com",
                display_name=f"Person {n}",
                role=Role.EMPLOYEE,
                source=UserSource.LOCAL,
            )
            db.session.commit()
            assert user.managed_apple_id
            people.append(user.email)
        device_ids = [enrolled(email).id for email in people]
    results: dict = {}
    start = threading.Barrier(len(device_ids))

    class Go:
        def wait(self, timeout):
            start.wait(timeout)

    threads = [
        threading.Thread(
            target=_install, args=(flask_app, app_id, d, results), kwargs={"after_start": Go()}
        )
        for d in device_ids
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    outcomes = sorted(results.values())
    assert outcomes == ["installed"] * 3 + ["licence_none_left"] * 5, outcomes
    with flask_app.app_context():
        app = db.session.get(App, app_id)
        active = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(LicenceAssignment)
            .where(LicenceAssignment.released_at.is_(None))
        )
        assert app.assigned_licences == active == 3
