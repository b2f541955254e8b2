"""`flask configurations sync`: bring every enrolled device in line with its assignments."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from ..devices.configurations import ConfigurationUnavailable
from ..enrollment import profile_service
from ..extensions import db
from . import deploy

configurations_cli = AppGroup("configurations", help="Configurations assigned to groups.")


@configurations_cli.command("sync")
def sync_command():
    """Queue what each enrolled device lacks or should lose (after directory changes)."""
    try:
        count = deploy.sync_all(
            settings=profile_service.MDMSettings.from_config(current_app.config),
            secret_key=current_app.config["SECRET_KEY"],
            channel="cli",
        )
    except ConfigurationUnavailable as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"{count} commands queued")
