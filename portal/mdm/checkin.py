"""MDM check-in messages, dispatched by `MessageType` to one handler each.

Every handler validates the whole message before it changes anything. Under User
Enrollment a message carrying a hardware identifier (UDID, SerialNumber, IMEI, MEID) is
refused, and none of them is ever stored; under Device Enrollment they are.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .. import signals
from ..enrollment import lifecycle
from ..enrollment.lifecycle import IllegalTransition
from ..extensions import db
from ..models import Device, DeviceStatus, EnrollmentType
from . import tokens
from .errors import Conflict, Declined, Forbidden, Malformed

HARDWARE_KEYS = ("UDID", "SerialNumber", "IMEI", "MEID")
MAX_IDENTIFIER = 100
MAX_PUSH_TOKEN_BYTES = 100

Message = dict[str, Any]


def text(
    device: Device, message: Message, key: str, *, required: bool, limit: int = MAX_IDENTIFIER
) -> str | None:
    """The string at `key`, stripped; Malformed when required and missing, or not a string."""
    value = message.get(key)
    if value is None:
        if required:
            raise Malformed(f"{key}_missing", device=device)
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise Malformed(f"{key}_invalid", device=device)
    return value.strip()


def is_user_enrollment(device: Device) -> bool:
    return device.enrollment_type == EnrollmentType.USER


def identify(device: Device, message: Message) -> str:
    """The message's enrollment identifier (EnrollmentID under UE, UDID under DE).

    Refuses hardware identifiers under User Enrollment, and an identifier that differs
    from the one this enrollment already recorded.
    """
    if is_user_enrollment(device):
        present = [key for key in HARDWARE_KEYS if key in message]
        if present:
            raise Malformed(
                "hardware_identifier_under_user_enrollment", device=device, detail=",".join(present)
            )
        if "UnlockToken" in message:
            raise Malformed("unlock_token_under_user_enrollment", device=device)
        enrollment_id = text(device, message, "EnrollmentID", required=True)
        if device.enrollment_id is not None and device.enrollment_id != enrollment_id:
            raise Forbidden("enrollment_id_mismatch", device=device)
        return enrollment_id
    udid = text(device, message, "UDID", required=True)
    if device.udid is not None and device.udid != udid:
        raise Forbidden("udid_mismatch", device=device)
    return udid


def _check_topic(device: Device, message: Message) -> None:
    if message.get("Topic") != device.topic:
        raise Malformed("topic_mismatch", device=device)


def _claim_udid(device: Device, udid: str, now: datetime) -> None:
    """Free `udid` from older rows of the same physical device (re-enrollment)."""
    others = list(db.session.scalars(sa.select(Device).where(Device.udid == udid)))
    others = [other for other in others if other.id != device.id]
    for other in others:
        if other.status != DeviceStatus.UNENROLLED and other.user_id != device.user_id:
            raise Conflict("udid_enrolled_for_another_user", device=device)
    for other in others:
        if other.status != DeviceStatus.UNENROLLED:
            lifecycle.transition(
                other,
                DeviceStatus.UNENROLLED,
                action="device.replaced",
                details={"replaced_by": device.id},
                now=now,
            )
            tokens.revoke_for_device(other, now)
        other.udid = None
        lifecycle.log(other, "device.identifiers_moved", {"to_device": device.id}, now=now)
    if others:
        db.session.flush()


def authenticate(device: Device, message: Message, now: datetime) -> None:
    """Authenticate: the device installed the profile; record who it is."""
    _check_topic(device, message)
    ident = identify(device, message)
    os_version = text(device, message, "OSVersion", required=False, limit=32)
    build = text(device, message, "BuildVersion", required=False, limit=32)
    product = text(device, message, "ProductName", required=False) or text(
        device, message, "Model", required=False
    )
    if device.status == DeviceStatus.AUTHENTICATED:
        return  # the same device again (identify checked it): nothing new
    if device.status != DeviceStatus.PROFILE_DOWNLOADED:
        raise IllegalTransition(device, DeviceStatus.AUTHENTICATED, "checkin.authenticate")
    details: dict[str, Any] = {}
    if is_user_enrollment(device):
        taken = db.session.scalar(
            sa.select(Device.id).where(Device.enrollment_id == ident, Device.id != device.id)
        )
        if taken is not None:
            raise Conflict("enrollment_id_in_use", device=device)
        device.enrollment_id = ident
    else:
        serial = text(device, message, "SerialNumber", required=False, limit=64)
        name = text(device, message, "DeviceName", required=False, limit=200)
        extra = {
            key.lower(): text(device, message, key, required=False) for key in ("IMEI", "MEID")
        }
        _claim_udid(device, ident, now)
        device.udid = ident
        device.serial_number = serial
        if name:
            device.name = name
        details = {"udid": ident, "serial_number": serial, **extra}
    if os_version:
        device.os_version = os_version
    if product:
        device.model = product
    details.update(os_version=os_version, build_version=build, product=product)
    details = {key: value for key, value in details.items() if value}
    lifecycle.transition(
        device, DeviceStatus.AUTHENTICATED, action="checkin.authenticate", details=details, now=now
    )


def _push_credentials(device: Device, message: Message) -> tuple[str, str]:
    token = message.get("Token")
    if not isinstance(token, bytes) or not 0 < len(token) <= MAX_PUSH_TOKEN_BYTES:
        raise Malformed("Token_invalid", device=device)
    magic = text(device, message, "PushMagic", required=True)
    return token.hex(), magic


def token_update(device: Device, message: Message, now: datetime) -> None:
    """TokenUpdate: the device's push credentials; the first one completes enrollment."""
    _check_topic(device, message)
    identify(device, message)
    push_token, push_magic = _push_credentials(device, message)
    if "EnrollmentUserID" in message or "UserID" in message:
        _user_channel(device, message, now)
        return
    if device.status == DeviceStatus.AUTHENTICATED:
        device.push_token, device.push_magic = push_token, push_magic
        lifecycle.transition(
            device, DeviceStatus.ENROLLED, action="checkin.token_update", details={}, now=now
        )
        signals.device_enrolled.send(device, now=now)
    elif device.status == DeviceStatus.ENROLLED:
        if (device.push_token, device.push_magic) == (push_token, push_magic):
            return  # a repeated TokenUpdate: nothing changed
        device.push_token, device.push_magic = push_token, push_magic
        lifecycle.log(device, "push_token.updated", now=now)
    else:
        raise IllegalTransition(device, DeviceStatus.ENROLLED, "checkin.token_update")


