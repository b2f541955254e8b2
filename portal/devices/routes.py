"""The employee's devices: list, detail, rename, actions and their results."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..access import role_required
from ..apps import licences
from ..configurations import deploy
from ..extensions import db
from ..htmx import render, wants_fragment
from ..models import DeclarativeStatus, Role
from . import bp, capabilities, service, views


@bp.errorhandler(service.DeviceError)
def _device_error(exc: service.DeviceError):
    db.session.rollback()
    return views.error(exc)


def _device(device_id: int):
    return service.own_device(current_user, device_id)


@bp.get("")
@role_required(Role.EMPLOYEE)
def index():
    return render("devices/list.html", devices=service.devices_of(current_user), **views.LABELS)


@bp.get("/<int:device_id>")
@role_required(Role.EMPLOYEE)
def detail(device_id: int):
    device = _device(device_id)
    return render(
        "devices/detail.html",
        device=device,
        actions=service.allowed_actions(device),
        capabilities=capabilities.capabilities(device.enrollment_type, device.platform),
        notes=capabilities.notes(device.enrollment_type, device.platform),
        ep=views.endpoints("devices"),
        work_apps=licences.held_for_device(device),
        device_configurations=deploy.device_rows(device),
        declarative_status=db.session.get(DeclarativeStatus, device.id),
        **views.commands_context(device),
        **views.LABELS,
    )


@bp.get("/<int:device_id>/name")
@role_required(Role.EMPLOYEE)
def name(device_id: int):
    device = _device(device_id)
    if not wants_fragment():
        return redirect(url_for("devices.detail", device_id=device.id))
    editing = request.args.get("edit") == "1"
    return render("devices/_name.html", "devices/_name.html", device=device, editing=editing)


@bp.post("/<int:device_id>/name")
@role_required(Role.EMPLOYEE)
def rename(device_id: int):
    device = _device(device_id)
    try:
        service.rename(device, request.form.get("name", ""), actor=current_user)
    except service.DeviceError as exc:
        db.session.rollback()
        if not wants_fragment():
            raise
        return render(
            "devices/_name.html",
            "devices/_name.html",
            status=422,
            device=device,
            editing=True,
            name_error=str(exc.message),
            value=request.form.get("name", ""),
        )
    db.session.commit()
    if wants_fragment():
        return render("devices/_name.html", "devices/_name.html", device=device, editing=False)
    flash(_("Device renamed."), "success")
    return redirect(url_for("devices.detail", device_id=device.id))


@bp.get("/<int:device_id>/actions/<action>")
@role_required(Role.EMPLOYEE)
def confirm_action(device_id: int, action: str):
    return views.confirm(_device(device_id), action, "devices")


@bp.post("/<int:device_id>/actions/<action>")
@role_required(Role.EMPLOYEE)
def perform_action(device_id: int, action: str):
    device = _device(device_id)
    command = service.perform_action(
        device, action, actor=current_user, settings=views.mdm_settings()
    )
    db.session.commit()
    return views.performed(device, command, "devices")


@bp.get("/<int:device_id>/commands")
@role_required(Role.EMPLOYEE)
def commands(device_id: int):
    return views.commands(_device(device_id), "devices")
