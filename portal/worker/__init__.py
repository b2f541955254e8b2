"""The background worker: MDM pushes, outgoing e-mail and periodic jobs, shared through the
database with leases (see `runner`, `jobs` and `schedule`)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .cli import worker

    app.cli.add_command(worker)