def _user_channel(device: Device, message: Message, now: datetime) -> None:
    """A macOS user-channel TokenUpdate: keeps EnrollmentUserID under User Enrollment."""
    if device.status != DeviceStatus.ENROLLED:
        raise IllegalTransition(device, DeviceStatus.ENROLLED, "checkin.user_token_update")
    if not is_user_enrollment(device):
        text(device, message, "UserID", required=True)
        return  # Device Enrollment: user-channel push tokens are not used yet
    user_id = text(device, message, "EnrollmentUserID", required=True)
    if device.enrollment_user_id == user_id:
        return
    device.enrollment_user_id = user_id
    lifecycle.log(device, "user_channel.enrolled", {"enrollment_user_id": user_id}, now=now)


def check_out(device: Device, message: Message, now: datetime) -> None:
    """CheckOut: the profile was removed; the enrollment ends and its credentials die."""
    _check_topic(device, message)
    identify(device, message)
    if device.status not in (DeviceStatus.AUTHENTICATED, DeviceStatus.ENROLLED):
        raise IllegalTransition(device, DeviceStatus.UNENROLLED, "checkin.check_out")
    lifecycle.transition(
        device, DeviceStatus.UNENROLLED, action="checkin.check_out", details={}, now=now
    )
    device.push_token = None
    device.push_magic = None
    tokens.revoke_for_device(device, now)


def user_authenticate(device: Device, message: Message, now: datetime) -> None:
    """UserAuthenticate: not supported; Apple expects 410 and carries on without it."""
    raise Declined("user_authenticate_declined", device=device)


HANDLERS: dict[str, Callable[[Device, Message, datetime], None]] = {
    "Authenticate": authenticate,
    "TokenUpdate": token_update,
    "CheckOut": check_out,
    "UserAuthenticate": user_authenticate,
}


def handle(device: Device, message: Message, now: datetime) -> str:
    """Dispatch a check-in by its MessageType; returns the MessageType handled."""
    kind = message.get("MessageType")
    if not isinstance(kind, str) or not kind:
        raise Malformed("MessageType_missing", device=device)
    handler = HANDLERS.get(kind)
    if handler is None:
        raise Malformed("MessageType_unknown", device=device)
    handler(device, message, now)
    return kind
