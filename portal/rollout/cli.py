"""`flask --app wsgi rollout …`: reminders and Slack notifications from the command line
(the worker runs the same functions periodically)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

rollout_cli = AppGroup("rollout", help="Rollout reminders and Slack notifications.")


def _moment(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("an ISO date and time, e.g. 2026-12-03T09:30:00+00:00") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@rollout_cli.command("remind")
@click.option("--now", "now", help="Act as if it were this time (ISO 8601; default: now).")
def remind(now: str | None) -> None:
    """Send the reminders that are due, then post the Slack messages waiting."""
    from . import reminders

    sent = reminders.send_due_reminders(_moment(now))
    click.echo(f"reminders sent: {sent}")
    _deliver_slack()


@rollout_cli.command("slack-deliver")
def slack_deliver() -> None:
    """Post the Slack messages waiting (DMs and the helpdesk channel)."""
    _deliver_slack()


def _deliver_slack() -> None:
    from flask import current_app

    if not current_app.config.get("SLACK_BOT_TOKEN"):
        click.echo("Slack is not configured: no Slack messages to post.")
        return
    from bot.notifications import deliver_pending

    result = deliver_pending()
    click.echo(
        f"slack: sent {result.sent}, skipped {result.skipped}, "
        f"retrying {result.retrying}, failed {result.failed}"
    )


def reminders_job(config) -> str:
    """The worker's periodic reminders (see `portal.worker.jobs`): a one-line summary."""
    from . import reminders

    sent = reminders.send_due_reminders()
    return f"{sent} reminders sent"


def slack_job(config) -> str:
    """The worker's periodic posting of waiting Slack messages: a one-line summary."""
    if not config.get("SLACK_BOT_TOKEN"):
        return "skipped: Slack is not configured"
    from bot.notifications import deliver_pending

    result = deliver_pending()
    return (
        f"{result.sent} Slack messages sent, {result.skipped} skipped, "
        f"{result.retrying} to retry, {result.failed} given up"
    )


def register_jobs() -> None:
    """Add the rollout's jobs to the background worker's registry."""
    from datetime import timedelta

    from flask_babel import lazy_gettext as _l

    from ..worker.jobs import Job, register

    register(Job("rollout_reminders", timedelta(minutes=15), reminders_job, _l("Send reminders")))
    register(Job("slack_notifications", timedelta(minutes=1), slack_job, _l("Post Slack messages")))
