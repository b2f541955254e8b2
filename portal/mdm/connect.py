"""The command channel: record what the device says about a command, hand it the next one.

`Idle` and every result are answered with the next queued command, or nothing. A command
the device answered `NotNow` is offered again at its next `Idle`, not in the same answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..enrollment import lifecycle
from ..extensions import db
from ..models import CommandStatus, Device, DeviceStatus, MDMCommand
from . import plist
from .checkin import identify, is_user_enrollment, text
from .errors import Conflict, Malformed

RESULTS = {
    "Acknowledged": CommandStatus.ACKNOWLEDGED,
    "Error": CommandStatus.ERROR,
    "CommandFormatError": CommandStatus.FORMAT_ERROR,
    "NotNow": CommandStatus.NOT_NOW,
}
IDLE = "Idle"
# The envelope of a report; what remains is the command's result.
ENVELOPE = frozenset(
    {
        "Status",
        "CommandUUID",
        "UDID",
        "EnrollmentID",
        "EnrollmentUserID",
        "UserID",
        "UserShortName",
        "UserLongName",
        "NotOnConsole",
    }
)
USER_CHANNEL_KEYS = ("UserID", "EnrollmentUserID")


def _identify(device: Device, report: dict[str, Any]) -> None:
    """Check a report's identifiers against the enrollment (optional in reports)."""
    if is_user_enrollment(device):
        # Refuses hardware identifiers; an EnrollmentID, when given, must be this one.
        identify(device, {"EnrollmentID": device.enrollment_id, **report})
    elif "UDID" in report:
        identify(device, report)


def _record(device: Device, report: dict[str, Any], status: str, now: datetime) -> None:
    command_uuid = text(device, report, "CommandUUID", required=True, limit=64)
    command = db.session.scalar(
        sa.select(MDMCommand).where(
            MDMCommand.device_id == device.id, MDMCommand.uuid == command_uuid
        )
    )
    if command is None:
        raise Malformed("unknown_command", device=device)
    outcome = RESULTS[status]
    if command.status == outcome:
        return  # the same answer again: already recorded
    if command.status != CommandStatus.SENT:
        raise Conflict("command_not_awaiting_result", device=device, detail=command.status)
    command.status = outcome
    command.result_at = now
    command.result = plist.to_json({k: v for k, v in report.items() if k not in ENVELOPE})
    lifecycle.log(
        device,
        f"command.{outcome.value}",
        {"command_uuid": command.uuid, "request_type": command.request_type},
        now=now,
    )


def next_command(device: Device, *, retry_not_now: bool) -> MDMCommand | None:
    """The oldest command waiting for this device (locked against a parallel connection)."""
    waiting = [CommandStatus.QUEUED]
    if retry_not_now:
        waiting.append(CommandStatus.NOT_NOW)
    return db.session.scalar(
        sa.select(MDMCommand)
        .where(MDMCommand.device_id == device.id, MDMCommand.status.in_(waiting))
        .order_by(MDMCommand.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


def handle_report(device: Device, report: dict[str, Any], now: datetime) -> MDMCommand | None:
    """Record a command report; return the command to deliver now (marked sent), or None."""
    if device.status != DeviceStatus.ENROLLED:
        raise Conflict("device_not_enrolled", device=device)
    status = report.get("Status")
    if not isinstance(status, str) or (status != IDLE and status not in RESULTS):
        raise Malformed("Status_invalid", device=device)
    _identify(device, report)
    if status != IDLE:
        _record(device, report, status, now)
    if any(key in report for key in USER_CHANNEL_KEYS):
        return None  # commands go to the device channel only
    command = next_command(device, retry_not_now=status == IDLE)
    if command is not None:
        command.status = CommandStatus.SENT
        command.sent_at = now
    return command


def command_plist(command: MDMCommand) -> bytes:
    """The command as the device receives it."""
    body = {"RequestType": command.request_type, **plist.from_json(command.payload or {})}
    return plist.dumps({"CommandUUID": command.uuid, "Command": body})
