"""Reminders to people who were invited and have not enrolled (SPEC §6).

A group's `ReminderSchedule` says after how many days from the invitation to remind (e.g.
3 and 7), at most how many times, and within which working hours (Monday to Friday, in the
person's own time zone). `send_due_reminders(now)` sends what is due at `now`; the worker
runs it periodically, `flask --app wsgi rollout remind` runs it once.

A reminder is never sent to someone who has enrolled a device (even if they removed it
since), whose newest invitation was withdrawn, or whose account is deactivated. It goes by
e-mail (the outbox), and by Slack DM where Slack is connected and knows the person's
e-mail; it links to the person's enrollment page (sign in, then the guide), so it works
whatever became of the invitation's one-time link.

Each reminder is a `Reminder` row unique on (invitation, step), written in the same
transaction as its e-mail, its Slack message and its audit event: two workers running at
once cannot both send it (the second one's insert fails and it moves on).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from .. import audit, branding
from ..domain import DomainError
from ..extensions import db
from ..invitations.email import envelope, invitation_kind, slack_enabled
from ..invitations.service import InvitationSettings
from ..models import (
    Device,
    Group,
    Invitation,
    Reminder,
    ReminderSchedule,
    User,
    group_membership,
    utcnow,
)
from . import notify

log = logging.getLogger("portal.rollout")

KIND = "reminder"
MAX_DAYS = 90
MAX_STEPS = 10
# However the schedule is written, two reminders of one invitation are this far apart.
MIN_GAP = timedelta(hours=20)
WORKDAYS = range(0, 5)  # Monday to Friday


class ScheduleError(DomainError):
    status = 400
    default_message = _l("That reminder schedule is not valid.")


@dataclass(frozen=True)
class ReminderSettings:
    public_base_url: str = "http://127.0.0.1:5000"
    default_time_zone: str = "UTC"
    batch_limit: int = 1000

    @classmethod
    def from_config(cls, config: Mapping) -> ReminderSettings:
        return cls(
            public_base_url=str(config.get("PUBLIC_BASE_URL", cls.public_base_url)).rstrip("/"),
            default_time_zone=str(config.get("REMINDER_DEFAULT_TIME_ZONE") or "UTC"),
            batch_limit=max(int(config.get("REMINDER_BATCH_LIMIT", cls.batch_limit)), 1),
        )

    @property
    def enroll_url(self) -> str:
        return f"{self.public_base_url}/enroll"


def zone_of(user: User, default: str) -> ZoneInfo:
    """The person's time zone, else their directory's, else the default, else UTC."""
    attributes = user.directory_attributes or {}
    for name in (user.time_zone, attributes.get("timezone"), default, "UTC"):
        if not name:
            continue
        try:
            return ZoneInfo(str(name))
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def in_working_hours(now: datetime, zone: ZoneInfo, schedule: ReminderSchedule) -> bool:
    local = now.astimezone(zone)
    return local.weekday() in WORKDAYS and schedule.start_hour <= local.hour < schedule.end_hour


# -- schedules -------------------------------------------------------------------------------


def parse_days(text: str) -> list[int]:
    """ "3, 7" → [3, 7]: whole days, ascending, distinct, 1 to 90."""
    days = []
    for part in (text or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= MAX_DAYS:
            raise ScheduleError(_l("Days are whole numbers from 1 to 90, separated by commas."))
        days.append(int(part))
    days = sorted(set(days))
    if not days:
        raise ScheduleError(_l("Give at least one day, e.g. 3, 7."))
    if len(days) > MAX_STEPS:
        raise ScheduleError(_l("At most 10 reminders."))
    return days


def save_schedule(
    actor: User | None,
    group: Group,
    *,
    days: list[int],
    max_reminders: int,
    start_hour: int,
    end_hour: int,
    enabled: bool,
) -> ReminderSchedule:
    """Create or change the group's schedule; audited. The caller commits."""
    if not 1 <= max_reminders <= MAX_STEPS:
        raise ScheduleError(_l("Send between 1 and 10 reminders."))
    if not (0 <= start_hour < end_hour <= 24):
        raise ScheduleError(_l("Working hours start before they end, between 0 and 24."))
    schedule = db.session.scalar(
        sa.select(ReminderSchedule).where(ReminderSchedule.group_id == group.id)
    )
    before = snapshot(schedule) if schedule else None
    if schedule is None:
        schedule = ReminderSchedule(group_id=group.id)
        db.session.add(schedule)
    schedule.days = list(days)
    schedule.max_reminders = max_reminders
    schedule.start_hour = start_hour
    schedule.end_hour = end_hour
    schedule.enabled = enabled
    db.session.flush()
    audit.record(
        actor,
        "reminder.schedule_saved",
        target=group,
        before=before,
        after=snapshot(schedule),
    )
    return schedule


def snapshot(schedule: ReminderSchedule) -> dict:
    return {
        "days": list(schedule.days),
        "max_reminders": schedule.max_reminders,
        "start_hour": schedule.start_hour,
        "end_hour": schedule.end_hour,
        "enabled": schedule.enabled,
    }


# -- what is due -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    user_id: int
    invitation_id: int
    schedule_id: int
    step: int


