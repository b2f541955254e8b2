"""`flask --app wsgi bot socket`: the same assistant over Socket Mode (no public URL)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

bot = AppGroup("bot", help="The Slack assistant.")


@bot.command("socket")
def socket_command() -> None:
    """Connect to Slack in Socket Mode and serve until interrupted."""
    config = current_app.config
    if not config.get("SLACK_APP_TOKEN"):
        raise click.ClickException(
            "SLACK_APP_TOKEN is not set. Socket Mode needs an app-level token (xapp-…) with the "
            "connections:write scope: Slack app settings › Basic Information › App-Level Tokens."
        )
    if not config.get("SLACK_BOT_TOKEN"):
        raise click.ClickException(
            "SLACK_BOT_TOKEN is not set: install the app to the workspace and copy its Bot User "
            "OAuth Token (xoxb-…) from OAuth & Permissions."
        )
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from . import create_bolt_app

    state = current_app.extensions.get("slack")
    bolt = state.bolt if state is not None else create_bolt_app(current_app._get_current_object())
    click.echo("Slack assistant connecting in Socket Mode (Ctrl-C to stop)", err=True)
    SocketModeHandler(bolt, config["SLACK_APP_TOKEN"]).start()
