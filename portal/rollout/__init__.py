"""Running a rollout (SPEC §6, §7): the funnel dashboard, stuck people and bulk resends,
reminders, Slack at the moments that matter, group assignment with undo, CSV exports."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("rollout", __name__, url_prefix="/admin/rollout")


def init_app(app: Flask) -> None:
    from . import cli, exports, notify, routes  # noqa: F401  (importing registers the views)

    notify.install()
    app.register_blueprint(bp)
    app.cli.add_command(cli.rollout_cli)
