"""Enrollment settings: list by priority, create, edit, delete, assign, reorder (admin).

Helpdesk sees the same pages read-only.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, StringField, TextAreaField

from ..access import role_required
from ..directory.groups import list_groups
from ..enrollment import settings as service
from ..enrollment.settings import SettingError
from ..extensions import db
from ..htmx import render, wants_fragment
from ..models import DeviceOwner, EnrollmentType, Role
from . import bp
from .form_errors import field_error, refuse

TYPE_LABELS = {
    EnrollmentType.USER: _l("User Enrollment"),
    EnrollmentType.DEVICE: _l("Device Enrollment"),
    EnrollmentType.MAM: _l("App management only"),
}
OWNER_LABELS = {
    DeviceOwner.EMPLOYEE: _l("Employee-owned"),
    DeviceOwner.COMPANY: _l("Company-owned"),
}


class SettingForm(FlaskForm):
    # The service checks every rule (names, choices, company-owned with User Enrollment);
    # its errors land on these fields.
    name = StringField(_l("Name"), render_kw={"maxlength": service.MAX_NAME, "required": True})
    description = TextAreaField(
        _l("Description (optional)"), render_kw={"maxlength": service.MAX_DESCRIPTION, "rows": 2}
    )
    enrollment_type = RadioField(
        _l("Apple enrollment type"),
        choices=[SelectChoice(t.value, TYPE_LABELS[t]) for t in service.SETTING_TYPES],
        validate_choice=False,
    )
    device_owner = RadioField(
        _l("Device owner"),
        choices=[SelectChoice(o.value, OWNER_LABELS[o]) for o in DeviceOwner],
        validate_choice=False,
    )


def _labels() -> dict:
    return {
        "type_label": lambda value: TYPE_LABELS.get(EnrollmentType(value), value),
        "owner_label": lambda value: OWNER_LABELS.get(DeviceOwner(value), value),
    }


def _can_edit() -> bool:
    return current_user.has_role(Role.ADMIN)


def _setting_or_404(setting_id: int):
    try:
        return service.get_setting(setting_id)
    except SettingError as error:
        refuse(error.status, error)


def _list_context(**state) -> dict:
    settings = service.list_settings()
    ranked = [s for s in settings if not s.is_default]
    ids = [s.id for s in ranked]
    moves = {}
    for i, setting in enumerate(ranked):
        up = down = None
        if i > 0:
            up = ids[: i - 1] + [ids[i], ids[i - 1]] + ids[i + 1 :]
        if i < len(ids) - 1:
            down = ids[:i] + [ids[i + 1], ids[i]] + ids[i + 2 :]
        moves[setting.id] = (
            ",".join(map(str, up)) if up else None,
            ",".join(map(str, down)) if down else None,
        )
    context = {
        "ranked": ranked,
        "default": next((s for s in settings if s.is_default), None),
        "moves": moves,
        "can_edit": _can_edit(),
        "list_message": None,
        "list_error": None,
        **_labels(),
    }
    context.update(state)
    return context


@bp.get("/settings")
@role_required(Role.HELPDESK)
def setting_list():
    """Every enrollment setting, highest priority first; the default last."""
    return render("admin/settings.html", "admin/_settings_list.html", **_list_context())


@bp.post("/settings/order")
@role_required(Role.ADMIN)
def reorder_settings():
    """Save a new priority order: the full list of setting ids, highest priority first."""
    try:
        service.reorder(current_user, service.parse_order(request.form.getlist("order")))
    except SettingError as error:
        db.session.rollback()
        return render(
            "admin/settings.html",
            "admin/_settings_list.html",
            status=error.status,
            **_list_context(list_error=error),
        )
    db.session.commit()
    message = _("Priority order saved.")
    if wants_fragment():
        return render(
            "admin/settings.html",
            "admin/_settings_list.html",
            **_list_context(list_message=message),
        )
    flash(message, "success")
    return redirect(url_for("admin.setting_list"))


def _form_page(form: SettingForm, setting=None, status: int = 200, **state):
    context = {
        "form": form,
        "setting": setting,
        "can_edit": _can_edit(),
        "groups_message": None,
        "groups_error": None,
        **_labels(),
    }
    if setting is not None:
        context["available_groups"] = _available_groups(setting)
    context.update(state)
    return render("admin/setting.html", status=status, **context)


def _available_groups(setting) -> list:
    assigned = {group.id for group in setting.groups}
    return [row.group for row in list_groups() if row.group.id not in assigned]


def _form_values(form: SettingForm) -> dict:
    return {
        "name": form.name.data,
        "description": form.description.data,
        "enrollment_type": form.enrollment_type.data,
        "device_owner": form.device_owner.data,
    }


@bp.route("/settings/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def create_setting():
    """A new setting; it starts at the bottom of the priority list, above the default."""
    form = SettingForm(data={"enrollment_type": "user", "device_owner": "employee"})
    if request.method == "GET":
        return _form_page(form)
    if not form.validate_on_submit():
        return _form_page(form, status=400)
    try:
        setting = service.create_setting(current_user, **_form_values(form))
    except SettingError as error:
        db.session.rollback()
        field_error(form, error)
        return _form_page(form, status=error.status)
    db.session.commit()
    flash(_("Setting “%(name)s” created. Assign it to groups below.", name=setting.name), "success")
    return redirect(url_for("admin.setting_detail", setting_id=setting.id))


@bp.get("/settings/<int:setting_id>")
@role_required(Role.HELPDESK)
def setting_detail(setting_id: int):
    """One setting: its values (a form for admins) and its groups."""
    setting = _setting_or_404(setting_id)
    form = SettingForm(
        formdata=None,
        data={
            "name": setting.name,
            "description": setting.description,
            "enrollment_type": EnrollmentType(setting.enrollment_type).value,
            "device_owner": DeviceOwner(setting.device_owner).value,
        },
    )
    return _form_page(form, setting)


@bp.post("/settings/<int:setting_id>")
@role_required(Role.ADMIN)
def update_setting(setting_id: int):
    """Save a setting's name, description, enrollment type and device owner."""
    setting = _setting_or_404(setting_id)
    form = SettingForm()
    if not form.validate_on_submit():
        return _form_page(form, setting, status=400)
    try:
        service.update_setting(current_user, setting.id, **_form_values(form))
    except SettingError as error:
        db.session.rollback()
        field_error(form, error)
        return _form_page(form, service.get_setting(setting_id), status=error.status)
    db.session.commit()
    flash(_("Setting saved."), "success")
    return redirect(url_for("admin.setting_detail", setting_id=setting.id))


