"""A device's answers to the commands that carried its configurations: each moves to
installed, removed or failed (with Apple's error in words). Callers commit."""

from __future__ import annotations

import plistlib

import sqlalchemy as sa

from ..enrollment import lifecycle
from ..extensions import db
from ..mdm import commands
from ..models import (
    CommandStatus,
    ConfigurationKind,
    DeliveryState,
    Device,
    DeviceConfiguration,
    MDMCommand,
    utcnow,
)
from . import kinds
from .deploy import LOG_ACTION, platform_of


def error_text(result: dict | None) -> str:
    """Apple's error in words: the ErrorChain's descriptions, or the status."""
    if not result:
        return ""
    chain = result.get("ErrorChain") or []
    parts = []
    for item in chain if isinstance(chain, list) else []:
        if not isinstance(item, dict):
            continue
        text = item.get("LocalizedDescription") or item.get("USEnglishDescription") or ""
        code = item.get("ErrorCode")
        domain = item.get("ErrorDomain")
        label = f"{domain} {code}" if domain is not None and code is not None else ""
        parts.append(f"{text} ({label})" if label and text else text or label)
    return " – ".join(p for p in parts if p)


def command_answered(device: Device, command: MDMCommand) -> None:
    """Move the configuration `command` carried to installed, removed or failed."""
    row = db.session.scalar(
        sa.select(DeviceConfiguration).where(
            DeviceConfiguration.device_id == device.id,
            DeviceConfiguration.command_uuid == command.uuid,
        )
    )
    if row is None:
        return
    now = utcnow()
    if command.status == CommandStatus.ACKNOWLEDGED:
        if row.state == DeliveryState.REMOVING:
            db.session.delete(row)
            return
        row.state, row.error, row.updated_at = DeliveryState.INSTALLED, None, now
        _map_vpn_apps(device, row, command)
    elif command.status in (CommandStatus.ERROR, CommandStatus.FORMAT_ERROR):
        result = dict(command.result or {})
        result["Status"] = (
            "CommandFormatError" if command.status == CommandStatus.FORMAT_ERROR else "Error"
        )
        if row.state == DeliveryState.REMOVING:
            result["removal"] = True
        result["message"] = error_text(command.result) or result["Status"]
        row.state, row.error, row.updated_at = DeliveryState.FAILED, result, now
        lifecycle.log(
            device,
            LOG_ACTION,
            {
                "payload_type": str(row.kind),
                "configuration": row.name,
                "command_uuid": command.uuid,
                "message": result["message"],
            },
        ).status = "error"


def _map_vpn_apps(device: Device, row: DeviceConfiguration, command: MDMCommand) -> None:
    """An iPhone or iPad routes apps through a per-app VPN by app attributes, once the VPN is
    installed (a Mac got the mapping payload in the profile itself)."""
    configuration = row.configuration
    if (
        row.kind != ConfigurationKind.PER_APP_VPN
        or configuration is None
        or platform_of(device) != "ios"
        or not (configuration.settings or {}).get("apps")
        or command.request_type != "InstallProfile"
    ):
        return
    profile = plistlib.loads(_profile_bytes(command))
    commands.queue(
        device,
        kinds.SETTINGS_COMMAND,
        kinds.app_vpn_attributes(profile["PayloadIdentifier"], configuration.settings["apps"]),
        actor=None,
        channel="system",
    )


def _profile_bytes(command: MDMCommand) -> bytes:
    from ..enrollment.pki import unwrap_signed_data
    from ..mdm import plist as mdm_plist

    signed = mdm_plist.from_json(command.payload or {})["Payload"]
    return unwrap_signed_data(signed) or signed
