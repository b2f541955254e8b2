"""Group pages for a rollout: assign a setting with its effect shown first, unassign or
delete with confirmation and a short undo, invite the whole group after a count."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from ..access import role_required
from ..directory import groups as directory_groups
from ..directory.groups import GroupError
from ..enrollment import settings as settings_service
from ..enrollment.settings import SettingError
from ..extensions import db
from ..htmx import render
from ..models import EnrollmentSetting, Group, Invitation, Role, User, group_membership, utcnow
from . import bp
from . import groups as service


def _actor():
    return current_user._get_current_object()


def _group(group_id: int) -> Group:
    return db.get_or_404(Group, group_id)


def _setting(setting_id) -> EnrollmentSetting:
    setting = db.session.get(EnrollmentSetting, setting_id) if setting_id else None
    if setting is None or setting.is_default:
        abort(400, _("Choose an enrollment setting to assign."))
    return setting


def assignable_settings(group: Group) -> list[EnrollmentSetting]:
    """Settings that may still be assigned to `group` (template global)."""
    assigned = {s.id for s in directory_groups.settings_of([group.id])[group.id]}
    return [s for s in settings_service.ranked_settings() if s.id not in assigned]


def _confirm(group, setting, moves, action: str, status: int = 200):
    return render(
        "rollout/group_confirm.html",
        status=status,
        group=group,
        setting=setting,
        moves=moves,
        action=action,
        form=FlaskForm(),
    )


@bp.get("/groups/<int:group_id>/assign")
@role_required(Role.ADMIN)
def confirm_assign(group_id: int):
    """What assigning a setting to the group would change, before it is made."""
    group = _group(group_id)
    setting = _setting(request.args.get("setting_id", type=int))
    moves = service.type_moves(group.id, assign=setting.id)
    return _confirm(group, setting, moves, "assign")


@bp.post("/groups/<int:group_id>/assign")
@role_required(Role.ADMIN)
def assign(group_id: int):
    """Assign a setting to the group (after the confirmation)."""
    group = _group(group_id)
    setting = _setting(request.form.get("setting_id", type=int))
    try:
        settings_service.assign_group(_actor(), setting.id, group.id)
    except SettingError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("admin.group_detail", group_id=group.id), 303)
    db.session.commit()
    flash(
        _("“%(setting)s” now applies to “%(group)s”.", setting=setting.name, group=group.name),
        "success",
    )
    return redirect(url_for("admin.group_detail", group_id=group.id), 303)


@bp.get("/groups/<int:group_id>/unassign/<int:setting_id>")
@role_required(Role.ADMIN)
def confirm_unassign(group_id: int, setting_id: int):
    group = _group(group_id)
    setting = db.get_or_404(EnrollmentSetting, setting_id)
    moves = service.type_moves(group.id, unassign=setting.id)
    return _confirm(group, setting, moves, "unassign")


@bp.post("/groups/<int:group_id>/unassign/<int:setting_id>")
@role_required(Role.ADMIN)
def unassign(group_id: int, setting_id: int):
    """Unassign a setting from the group; it can be undone for a few minutes."""
    group = _group(group_id)
    try:
        action = service.unassign(_actor(), setting_id, group.id)
    except SettingError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("admin.group_detail", group_id=group.id), 303)
    db.session.commit()
    return redirect(url_for(".undo_page", undo_id=action.id), 303)


@bp.post("/groups/<int:group_id>/delete")
@role_required(Role.ADMIN)
def delete_group(group_id: int):
    """Delete the group (after the confirmation page); it can be undone for a few minutes."""
    group = _group(group_id)
    try:
        action = service.delete(_actor(), group.id)
    except GroupError as error:
        db.session.rollback()
        abort(error.status, str(error))
    db.session.commit()
    return redirect(url_for(".undo_page", undo_id=action.id), 303)


@bp.get("/undo/<int:undo_id>")
@role_required(Role.ADMIN)
def undo_page(undo_id: int):
    """What was just done, and the button that puts it back while it still can."""
    try:
        action = service.get_undo(_actor(), undo_id)
    except service.UndoError:
        action = None
    setting = group = None
    if action is not None:
        payload = action.payload
        setting = db.session.get(EnrollmentSetting, payload.get("setting_id") or 0)
        group = db.session.get(Group, payload.get("group_id") or 0)
    return render(
        "rollout/undo.html",
        status=200 if action else 410,
        action=action,
        setting=setting,
        group=group,
        minutes_left=max(int((action.expires_at - utcnow()).total_seconds() // 60), 0)
        if action
        else 0,
        form=FlaskForm(),
    )


@bp.post("/undo/<int:undo_id>")
@role_required(Role.ADMIN)
def undo(undo_id: int):
    try:
        group = service.undo(_actor(), undo_id)
    except (service.UndoError, SettingError) as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for(".undo_page", undo_id=undo_id), 303)
    db.session.commit()
    flash(_("Undone."), "success")
    return redirect(url_for("admin.group_detail", group_id=group.id), 303)


@bp.get("/groups/<int:group_id>/invite")
@role_required(Role.ADMIN)
def confirm_invite(group_id: int):
    """How many members an invitation to the whole group would reach, before sending."""
    group = _group(group_id)
    now = utcnow()
    members = sa.select(group_membership.c.user_id).where(group_membership.c.group_id == group.id)
    live = sa.exists().where(
        Invitation.user_id == User.id,
        Invitation.used_at.is_(None),
        Invitation.revoked_at.is_(None),
        Invitation.expires_at > now,
    )
    invitable = sa.and_(User.active.is_(True), sa.func.coalesce(User.email, "") != "")
    kind = sa.case((~invitable, "cannot"), (live, "already"), else_="invite")
    counts = {"invite": 0, "already": 0, "cannot": 0}
    for key, n in db.session.execute(
        sa.select(kind, sa.func.count()).where(User.id.in_(members)).group_by(kind)
    ):
        counts[key] = int(n)
    return render("rollout/group_invite.html", group=group, counts=counts)
