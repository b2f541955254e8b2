"""Command-line commands: `flask --app wsgi demo seed`, …"""

from __future__ import annotations

import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from . import demo as demo_data
from .directory import cli as directory_cli
from .enrollment import cli as enrollment_cli
from .mdm import cli as mdm_cli

demo = AppGroup("demo", help="Demo data.")


@demo.command("seed")
@click.option(
    "--large",
    is_flag=True,
    help="Also add a large organization for measuring at scale: 20,000 people, 15,000 "
    "devices, 1,000,000 device-log entries, 30,000 invitations.",
)
@click.option(
    "--scale",
    type=click.FloatRange(0, 1, min_open=True),
    default=1.0,
    show_default=True,
    help="With --large: a fraction of that size (e.g. 0.1 on SQLite).",
)
def seed_command(large: bool, scale: float) -> None:
    """Create the demo organization and accounts (idempotent; refused in production)."""
    try:
        created = demo_data.seed(current_app.config["PORTAL_ENV"])
    except demo_data.RefusedInProduction as exc:
        raise click.ClickException(str(exc)) from exc
    if created:
        click.echo("Created: " + ", ".join(created))
    else:
        click.echo("Demo data already present; nothing changed.")
    if large:
        from . import demo_large

        click.echo("Adding the large demo set…")
        started = time.monotonic()
        counts = demo_large.seed_large(scale=scale, echo=click.echo)
        if counts:
            click.echo(f"Large demo set added in {time.monotonic() - started:.0f} s.")
        else:
            click.echo("Large demo set already present; nothing changed.")
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
