"""A live portal with the Slack assistant mounted, Slack's Web API played by a local server."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from portal.extensions import db, limiter
from portal.models import AuditEvent, Invitation, OutboxMessage, User
from tests.support.mail import deliver, smtp  # noqa: F401
from tests.support.slack_api import BOT_TOKEN, SIGNING_SECRET, SlackSender, SlackStandIn

PUBLIC_BASE_URL = "https://portal.example.com"

# Slack user id → what users.info says about them.
SLACK_USERS = {
    "U0ALICE": {"email": "alice@example.com", "name": "alice"},
    "U0BOB": {"email": "bob@example.com", "name": "bob"},
    "U0HELEN": {"email": "helen@example.com", "name": "helen"},
    "U0ADAM": {"email": "adam@example.com", "name": "adam"},
    "U0NOBODY": {"email": "nobody@example.com", "name": "nobody"},
    "U0NOMAIL": {"name": "guest"},
}


@pytest.fixture
def slack_api():
    with SlackStandIn({k: dict(v) for k, v in SLACK_USERS.items()}) as api:
        yield api


@pytest.fixture
def slack_config(slack_api) -> dict:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_BASE_URL": slack_api.base_url,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
    }


@pytest.fixture
def bot_app(app_factory, slack_config):
    """The seeded demo app with the assistant mounted."""
    app = app_factory(**slack_config)
    with app.app_context():
        limiter.reset()
        from portal import demo

        demo.seed("testing")
    yield app
    # Let lazy listeners finish before the tables are emptied.
    app.extensions["slack"].shutdown(wait=True)


@pytest.fixture
def mail_bot_app(app_factory, slack_config, smtp):  # noqa: F811
    app = app_factory(**slack_config, SMTP_URL=smtp.url, SMTP_TIMEOUT=5)
    with app.app_context():
        limiter.reset()
        from portal import demo

        demo.seed("testing")
    yield app
    app.extensions["slack"].shutdown(wait=True)


def _serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    return server, thread, f"http://127.0.0.1:{server.server_port}"


def _stop(server, thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def live_bot(bot_app):
    server, thread, url = _serve(bot_app)
    yield url
    _stop(server, thread)


@pytest.fixture
def slack(live_bot, slack_api):
    sender = SlackSender(live_bot, slack_api)
    yield sender
    sender.close()


@pytest.fixture
def mail_slack(mail_bot_app, slack_api):
    server, thread, url = _serve(mail_bot_app)
    sender = SlackSender(url, slack_api)
    yield sender
    sender.close()
    _stop(server, thread)


class Portal:
    """Reads and small changes in the app's database, each in its own app context."""

    def __init__(self, app):
        self.app = app

    def user(self, email: str) -> User:
        with self.app.app_context():
            user = db.session.scalar(sa.select(User).where(User.email == email))
            db.session.expunge(user)
            return user

    def set_locale(self, email: str, locale: str | None) -> None:
        with self.app.app_context():
            db.session.execute(sa.update(User).where(User.email == email).values(locale=locale))
            db.session.commit()

    def audit(self, action: str) -> list[AuditEvent]:
        with self.app.app_context():
            rows = list(
                db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action))
            )
            for row in rows:
                db.session.expunge(row)
            return rows

    def invitations(self, email: str) -> list[Invitation]:
        with self.app.app_context():
            rows = list(
                db.session.scalars(
                    sa.select(Invitation)
                    .join(User, User.id == Invitation.user_id)
                    .where(User.email == email)
                    .order_by(Invitation.id)
                )
            )
            for row in rows:
                db.session.expunge(row)
            return rows

    def outbox(self) -> list[OutboxMessage]:
        with self.app.app_context():
            rows = list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))
            for row in rows:
                db.session.expunge(row)
            return rows

    def deliver(self):
        return deliver(self.app)


@pytest.fixture
def portal(bot_app) -> Portal:
    return Portal(bot_app)


@pytest.fixture
def mail_portal(mail_bot_app) -> Portal:
    return Portal(mail_bot_app)
