"""Static groups: list, create, rename, delete and members (admin; read-only for helpdesk)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from ..access import role_required
from ..directory import groups as service
from ..directory.groups import GroupError
from ..extensions import db
from ..htmx import render, wants_fragment
from ..models import Role
from . import bp
from .form_errors import field_error, refuse


class GroupForm(FlaskForm):
    # Emptiness, length and uniqueness are the service's rules; its errors land on the fields.
    name = StringField(_l("Name"), render_kw={"maxlength": service.MAX_NAME, "required": True})
    description = TextAreaField(
        _l("Description (optional)"), render_kw={"maxlength": service.MAX_DESCRIPTION, "rows": 2}
    )


def _can_edit() -> bool:
    return current_user.has_role(Role.ADMIN)


def _group_or_404(group_id: int):
    try:
        return service.get_group(group_id)
    except GroupError as error:
        refuse(error.status, error)


def _list_page(form: GroupForm, status: int = 200):
    return render(
        "admin/groups.html",
        status=status,
        rows=service.list_groups(),
        form=form,
        can_edit=_can_edit(),
    )


@bp.get("/groups")
@role_required(Role.HELPDESK)
def group_list():
    """Every static group with its member count and the settings assigned to it."""
    return _list_page(GroupForm(formdata=None))


@bp.post("/groups")
@role_required(Role.ADMIN)
def create_group():
    """Create a group, then open it to add members."""
    form = GroupForm()
    if not form.validate_on_submit():
        return _list_page(form, 400)
    try:
        group = service.create_group(current_user, form.name.data, form.description.data)
    except GroupError as error:
        db.session.rollback()
        field_error(form, error)
        return _list_page(form, error.status)
    db.session.commit()
    flash(_("Group “%(name)s” created. Add its members below.", name=group.name), "success")
    return redirect(url_for("admin.group_detail", group_id=group.id))


def _members_context(group, **state) -> dict:
    context = {
        "group": group,
        "can_edit": _can_edit(),
        "candidates": [],
        "query": "",
        "member_email": "",
        "member_error": None,
        "member_message": None,
    }
    context.update(state)
    return context


def _detail_page(group, form: GroupForm | None = None, status: int = 200, **state):
    if form is None:
        form = GroupForm(formdata=None, obj=group)
    return render(
        "admin/group.html",
        status=status,
        form=form,
        settings=service.settings_of([group.id])[group.id],
        **_members_context(group, **state),
    )


@bp.get("/groups/<int:group_id>")
@role_required(Role.HELPDESK)
def group_detail(group_id: int):
    """A group: its name, its settings and its members."""
    return _detail_page(_group_or_404(group_id))


@bp.post("/groups/<int:group_id>/rename")
@role_required(Role.ADMIN)
def rename_group(group_id: int):
    """Change a group's name and description."""
    group = _group_or_404(group_id)
    form = GroupForm()
    if not form.validate_on_submit():
        return _detail_page(group, form, 400)
    try:
        service.rename_group(current_user, group.id, form.name.data, form.description.data)
    except GroupError as error:
        db.session.rollback()
        field_error(form, error)
        return _detail_page(service.get_group(group_id), form, error.status)
    db.session.commit()
    flash(_("Group saved."), "success")
    return redirect(url_for("admin.group_detail", group_id=group.id))


@bp.get("/groups/<int:group_id>/delete")
@role_required(Role.ADMIN)
def confirm_delete_group(group_id: int):
    """Ask before deleting a group, saying what goes with it."""
    group = _group_or_404(group_id)
    return render(
        "admin/group_delete.html",
        group=group,
        settings=service.settings_of([group.id])[group.id],
        form=FlaskForm(),
    )


@bp.post("/groups/<int:group_id>/delete")
@role_required(Role.ADMIN)
def delete_group(group_id: int):
    """Delete a group with its memberships and assignments; the people stay."""
    group = _group_or_404(group_id)
    name = group.name
    try:
        service.delete_group(current_user, group.id)
    except GroupError as error:
        db.session.rollback()
        refuse(error.status, error)
    db.session.commit()
    flash(_("Group “%(name)s” deleted. Its members still have their accounts.", name=name), "info")
    return redirect(url_for("admin.group_list"))


def _members_response(group, status: int = 200, **state):
    """The members region for htmx; the whole group page otherwise."""
    if wants_fragment():
        return render(
            "admin/_group_members.html", status=status, **_members_context(group, **state)
        )
    if status >= 400:
        return _detail_page(group, status=status, **state)
    if state.get("member_message"):
        flash(state["member_message"], "success")
    return redirect(url_for("admin.group_detail", group_id=group.id))


@bp.post("/groups/<int:group_id>/members")
@role_required(Role.ADMIN)
def add_member(group_id: int):
    """Add a person by exact e-mail (typed, or picked from the suggestions)."""
    group = _group_or_404(group_id)
    email = (request.form.get("email") or "").strip()[:320]
    try:
        user = service.add_member(current_user, group.id, email)
    except GroupError as error:
        db.session.rollback()
        return _members_response(
            service.get_group(group_id), error.status, member_email=email, member_error=error
        )
    db.session.commit()
    message = _("%(name)s added to the group.", name=user.display_name)
    return _members_response(group, member_message=message)


@bp.post("/groups/<int:group_id>/members/<int:user_id>/remove")
@role_required(Role.ADMIN)
def remove_member(group_id: int, user_id: int):
    """Take a person out of a group (their account stays)."""
    group = _group_or_404(group_id)
    try:
        user = service.remove_member(current_user, group.id, user_id)
    except GroupError as error:
        db.session.rollback()
        return _members_response(service.get_group(group_id), error.status, member_error=error)
    db.session.commit()
    message = _("%(name)s removed from the group.", name=user.display_name)
    return _members_response(group, member_message=message)


@bp.get("/groups/<int:group_id>/candidates")
@role_required(Role.ADMIN)
def member_candidates(group_id: int):
    """Suggestions for the add-member field: people outside the group matching the text."""
    group = _group_or_404(group_id)
    query = (request.args.get("email") or "").strip()[:320]
    return render(
        "admin/group.html",
        "admin/_member_suggestions.html",
        **{
            **_members_context(group),
            "candidates": service.member_candidates(group.id, query),
            "query": query,
        },
        form=GroupForm(formdata=None, obj=group),
        settings=service.settings_of([group.id])[group.id],
    )
