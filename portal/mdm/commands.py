"""Queueing MDM commands for a device. Which commands a device may get is decided by the
caller (Apple's User Enrollment rules live with the devices pages); this checks the form.
"""

from __future__ import annotations

import plistlib
import re
import uuid
from typing import Any

import sqlalchemy as sa

from .. import audit
from ..enrollment import lifecycle
from ..extensions import db
from ..models import CommandStatus, Device, DeviceStatus, MDMCommand, User
from . import plist, push

_REQUEST_TYPE = re.compile(r"[A-Z][A-Za-z0-9.]{0,63}")


class CommandError(ValueError):
    """The command cannot be queued for this device."""


def _check(request_type: str, payload: dict[str, Any] | None) -> dict[str, Any]:
    if not isinstance(request_type, str) or not _REQUEST_TYPE.fullmatch(request_type):
        raise CommandError(f"not a request type: {request_type!r}")
    payload = dict(payload or {})
    if "RequestType" in payload:
        raise CommandError("give the request type as request_type, not in the payload")
    try:
        plistlib.dumps({"RequestType": request_type, **payload})
    except (TypeError, ValueError, OverflowError) as exc:
        raise CommandError(f"the payload cannot be sent as a plist: {exc}") from exc
    return payload


def _add(
    device: Device,
    request_type: str,
    payload: dict,
    actor: User | None,
    channel: str,
    audited: bool = True,
) -> MDMCommand:
    """The command, its audit event, device-log entry and push, added to the session."""
    if device.status != DeviceStatus.ENROLLED:
        raise CommandError(f"device {device.id} is not enrolled ({device.status})")
    command = MDMCommand(
        device=device,
        uuid=str(uuid.uuid4()).upper(),
        request_type=request_type,
        payload=plist.to_json(payload),
        status=CommandStatus.QUEUED,
        queued_by=actor,
        channel=channel,
    )
    db.session.add(command)
    details = {"command_uuid": command.uuid, "request_type": request_type}
    if audited:
        audit.record(actor, "mdm.command.queued", channel=channel, target=device, after=details)
    lifecycle.log(device, "command.queued", details)
    push.notify_after_commit(device)
    return command


def queue(
    device: Device,
    request_type: str,
    payload: dict[str, Any] | None = None,
    *,
    actor: User | None,
    channel: str = "web",
    audited: bool = True,
) -> MDMCommand:
    """Queue `request_type` (with the command's other keys in `payload`) for `device`.

    Writes an audit event (unless not `audited`: the portal's own routine questions, such
    as the daily device facts) and a device-log entry; the device's push is queued with them
    and sent by the background worker once the caller commits. Raises CommandError for a
    device that is not enrolled or a malformed command.
    """
    payload = _check(request_type, payload)
    command = _add(device, request_type, payload, actor, channel, audited)
    db.session.flush()
    return command


def queue_many(
    devices: list[Device],
    request_type: str,
    payload: dict[str, Any] | None = None,
    *,
    actor: User | None,
    channel: str = "web",
) -> list[str]:
    """`queue` for many devices at once (a bulk action): all or none (CommandError if one
    device is not enrolled). The commands, their audit events and device-log entries are
    written with one multi-row INSERT each; the pushes go out from the worker. Returns the
    commands' UUIDs."""
    from ..models import AuditEvent, DeviceLogEntry, utcnow
    from ..privacy import mask_record

    payload = _check(request_type, payload)
    for device in devices:
        if device.status != DeviceStatus.ENROLLED:
            raise CommandError(f"device {device.id} is not enrolled ({device.status})")
    now = utcnow()
    body = plist.to_json(payload)
    commands, events, entries = [], [], []
    for device in devices:
        command_uuid = str(uuid.uuid4()).upper()
        details = {"command_uuid": command_uuid, "request_type": request_type}
        commands.append(
            {
                "device_id": device.id,
                "uuid": command_uuid,
                "request_type": request_type,
                "payload": body,
                "status": CommandStatus.QUEUED,
                "queued_by_id": actor.id if actor is not None else None,
                "channel": channel,
                "created_at": now,
            }
        )
        events.append(
            {
                "actor_id": actor.id if actor is not None else None,
                "actor_label": audit.actor_label(actor),
                "channel": channel,
                "action": "mdm.command.queued",
                "target_type": "device",
                "target_id": str(device.id),
                "before": None,
                "after": mask_record(details),
                "created_at": now,
            }
        )
        log_details = dict(details)
        if device.enrollment_id:
            log_details["enrollment_id"] = device.enrollment_id
        entries.append(
            {
                "device_id": device.id,
                "action": "command.queued",
                "status": DeviceStatus(device.status).value,
                "details": log_details,
                "created_at": now,
            }
        )
        push.notify_after_commit(device)
    if devices:  # plain table INSERTs (executemany): no ORM bookkeeping per row
        db.session.execute(sa.insert(MDMCommand.__table__), commands)
        db.session.execute(sa.insert(AuditEvent.__table__), events)
        db.session.execute(sa.insert(DeviceLogEntry.__table__), entries)
    return [row["uuid"] for row in commands]