def _candidates():
    """(user, newest invitation, schedule) of people who may still be reminded."""
    ranked = sa.select(
        Invitation.id.label("invitation_id"),
        Invitation.user_id.label("user_id"),
        sa.func.row_number()
        .over(
            partition_by=Invitation.user_id,
            order_by=(Invitation.created_at.desc(), Invitation.id.desc()),
        )
        .label("rank"),
    ).subquery()
    newest = sa.select(ranked.c.invitation_id, ranked.c.user_id).where(ranked.c.rank == 1)
    newest = newest.subquery()
    # A person in several groups with a schedule: the group first by name decides.
    scheduled = sa.select(
        group_membership.c.user_id.label("user_id"),
        ReminderSchedule.id.label("schedule_id"),
        sa.func.row_number()
        .over(partition_by=group_membership.c.user_id, order_by=(Group.name, Group.id))
        .label("rank"),
    ).join(ReminderSchedule, ReminderSchedule.group_id == group_membership.c.group_id)
    scheduled = (
        scheduled.join(Group, Group.id == group_membership.c.group_id)
        .where(ReminderSchedule.enabled.is_(True))
        .subquery()
    )
    ever_enrolled = sa.exists().where(Device.user_id == User.id, Device.enrolled_at.is_not(None))
    return (
        sa.select(User, Invitation, ReminderSchedule)
        .join(newest, newest.c.user_id == User.id)
        .join(Invitation, Invitation.id == newest.c.invitation_id)
        .join(scheduled, sa.and_(scheduled.c.user_id == User.id, scheduled.c.rank == 1))
        .join(ReminderSchedule, ReminderSchedule.id == scheduled.c.schedule_id)
        .where(User.active.is_(True), Invitation.revoked_at.is_(None), ~ever_enrolled)
        .order_by(Invitation.created_at, User.id)
    )


def due_reminders(now: datetime, settings: ReminderSettings) -> list[Due]:
    """The reminders to send at `now` (at most one per person)."""
    sent: dict[int, tuple[int, datetime]] = {}
    for invitation_id, steps, last in db.session.execute(
        sa.select(
            Reminder.invitation_id, sa.func.max(Reminder.step), sa.func.max(Reminder.sent_at)
        ).group_by(Reminder.invitation_id)
    ):
        sent[invitation_id] = (int(steps), _aware(last))
    due = []
    for user, invitation, schedule in db.session.execute(_candidates()):
        steps, last = sent.get(invitation.id, (0, None))
        step = steps + 1
        if step > min(schedule.max_reminders, len(schedule.days)):
            continue
        if now < invitation.created_at + timedelta(days=schedule.days[step - 1]):
            continue
        if last is not None and now - last < MIN_GAP:
            continue
        if not in_working_hours(now, zone_of(user, settings.default_time_zone), schedule):
            continue
        due.append(Due(user.id, invitation.id, schedule.id, step))
        if len(due) >= settings.batch_limit:
            break
    return due


def _aware(moment):
    from .funnel import _aware as aware

    return aware(moment) if moment is not None else None


# -- sending ---------------------------------------------------------------------------------


def _queue_email(user: User, *, step: int, link: str, now: datetime):
    mail = envelope(user, InvitationSettings.from_config(current_app.config))
    with mail.in_language():
        subject = gettext("Reminder: enroll your device with %(company)s", company=mail.company)
    return mail.queue(
        kind=KIND,
        template="reminder",
        subject=subject,
        context={
            "link": link,
            "step": step,
            # Written from the person's decision, as the invitation is: User Enrollment
            # promises privacy, Device Enrollment says what the company will be able to do.
            "kind": invitation_kind(user),
            "support": branding.for_locale(mail.org, mail.locale, mail.company).support,
            "slack_enabled": slack_enabled(),
        },
        now=now,
    )


def send_one(due: Due, *, now: datetime, settings: ReminderSettings) -> Reminder | None:
    """Send one reminder and commit; None if another worker already sent it."""
    reminder = Reminder(
        user_id=due.user_id,
        invitation_id=due.invitation_id,
        schedule_id=due.schedule_id,
        step=due.step,
        sent_at=now,
    )
    try:
        db.session.add(reminder)
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return None
    user = db.session.get(User, due.user_id)
    message = _queue_email(user, step=due.step, link=settings.enroll_url, now=now)
    slack = notify.queue_dm(
        user, "reminder", {"step": due.step, "link": settings.enroll_url}, now=now
    )
    reminder.outbox_message_id = message.id
    if slack is not None:
        db.session.flush()
        reminder.slack_notification_id = slack.id
    audit.record(
        None,
        "reminder.sent",
        channel="system",
        target=user,
        after={"invitation": due.invitation_id, "step": due.step, "schedule": due.schedule_id},
    )
    try:
        db.session.commit()
    except IntegrityError:
        # The other worker's row was committed between our flush and commit (SQLite).
        db.session.rollback()
        return None
    return reminder


def send_due_reminders(now: datetime | None = None, settings: ReminderSettings | None = None):
    """Send every reminder due at `now`; returns how many were sent by this call."""
    now = now or utcnow()
    settings = settings or ReminderSettings.from_config(current_app.config)
    sent = 0
    due_now = due_reminders(now, settings)
    # End the read before writing: each reminder is then a transaction of its own, and on
    # SQLite two workers queue for the write lock instead of deadlocking on it.
    db.session.rollback()
    for due in due_now:
        if send_one(due, now=now, settings=settings) is not None:
            sent += 1
    db.session.rollback()  # end the read transaction
    if sent:
        log.info("sent %d reminder(s)", sent)
    return sent


def history(user: User) -> list[Reminder]:
    """The reminders sent to `user`, newest first (their page shows them)."""
    return list(
        db.session.scalars(
            sa.select(Reminder)
            .where(Reminder.user_id == user.id)
            .order_by(Reminder.sent_at.desc(), Reminder.id.desc())
        )
    )
