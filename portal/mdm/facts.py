"""Device facts: what the portal asks an enrolled device after enrollment and then daily, and
what it keeps of the answers (shown on the device pages).

Only what Apple lets a company ask for the enrollment type is asked: the DeviceInformation
queries, and the commands themselves, are chosen with Apple's schema (apple_schema). Under
User Enrollment an answer carrying an identifier Apple forbids there (UDID, serial number,
IMEI, MAC addresses…) is refused whole, as at check-in, and nothing of it is kept.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..models import CommandStatus, Device, DeviceStatus, EnrollmentType, MDMCommand
from . import apple_schema, commands
from .errors import Malformed

DEVICE_INFORMATION = "DeviceInformation"
PROFILE_LIST = "ProfileList"
INSTALLED_APPLICATIONS = "InstalledApplicationList"
FACT_COMMANDS = (DEVICE_INFORMATION, PROFILE_LIST, INSTALLED_APPLICATIONS)
# What the pages show. Each is asked only where Apple's schema allows it for the enrollment
# type; the serial number, for one, never under User Enrollment.
QUERIES = (
    "OSVersion",
    "BuildVersion",
    "ProductName",
    "ModelName",
    "Model",
    "DeviceCapacity",
    "AvailableDeviceCapacity",
    "BatteryLevel",
    "IsSupervised",
    "SerialNumber",
)
# The daily refresh asks again once a day has passed (less a margin for the job's timing).
REFRESH_AFTER = timedelta(hours=23)
PENDING = (CommandStatus.QUEUED, CommandStatus.SENT, CommandStatus.NOT_NOW)
MAX_ITEMS = 500
MAX_TEXT = 200


def _os(device: Device) -> str:
    return apple_schema.normalize_os(str(device.platform))


def _enrollment(device: Device) -> str:
    return "user" if device.enrollment_type == EnrollmentType.USER else "device"


def queries_for(device: Device) -> list[str]:
    """The DeviceInformation queries Apple allows for this device's system and enrollment."""
    return [
        query
        for query in QUERIES
        if apple_schema.key_mode(
            DEVICE_INFORMATION, ["Queries", query], _os(device), _enrollment(device), kind="command"
        )
        == "allowed"
    ]


def fact_commands(device: Device) -> list[tuple[str, dict[str, Any]]]:
    """(RequestType, keys) of each facts command Apple allows for this device."""
    os, enrollment = _os(device), _enrollment(device)
    wanted = [
        (DEVICE_INFORMATION, {"Queries": queries_for(device)}),
        # Only the profiles and apps the company manages: the work ones.
        (PROFILE_LIST, {"ManagedOnly": True}),
        (INSTALLED_APPLICATIONS, {"ManagedAppsOnly": True}),
    ]
    result = []
    for request_type, keys in wanted:
        schema = apple_schema.command_schema(request_type)
        if schema.mode(os, enrollment) != "allowed":
            continue  # e.g. InstalledApplicationList on a Mac under User Enrollment
        kept = {
            key: value
            for key, value in keys.items()
            if apple_schema.key_mode(request_type, key, os, enrollment, kind="command") == "allowed"
        }
        result.append((request_type, kept))
    return result


def _has_pending(device: Device) -> bool:
    return (
        db.session.scalar(
            sa.select(MDMCommand.id)
            .where(
                MDMCommand.device_id == device.id,
                MDMCommand.request_type.in_(FACT_COMMANDS),
                MDMCommand.status.in_(PENDING),
            )
            .limit(1)
        )
        is not None
    )


def _asks(device: Device) -> bool:
    return device.status == DeviceStatus.ENROLLED and device.enrollment_type in (
        EnrollmentType.USER,
        EnrollmentType.DEVICE,
    )


def queue_for_device(device: Device, now: datetime) -> list[MDMCommand]:
    """Queue the facts commands for one enrolled device (none while earlier ones are still
    waiting for an answer). The caller commits; the device is pushed then."""
    if not _asks(device) or _has_pending(device):
        return []
    queued = [
        commands.queue(device, request_type, keys, actor=None, channel="system", audited=False)
        for request_type, keys in fact_commands(device)
    ]
    device.facts_requested_at = now
    return queued


