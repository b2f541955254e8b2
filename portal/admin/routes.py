import sqlalchemy as sa
from flask import request

from .. import audit_words
from ..access import role_required
from ..extensions import db
from ..htmx import render
from ..models import AuditEvent, Role
from . import bp

PAGE_SIZE = 50


def audit_query(action: str = "") -> sa.Select:
    """The audit log's events, newest first, optionally by action prefix (page and CSV)."""
    query = sa.select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    if action:
        query = query.where(AuditEvent.action.startswith(action))
    return query


@bp.get("/audit")
@role_required(Role.ADMIN)
def audit_log():
    """Every admin, helpdesk, Slack and system action, newest first, paged."""
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    action = (request.args.get("action") or "").strip()
    query = audit_query(action)
    pagination = db.paginate(query, page=page, per_page=PAGE_SIZE, error_out=False)
    return render(
        "admin/audit.html",
        "admin/_audit_rows.html",
        pagination=pagination,
        action=action,
        actions=audit_words.action_choices(),
        targets=audit_words.targets(list(pagination.items)),
        action_label=audit_words.action_label,
        channel_labels=audit_words.CHANNEL_LABELS,
    )
