"""The durable e-mail outbox: service, SMTP delivery, worker, CLI and admin page."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .cli import outbox
    from .routes import bp

    app.register_blueprint(bp)
    app.cli.add_command(outbox)