def queue_device_facts(now: datetime, *, refresh_after: timedelta = REFRESH_AFTER) -> int:
    """Ask every enrolled device not asked since `refresh_after` for its facts (the daily
    refresh); returns how many devices were asked. The caller commits."""
    due = sa.or_(
        Device.facts_requested_at.is_(None), Device.facts_requested_at < now - refresh_after
    )
    devices = db.session.scalars(
        sa.select(Device)
        .where(
            Device.status == DeviceStatus.ENROLLED,
            Device.enrollment_type.in_((EnrollmentType.USER, EnrollmentType.DEVICE)),
            due,
        )
        .order_by(Device.id)
    ).all()
    return sum(1 for device in devices if queue_for_device(device, now))


# --- answers ----------------------------------------------------------------------------------


def check_answer(device: Device, request_type: str, result: dict[str, Any]) -> None:
    """Refuse (Malformed) an answer with identifiers Apple forbids under User Enrollment."""
    if request_type != DEVICE_INFORMATION or device.enrollment_type != EnrollmentType.USER:
        return
    responses = result.get("QueryResponses")
    if not isinstance(responses, dict):
        return
    os = _os(device)
    forbidden = []
    for key in responses:
        try:
            mode = apple_schema.key_mode(
                DEVICE_INFORMATION, ["Queries", str(key)], os, "user", kind="command"
            )
        except apple_schema.SchemaError:
            continue  # a key Apple's schema does not know: not kept either
        if mode == "forbidden":
            forbidden.append(str(key))
    if forbidden:
        raise Malformed(
            "hardware_identifier_under_user_enrollment",
            device=device,
            detail=",".join(sorted(forbidden))[:200],
        )


def _text(value: Any) -> str | None:
    return value.strip()[:MAX_TEXT] if isinstance(value, str) and value.strip() else None


def _scalar(value: Any) -> Any:
    if isinstance(value, bool | int | float):
        return value
    return _text(value)


def _device_information(device: Device, result: dict[str, Any]) -> dict[str, Any] | None:
    responses = result.get("QueryResponses")
    if not isinstance(responses, dict):
        return None
    asked = set(QUERIES)
    kept = {key: _scalar(responses[key]) for key in responses if key in asked}
    kept = {key: value for key, value in kept.items() if value is not None}
    if kept.get("OSVersion"):
        device.os_version = str(kept["OSVersion"])[:32]
    if kept.get("ProductName"):
        device.model = str(kept["ProductName"])[:100]
    if device.enrollment_type == EnrollmentType.DEVICE and kept.get("SerialNumber"):
        device.serial_number = str(kept["SerialNumber"])[:64]
    kept.pop("SerialNumber", None)  # kept in its own column, Device Enrollment only
    return kept


def _profiles(result: dict[str, Any]) -> list[dict[str, Any]] | None:
    items = result.get("ProfileList")
    if not isinstance(items, list):
        return None
    profiles = []
    for item in items[:MAX_ITEMS]:
        if not isinstance(item, dict) or item.get("IsManaged") is False:
            continue  # the person's own profiles are none of the company's business
        identifier = _text(item.get("PayloadIdentifier"))
        if identifier is None:
            continue
        profiles.append(
            {
                "identifier": identifier,
                "name": _text(item.get("PayloadDisplayName")) or identifier,
                "organization": _text(item.get("PayloadOrganization")),
            }
        )
    return sorted(profiles, key=lambda p: p["name"].casefold())


def _apps(result: dict[str, Any]) -> list[dict[str, Any]] | None:
    items = result.get("InstalledApplicationList")
    if not isinstance(items, list):
        return None
    apps = []
    for item in items[:MAX_ITEMS]:
        if not isinstance(item, dict):
            continue
        name = _text(item.get("Name")) or _text(item.get("Identifier"))
        if name is None:
            continue
        apps.append(
            {
                "name": name,
                "identifier": _text(item.get("Identifier")),
                "version": _text(item.get("ShortVersion")) or _text(item.get("Version")),
            }
        )
    return sorted(apps, key=lambda a: a["name"].casefold())


_READERS = {
    DEVICE_INFORMATION: ("device_information", _device_information),
    PROFILE_LIST: ("profiles", lambda device, result: _profiles(result)),
    INSTALLED_APPLICATIONS: ("apps", lambda device, result: _apps(result)),
}


def record(device: Device, request_type: str, result: dict[str, Any], now: datetime) -> None:
    """Keep what an acknowledged facts command answered (other commands: nothing)."""
    reader = _READERS.get(request_type)
    if reader is None:
        return
    name, read = reader
    value = read(device, result)
    if value is None:
        return
    facts = dict(device.facts or {})
    facts[name] = value
    device.facts = facts  # a new dict: the JSON column sees the change
    device.facts_updated_at = now
