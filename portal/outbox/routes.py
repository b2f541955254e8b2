"""The outbox admin page: what is waiting, retrying or given up on; "Retry now"."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, url_for
from flask_login import current_user

from ..access import role_required
from ..extensions import db
from ..htmx import render, wants_fragment
from ..models import OutboxMessage, Role, utcnow
from . import service

bp = Blueprint("outbox", __name__, url_prefix="/admin/outbox")


@bp.get("")
@role_required(Role.ADMIN)
def index():
    """Pending, retrying and dead messages with their attempts and last error."""
    from ..main import health

    messages = service.problems()
    worker = health.worker_state(health.facts(), utcnow())
    return render(
        "outbox/admin.html",
        "outbox/_rows.html",
        messages=messages,
        worker_stopped=not worker["ok"],
        refusals=_refusals(messages),
        counts=service.counts(),
        max_attempts=current_app.config["OUTBOX_MAX_ATTEMPTS"],
    )


def _refusals(messages: list[OutboxMessage], refused: dict | None = None) -> dict[int, dict]:
    """Why listed messages will not be sent, and whose page to send a new invitation from."""
    from ..invitations.delivery import for_message

    reasons = {**service.refusals([(m.id, m.kind) for m in messages]), **(refused or {})}
    result = {}
    for message_id, reason in reasons.items():
        invitation = for_message(message_id)
        result[message_id] = {
            "reason": str(reason),
            "user_id": invitation.user_id if invitation is not None else None,
        }
    return result


@bp.post("/<int:message_id>/retry")
@role_required(Role.ADMIN)
def retry(message_id: int):
    """Make a waiting or given-up message due now; refused (409) if it must not go out."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    try:
        service.retry_now(message, actor=current_user._get_current_object(), channel="web")
    except service.NotSendable as error:
        db.session.rollback()
        return _refused(message, error)
    except service.OutboxError:
        db.session.rollback()
        abort(409)
    db.session.commit()
    if wants_fragment():
        return render("outbox/_row.html", message=message, retried=True)
    return redirect(url_for(".index"))


def _refused(message: OutboxMessage, error: service.NotSendable):
    """409: the row (or the page) saying why the message is not sent again, and what to do."""
    messages = service.problems()
    return render(
        "outbox/admin.html",
        "outbox/_row.html",
        status=error.status,
        message=message,
        messages=messages,
        refusals=_refusals(messages, {message.id: error}),
        refused_now=message.id,
        counts=service.counts(),
        max_attempts=current_app.config["OUTBOX_MAX_ATTEMPTS"],
    )
