"""The command channel: record what the device says about a command, hand it the next one.

`Idle` and every result are answered with the next queued command, or nothing. A command
the device answered `NotNow` is offered again at its next `Idle`, not in the same answer.
A command sent without an answer (the device went away, the answer was lost) is sent again,
with the same CommandUUID, at an `Idle` once `resend_after` has passed; after `max_attempts`
deliveries it is timed out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from .. import signals
from ..enrollment import lifecycle
from ..extensions import db
from ..models import CommandStatus, Device, DeviceLogEntry, DeviceStatus, MDMCommand
from . import facts, plist
from .checkin import identify, is_user_enrollment, text
from .errors import Conflict, Malformed

RESULTS = {
    "Acknowledged": CommandStatus.ACKNOWLEDGED,
    "Error": CommandStatus.ERROR,
    "CommandFormatError": CommandStatus.FORMAT_ERROR,
    "NotNow": CommandStatus.NOT_NOW,
}
IDLE = "Idle"
# A device answers a command within seconds; an Idle long after it means the answer is lost.
RESEND_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = 3
RESENT = "command.resent"
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
    result = {k: v for k, v in report.items() if k not in ENVELOPE}
    # Refused whole, as at check-in: identifiers User Enrollment must not carry.
    facts.check_answer(device, command.request_type, result)
    if command.status == outcome:
        return  # the same answer again: already recorded
    # A timed-out command the device carried out after all: its answer still counts.
    if command.status not in (CommandStatus.SENT, CommandStatus.TIMED_OUT):
        raise Conflict("command_not_awaiting_result", device=device, detail=command.status)
    command.status = outcome
    command.result_at = now
    command.result = plist.to_json(result)
    if outcome == CommandStatus.ACKNOWLEDGED:
        facts.record(device, command.request_type, result, now)
    lifecycle.log(
        device,
        f"command.{outcome.value}",
        {"command_uuid": command.uuid, "request_type": command.request_type},
        now=now,
    )
    signals.command_answered.send(device, command=command)


def refuse_result(device: Device, report: dict[str, Any], reason: str, now: datetime) -> None:
    """Mark failed the command whose result was refused (too large, too deep, too expanded).

    The device gets a 4xx and may send the same result again: the command no longer awaits
    one, so the portal neither stores it nor offers the command again.
    """
    command_uuid = report.get("CommandUUID")
    if not isinstance(command_uuid, str) or not 0 < len(command_uuid) <= 64:
        return
    command = db.session.scalar(
        sa.select(MDMCommand).where(
            MDMCommand.device_id == device.id, MDMCommand.uuid == command_uuid
        )
    )
    if command is None or command.status not in (CommandStatus.SENT, CommandStatus.TIMED_OUT):
        return
    command.status = CommandStatus.ERROR
    command.result_at = now
    command.result = {"refused": reason}
    lifecycle.log(
        device,
        "command.result_refused",
        {"command_uuid": command.uuid, "request_type": command.request_type, "reason": reason},
        now=now,
    )


def deliveries(command: MDMCommand) -> int:
    """How many times `command` went to the device (its resends are in the device log)."""
    details = db.session.scalars(
        sa.select(DeviceLogEntry.details).where(
            DeviceLogEntry.device_id == command.device_id,
            DeviceLogEntry.action == RESENT,
            DeviceLogEntry.created_at >= command.created_at,
        )
    )
    return 1 + sum(1 for d in details if (d or {}).get("command_uuid") == command.uuid)


def _time_out_unanswered(device: Device, cutoff: datetime, max_attempts: int, now: datetime):
    """Time out the commands sent `max_attempts` times, the last before `cutoff`, unanswered."""
    unanswered = db.session.scalars(
        sa.select(MDMCommand)
        .where(
            MDMCommand.device_id == device.id,
            MDMCommand.status == CommandStatus.SENT,
            MDMCommand.sent_at < cutoff,
        )
        .order_by(MDMCommand.id)
        .with_for_update(skip_locked=True)
    ).all()
    for command in unanswered:
        attempts = deliveries(command)
        if attempts < max_attempts:
            continue
        command.status = CommandStatus.TIMED_OUT
        command.result_at = now
        lifecycle.log(
            device,
            "command.timed_out",
            {
                "command_uuid": command.uuid,
                "request_type": command.request_type,
                "attempts": attempts,
            },
            now=now,
        )


def next_command(
    device: Device, *, retry_not_now: bool, resend_before: datetime | None = None
) -> MDMCommand | None:
    """The oldest command waiting for this device (locked against a parallel connection).

    With `retry_not_now`, commands the device postponed wait too; with `resend_before`, so
    do the commands sent before that time and still unanswered.
    """
    statuses = [CommandStatus.QUEUED]
    if retry_not_now:
        statuses.append(CommandStatus.NOT_NOW)
    waiting = MDMCommand.status.in_(statuses)
    if resend_before is not None:
        waiting = sa.or_(
            waiting,
            sa.and_(MDMCommand.status == CommandStatus.SENT, MDMCommand.sent_at < resend_before),
        )
    return db.session.scalar(
        sa.select(MDMCommand)
        .where(MDMCommand.device_id == device.id, waiting)
        .order_by(MDMCommand.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


def handle_report(
    device: Device,
    report: dict[str, Any],
    now: datetime,
    *,
    resend_after: timedelta = RESEND_AFTER,
    max_attempts: int = MAX_ATTEMPTS,
) -> MDMCommand | None:
    """Record a command report; return the command to deliver now (marked sent), or None.

    At an `Idle`, a command sent more than `resend_after` ago and still unanswered is sent
    again, or timed out (with a device-log entry) once sent `max_attempts` times.
    """
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
    resend_before = None
    if status == IDLE:
        resend_before = now - resend_after
        _time_out_unanswered(device, resend_before, max_attempts, now)
    command = next_command(device, retry_not_now=status == IDLE, resend_before=resend_before)
    if command is None:
        return None
    if command.status == CommandStatus.SENT:
        lifecycle.log(
            device,
            RESENT,
            {
                "command_uuid": command.uuid,
                "request_type": command.request_type,
                "attempt": deliveries(command) + 1,
            },
            now=now,
        )
    command.status = CommandStatus.SENT
    command.sent_at = now
    return command


def command_plist(command: MDMCommand) -> bytes:
    """The command as the device receives it."""
    body = {"RequestType": command.request_type, **plist.from_json(command.payload or {})}
    return plist.dumps({"CommandUUID": command.uuid, "Command": body})