@bp.get("/settings/<int:setting_id>/delete")
@role_required(Role.ADMIN)
def confirm_delete_setting(setting_id: int):
    """Ask before deleting a setting; the default setting cannot be deleted."""
    setting = _setting_or_404(setting_id)
    if setting.is_default:
        refuse(409, service.DefaultSettingProtected())
    return render("admin/setting_delete.html", setting=setting, form=FlaskForm())


@bp.post("/settings/<int:setting_id>/delete")
@role_required(Role.ADMIN)
def delete_setting(setting_id: int):
    """Delete a setting and its group assignments."""
    setting = _setting_or_404(setting_id)
    name = setting.name
    try:
        service.delete_setting(current_user, setting.id)
    except SettingError as error:
        db.session.rollback()
        refuse(error.status, error)
    db.session.commit()
    flash(_("Setting “%(name)s” deleted.", name=name), "info")
    return redirect(url_for("admin.setting_list"))


def _groups_response(setting_id: int, status: int = 200, **state):
    """The assigned-groups region for htmx; the whole setting page otherwise."""
    setting = service.get_setting(setting_id)
    context = {
        "setting": setting,
        "can_edit": _can_edit(),
        "available_groups": _available_groups(setting),
        "groups_message": None,
        "groups_error": None,
    }
    context.update(state)
    if wants_fragment():
        return render("admin/_setting_groups.html", status=status, **context)
    if status >= 400:
        form = SettingForm(formdata=None, obj=setting)
        return _form_page(form, setting, status=status, **state)
    if state.get("groups_message"):
        flash(state["groups_message"], "success")
    return redirect(url_for("admin.setting_detail", setting_id=setting.id))


@bp.post("/settings/<int:setting_id>/groups")
@role_required(Role.ADMIN)
def assign_setting(setting_id: int):
    """Assign the setting to a group."""
    setting = _setting_or_404(setting_id)
    try:
        group = service.assign_group(
            current_user, setting.id, request.form.get("group_id", type=int)
        )
    except SettingError as error:
        db.session.rollback()
        return _groups_response(setting_id, error.status, groups_error=error)
    db.session.commit()
    message = _("Assigned to “%(name)s”.", name=group.name)
    return _groups_response(setting_id, groups_message=message)


@bp.post("/settings/<int:setting_id>/groups/<int:group_id>/remove")
@role_required(Role.ADMIN)
def unassign_setting(setting_id: int, group_id: int):
    """Stop applying the setting to a group."""
    setting = _setting_or_404(setting_id)
    try:
        group = service.unassign_group(current_user, setting.id, group_id)
    except SettingError as error:
        db.session.rollback()
        return _groups_response(setting_id, error.status, groups_error=error)
    db.session.commit()
    message = _("No longer assigned to “%(name)s”.", name=group.name)
    return _groups_response(setting_id, groups_message=message)
