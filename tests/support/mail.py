"""Fixtures and helpers for tests that send e-mail: a real SMTP server and an app using it.

Imported by the conftest files of tests/invitations and tests/outbox.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db, limiter
from portal.models import User
from tests.support.smtp_server import SmtpSink


@pytest.fixture
def smtp():
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def mail_app(app_factory, smtp):
    """The seeded demo app, delivering to the test SMTP server, retrying at once."""
    from portal import demo

    app = app_factory(SMTP_URL=smtp.url, SMTP_TIMEOUT=5, OUTBOX_BACKOFF_SECONDS=0)
    with app.app_context():
        limiter.reset()
        demo.seed("testing")
    return app


def user(email: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == email))


def deliver(app):
    """Run one outbox batch in `app` (as `flask outbox run --once` would)."""
    from portal.outbox.cli import make_worker

    with app.app_context():
        worker = make_worker(app.config)
        try:
            return worker.run_once()
        finally:
            worker.transport.close()
