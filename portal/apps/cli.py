"""`flask apps sync`: take licence counts from Apple's Apps and Books service (for cron)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from ..extensions import db
from . import service, sync
from .client import AppsAndBooksError

apps_cli = AppGroup("apps", help="The Apps & Books catalogue and licences.")


@apps_cli.command("sync")
def sync_command():
    """Release at Apple what the portal freed, then take the counts from Apple."""
    client = service.apple_client(current_app.config)
    if client is None:
        raise click.ClickException(
            "No Apps and Books location token is set (upload it on the Apple setup page)."
        )
    try:
        result = sync.sync(None, client)
    except AppsAndBooksError as exc:
        db.session.rollback()
        raise click.ClickException(f"Apple's Apps and Books service: {exc}") from exc
    db.session.commit()
    click.echo(
        f"{len(result.added)} apps added, {len(result.updated)} updated, "
        f"{result.released_at_apple} licences released at Apple"
    )
