"""Reminders: the schedule with a controlled clock, working hours in the person's time zone,
never after enrollment or withdrawal, never twice (even with two workers at once), by e-mail
(a real SMTP server) and Slack DM (the Web API stand-in), in the history and the audit."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db, limiter
from portal.invitations import service as invitations
from portal.models import (
    AuditEvent,
    Device,
    Group,
    InvitationSender,
    OutboxMessage,
    Reminder,
    SlackNotification,
    User,
)
from portal.rollout import reminders
from tests.support.mail import deliver, smtp  # noqa: F401
from tests.support.slack_api import BOT_TOKEN, SIGNING_SECRET, SlackStandIn, text_of

# Monday 2 November 2026, 08:00 UTC.
SENT = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
SLACK_USERS = {"U0ALICE": {"email": "alice@example.com", "name": "alice", "locale": "fr-FR"}}


@pytest.fixture
def slack_api():
    with SlackStandIn({k: dict(v) for k, v in SLACK_USERS.items()}) as api:
        yield api


@pytest.fixture
def app(app_factory, slack_api, smtp):  # noqa: F811
    from portal import demo

    app = app_factory(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_BASE_URL=slack_api.base_url,
        PUBLIC_BASE_URL="https://portal.example.com",
        SMTP_URL=smtp.url,
        SMTP_TIMEOUT=5,
        REMINDER_DEFAULT_TIME_ZONE="Europe/Paris",
    )
    with app.app_context():
        limiter.reset()
        demo.seed("testing")
    yield app
    app.extensions["slack"].shutdown(wait=True)


def _person(email: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == email))


def _setup(app, *emails, zone: str | None = None, days=(3, 7), max_reminders=2):
    """A group of `emails` with a schedule, each invited at SENT."""
    with app.app_context():
        group = Group(name="Pilot")
        db.session.add(group)
        for email in emails:
            person = _person(email)
            person.time_zone = zone
            group.members.append(person)
        db.session.flush()
        reminders.save_schedule(
            None,
            group,
            days=list(days),
            max_reminders=max_reminders,
            start_hour=9,
            end_hour=17,
            enabled=True,
        )
        for email in emails:
            invitations.invite(_person(email), actor=None, sent_by=InvitationSender.ADMIN, now=SENT)
        db.session.commit()


def _send(app, now: datetime) -> int:
    with app.app_context():
        return reminders.send_due_reminders(now)


def _steps(app, email: str) -> list[int]:
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(Reminder.step)
                .join(User, User.id == Reminder.user_id)
                .where(User.email == email)
                .order_by(Reminder.step)
            )
        )


def test_reminders_follow_the_schedule_within_working_hours(app):
    _setup(app, "alice@example.com", zone="America/New_York")
    day3 = SENT + timedelta(days=3)  # Thursday
    assert _send(app, day3 - timedelta(hours=1)) == 0  # not three days yet
    assert _send(app, day3.replace(hour=10)) == 0  # 05:00 in New York
    assert _send(app, day3.replace(hour=14)) == 1  # 09:00 in New York
    assert _send(app, day3.replace(hour=15)) == 0  # already sent
    assert _send(app, SENT + timedelta(days=5, hours=6)) == 0  # the second is for day 7
    saturday = SENT + timedelta(days=12, hours=6)
    assert _send(app, saturday) == 0  # weekend
    assert _send(app, SENT + timedelta(days=14, hours=6)) == 1  # Monday 16th, 09:00 NY
    assert _send(app, SENT + timedelta(days=21, hours=6)) == 0  # at most two
    assert _steps(app, "alice@example.com") == [1, 2]
    with app.app_context():
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "reminder.sent")
        ).all()
        assert [e.after["step"] for e in events] == [1, 2]
        assert {e.channel for e in events} == {"system"}


def test_reminders_stop_at_enrollment_and_at_withdrawal(app):
    _setup(app, "alice@example.com", "bob@example.com")
    day3 = (SENT + timedelta(days=3)).replace(hour=10)  # 11:00 in Paris (the default zone)
    assert _send(app, day3) == 2
    with app.app_context():
        alice = _person("alice@example.com")
        db.session.add(
            Device(
                user_id=alice.id,
                platform="ios",
                enrollment_type="user",
                enrollment_method="account_driven",
                status="enrolled",
                enrolled_at=day3 + timedelta(hours=1),
                enrollment_id="E-ALICE",
            )
        )
        bob = _person("bob@example.com")
        invitations.revoke_all(bob, actor=None, channel="web", now=day3 + timedelta(hours=1))
        db.session.commit()
    assert _send(app, (SENT + timedelta(days=7)).replace(hour=10)) == 0
    assert _steps(app, "alice@example.com") == [1]
    assert _steps(app, "bob@example.com") == [1]


def test_a_reminder_is_never_sent_twice(app):
    _setup(app, "alice@example.com", "bob@example.com")
    day3 = (SENT + timedelta(days=3)).replace(hour=10)
    with app.app_context():
        due = reminders.due_reminders(day3, reminders.ReminderSettings.from_config(app.config))
        assert len(due) == 2
        settings = reminders.ReminderSettings.from_config(app.config)
        assert reminders.send_one(due[0], now=day3, settings=settings) is not None
        # A second worker that computed the same list a moment before.
        assert reminders.send_one(due[0], now=day3, settings=settings) is None
    # Two workers at the very same time.
    results = []
    barrier = threading.Barrier(2)

    def worker():
        with app.app_context():
            barrier.wait()
            results.append(reminders.send_due_reminders(day3))
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) in ([0, 1], [1, 0])
    assert _steps(app, "alice@example.com") == [1]
    assert _steps(app, "bob@example.com") == [1]
    with app.app_context():
        mails = db.session.scalar(
            sa.select(sa.func.count(OutboxMessage.id)).where(OutboxMessage.kind == "reminder")
        )
        assert mails == 2


def test_reminders_reach_email_and_slack(app, smtp, slack_api):  # noqa: F811
    _setup(app, "alice@example.com", "bob@example.com")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["rollout", "remind", "--now", "2026-11-05T10:00:00+00:00"])
    assert result.exit_code == 0, result.output
    assert "reminders sent: 2" in result.output
    assert "slack: sent 1, skipped 1" in result.output
    # Alice is in Slack (in French): a DM with her enrollment page.
    [call] = slack_api.calls_to("chat.postMessage")
    assert call.params["channel"] == "U0ALICE"
    assert "Rappel" in text_of(call) and "https://portal.example.com/enroll" in text_of(call)
    # Both get the e-mail.
    deliver(app)
    reminded = {m["To"]: m for m in smtp.messages}
    assert set(reminded) == {"alice@example.com", "bob@example.com"}
    bob_text = reminded["bob@example.com"].get_body(("plain",)).get_content()
    assert "https://portal.example.com/enroll" in bob_text
    # Written from each person's decision, as the invitation is: Bob would get Device
    # Enrollment, so his reminder promises no privacy and offers the way out.
    assert "personal data stays private" not in bob_text
    assert "Device Enrollment" in bob_text and "This is my personal iPhone" in bob_text
    alice_text = reminded["alice@example.com"].get_body(("plain",)).get_content()
    assert "your personal data stays private" in alice_text
    assert "/enroll help in Slack" in alice_text
    with app.app_context():
        statuses = dict(
            db.session.execute(
                sa.select(User.email, SlackNotification.status).join(
                    User, User.id == SlackNotification.user_id
                )
            ).all()
        )
        assert statuses == {"alice@example.com": "sent", "bob@example.com": "skipped"}


@pytest.mark.parametrize("days", ["", "0", "3, x", "100", ",".join(str(d) for d in range(1, 13))])
def test_bad_schedules_are_refused(ctx, days):
    with pytest.raises(reminders.ScheduleError):
        reminders.parse_days(days)


def test_the_reminders_page_saves_a_schedule(app, client):
    from tests.conftest import Auth, csrf_token

    with app.app_context():
        group = Group(name="Pilot")
        db.session.add(group)
        db.session.commit()
        group_id = group.id
    Auth(client).login("adam@example.com")
    token = csrf_token(client, "/admin/rollout/reminders")
    bad = client.post(
        f"/admin/rollout/reminders/{group_id}",
        data={"csrf_token": token, "days": "three", "enabled": "on"},
    )
    assert bad.status_code == 400
    assert "Days are whole numbers" in bad.get_data(as_text=True)
    good = client.post(
        f"/admin/rollout/reminders/{group_id}",
        data={
            "csrf_token": token,
            "days": "7, 3",
            "max_reminders": "2",
            "start_hour": "8",
            "end_hour": "18",
            "enabled": "on",
        },
    )
    assert good.status_code == 303
    with app.app_context():
        schedule = db.session.scalar(sa.select(reminders.ReminderSchedule))
        assert schedule.days == [3, 7] and schedule.start_hour == 8 and schedule.enabled


def test_the_worker_jobs_send_reminders_and_post_slack_messages(app, slack_api):
    from portal.rollout.cli import reminders_job, slack_job

    _setup(app, "alice@example.com")
    with app.app_context():
        # No reminder is due yet at the real time (the invitation dates from 2026-11-02 and
        # the schedule's days have passed, but only within working hours): run and report.
        summary = reminders_job(app.config)
        assert summary.endswith("reminders sent")
        assert slack_job(app.config).startswith(("0 Slack", "1 Slack"))
        assert slack_job({}) == "skipped: Slack is not configured"


def test_reminders_show_in_the_persons_history(app, client):
    from tests.conftest import Auth

    _setup(app, "alice@example.com")
    _send(app, (SENT + timedelta(days=3)).replace(hour=10))
    with app.app_context():
        alice_id = _person("alice@example.com").id
    Auth(client).login("helen@example.com")
    page = client.get(f"/admin/users/{alice_id}").get_data(as_text=True)
    # helen has no time zone of her own yet: UTC, in the English short format.
    assert "Reminder 1 sent on 11/5/26, 10:00\u202fAM by e-mail and Slack" in page


def test_without_slack_the_reminder_does_not_mention_it(app_factory, smtp):  # noqa: F811
    from portal import demo

    app = app_factory(
        PUBLIC_BASE_URL="https://portal.example.com",
        SMTP_URL=smtp.url,
        SMTP_TIMEOUT=5,
        REMINDER_DEFAULT_TIME_ZONE="Europe/Paris",
    )
    with app.app_context():
        demo.seed("testing")
    _setup(app, "alice@example.com")
    assert _send(app, datetime(2026, 11, 5, 10, 0, tzinfo=UTC)) == 1
    deliver(app)
    [message] = smtp.messages
    for part in ("plain", "html"):
        body = message.get_body((part,)).get_content()
        assert "Slack" not in body
        assert "https://portal.example.com/enroll" in body
