"""`flask --app wsgi worker run [--once]`, `worker jobs`, `worker run-job NAME`."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import AppGroup

from ..outbox.cli import make_worker
from . import jobs, schedule
from .runner import BackgroundWorker

worker = AppGroup("worker", help="The background worker (pushes, e-mail, periodic jobs).")


def make_background_worker(app) -> BackgroundWorker:
    return BackgroundWorker(
        app,
        make_worker(app.config),
        poll_seconds=float(app.config["WORKER_POLL_SECONDS"]),
        outbox_poll_seconds=float(app.config["OUTBOX_POLL_SECONDS"]),
    )


@worker.command("run")
@click.option("--once", is_flag=True, help="One pass (pushes, one e-mail batch, due jobs).")
def run_command(once: bool) -> None:
    """Do the portal's background work (until SIGTERM or Ctrl-C, or one pass with --once)."""
    from .. import logs

    logs.configure_cli(current_app.config)
    app = current_app._get_current_object()
    try:
        background = make_background_worker(app)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if once:
        try:
            background.tick(force=True)
        finally:
            background.outbox.transport.close()
        return
    background.install_signal_handlers()
    click.echo(f"worker {background.name} started", err=True)
    background.run()


@worker.command("jobs")
def jobs_command() -> None:
    """Each periodic job: last run, outcome and next run."""
    rows = schedule.rows()
    names = [job.name for job in jobs.registered()] + list(jobs.QUEUES)
    for name in names:
        row = rows.get(name)
        if row is None or row.last_finished_at is None:
            click.echo(f"{name:20} never run")
            continue
        click.echo(
            f"{name:20} {row.last_outcome:7} {row.last_finished_at:%Y-%m-%d %H:%M:%S} UTC  "
            f"{row.last_detail or ''}"
        )


@worker.command("run-job")
@click.argument("name", type=click.Choice(sorted(jobs.JOBS)))
def run_job_command(name: str) -> None:
    """Run one periodic job now (unless another worker is running it)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    job = jobs.JOBS[name]
    schedule.run_soon(name)
    from ..extensions import db

    db.session.commit()
    token = schedule.claim(name, "cli", lease=job.lease)
    if token is None:
        raise click.ClickException(f"{name} is running on another worker right now")
    app = current_app._get_current_object()
    ok = BackgroundWorker(app, None, name="cli").run_job(job, token)
    row = schedule.rows()[name]
    click.echo(f"{name}: {row.last_outcome}: {row.last_detail}")
    if not ok:
        raise SystemExit(1)
