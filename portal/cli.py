"""Command-line commands: `flask --app wsgi demo seed`, …"""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from . import demo as demo_data
from .directory import cli as directory_cli
from .enrollment import cli as enrollment_cli
from .mdm import cli as mdm_cli

demo = AppGroup("demo", help="Demo data.")


@demo.command("seed")
def seed_command() -> None:
    """Create the demo organization and accounts (idempotent; refused in production)."""
    try:
        created = demo_data.seed(current_app.config["PORTAL_ENV"])
    except demo_data.RefusedInProduction as exc:
        raise click.ClickException(str(exc)) from exc
    if created:
        click.echo("Created: " + ", ".join(created))
    else:
        click.echo("Demo data already present; nothing changed.")
    click.echo(f"Demo accounts use the password {demo_data.PASSWORD!r}.")


def init_app(app: Flask) -> None:
    app.cli.add_command(demo)
    app.cli.add_command(enrollment_cli.enrollment)
    app.cli.add_command(mdm_cli.mdm)
    directory_cli.register(app)

    @app.shell_context_processor
    def _shell():
        from . import models
        from .extensions import db

        return {"db": db, "models": models}
