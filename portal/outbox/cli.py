"""`flask --app wsgi outbox run [--once]` and `outbox status`."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import AppGroup

from ..extensions import db
from . import service
from .service import OutboxSettings
from .smtp import transport_from_config
from .worker import Worker

outbox = AppGroup("outbox", help="The e-mail outbox.")


def make_worker(config, *, batch_size: int | None = None) -> Worker:
    from ..invitations.email import sender_address
    from ..invitations.service import InvitationSettings

    service.use_worker_connections(db.engine)
    settings = OutboxSettings.from_config(config)
    if batch_size:
        settings = OutboxSettings(**{**settings.__dict__, "batch_size": batch_size})
    default_sender = sender_address(InvitationSettings.from_config(config), None)
    # Connecting, then sending: each bounded by the SMTP timeout.
    send_time = 2 * float(config.get("SMTP_TIMEOUT", 30)) + 5
    return Worker(
        transport_from_config(config),
        settings,
        default_sender=default_sender,
        send_time=send_time,
    )


@outbox.command("run")
@click.option("--once", is_flag=True, help="Send one batch and exit.")
@click.option("--batch-size", type=click.IntRange(1, 1000), help="Messages claimed at a time.")
def run_command(once: bool, batch_size: int | None) -> None:
    """Deliver queued e-mail (until SIGTERM or Ctrl-C, or one batch with --once)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        worker = make_worker(current_app.config, batch_size=batch_size)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if once:
        try:
            result = worker.run_once()
        finally:
            worker.transport.close()
    else:
        worker.install_signal_handlers()
        click.echo(f"outbox worker {worker.name} started", err=True)
        result = worker.run(poll_seconds=float(current_app.config["OUTBOX_POLL_SECONDS"]))
    click.echo(f"sent {result.sent}, retrying {result.retrying}, given up {result.dead}")


@outbox.command("status")
def status_command() -> None:
    """How many messages are pending, sent, dead or cancelled."""
    for status, count in service.counts().items():
        click.echo(f"{status:10} {count}")
