"""Running a rollout (SPEC §6, §7): the funnel dashboard, stuck people and bulk resends,
reminders, Slack at the moments that matter, group assignment with undo, CSV exports."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("rollout", __name__, url_prefix="/admin/rollout")


def init_app(app: Flask) -> None:
    from . import cli, exports, group_routes, notify, reminders, routes  # noqa: F401 (views)

    notify.install()
    cli.register_jobs()
    app.register_blueprint(bp)
    app.add_template_global(group_routes.assignable_settings)
    app.add_template_global(reminders.history, "reminder_history")
    app.add_template_global(group_routes.service.type_moves, "group_type_moves")
    app.cli.add_command(cli.rollout_cli)
