"""The periodic jobs the background worker runs: one registry of (name, interval, function).

Each job runs on one worker at a time (a lease on its `background_job` row), every
`interval`; its last run, outcome and summary are on the admins' "Background jobs" page and
in `flask --app wsgi worker jobs`.

To add a job, write a function taking the app's configuration, doing its work in the current
app context (it commits what it changes) and returning a one-line summary in English;
raising marks the run as failed with the exception's text. Then register it:

    from portal.worker.jobs import Job, register

    register(Job("refresh_device_facts", timedelta(days=1), refresh, _l("Refresh device facts")))

(`portal/worker/jobs.py` registers the built-in ones below; a domain module may call
`register` from its `init_app`.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import utcnow

log = logging.getLogger("portal.worker")


class JobFailed(Exception):
    """An expected failure (a service away, refused): recorded and logged without a trace."""


@dataclass(frozen=True)
class Job:
    name: str
    interval: timedelta
    run: Callable[[Mapping], str]
    title: object  # shown to admins (lazy, translated)
    # The longest one run may take; past it another worker may run the job again.
    lease: timedelta = timedelta(minutes=15)


JOBS: dict[str, Job] = {}


def register(job: Job) -> Job:
    """Add (or replace) a periodic job."""
    JOBS[job.name] = job
    return job


def registered() -> list[Job]:
    return list(JOBS.values())


# -- the built-in jobs -----------------------------------------------------------------------


def expire_enrollments(config: Mapping) -> str:
    """Enrollments started and never finished (no check-in) for ENROLLMENT_PENDING_HOURS."""
    from ..enrollment import lifecycle

    hours = int(config.get("ENROLLMENT_PENDING_HOURS", 24))
    expired = lifecycle.expire_pending(older_than=timedelta(hours=hours))
    db.session.commit()
    return f"{len(expired)} unfinished enrollments expired (older than {hours} h)"


def end_sessions(config: Mapping) -> str:
    """Sign-in sessions past their idle or maximum time."""
    from ..auth import service as auth

    ended = auth.end_expired_sessions(
        idle=timedelta(minutes=int(config["SESSION_IDLE_MINUTES"])),
        maximum=timedelta(hours=int(config["SESSION_MAX_HOURS"])),
    )
    db.session.commit()
    return f"{ended} expired sessions ended"


def sync_apps(config: Mapping) -> str:
    """Apple's Apps and Books licence counts (only with a location token)."""
    from ..apps import service, sync
    from ..apps.client import AppsAndBooksError

    client = service.apple_client(config)
    if client is None:
        return "skipped: no Apps and Books location token is uploaded"
    try:
        result = sync.sync(None, client)
    except AppsAndBooksError as exc:
        db.session.rollback()
        raise JobFailed(f"Apple's Apps and Books service: {exc}") from exc
    db.session.commit()
    return (
        f"{len(result.added)} apps added, {len(result.updated)} updated, "
        f"{result.released_at_apple} licences released at Apple"
    )


def check_expiry(config: Mapping) -> str:
    """Push certificate and location token: expired, or expiring within 30 days."""
    from ..apple import setup

    notices = setup.notices()
    for notice in notices:
        log.warning("Apple setup: %s", notice.message)
    db.session.rollback()
    return "; ".join(str(n.message) for n in notices) or "nothing expires within 30 days"


def refresh_device_facts(config: Mapping) -> str:
    """Ask each enrolled device not asked for a day for what the company may know of it
    (OS version, model, work profiles and apps); devices answer when they next connect."""
    from ..mdm import facts

    if not config.get("MDM_DEVICE_FACTS", True):
        return "device facts are turned off (MDM_DEVICE_FACTS)"
    asked = facts.queue_device_facts(utcnow())
    db.session.commit()
    return f"{asked} devices asked for their facts"


def clean_outbox(config: Mapping) -> str:
    """Sent and cancelled e-mail older than OUTBOX_KEEP_DAYS; heartbeats of workers gone."""
    from ..outbox import service as outbox
    from . import schedule

    days = int(config.get("OUTBOX_KEEP_DAYS", 30))
    removed = outbox.purge(older_than=timedelta(days=days), now=utcnow())
    schedule.forget_stale(timedelta(days=1))
    db.session.commit()
    return f"{removed} sent or cancelled e-mails older than {days} days removed"


for _job in (
    Job(
        "expire_enrollments",
        timedelta(minutes=15),
        expire_enrollments,
        _l("Expire unfinished enrollments"),
    ),
    Job("end_sessions", timedelta(minutes=15), end_sessions, _l("End expired sessions")),
    Job("apps_sync", timedelta(hours=6), sync_apps, _l("Apps and Books sync")),
    Job("expiry_checks", timedelta(hours=12), check_expiry, _l("Certificate and token expiry")),
    Job("outbox_cleanup", timedelta(days=1), clean_outbox, _l("Outgoing e-mail cleanup")),
    Job("device_facts", timedelta(hours=1), refresh_device_facts, _l("Refresh device facts")),
):
    register(_job)

# Work that is not periodic but whose last outcome admins see beside the jobs.
QUEUES = {"pushes": _l("MDM pushes"), "outbox": _l("Outgoing e-mail")}
