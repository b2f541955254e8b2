"""Devices for helpdesk and admins: list with filters, details, logs, actions.

Helpdesk reads everything here (devices, commands, logs); only admins act on a device,
under the same Apple rules as the employee (asked of `portal.devices.service`).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..access import role_required
from ..apps import routes as apps_routes
from ..configurations import deploy
from ..devices import capabilities, configurations, logs, service, views
from ..directory.service import name_or_email_contains
from ..errors import render_error
from ..extensions import db
from ..htmx import render
from ..models import DeclarativeStatus, Device, DeviceStatus, EnrollmentType, Platform, Role, User
from . import bp

PAGE_SIZE = 50
MAX_QUERY = 200


def _device_error(exc: service.DeviceError):
    db.session.rollback()
    return views.error(exc)


bp.register_error_handler(service.DeviceError, _device_error)


def _choice(value: str | None, enum) -> str:
    return value if value in {member.value for member in enum} else ""


def _device_query(q: str, platform: str, kind: str, status: str) -> sa.Select:
    stmt = sa.select(Device)
    if q:
        # Every device has its owner (user_id is required): the join only serves the search.
        stmt = stmt.join(User, Device.user_id == User.id).where(name_or_email_contains(q))
    if platform:
        stmt = stmt.where(Device.platform == platform)
    if kind:
        stmt = stmt.where(Device.enrollment_type == kind)
    if status:
        stmt = stmt.where(Device.status == status)
    return stmt.order_by(Device.id.desc())


@bp.get("/devices")
@role_required(Role.HELPDESK)
def devices():
    """Every device, filtered by user, platform, enrollment type and status; htmx rows."""
    filters = {
        "q": (request.args.get("q") or "").strip()[:MAX_QUERY],
        "platform": _choice(request.args.get("platform"), Platform),
        "kind": _choice(request.args.get("kind"), EnrollmentType),
        "status": _choice(request.args.get("status"), DeviceStatus),
    }
    number = max(request.args.get("page", 1, type=int) or 1, 1)
    pagination = db.paginate(
        _device_query(**filters), page=number, per_page=PAGE_SIZE, error_out=False
    )
    return render(
        "admin/device_list.html",
        "admin/_device_rows.html",
        pagination=pagination,
        filters=filters,
        args={k: v for k, v in filters.items() if v},
        **views.LABELS,
    )


def _device(device_id: int) -> Device:
    return db.get_or_404(Device, device_id)


def _logs_context(device: Device) -> tuple[dict, int]:
    log_filter, errors = logs.parse(request.args)
    number = max(request.args.get("page", 1, type=int) or 1, 1)
    actions, statuses = logs.choices(device)
    context = {
        "log_filter": log_filter,
        "log_errors": errors,
        "log_page": logs.page(device, log_filter, number),
        "log_actions": actions,
        "log_statuses": statuses,
    }
    return context, 422 if errors else 200


def _configurations_context(device: Device) -> dict:
    """What the device page's "Configurations" section shows."""
    presets = configurations.PASSCODE_PRESETS
    last = configurations.last_sent(device, configurations.PASSCODE)
    last_preset = presets.get((last.details or {}).get("preset", "")) if last else None
    return {
        "may_configure": current_user.has_role(Role.ADMIN),
        "passcode": configurations.passcode_availability(device),
        "passcode_presets": list(presets.values()),
        "passcode_last": last,
        "passcode_last_preset": last_preset,
        # The form starts on what the device last got, else on the first preset.
        "passcode_selected": last_preset.key if last_preset else next(iter(presets)),
        "device_configurations": deploy.device_rows(device),
        "declarative_status": db.session.get(DeclarativeStatus, device.id),
    }


@bp.get("/devices/<int:device_id>")
@role_required(Role.HELPDESK)
def device_detail(device_id: int):
    device = _device(device_id)
    log_context, _status = _logs_context(device)
    return render(
        "admin/device_detail.html",
        device=device,
        actions=service.allowed_actions(device),
        may_act=service.can_act(current_user, device),
        capabilities=capabilities.capabilities(device.enrollment_type, device.platform),
        ep=views.endpoints("admin"),
        **apps_routes.install_context(current_user, device),
        **_configurations_context(device),
        **log_context,
        **views.commands_context(device),
        **views.LABELS,
    )


@bp.get("/devices/<int:device_id>/logs")
@role_required(Role.HELPDESK)
def device_logs(device_id: int):
    device = _device(device_id)
    log_context, status = _logs_context(device)
    return render(
        "admin/device_logs.html",
        "admin/_device_logs.html",
        status=status,
        device=device,
        **log_context,
        **views.LABELS,
    )


@bp.get("/devices/<int:device_id>/logs/<int:entry_id>")
@role_required(Role.HELPDESK)
def device_log_entry(device_id: int, entry_id: int):
    device = _device(device_id)
    entry = logs.entry_of(device, entry_id)
    if entry is None:
        abort(404)
    return render(
        "admin/device_log_entry.html", "admin/_device_log_entry.html", device=device, entry=entry
    )


@bp.get("/devices/<int:device_id>/commands")
@role_required(Role.HELPDESK)
def device_commands(device_id: int):
    return views.commands(_device(device_id), "admin")


@bp.get("/devices/<int:device_id>/actions/<action>")
@role_required(Role.ADMIN)
def device_confirm_action(device_id: int, action: str):
    return views.confirm(_device(device_id), action, "admin")


@bp.post("/devices/<int:device_id>/actions/<action>")
@role_required(Role.ADMIN)
def device_perform_action(device_id: int, action: str):
    device = _device(device_id)
    command = service.perform_action(
        device, action, actor=current_user, settings=views.mdm_settings()
    )
    db.session.commit()
    return views.performed(device, command, "admin")


@bp.post("/devices/<int:device_id>/configurations/passcode")
@role_required(Role.ADMIN)
def device_apply_passcode(device_id: int):
    """Send the chosen passcode policy preset to the device (a signed InstallProfile)."""
    device = _device(device_id)
    preset = request.form.get("preset", "")
    try:
        configurations.send_configuration(
            device,
            configurations.PASSCODE,
            actor=current_user,
            settings=views.mdm_settings(),
            preset=preset,
        )
    except configurations.UnsupportedConfiguration:
        db.session.commit()  # the refusal stays in the device's log and the audit
        return render_error(409, str(configurations.MACOS_USER_ENROLLMENT_PASSCODE))
    db.session.commit()
    flash(
        _(
            "Passcode policy “%(preset)s” sent to the device; it applies once the device "
            "installs it.",
            preset=configurations.PASSCODE_PRESETS[preset].label,
        ),
        "success",
    )
    return redirect(url_for("admin.device_detail", device_id=device.id) + "#configurations", 303)
