"""`flask --app wsgi mdm refresh-facts`: ask every enrolled device for its facts again."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..extensions import db
from ..models import utcnow
from . import facts

mdm = AppGroup("mdm", help="Apple device management.")


@mdm.command("refresh-facts")
def refresh_facts_command() -> None:
    """Queue DeviceInformation, ProfileList and InstalledApplicationList for every enrolled
    device not asked in the last day (run it daily; devices answer when they next connect)."""
    count = facts.queue_device_facts(utcnow())
    db.session.commit()
    click.echo(f"Asked {count} device(s) for their facts.")
