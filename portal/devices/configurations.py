"""Sending configurations to devices. A Mac under User Enrollment never gets the
configurations the reference guide lists as unsupported: they are refused here, and the
refusal is written to the device's log for the admin ("Restrictions – this is not a valid
request type").
"""

from __future__ import annotations

from .. import audit
from ..enrollment import lifecycle
from ..models import Device, DeviceLogEntry, EnrollmentType, Platform, User
from .capabilities import MACOS_USER_ENROLLMENT_UNSUPPORTED

INVALID_REQUEST_TYPE = "Restrictions – this is not a valid request type"
LOG_ACTION = "configuration"


class UnsupportedConfiguration(Exception):
    """Apple does not apply this configuration to this device; nothing was sent."""

    def __init__(self, device: Device, payload_type: str, entry: DeviceLogEntry) -> None:
        super().__init__(f"{payload_type}: {INVALID_REQUEST_TYPE}")
        self.device = device
        self.payload_type = payload_type
        self.entry = entry


def is_supported(device: Device, payload_type: str) -> bool:
    mac_user_enrollment = (
        device.platform == Platform.MACOS and device.enrollment_type == EnrollmentType.USER
    )
    return not (mac_user_enrollment and payload_type in MACOS_USER_ENROLLMENT_UNSUPPORTED)


def send_configuration(device: Device, payload_type: str, *, actor: User | None) -> DeviceLogEntry:
    """Accept `payload_type` for `device` (logged), or refuse it with UnsupportedConfiguration.

    Either way a device-log entry is added to the session; the caller commits (also after a
    refusal, so that the admin sees it).
    """
    if not is_supported(device, payload_type):
        entry = lifecycle.log(
            device,
            LOG_ACTION,
            {"payload_type": payload_type, "message": INVALID_REQUEST_TYPE},
        )
        entry.status = "error"
        audit.record(
            actor,
            "device.configuration.refused",
            target=device,
            after={"payload_type": payload_type, "reason": INVALID_REQUEST_TYPE},
        )
        raise UnsupportedConfiguration(device, payload_type, entry)
    entry = lifecycle.log(device, LOG_ACTION, {"payload_type": payload_type, "message": "accepted"})
    audit.record(
        actor, "device.configuration.accepted", target=device, after={"payload_type": payload_type}
    )
    return entry
