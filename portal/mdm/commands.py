"""Queueing MDM commands for a device. Which commands a device may get is decided by the
caller (Apple's User Enrollment rules live with the devices pages); this checks the form.
"""

from __future__ import annotations

import plistlib
import re
import uuid
from typing import Any

from .. import audit
from ..enrollment import lifecycle
from ..extensions import db
from ..models import CommandStatus, Device, DeviceStatus, MDMCommand, User
from . import plist, push

_REQUEST_TYPE = re.compile(r"[A-Z][A-Za-z0-9.]{0,63}")


class CommandError(ValueError):
    """The command cannot be queued for this device."""


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
    as the daily device facts) and a device-log entry; the device is pushed once the caller
    commits. Raises CommandError for a device that is not enrolled or a malformed command.
    """
    if device.status != DeviceStatus.ENROLLED:
        raise CommandError(f"device {device.id} is not enrolled ({device.status})")
    if not isinstance(request_type, str) or not _REQUEST_TYPE.fullmatch(request_type):
        raise CommandError(f"not a request type: {request_type!r}")
    payload = dict(payload or {})
    if "RequestType" in payload:
        raise CommandError("give the request type as request_type, not in the payload")
    try:
        plistlib.dumps({"RequestType": request_type, **payload})
    except (TypeError, ValueError, OverflowError) as exc:
        raise CommandError(f"the payload cannot be sent as a plist: {exc}") from exc
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
    db.session.flush()
    details = {"command_uuid": command.uuid, "request_type": request_type}
    if audited:
        audit.record(actor, "mdm.command.queued", channel=channel, target=device, after=details)
    lifecycle.log(device, "command.queued", details)
    push.notify_after_commit(device)
    return command
