"""The Slack assistant (SPEC §7): slack-bolt inside the portal's Flask app.

`init_app` mounts `POST /slack/events` (events, slash commands and interactivity, verified by
Slack's signature) when `SLACK_BOT_TOKEN` and `SLACK_SIGNING_SECRET` are set, and adds the
`flask bot socket` command (Socket Mode) either way.
"""

from __future__ import annotations

from flask import Flask


def create_bolt_app(flask_app: Flask, *, client=None):
    """The Bolt `App` for `flask_app` (see `bot.app.create_bolt_app`)."""
    from .app import create_bolt_app as create

    return create(flask_app, client=client)


def configured(flask_app: Flask) -> bool:
    return bool(
        flask_app.config.get("SLACK_BOT_TOKEN") and flask_app.config.get("SLACK_SIGNING_SECRET")
    )


def init_app(flask_app: Flask) -> None:
    from . import cli

    flask_app.cli.add_command(cli.bot)
    if not configured(flask_app):
        return  # no token and secret: no /slack/events at all (404)

    from slack_bolt.adapter.flask import SlackRequestHandler

    from portal.access import external
    from portal.extensions import csrf

    from .verification import check

    handler = SlackRequestHandler(create_bolt_app(flask_app))
    secret = flask_app.config["SLACK_SIGNING_SECRET"]

    @external
    def slack_events():
        """Slack's events, slash commands and button clicks, signed by Slack (401 else);
        a signed body Bolt cannot read is a 400."""
        import time

        from flask import request

        from portal import metrics

        started = time.perf_counter()
        try:
            return check(request, secret) or handler.handle(request)
        finally:
            metrics.SLACK_ACK.observe(time.perf_counter() - started)

    csrf.exempt(slack_events)
    flask_app.add_url_rule("/slack/events", "slack_events", slack_events, methods=["POST"])
