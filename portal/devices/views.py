"""Helpers shared by the employee's and the admin's device pages (thin view glue)."""

from __future__ import annotations

from flask import current_app, redirect, url_for
from flask_babel import lazy_gettext as _l

from ..admin.users import METHOD_LABELS, PLATFORM_LABELS, STATUS_LABELS, TYPE_LABELS
from ..enrollment.profile_service import MDMSettings
from ..errors import render_error
from ..htmx import render, wants_fragment
from ..models import Device
from . import capabilities, service

LABELS = {
    "type_labels": TYPE_LABELS,
    "method_labels": METHOD_LABELS,
    "platform_labels": PLATFORM_LABELS,
    "status_labels": STATUS_LABELS,
    "action_labels": capabilities.ACTION_LABELS,
}


def endpoints(scope: str) -> dict[str, str]:
    """Endpoint names of the action fragments, for the employee's or the admin's pages."""
    if scope == "admin":
        return {
            "confirm": "admin.device_confirm_action",
            "perform": "admin.device_perform_action",
            "commands": "admin.device_commands",
            "detail": "admin.device_detail",
        }
    return {
        "confirm": "devices.confirm_action",
        "perform": "devices.perform_action",
        "commands": "devices.commands",
        "detail": "devices.detail",
    }


# What each MDM command does, in the words of the person who asked (never its Apple name).
COMMAND_LABELS = {
    **{
        request_type: capabilities.ACTION_LABELS[action]
        for action, request_type in capabilities.REQUEST_TYPES.items()
    },
    "InstallProfile": _l("Install a configuration"),
    "InstallApplication": _l("Install a work app"),
    "RemoveApplication": _l("Remove a work app"),
    "DeviceInformation": _l("Read the device's details"),
    "DeviceName": _l("Read the device's details"),
}


def command_label(request_type: str) -> str:
    label = COMMAND_LABELS.get(request_type)
    return str(label) if label is not None else str(_l("Device request"))


def commands_context(device: Device) -> dict:
    recent = service.recent_commands(device)
    return {
        "recent_commands": recent,
        "pending": service.has_pending(recent),
        "command_label": command_label,
    }


def mdm_settings() -> MDMSettings:
    return MDMSettings.from_config(current_app.config)


def error(exc: service.DeviceError):
    return render_error(exc.status, str(exc.message))


def commands(device: Device, scope: str):
    return render(
        "devices/_commands.html",
        "devices/_commands.html",
        device=device,
        ep=endpoints(scope),
        **commands_context(device),
    )


def confirm(device: Device, action: str, scope: str):
    choice = service.availability(device, action)
    if not choice.allowed:
        raise service.ActionRefused(choice.reason_code, choice.reason_text)
    return render(
        "devices/confirm.html",
        "devices/_confirm.html",
        device=device,
        choice=choice,
        ep=endpoints(scope),
        **LABELS,
    )


def performed(device: Device, command, scope: str):
    """After queueing: the commands fragment for htmx, else back to the device page."""
    if wants_fragment():
        return render(
            "devices/_commands.html",
            "devices/_performed.html",
            device=device,
            ep=endpoints(scope),
            command=command,
            **commands_context(device),
        )
    return redirect(url_for(endpoints(scope)["detail"], device_id=device.id))
