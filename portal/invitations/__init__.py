"""Invitations: tokens, the invitation e-mail, the /go link, admin invite and resend."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("invitations", __name__)


def init_app(app: Flask) -> None:
    from ..outbox import service as outbox
    from . import logs, routes, service  # importing routes registers the views on bp
    from .delivery import delivery_changed, delivery_sent, unsendable
    from .email import KIND

    outbox.on_status_change(KIND, delivery_changed)
    outbox.on_sent(KIND, delivery_sent)
    outbox.on_send_check(KIND, unsendable)
    logs.install()
    app.register_blueprint(bp)
    app.add_template_global(routes.invitation_info)
    app.add_template_global(routes.sender_label)
    app.add_template_global(service.state_of, "invitation_state")
